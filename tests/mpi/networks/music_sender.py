"""The sending application of the MUSIC test: a small STDP network of NESTML models whose neurons'
spikes leave through a ``music_event_out_proxy``, one MUSIC channel per neuron.

``python music_sender.py manual MODULE.so OUT.json``: plain PyNEST with the manual workflow's module.
``python music_sender.py jitnest - OUT.json``: ``import jitnest as nest`` and plain names.
Started by the ``music`` launcher (tests/mpi/test_music.py); writes its own spikes and weights.
"""

import json
import sys

NEURONS = 20
SIMULATED_MS = 200.0


def run(nest, neuron: str, synapse: str, module: str | None) -> dict:
    if module:
        nest.Install(module)
    nest.resolution = 0.1
    nest.rng_seed = 1234
    pre = nest.Create(neuron, NEURONS // 2)
    post = nest.Create(neuron, NEURONS // 2, params={"tau_m": 12.0})
    neurons = pre + post
    drive = nest.Create("poisson_generator", params={"rate": 9000.0})
    nest.Connect(drive, neurons, syn_spec={"weight": 40.0})
    nest.Connect(pre, post, {"rule": "fixed_indegree", "indegree": 5},
                 {"synapse_model": synapse, "weight": 12.0, "delay": 1.5})
    out = nest.Create("music_event_out_proxy", params={"port_name": "spikes_out"})
    for channel, node in enumerate(neurons):
        nest.Connect(node, out, "one_to_one", {"music_channel": channel})
    recorder = nest.Create("spike_recorder")
    nest.Connect(neurons, recorder)
    nest.Simulate(SIMULATED_MS)
    events = recorder.get("events")
    first = neurons.tolist()[0]
    connections = nest.GetConnections(synapse_model=synapse).get(["source", "target", "weight"])
    return {
        "ids": neurons.tolist(),
        # (MUSIC channel, spike time)
        "spikes": sorted((int(s) - first, float(t)) for s, t in zip(events["senders"], events["times"])),
        "weights": sorted(zip(connections["source"], connections["target"], connections["weight"])),
    }


def main() -> None:
    mode, module, out = sys.argv[1:4]
    if mode == "manual":
        import nest

        result = run(nest, "iaf_psc_exp_neuron_nestml__with_stdp_synapse_nestml",
                     "stdp_synapse_nestml__with_iaf_psc_exp_neuron_nestml", module)
    else:
        import jitnest as nest

        # (a bare "stdp_synapse" would be NEST's built-in one: its weights differ from NESTML's in the last bits)
        result = run(nest, "iaf_psc_exp_neuron", "stdp_synapse_nestml", None)
    with open(out, "w") as handle:
        json.dump(result, handle)


if __name__ == "__main__":
    main()
