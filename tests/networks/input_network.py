"""A network for the differential test of every kind of input a NESTML neuron buffers, run in a fresh process.

``python input_network.py manual MODULE.so OUT.json VARIANT``: plain PyNEST with a module built by the
manual NESTML workflow (NESTML's unedited code), mangled names.
``python input_network.py jitnest - OUT.json VARIANT``: ``import jitnest as nest`` (transformed code,
unless JITNEST_TRANSFORM=0).

A neuron receives excitatory and inhibitory spikes (positive and negative weights, from Poisson
generators and from each other, with delays of several steps; of weight 0.0 and -0.0; of multiplicity 0)
and currents (CurrentEvents: a dc_generator, a step_current_generator and a noise_generator), over two
Simulate calls; some neurons' excitatory current is set to -0.0 before each (a step without an
excitatory spike must leave it so). VARIANT:
* ``plain``: iaf_psc_exp_neuron alone (NESTML's unpaired neuron; its onReceive blocks ask whether a spike
  arrived);
* ``paired``: the same plus stdp_synapse connections between the neurons (NESTML's paired neuron);
* ``alpha``: iaf_psc_alpha_neuron alone (its spikes only feed kernels: no onReceive block asks).

Writes spikes and what a multimeter recorded (V_m, and the synaptic currents or kernels' states) as JSON.
"""

import json
import sys

from speed_network import spikes_and_recordings

NEURON = {("manual", "plain"): "iaf_psc_exp_neuron_nestml",
          ("manual", "paired"): "iaf_psc_exp_neuron_nestml__with_stdp_synapse_nestml",
          ("manual", "alpha"): "iaf_psc_alpha_neuron_nestml",
          ("jitnest", "plain"): "iaf_psc_exp_neuron", ("jitnest", "paired"): "iaf_psc_exp_neuron",
          ("jitnest", "alpha"): "iaf_psc_alpha_neuron"}
SYNAPSE = {"manual": "stdp_synapse_nestml__with_iaf_psc_exp_neuron_nestml", "jitnest": "stdp_synapse_nestml"}
RECORDED = {"plain": ["V_m", "I_syn_exc", "I_syn_inh"], "paired": ["V_m", "I_syn_exc", "I_syn_inh"],
            "alpha": ["V_m", "I_kernel_exc__X__exc_spikes", "I_kernel_exc__X__exc_spikes__d",
                      "I_kernel_inh__X__inh_spikes", "I_kernel_inh__X__inh_spikes__d"]}


def run(nest, neuron: str, synapse: str, module: str | None, variant: str) -> dict:
    nest.ResetKernel()
    if module:
        nest.Install(module)
    nest.resolution = 0.1
    nest.rng_seed = 1234
    neurons = nest.Create(neuron, 40, params={"I_e": nest.random.uniform(0.0, 200.0)})
    exc = nest.Create("poisson_generator", params={"rate": 12000.0})
    inh = nest.Create("poisson_generator", params={"rate": 4000.0})
    nest.Connect(exc, neurons, syn_spec={"weight": 30.0, "delay": 1.0})
    nest.Connect(inh, neurons, syn_spec={"weight": -45.0, "delay": 0.3})
    nest.Connect(neurons, neurons, {"rule": "fixed_indegree", "indegree": 10},
                 {"weight": nest.random.uniform(-60.0, 40.0), "delay": nest.random.uniform(0.1, 2.5)})
    # spikes of weight 0.0 and -0.0 (NESTML runs a port's onReceive for them all the same), some at once
    zero = nest.Create("spike_generator", params={"spike_times": [5.0, 5.1, 40.0, 40.0, 133.3, 201.7]})
    nest.Connect(zero, neurons[:8], syn_spec={"weight": 0.0, "delay": 0.5})
    nest.Connect(zero, neurons[4:12], syn_spec={"weight": -0.0, "delay": 0.5})
    # spikes of multiplicity 0 (a spike_generator accepts them), of either sign, alone and with others
    mult = nest.Create("spike_generator", params={"spike_times": [7.0, 7.0, 60.2, 150.0, 150.0],
                                                  "spike_multiplicities": [0, 0, 0, 0, 2]})
    nest.Connect(mult, neurons[:10], syn_spec={"weight": -25.0, "delay": 0.5})
    nest.Connect(mult, neurons[5:15], syn_spec={"weight": 25.0, "delay": 0.5})
    if variant == "paired":
        nest.Connect(neurons[:20], neurons[20:], {"rule": "fixed_indegree", "indegree": 5},
                     {"synapse_model": synapse, "weight": 15.0, "delay": 1.2})
    dc = nest.Create("dc_generator", params={"amplitude": 180.0, "start": 30.0, "stop": 250.0})
    steps = nest.Create("step_current_generator", params={
        "amplitude_times": [20.0, 75.3, 140.0, 260.1], "amplitude_values": [120.0, -80.0, 300.0, 45.5]})
    noise = nest.Create("noise_generator", params={"mean": 50.0, "std": 120.0, "dt": 0.1})
    nest.Connect(dc, neurons[:15])
    nest.Connect(steps, neurons[10:30], syn_spec={"weight": 1.5, "delay": 0.7})
    nest.Connect(noise, neurons[25:])
    sr = nest.Create("spike_recorder")
    nest.Connect(neurons, sr)
    mm = nest.Create("multimeter", params={"record_from": RECORDED[variant], "interval": 0.1})
    nest.Connect(mm, neurons)
    if variant != "alpha":
        # a current of -0.0: a step without an excitatory spike must leave it -0.0, as NESTML's code does by
        # not running the onReceive block (no excitatory spike arrives before 1.1 ms)
        neurons[1::4].set({"I_syn_exc": -0.0})
    nest.Simulate(120.0)
    # parameters the step loop reads as invariants, changed between the runs
    neurons[::3].set({"I_e": 150.0, "E_L": -68.0, "tau_m": 12.0, "C_m": 230.0, "tau_syn_exc": 3.5})
    if variant != "alpha":
        neurons[2::5].set({"I_syn_exc": -0.0})
    nest.Simulate(180.0)

    result = spikes_and_recordings(sr, mm, RECORDED[variant])
    if variant == "paired":
        status = nest.GetConnections(synapse_model=synapse).get(["source", "target", "weight"])
        result["weights"] = sorted(zip(status["source"], status["target"], status["weight"]))
    return result


def main() -> None:
    mode, module, out, variant = sys.argv[1:5]
    if mode == "manual":
        import nest
    else:
        import jitnest as nest
    result = run(nest, NEURON[mode, variant], SYNAPSE[mode], module if mode == "manual" else None, variant)
    with open(out, "w") as handle:
        json.dump(result, handle)


if __name__ == "__main__":
    main()
