"""Two kernels at different resolutions, one after the other in one process, run in a fresh process.

``python reset_network.py manual MODULE.so OUT.json``: plain PyNEST with a module (NESTML's unedited code
or jitnest's transformed module), mangled names. The process holds a second reference to the library
(``ctypes``), so that ``ResetKernel``, which unloads the module, leaves it loaded with its static data,
as wherever something else holds the library.
``python reset_network.py jitnest - OUT.json``: ``import jitnest as nest``.

iaf_psc_alpha_neuron receives one spike from a spike_generator in each kernel. Kernel 1 (resolution 0.1
ms, one thread) delivers its spike in the slice that starts at 0.1 ms, the last event it delivers; kernel
2 (resolution 0.05 ms, two threads, a connection of 1 ms so that the ring buffers hold 21 steps)
delivers its spike in the slice that starts at the same time, 0.1 ms = 100 tics, which is 1 step in
kernel 1 and 2 steps in kernel 2: a handler that kept kernel 1's conversion of the slice origin would
put the spike one step late. Writes the times and values a multimeter recorded in each kernel as JSON.
"""

import ctypes
import json
import sys

NEURON = {"manual": "iaf_psc_alpha_neuron_nestml", "jitnest": "iaf_psc_alpha_neuron"}
RECORDED = ["V_m", "I_kernel_exc__X__exc_spikes", "I_kernel_exc__X__exc_spikes__d"]
KERNELS = [  # resolution, threads, spike time, delay
    (0.1, 1, 0.2, 0.1),
    (0.05, 2, 0.15, 0.05),
]


def run(nest, neuron: str, module: str | None) -> list[dict]:
    kernels = []
    for resolution, threads, spike_time, delay in KERNELS:
        nest.ResetKernel()
        if module:
            nest.Install(module)
        nest.local_num_threads = threads
        nest.resolution = resolution
        neurons = nest.Create(neuron, 4)
        spike = nest.Create("spike_generator", params={"spike_times": [spike_time]})
        nest.Connect(spike, neurons, syn_spec={"weight": 500.0, "delay": delay})
        late = nest.Create("spike_generator", params={"spike_times": [5.0]})
        nest.Connect(late, neurons, syn_spec={"weight": 1.0, "delay": 1.0})
        mm = nest.Create("multimeter", params={"record_from": RECORDED, "interval": resolution})
        nest.Connect(mm, neurons)
        nest.Simulate(1.0)
        events = mm.get("events")
        kernels.append({key: [float(value) for value in events[key]] for key in ["times", "senders", *RECORDED]})
    return kernels


def main() -> None:
    mode, module, out = sys.argv[1:4]
    if mode == "manual":
        import nest
        library = ctypes.CDLL(module)  # noqa: F841 (held until the process ends)
    else:
        import jitnest as nest
    result = run(nest, NEURON[mode], module if mode == "manual" else None)
    with open(out, "w") as handle:
        json.dump(result, handle)


if __name__ == "__main__":
    main()
