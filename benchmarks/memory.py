"""Peak memory of parameters-before-the-network: plain NEST vs a naive per-neuron cache vs jitnest.

Each variant runs in a fresh process: create N neurons of NESTML's iaf_psc_exp_neuron with some
heterogeneous parameters, read parameters before Simulate, connect (a Poisson drive to every
neuron plus a sparse recurrent projection), simulate 10 ms, report peak RSS.

* ``baseline``: plain NEST with the module built beforehand by the manual NESTML workflow.
* ``naive``: the same, plus what a naive lazy tool does: a Python dict of the neuron's parameters
  per neuron, cached at create time and read from before Simulate.
* ``jitnest``: ``import jitnest as nest`` (warm cache); reads before Simulate come from its store.

Usage: ``python benchmarks/memory.py [--sizes 10000 100000 1000000] [--out DIR]``.
Prints a table (peak MB, bytes per neuron above the idle process, ratio to baseline) and writes
``memory.json`` and ``memory.png`` into DIR (default benchmarks/results).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
MODEL = "iaf_psc_exp_neuron"
MANUAL_NAME = "iaf_psc_exp_neuron_nestml"
VARIANTS = ("baseline", "naive", "jitnest")


def peak_rss_bytes() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def current_rss_bytes() -> int:
    with open("/proc/self/statm") as handle:
        return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def build_network(nest, model: str, n: int, read_parameters) -> dict:
    """The measured workload; ``read_parameters(pop)`` reads parameters before Simulate."""
    import numpy

    rng = numpy.random.default_rng(42)
    v_m = rng.uniform(-70.0, -60.0, n)
    i_e = rng.uniform(0.0, 100.0, n)
    pop = nest.Create(model, n, params={"V_m": v_m, "I_e": i_e, "tau_m": 12.0})
    mean_v = read_parameters(pop)
    drive = nest.Create("poisson_generator", params={"rate": 8000.0})
    nest.Connect(drive, pop, syn_spec={"weight": 20.0})
    nest.Connect(pop, pop, {"rule": "fixed_indegree", "indegree": 2}, {"weight": 5.0, "delay": 1.5})
    nest.Simulate(10.0)
    return {"mean_v_before": mean_v}


def run_variant(variant: str, n: int, module: str | None) -> dict:
    import numpy

    idle = current_rss_bytes()
    if variant == "jitnest":
        import jitnest as nest

        idle = current_rss_bytes()
        nest.ResetKernel()
        result = build_network(nest, MODEL, n, lambda pop: float(numpy.mean(pop.get("V_m"))))
    else:
        import nest

        idle = current_rss_bytes()
        nest.ResetKernel()
        nest.Install(module)
        cache: list[dict] = []

        def read(pop) -> float:
            if variant == "naive":
                # A Python dict of parameters per neuron, cached at create time (what a lazy tool
                # that keeps Python objects per neuron would hold until the network exists).
                keys = list(pop[0].get().keys())  # every status key of a node
                status = pop.get(keys)
                for i in range(len(pop)):
                    cache.append({k: (v[i] if isinstance(v, tuple) else v) for k, v in status.items()})
                return float(numpy.mean([d["V_m"] for d in cache]))
            return float(numpy.mean(pop.get("V_m")))

        result = build_network(nest, MANUAL_NAME, n, read)
        result["cached_dicts"] = len(cache)
    result.update(variant=variant, n=n, peak_bytes=peak_rss_bytes(), idle_bytes=idle)
    return result


def ensure_manual_module(work: Path) -> str:
    module = work / "manual" / "benchmemorymodule.so"
    if not module.exists():
        subprocess.run([sys.executable, str(HERE / "manual_workflow.py"), str(module.parent), "benchmemorymodule",
                        MODEL], check=True, capture_output=True)
    return str(module)


def measure(variant: str, n: int, module: str) -> dict:
    env = {**os.environ, "PYNEST_QUIET": "1", "JITNEST_QUIET": "1"}
    completed = subprocess.run([sys.executable, __file__, "--child", variant, str(n), module],
                               capture_output=True, text=True, env=env, check=False)
    if completed.returncode != 0:
        raise RuntimeError(f"{variant} N={n} failed:\n{completed.stderr[-3000:]}")
    return json.loads(completed.stdout.strip().splitlines()[-1])


def report(results: list[dict], out: Path) -> None:
    baseline = {r["n"]: r for r in results if r["variant"] == "baseline"}
    lines = [f"{'N':>9} {'variant':>9} {'peak MB':>9} {'B/neuron':>9} {'ratio':>6}"]
    for r in results:
        base = baseline[r["n"]]
        per_neuron = (r["peak_bytes"] - r["idle_bytes"]) / r["n"]
        r["bytes_per_neuron"] = per_neuron
        r["ratio"] = r["peak_bytes"] / base["peak_bytes"]
        lines.append(f"{r['n']:>9} {r['variant']:>9} {r['peak_bytes'] / 2**20:>9.1f} {per_neuron:>9.0f} "
                     f"{r['ratio']:>6.3f}")
    table = "\n".join(lines)
    print(table)
    meta = {"date": time.strftime("%Y-%m-%d"), "machine": f"{platform.machine()}, {os.cpu_count()} cores",
            "python": platform.python_version()}
    print(f"({meta['date']}, {meta['machine']})")
    out.mkdir(parents=True, exist_ok=True)
    (out / "memory.json").write_text(json.dumps({"meta": meta, "results": results}, indent=2))
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return
    figure, axis = plt.subplots(figsize=(6, 4))
    for variant in VARIANTS:
        points = [(r["n"], r["peak_bytes"] / 2**20) for r in results if r["variant"] == variant]
        axis.plot(*zip(*points), marker="o", label=variant)
    axis.set(xscale="log", yscale="log", xlabel="neurons", ylabel="peak RSS (MB)",
             title="Peak memory: parameters read before Simulate")
    axis.legend()
    figure.tight_layout()
    figure.savefig(out / "memory.png", dpi=120)
    print(f"wrote {out / 'memory.png'}")


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        variant, n, module = sys.argv[2], int(sys.argv[3]), sys.argv[4]
        print(json.dumps(run_variant(variant, n, module)))
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--out", type=Path, default=HERE / "results")
    args = parser.parse_args()
    module = ensure_manual_module(args.out)
    measure("jitnest", 10, module)  # warm jitnest's cache: the build is not what is measured
    results = [measure(variant, n, module) for n in args.sizes for variant in VARIANTS]
    report(results, args.out)


if __name__ == "__main__":
    main()
