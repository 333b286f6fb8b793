"""The NESTML network of tests/networks/pynn_network.py under MPI, one output file per rank.

``python pynn_mpi.py jitnest OUT_DIR``: ``jitnest.hooks.install()`` before ``import pyNN.nest``, the
models named as a user names them (``native_cell_type("iaf_psc_exp_neuron")``, ...).
``python pynn_mpi.py manual MODULE.so OUT_DIR``: plain NEST, the manual workflow's module, mangled names.

PyNN gathers data across ranks only through mpi4py, which neither side needs: each rank writes
``OUT_DIR/rank-<rank>.json`` with the spikes of its own cells (by cell ID) and its own connections'
weights (by cell ID), and a test merges them.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "networks"))
from pynn_network import NESTML_NAMES  # noqa: E402 -- the model names of both modes


def run(sim, mode: str, module: str | None) -> dict:
    sim.setup(timestep=0.1, rng_seed=1234)
    if module:
        import nest

        nest.Install(module)  # after setup(): PyNN's setup() resets the kernel
    neuron, synapse = NESTML_NAMES[mode]
    celltype = sim.native_cell_type(neuron)
    syntype = sim.native_synapse_type(synapse)
    if mode == "manual":
        celltype.default_parameters.pop("unit_psc")  # see pynn_network.py
    syntype.weight_variable = "w"
    source = sim.Population(20, sim.SpikeSourcePoisson(rate=80.0), label="source")
    pre = sim.Population(20, celltype(tau_m=15.0), label="pre")
    post = sim.Population(10, celltype(), label="post")
    sim.Projection(source, pre, sim.OneToOneConnector(), sim.StaticSynapse(weight=1000.0, delay=1.0))
    sim.Projection(source, post, sim.AllToAllConnector(), sim.StaticSynapse(weight=300.0, delay=1.0))
    plastic = sim.Projection(pre, post, sim.AllToAllConnector(), syntype(weight=100.0, delay=1.5))
    pre.record("spikes")
    post.record("spikes")
    sim.run(200.0)
    spikes = {}
    for population in (pre, post):
        for train in population.get_data("spikes", gather=False).segments[0].spiketrains:
            spikes[int(train.annotations["channel_id"])] = [float(t) for t in train.magnitude]
    weights = [(int(pre[int(i)]), int(post[int(j)]), round(float(w), 12))
               for i, j, w in plastic.get("weight", format="list", gather=False)]
    return {
        "rank": sim.rank(), "processes": sim.num_processes(),
        "ids": {p.label: [int(i) for i in p.all_cells] for p in (source, pre, post)},
        "spikes": spikes, "weights": sorted(weights),
    }


def main() -> None:
    mode = sys.argv[1]
    module = sys.argv[2] if mode == "manual" else None
    out = sys.argv[-1]
    if mode == "jitnest":
        import jitnest.hooks

        jitnest.hooks.install()
    import pyNN.nest as sim

    result = run(sim, mode, module)
    sim.end()
    with open(os.path.join(out, f"rank-{result['rank']}.json"), "w") as handle:
        json.dump(result, handle)


if __name__ == "__main__":
    main()
