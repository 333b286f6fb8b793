"""PyNN networks run on plain NEST or on jitnest (through the import hook), in a fresh process.

``python pynn_network.py standard nest|jitnest OUT.json``: PyNN standard cell and synapse types
only (IF_curr_exp, IF_cond_exp, Izhikevich, Poisson and array sources, static, STDP and
Tsodyks-Markram synapses, a DC source, random parameters and connections).

``python pynn_network.py nestml jitnest OUT.json``: the NESTML STDP network, the models named as a
user names them: ``native_cell_type("iaf_psc_exp_neuron")``, ``native_synapse_type("stdp_synapse_nestml")``.
``python pynn_network.py nestml manual MODULE.so OUT.json``: the same with plain NEST, a module built by
benchmarks/manual_workflow.py, ``nest.Install`` and NESTML's mangled names.

Writes spikes, membrane potentials, weights and node IDs as JSON.
"""

from __future__ import annotations

import json
import sys

import numpy


def spikes_of(population) -> list[list[float]]:
    block = population.get_data("spikes", clear=False)
    return [[float(t) for t in train.magnitude] for train in block.segments[0].spiketrains]


def signal_of(population, name: str) -> list[list[float]]:
    block = population.get_data(name, clear=False)
    signal = next(s for s in block.segments[0].analogsignals if s.name == name)
    return numpy.asarray(signal.magnitude).T.round(9).tolist()


def weights_of(projection) -> list[list[float]]:
    return numpy.nan_to_num(projection.get("weight", format="array"), nan=-1.0).round(12).tolist()


def standard(sim) -> dict:
    from pyNN.random import NumpyRNG, RandomDistribution

    sim.setup(timestep=0.1, min_delay=0.5, rng_seed=4321)
    rng = NumpyRNG(seed=97)
    poisson = sim.Population(30, sim.SpikeSourcePoisson(rate=60.0), label="poisson")
    times = sim.Population(2, sim.SpikeSourceArray(spike_times=[[5.0, 25.0, 60.0], [12.0, 80.0]]))
    exc = sim.Population(40, sim.IF_curr_exp(tau_m=RandomDistribution("uniform", (15.0, 25.0), rng=rng),
                                             tau_refrac=2.0), label="exc")
    cond = sim.Population(15, sim.IF_cond_exp(tau_syn_E=3.0), label="cond")
    izh = sim.Population(5, sim.Izhikevich(a=0.02, b=0.2, c=-65.0, d=6.0), label="izh")
    exc.initialize(v=RandomDistribution("uniform", (-70.0, -55.0), rng=rng))
    sim.Projection(poisson, exc, sim.FixedProbabilityConnector(0.3, rng=rng),
                   sim.StaticSynapse(weight=0.8, delay=1.0))
    sim.Projection(poisson, cond, sim.FixedNumberPreConnector(6, rng=rng),
                   sim.StaticSynapse(weight=0.02, delay=RandomDistribution("uniform", (0.5, 2.0), rng=rng)))
    sim.Projection(times, izh, sim.AllToAllConnector(), sim.StaticSynapse(weight=5.0, delay=1.0))
    sim.Projection(poisson, izh, sim.FixedProbabilityConnector(0.5, rng=rng), sim.StaticSynapse(weight=3.0, delay=1.0))
    stdp = sim.STDPMechanism(timing_dependence=sim.SpikePairRule(tau_plus=20.0, tau_minus=20.0,
                                                                 A_plus=0.01, A_minus=0.012),
                             weight_dependence=sim.AdditiveWeightDependence(w_min=0.0, w_max=2.0),
                             weight=0.5, delay=1.5)
    plastic = sim.Projection(exc, cond, sim.FixedProbabilityConnector(0.4, rng=rng), stdp)
    depressing = sim.Projection(exc[:20], exc[20:], sim.OneToOneConnector(),
                                sim.TsodyksMarkramSynapse(U=0.5, tau_rec=100.0, tau_facil=0.0, weight=1.5, delay=1.0))
    inhibitory = sim.Projection(cond, exc, sim.AllToAllConnector(), sim.StaticSynapse(weight=-0.05, delay=0.8),
                                receptor_type="inhibitory")
    sim.DCSource(amplitude=0.3, start=50.0, stop=150.0).inject_into(exc[30:])
    exc.record(["spikes", "v"])
    cond.record(["spikes", "gsyn_exc"])
    izh.record("spikes")
    sim.run(100.0)
    exc.set(tau_refrac=3.0)
    sim.run(100.0)
    return {
        "ids": {p.label: [int(i) for i in p.all_cells] for p in (exc, cond, izh)},
        "exc_spikes": spikes_of(exc), "cond_spikes": spikes_of(cond), "izh_spikes": spikes_of(izh),
        "exc_v": signal_of(exc, "v"), "cond_gsyn": signal_of(cond, "gsyn_exc"),
        "stdp_weights": weights_of(plastic), "tm_weights": weights_of(depressing),
        "inh_weights": weights_of(inhibitory),
        "tau_m": [float(x) for x in exc.get("tau_m")],
    }


NESTML_NAMES = {
    "jitnest": ("iaf_psc_exp_neuron", "stdp_synapse_nestml"),
    "manual": ("iaf_psc_exp_neuron_nestml__with_stdp_synapse_nestml",
               "stdp_synapse_nestml__with_iaf_psc_exp_neuron_nestml"),
}


def nestml(sim, mode: str, module: str | None) -> dict:
    sim.setup(timestep=0.1, rng_seed=1234)
    if module:
        import nest

        nest.Install(module)  # after setup(): PyNN's setup() resets the kernel
    neuron, synapse = NESTML_NAMES[mode]
    celltype = sim.native_cell_type(neuron)
    syntype = sim.native_synapse_type(synapse)
    if mode == "manual":
        # Plain NEST reports the internal 'unit_psc' in GetDefaults but refuses it in Create, so PyNN
        # cannot create the model as it is (UnaccessedDictionaryEntry). jitnest does not report it.
        celltype.default_parameters.pop("unit_psc")
    # NEST reports a NESTML synapse's weight both as 'weight' and as its weight variable 'w', and refuses
    # both at once (BadProperty); PyNN sets every default. Tell PyNN which one is the weight (both modes).
    syntype.weight_variable = "w"
    source = sim.Population(20, sim.SpikeSourcePoisson(rate=80.0), label="source")
    pre = sim.Population(20, celltype(tau_m=15.0), label="pre")
    post = sim.Population(10, celltype(), label="post")
    sim.Projection(source, pre, sim.OneToOneConnector(), sim.StaticSynapse(weight=1000.0, delay=1.0))
    sim.Projection(source, post, sim.AllToAllConnector(), sim.StaticSynapse(weight=300.0, delay=1.0))
    plastic = sim.Projection(pre, post, sim.AllToAllConnector(), syntype(weight=100.0, delay=1.5))
    initial = weights_of(plastic)
    pre.record("spikes")
    post.record(["spikes", "V_m"])
    sim.run(200.0)
    import nest

    return {
        "ids": {p.label: [int(i) for i in p.all_cells] for p in (source, pre, post)},
        "pre_spikes": spikes_of(pre), "post_spikes": spikes_of(post), "post_v": signal_of(post, "V_m"),
        "initial_weights": initial, "weights": weights_of(plastic),
        "neuron_model": nest.GetStatus(pre.node_collection[:1], "model")[0],
        "synapse_model": plastic.nest_synapse_model,
    }


def main() -> None:
    network, mode = sys.argv[1:3]
    module = sys.argv[3] if mode == "manual" else None
    out = sys.argv[-1]
    if mode == "jitnest":
        import jitnest.hooks

        jitnest.hooks.install()
    import pyNN.nest as sim

    result = standard(sim) if network == "standard" else nestml(sim, mode, module)
    sim.end()
    with open(out, "w") as handle:
        json.dump(result, handle)


if __name__ == "__main__":
    main()
