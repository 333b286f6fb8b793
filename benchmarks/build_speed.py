"""Cold and warm build times: the manual NESTML workflow vs jitnest, measured side by side in one run.

Cases: one neuron alone; one STDP pair; a nonlinear GSL neuron (aeif_cond_exp_neuron); three
neuron–STDP combinations (one NESTML call with three pairs in the manual workflow, three units
in jitnest).

* manual: benchmarks/manual_workflow.py (NESTML generation + g++ on all cores), fresh directory.
* jitnest cold: a fresh cache, so generation + compile, and once per machine also the shared
  precompiled header (reported separately: "first ever" vs "new model"). jitnest's NESTML server
  outlives a script by a minute (a rerun does not import NESTML again), so a case may find the
  server an earlier case started; with ``--no-running-server`` every cold build starts without one.
* warm overhead: whole-process wall time of the same small script run with plain NEST and the
  module pre-installed vs jitnest on a warm cache (median of several runs), difference.

Usage: ``python benchmarks/build_speed.py [--cases pair ...] [--repeat 5]``; prints a table and
writes benchmarks/results/build_speed.json.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent

# case -> (neurons, [(synapse, post port, weight variable, neuron)])
CASES: dict[str, tuple[list[str], list[tuple[str, str, str, str]]]] = {
    "neuron": (["iaf_psc_exp_neuron"], []),
    "pair": (["iaf_psc_exp_neuron"], [("stdp_synapse", "post_spikes", "w", "iaf_psc_exp_neuron")]),
    "gsl": (["aeif_cond_exp_neuron"], []),
    "three": (["iaf_psc_exp_neuron", "iaf_psc_alpha_neuron", "iaf_psc_delta_neuron"],
              [("stdp_synapse", "post_spikes", "w", n)
               for n in ("iaf_psc_exp_neuron", "iaf_psc_alpha_neuron", "iaf_psc_delta_neuron")]),
}


def network_script(case: str, flavour: str, module: str | None) -> str:
    """A small script creating the case's network; ``flavour`` is 'nest' (mangled names) or 'jitnest'."""
    neurons, synapses = CASES[case]
    lines = ["import sys"]
    if flavour == "nest":
        lines += ["import nest", "nest.ResetKernel()", f"nest.Install({module!r})"]
    else:
        lines += ["import jitnest as nest", "nest.ResetKernel()"]
    paired = {s[3]: s[0] for s in synapses}
    for i, neuron in enumerate(neurons):
        if flavour == "nest":
            name = f"{neuron}_nestml" + (f"__with_{paired[neuron]}_nestml" if neuron in paired else "")
        else:
            name = neuron
        lines.append(f"p{i} = nest.Create({name!r}, 10)")
        if neuron in paired:
            synapse = (f"{paired[neuron]}_nestml__with_{neuron}_nestml" if flavour == "nest"
                       else f"{paired[neuron]}_nestml")
            lines.append(f"nest.Connect(p{i}, p{i}, syn_spec={{'synapse_model': {synapse!r}}})")
    lines.append("nest.Prepare(); nest.Cleanup()")
    return "\n".join(lines)


def timed(command: list[str], env: dict) -> tuple[float, str]:
    started = time.monotonic()
    completed = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    elapsed = time.monotonic() - started
    if completed.returncode != 0:
        raise RuntimeError(f"{command[:3]} failed:\n{completed.stderr[-3000:]}")
    return elapsed, completed.stdout


def manual_build(case: str, work: Path) -> dict:
    neurons, synapses = CASES[case]
    args = [str(work / "manual"), f"bench{case}module", ",".join(neurons)]
    args += [f"{s}:{p}:{w}@{n}" for s, p, w, n in synapses]
    elapsed, stdout = timed([sys.executable, str(HERE / "manual_workflow.py"), *args], dict(os.environ))
    result = json.loads(stdout.strip().splitlines()[-1])
    return {"seconds": elapsed, **result}


def stop_nestml_servers(cache: Path) -> None:
    """Stop the NESTML servers of ``cache`` (they write their PIDs beside their sockets)."""
    for pid_file in (cache / "servers").glob("*.pid"):
        try:
            pid = int(pid_file.read_text())
            os.kill(pid, signal.SIGTERM)
        except (OSError, ValueError):
            continue
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                os.kill(pid, 0)
            except OSError:
                break
            time.sleep(0.05)


def jitnest_build(case: str, cache: Path) -> float:
    env = {**os.environ, "JITNEST_CACHE_DIR": str(cache), "JITNEST_QUIET": "1", "PYNEST_QUIET": "1"}
    elapsed, _ = timed([sys.executable, "-c", network_script(case, "jitnest", None)], env)
    return elapsed


def warm_overhead(case: str, module: str, cache: Path, repeat: int) -> dict:
    env = {**os.environ, "JITNEST_CACHE_DIR": str(cache), "JITNEST_QUIET": "1", "PYNEST_QUIET": "1"}
    plain, jit = [], []
    for _ in range(repeat):  # interleaved, so drifts in machine load hit both alike
        plain.append(timed([sys.executable, "-c", network_script(case, "nest", module)], env)[0])
        jit.append(timed([sys.executable, "-c", network_script(case, "jitnest", None)], env)[0])
    return {"plain_median": statistics.median(plain), "jitnest_median": statistics.median(jit),
            "overhead": statistics.median(jit) - statistics.median(plain)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", nargs="+", default=list(CASES), choices=list(CASES))
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--out", type=Path, default=HERE / "results")
    parser.add_argument("--no-running-server", action="store_true",
                        help="stop jitnest's NESTML server before each cold build")
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory(prefix="jitnest-bench-") as temporary:
        shared_cache = Path(temporary) / "shared-cache"  # keeps the precompiled header between cases
        first = True
        for case in args.cases:
            work = Path(temporary) / case
            manual = manual_build(case, work)
            if args.no_running_server:
                stop_nestml_servers(shared_cache)
            cold = jitnest_build(case, shared_cache)
            row = {"case": case, "manual_seconds": manual["seconds"],
                   "manual_generate": manual["generate_seconds"], "manual_compile": manual["compile_seconds"],
                   "jitnest_cold": cold, "cold_includes_pch": first, "server_stopped": args.no_running_server}
            row["ratio"] = cold / manual["seconds"]
            row.update(warm_overhead(case, manual["module"], shared_cache, args.repeat))
            rows.append(row)
            first = False
            print(json.dumps(row), flush=True)
        stop_nestml_servers(shared_cache)  # its cache folder is about to go
    header = (f"{'case':>7} {'manual s':>9} {'jitnest cold s':>15} {'ratio':>6} "
              f"{'plain warm s':>13} {'jitnest warm s':>15} {'overhead s':>11}")
    print(header)
    for r in rows:
        note = " (incl. PCH)" if r["cold_includes_pch"] else ""
        print(f"{r['case']:>7} {r['manual_seconds']:>9.1f} {r['jitnest_cold']:>15.1f} {r['ratio']:>6.2f} "
              f"{r['plain_median']:>13.2f} {r['jitnest_median']:>15.2f} {r['overhead']:>11.2f}{note}")
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "build_speed.json").write_text(json.dumps({"date": time.strftime("%Y-%m-%d"),
                                                           "cores": os.cpu_count(), "rows": rows}, indent=2))


if __name__ == "__main__":
    main()
