"""The STDP network of tests/networks/stdp_network.py, one output file per MPI rank.

``python stdp_mpi.py manual MODULE.so OUT_DIR [THREADS [TWIN]]``: plain PyNEST, the manual workflow's
module, ``nest.Install``, NESTML's mangled names.
``python stdp_mpi.py hook - OUT_DIR [THREADS [TWIN]]``: ``import nest`` and the names a user writes; run it
as ``python -m jitnest stdp_mpi.py hook ...`` (an unmodified script: nest means jitnest through the hook).
``python stdp_mpi.py jitnest - OUT_DIR [THREADS [TWIN]]``: ``import jitnest as nest``.

TWIN (``_hpc`` or ``_lbl``) connects through NEST's twin of the STDP synapse instead.

Each rank writes ``OUT_DIR/rank-<rank>.json``: node IDs (global), the spikes its spike recorder
saw and the connections it holds (each rank has only its own), the model names, the numbers of
processes and virtual processes, and for jitnest which module it installed and whether it built it.
A test merges the ranks' files.
"""

import json
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "networks"))
import stdp_network  # noqa: E402 -- the network itself, shared with the tests without MPI


def _listed(value) -> list:
    """One connection's status holds values, several connections' tuples: always a list."""
    return list(value) if isinstance(value, (list, tuple)) else [value]


def run(nest, neuron: str, synapse: str, module: str | None, threads: int) -> dict:
    pre, post, pg, sr = stdp_network.build(nest, neuron, synapse, module, threads)
    nest.Simulate(400.0)
    events = sr.get("events")
    conns = nest.GetConnections(synapse_model=synapse)
    status = {k: _listed(v) for k, v in conns.get(["source", "target", "weight", "synapse_model"]).items()} \
        if len(conns) else {}
    return {
        "rank": nest.Rank(), "processes": nest.NumProcesses(),
        "virtual_processes": nest.total_num_virtual_procs,
        "ids": {"pre": pre.tolist(), "post": post.tolist(), "pg": pg.tolist(), "sr": sr.tolist()},
        "spikes": sorted(zip((float(t) for t in events["times"]), (int(s) for s in events["senders"]))),
        "connections": sorted(zip(status.get("source", []), status.get("target", []),
                                  (float(w) for w in status.get("weight", [])))),
        "synapse_models": sorted(set(status.get("synapse_model", []))),
        "neuron_model": pre.get("model")[0],
    }


def main() -> None:
    mode, module, out = sys.argv[1:4]
    threads = int(sys.argv[4]) if len(sys.argv) > 4 else 1
    twin = sys.argv[5] if len(sys.argv) > 5 else ""
    nest, neuron, synapse = stdp_network.flavour(mode)
    result = run(nest, neuron, synapse + twin, module if mode == "manual" else None, threads)
    if mode != "manual":
        import jitnest
        from jitnest.pynest import REAL

        result["modules"] = jitnest.build_report()
        result["real_synapse_models"] = sorted(m for m in REAL.synapse_models if "nestml" in m)
    with open(os.path.join(out, f"rank-{result['rank']}.json"), "w") as handle:
        json.dump(result, handle)


if __name__ == "__main__":
    main()
