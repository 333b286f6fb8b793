"""The STDP network of the jitnest core issue, run one of two ways in a fresh process.

``python stdp_network.py manual MODULE.so OUT.json [THREADS [TWIN]]``: plain PyNEST with a module built
by the manual NESTML workflow, mangled names, ``nest.Install``.
``python stdp_network.py jitnest - OUT.json [THREADS [TWIN]]``: ``import jitnest as nest`` and the names
a user writes; also reports the synapse models the real kernel has.

TWIN (``_hpc`` or ``_lbl``) connects through NEST's twin of the STDP synapse instead.

Writes node IDs, spikes, final weights and the model names NEST reports, as JSON. Spikes are sorted by
(time, sender) and connections by (source, target): with several threads the order in which NEST
reports them is not defined, the values are.
"""

import json
import sys


def run(nest, neuron: str, synapse: str, module: str | None, threads: int) -> dict:
    nest.ResetKernel()
    if module:
        nest.Install(module)
    nest.local_num_threads = threads
    nest.resolution = 0.1
    nest.rng_seed = 1234
    pre = nest.Create(neuron, 40)
    post = nest.Create(neuron, 30, params={"tau_m": 12.0})
    pg = nest.Create("poisson_generator", params={"rate": 9000.0})
    nest.Connect(pg, pre + post, syn_spec={"weight": 40.0})
    nest.Connect(pre, post, {"rule": "fixed_indegree", "indegree": 8},
                 {"synapse_model": synapse, "weight": 12.0, "delay": 1.5})
    sr = nest.Create("spike_recorder")
    nest.Connect(pre + post, sr)
    nest.Simulate(400.0)
    events = sr.get("events")
    spikes = sorted(zip((float(t) for t in events["times"]), (int(s) for s in events["senders"])))
    conns = nest.GetConnections(synapse_model=synapse)
    status = conns.get(["source", "target", "weight"])
    weights = sorted(zip(status["source"], status["target"], (float(w) for w in status["weight"])))
    return {
        "ids": {"pre": pre.tolist(), "post": post.tolist(), "pg": pg.tolist(), "sr": sr.tolist()},
        "senders": [s for _, s in spikes],
        "times": [t for t, _ in spikes],
        "sources": [c[0] for c in weights], "targets": [c[1] for c in weights],
        "weights": [c[2] for c in weights],
        "neuron_model": pre[0].get("model"),
        "synapse_model": conns[0].get("synapse_model"),
        "tau_m_post": post[0].get("tau_m"),
    }


def main() -> None:
    mode, module, out = sys.argv[1:4]
    threads = int(sys.argv[4]) if len(sys.argv) > 4 else 1
    twin = sys.argv[5] if len(sys.argv) > 5 else ""
    if mode == "manual":
        import nest

        result = run(nest, "iaf_psc_exp_neuron_nestml__with_stdp_synapse_nestml",
                     "stdp_synapse_nestml__with_iaf_psc_exp_neuron_nestml" + twin, module, threads)
    else:
        import jitnest as nest
        from jitnest.pynest import REAL

        result = run(nest, "iaf_psc_exp_neuron", "stdp_synapse_nestml" + twin, None, threads)
        result["real_synapse_models"] = sorted(m for m in REAL.synapse_models if "nestml" in m)
    with open(out, "w") as handle:
        json.dump(result, handle)


if __name__ == "__main__":
    main()
