"""Time to first spike under MPI: jitnest on 1, 2 and 4 ranks, cold and warm, against plain NEST.

The STDP network of the README (iaf_psc_exp_neuron + stdp_synapse_nestml), simulated for 20 ms.
*Time to first spike* is the wall time from starting ``mpirun -np N python script.py`` until the
first ``Simulate`` has returned on rank 0 (the network has spiked by then): imports, recording,
generation and compilation (cold), installation on every rank, and the simulation itself.

* jitnest cold: an empty cache folder (so also NESTML's server start and the precompiled header);
* jitnest warm: the same cache again (median of ``--repeats`` runs);
* plain NEST: ``import nest``, ``nest.Install`` of the module the manual NESTML workflow built
  beforehand (benchmarks/manual_workflow.py, outside MPI; its time is reported once), mangled names.

Run it in the MPI environment: ``scripts/run.sh bench mpi`` (``--ranks 1 2 4 --repeats 3``). Prints a
Markdown table and writes JSON to benchmarks/results/mpi_first_spike.json.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = """
import json, os, sys, time
if sys.argv[1] == "plain":
    import nest
    nest.Install(sys.argv[2])
    neuron = "iaf_psc_exp_neuron_nestml__with_stdp_synapse_nestml"
    synapse = "stdp_synapse_nestml__with_iaf_psc_exp_neuron_nestml"
else:
    import jitnest as nest
    neuron, synapse = "iaf_psc_exp_neuron", "stdp_synapse_nestml"
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
nest.Simulate(20.0)
done = time.time()
if nest.Rank() == 0:
    with open(sys.argv[3], "w") as handle:
        json.dump({"seconds": done - float(os.environ["BENCH_STARTED"]), "spikes_rank0": sr.n_events}, handle)
"""


def mpirun(ranks: int) -> list[str]:
    command = ["mpirun", "--oversubscribe", "--bind-to", "none", "-np", str(ranks)]
    return command + (["--allow-run-as-root"] if os.geteuid() == 0 else [])


def first_spike(ranks: int, mode: str, module: str, work: Path, cache: Path) -> float:
    result = work / "result.json"
    result.unlink(missing_ok=True)
    environment = {**os.environ, "JITNEST_CACHE_DIR": str(cache), "JITNEST_QUIET": "1", "PYNEST_QUIET": "1",
                   "BENCH_STARTED": repr(time.time())}
    subprocess.run(mpirun(ranks) + [sys.executable, str(work / "network.py"), mode, module, str(result)],
                   env=environment, check=True, capture_output=True, timeout=1800)
    answer = json.loads(result.read_text())
    assert answer["spikes_rank0"] > 0 or ranks > 1, "no spike: the measurement would mean nothing"
    return answer["seconds"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--ranks", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "mpi_first_spike.json")
    args = parser.parse_args()

    import nest

    if not nest.build_info.get("have_mpi"):
        sys.exit("this NEST has no MPI: run scripts/run.sh bench mpi (the MPI environment)")
    load_before = os.getloadavg()
    work = Path(tempfile.mkdtemp(prefix="jitnest-mpi-bench-"))
    try:
        (work / "network.py").write_text(SCRIPT)
        started = time.monotonic()
        manual = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "manual_workflow.py"), str(work / "manual"),
                                 "benchmanualmodule", "iaf_psc_exp_neuron",
                                 "stdp_synapse:post_spikes:w@iaf_psc_exp_neuron"],
                                check=True, capture_output=True, text=True)
        manual_seconds = time.monotonic() - started
        module = json.loads(manual.stdout.strip().splitlines()[-1])["module"]
        rows = []
        for ranks in args.ranks:
            cache = work / f"cache-{ranks}"
            cold = first_spike(ranks, "jitnest", "-", work, cache)
            warm = [first_spike(ranks, "jitnest", "-", work, cache) for _ in range(args.repeats)]
            plain = [first_spike(ranks, "plain", module, work, cache) for _ in range(args.repeats)]
            rows.append({"ranks": ranks, "jitnest_cold": cold, "jitnest_warm": statistics.median(warm),
                         "plain_nest": statistics.median(plain), "warm_runs": warm, "plain_runs": plain})
            shutil.rmtree(cache, ignore_errors=True)
            print(f"{ranks} ranks: cold {cold:.1f} s, warm {statistics.median(warm):.2f} s, "
                  f"plain {statistics.median(plain):.2f} s", file=sys.stderr)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    report = {"date": time.strftime("%Y-%m-%d %H:%M"), "cores": os.cpu_count(),
              "load_average_before": load_before, "load_average_after": os.getloadavg(),
              "manual_workflow_seconds": manual_seconds, "rows": rows}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2))
    print(f"manual NESTML workflow (generate + compile, once, outside MPI): {manual_seconds:.1f} s\n")
    print("| ranks | jitnest cold (s) | jitnest warm (s) | plain NEST, module prebuilt (s) |")
    print("| ---: | ---: | ---: | ---: |")
    for row in rows:
        print(f"| {row['ranks']} | {row['jitnest_cold']:.1f} | {row['jitnest_warm']:.2f} | {row['plain_nest']:.2f} |")


if __name__ == "__main__":
    main()
