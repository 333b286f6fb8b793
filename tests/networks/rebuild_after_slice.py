"""Slices of SynapseCollections set while the network is live, then NESTML models that force a rebuild.

The scenario of issue 12 ("recorded calls vanish"): ``c = GetConnections(); c[0:5].set(...)``, then
a Connect through a NESTML synapse paired with a NESTML neuron, then Simulate. Under jitnest the
Simulate rebuilds the kernel and replays everything; the result must be plain NEST's.

``python rebuild_after_slice.py manual MODULE.so OUT.json``: plain PyNEST, the module of the manual
NESTML workflow, mangled names. ``python rebuild_after_slice.py jitnest - OUT.json``: jitnest.

Writes spikes, the connections and weights each SynapseCollection the script holds refers to, and
the NESTML connections, as JSON.
"""

import json
import sys

import stdp_network


def run(nest, neuron: str, synapse: str, module: str | None) -> dict:
    nest.ResetKernel()
    if module:
        nest.Install(module)
    nest.resolution = 0.1
    nest.rng_seed = 4321
    pre = nest.Create("iaf_psc_alpha", 20)
    post = nest.Create("iaf_psc_alpha", 10)
    nestml = nest.Create(neuron, 8)
    pg = nest.Create("poisson_generator", params={"rate": 12000.0})
    nest.Connect(pg, pre + nestml, syn_spec={"weight": 40.0})
    nest.Connect(pre, post, {"rule": "fixed_indegree", "indegree": 5}, {"weight": 30.0, "delay": 1.0})
    everything = nest.GetConnections()  # jitnest: builds the NESTML neuron alone; live from here
    everything[0:5].set(weight=2.0)
    everything[20:40:3].set(weight=3.5)
    onto_post = nest.GetConnections(target=post)
    onto_post[-4:].set({"delay": 2.0})
    some = onto_post[1:9]
    some[::2].set(weight=-5.0)  # a slice of a slice
    from_pre = nest.GetConnections(source=pre)  # only read at the end: the connections made so far
    # jitnest: the synapse is generated with the neuron, a combination the kernel lacks: the network
    # is rebuilt and every call above replayed at the Simulate below
    nest.Connect(pre, nestml, {"rule": "fixed_indegree", "indegree": 6},
                 {"synapse_model": synapse, "weight": 25.0, "delay": 1.5})
    sr = nest.Create("spike_recorder")
    nest.Connect(pre + post + nestml, sr)
    nest.Simulate(200.0)
    events = sr.get("events")
    spikes = sorted(zip((float(t) for t in events["times"]), (int(s) for s in events["senders"])))

    def table(collection) -> list:
        status = collection.get(["source", "target", "weight", "delay"])
        return [list(row) for row in zip(status["source"], status["target"], status["weight"], status["delay"])]

    return {
        "senders": [s for _, s in spikes], "times": [t for t, _ in spikes],
        "everything": table(everything), "onto_post": table(onto_post), "some": table(some),
        "from_pre": table(from_pre),
        "nestml": sorted(table(nest.GetConnections(synapse_model=synapse))),
        "n_connections": nest.num_connections,
    }


def main() -> None:
    mode, module, out = sys.argv[1:4]
    nest, neuron, synapse = stdp_network.flavour(mode)
    result = run(nest, neuron, synapse, module if mode == "manual" else None)
    if mode != "manual":
        result["modules"] = sorted(nest.build_report())
    with open(out, "w") as handle:
        json.dump(result, handle)


if __name__ == "__main__":
    main()
