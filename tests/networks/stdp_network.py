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

# The STDP pair as the manual NESTML workflow names it, and as a user of jitnest does.
MANGLED = ("iaf_psc_exp_neuron_nestml__with_stdp_synapse_nestml", "stdp_synapse_nestml__with_iaf_psc_exp_neuron_nestml")
PLAIN = ("iaf_psc_exp_neuron", "stdp_synapse_nestml")


def flavour(mode: str):
    """``(nest, neuron, synapse)`` for ``mode``: ``manual`` is plain PyNEST with the manual workflow's
    mangled names; ``jitnest`` is ``import jitnest as nest``; ``hook`` is ``import nest`` in a script run
    through ``python -m jitnest`` (jitnest's stand-in); the last two with the names a user writes."""
    if mode == "manual":
        import nest

        return nest, *MANGLED
    if mode == "hook":
        import nest  # jitnest's stand-in when run through ``python -m jitnest``

        assert getattr(nest, "__jitnest_standin__", False), "nest is not jitnest here"
    else:
        import jitnest as nest
    return nest, *PLAIN


def build(nest, neuron: str, synapse: str, module: str | None, threads: int = 1, pre_size: int = 40,
          post_size: int = 30, indegree: int = 8) -> tuple:
    """A fresh kernel with the STDP network (not simulated): ``(pre, post, poisson_generator, spike_recorder)``."""
    nest.ResetKernel()
    if module:
        nest.Install(module)
    nest.local_num_threads = threads
    nest.resolution = 0.1
    nest.rng_seed = 1234
    pre = nest.Create(neuron, pre_size)
    post = nest.Create(neuron, post_size, params={"tau_m": 12.0})
    pg = nest.Create("poisson_generator", params={"rate": 9000.0})
    nest.Connect(pg, pre + post, syn_spec={"weight": 40.0})
    nest.Connect(pre, post, {"rule": "fixed_indegree", "indegree": indegree},
                 {"synapse_model": synapse, "weight": 12.0, "delay": 1.5})
    sr = nest.Create("spike_recorder")
    nest.Connect(pre + post, sr)
    return pre, post, pg, sr


def run(nest, neuron: str, synapse: str, module: str | None, threads: int) -> dict:
    pre, post, pg, sr = build(nest, neuron, synapse, module, threads)
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
    nest, neuron, synapse = flavour(mode)
    result = run(nest, neuron, synapse + twin, module if mode == "manual" else None, threads)
    if mode != "manual":
        from jitnest.pynest import REAL

        result["real_synapse_models"] = sorted(m for m in REAL.synapse_models if "nestml" in m)
    with open(out, "w") as handle:
        json.dump(result, handle)


if __name__ == "__main__":
    main()
