"""Speed and size of generated models: NEST's built-in vs NESTML as generated vs jitnest-transformed.

For each neuron model (``iaf_psc_exp``, and with ``--models`` also ``iaf_psc_alpha``, ``aeif_cond_exp``)
and two cases, three variants run side by side:

* cases: ``neuron`` (N neurons, a Poisson drive each, ``indegree`` static recurrent synapses) and
  ``stdp`` (the same with plastic recurrent synapses: NEST's ``stdp_synapse`` / NESTML's
  ``stdp_synapse``, which NESTML generates paired with the neuron);
* variants: ``builtin`` (plain NEST, e.g. ``iaf_psc_exp`` + ``stdp_synapse``), ``nestml`` (jitnest with
  ``JITNEST_TRANSFORM=0``: NESTML's code as generated, compiled like jitnest's) and ``jitnest``
  (jitnest's transformed code, the default).

Measured, each run in a fresh process with one thread:

* CPU seconds of ``Simulate`` (process time), ``--repetitions`` rounds; in each round every
  variant of a case runs once, one after another (interleaved, so that load on the machine hits
  all variants alike), each round starting one variant later than the last (so that no variant
  always runs first or last in a round). Reported: the median over rounds of the per-round ratio to
  ``builtin``;
* instructions executed inside NEST's ``SimulationManager::run`` under ``valgrind --tool=callgrind``
  on a smaller network (``--callgrind-neurons``), deterministic, the primary measure on a busy machine;
* bytes per neuron: resident memory after creating ``--memory-neurons`` neurons and simulating 1 ms,
  minus before, divided by N ("idle": no input, no spike); and the same in an active network
  ("active": each neuron driven by the Poisson generator to fire, receiving one synapse of the case
  from another neuron with a delay of 1.5 ms, so that its input buffer spans min + max delay and a
  paired neuron archives its spikes, after 200 ms), minus N times that synapse's ``sizeof``; bytes
  per synapse: ``sizeof`` of the connection object (the synapse model's ``sizeof`` in NEST's
  ``GetDefaults``).

Usage: ``python benchmarks/speed.py [--models iaf_psc_exp,iaf_psc_alpha] [--repetitions 5] [--out DIR]``
(``scripts/run.sh bench speed``); ``--cases neuron --neurons 100000`` measures the neuron case alone at
10^5 neurons, ``--no-cpu --no-callgrind --memory idle --memory-neurons 1000000`` the bytes of idle
neurons at 10^6 (an active run at 10^6 takes ~5 minutes per variant); ``--variants builtin,jitnest`` leaves
NESTML's own code out (its ``iaf_psc_alpha`` STDP pair runs ~15x the built-in's instructions). Prints a
Markdown table and writes ``speed.json`` into DIR (default benchmarks/results). valgrind is a Debian
package (``apt-get install valgrind`` as root); without it the instruction columns are empty.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
VARIANTS = ("builtin", "nestml", "jitnest")
CASES = ("neuron", "stdp")
# built-in name -> NESTML name; their defaults describe the same neuron (both from NEST's models)
MODELS = {"iaf_psc_exp": "iaf_psc_exp_neuron", "iaf_psc_alpha": "iaf_psc_alpha_neuron",
          "aeif_cond_exp": "aeif_cond_exp_neuron"}
PLASTIC = {"builtin": "stdp_synapse", "nestml": "stdp_synapse_nestml", "jitnest": "stdp_synapse_nestml"}
RUN_FUNCTION = "nest::SimulationManager::run(nest::Time const&)"
# --memory name -> (the child's measure, key in the results)
MEMORY_MEASURES = {"idle": ("memory", "memory"), "active": ("memory-active", "memory_active")}


# --- child: one measured run ------------------------------------------------------------------

def _rss() -> int:
    with open("/proc/self/statm") as handle:
        return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def _nest(variant: str):
    if variant == "builtin":
        import nest
    else:
        import jitnest as nest
    return nest


def _start_callgrind_instrumentation() -> None:
    """Under ``valgrind --instr-atstart=no``: switch instrumentation on now. Callgrind handles the
    request only while this process executes code, so spin until ``callgrind_control`` returns."""
    control = subprocess.Popen(["callgrind_control", "--instr=on", str(os.getpid())],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    spins = 0
    while control.poll() is None:
        spins += 1
    if control.returncode != 0:
        raise RuntimeError("callgrind_control could not switch instrumentation on")


def _drive_weight(model: str) -> float:
    """The weight from the 10 kHz Poisson drive. Conductance-based neurons take weights in nS: 8 nS
    makes aeif_cond_exp fire at ~40 Hz (as iaf_psc_exp does with 20 pA); 2 nS left it silent."""
    return 20.0 if "cond" not in model else 8.0


def run_network(variant: str, case: str, model: str, n: int, indegree: int, sim_ms: float,
                callgrind: bool = False) -> dict:
    """The measured workload; returns CPU seconds of Simulate, activity and the synapse's size."""
    nest = _nest(variant)
    nest.ResetKernel()
    nest.set_verbosity("M_ERROR")
    nest.local_num_threads = 1
    nest.resolution = 0.1
    nest.rng_seed = 12345
    neuron = model if variant == "builtin" else MODELS[model]
    pop = nest.Create(neuron, n)
    drive = nest.Create("poisson_generator", params={"rate": 10000.0})
    nest.Connect(drive, pop, syn_spec={"weight": _drive_weight(model)})
    synapse = PLASTIC[variant] if case == "stdp" else "static_synapse"
    recurrent = 5.0 if "cond" not in model else 0.5
    nest.Connect(pop, pop, {"rule": "fixed_indegree", "indegree": indegree},
                 {"synapse_model": synapse, "weight": recurrent, "delay": 1.5})
    recorder = nest.Create("spike_recorder")
    nest.Connect(pop, recorder)
    nest.Simulate(10.0)  # builds (jitnest), allocates buffers, warms caches: not measured
    if callgrind:
        _start_callgrind_instrumentation()
    started_cpu, started_wall = time.process_time(), time.perf_counter()
    nest.Simulate(sim_ms)
    cpu, wall = time.process_time() - started_cpu, time.perf_counter() - started_wall
    return {"cpu_s": cpu, "wall_s": wall, "spikes": int(recorder.get("n_events")),
            "rate_hz": recorder.get("n_events") / n / ((sim_ms + 10.0) / 1000.0),
            "synapse_bytes": int(nest.GetDefaults(synapse)["sizeof"])}


def measure_memory(variant: str, case: str, model: str, n: int, active: bool = False) -> dict:
    """Bytes per neuron: resident memory of N neurons after 1 ms of simulation (``active``: of N
    neurons firing, each receiving one synapse of the case, after 200 ms, minus the synapses)."""
    nest = _nest(variant)
    nest.ResetKernel()
    nest.set_verbosity("M_ERROR")
    nest.local_num_threads = 1
    neuron = model if variant == "builtin" else MODELS[model]
    if variant != "builtin":  # the modules load at the build: load them before the baseline is taken
        probe = nest.Create(neuron, 2)
        if case == "stdp":
            nest.Connect(probe[0], probe[1], syn_spec={"synapse_model": PLASTIC[variant]})
        nest.build()
        nest.ResetKernel()
        nest.set_verbosity("M_ERROR")
        nest.local_num_threads = 1
    before = _rss()
    pop = nest.Create(neuron, n)
    if active:
        synapse = PLASTIC[variant] if case == "stdp" else "static_synapse"
        drive = nest.Create("poisson_generator", params={"rate": 10000.0})
        nest.Connect(drive, pop, syn_spec={"weight": _drive_weight(model), "delay": 1.5})
        nest.Connect(pop, pop, {"rule": "fixed_indegree", "indegree": 1},
                     {"synapse_model": synapse, "weight": 1.0, "delay": 1.5})
        nest.Simulate(200.0)
        synapses = n * int(nest.GetDefaults(synapse)["sizeof"])
        return {"neuron_bytes": (_rss() - before - synapses) / n}
    if case == "stdp":  # the neuron NESTML pairs with the synapse (NEST's built-in is the same either way)
        nest.Connect(pop[0], pop[1], syn_spec={"synapse_model": PLASTIC[variant]})
    nest.Simulate(1.0)
    return {"neuron_bytes": (_rss() - before) / n}


def child(arguments: list[str]) -> None:
    kind, variant, case, model, *numbers = arguments
    if kind in ("run", "callgrind"):
        result = run_network(variant, case, model, int(numbers[0]), int(numbers[1]), float(numbers[2]),
                             callgrind=kind == "callgrind")
    else:
        result = measure_memory(variant, case, model, int(numbers[0]), active=kind == "memory-active")
    print(json.dumps(result))


# --- parent: interleaved repetitions, callgrind, memory, table ----------------------------------

def _environment(variant: str, cache: Path) -> dict[str, str]:
    environment = dict(os.environ, PYNEST_QUIET="1", JITNEST_QUIET="1", OMP_NUM_THREADS="1",
                       OMP_WAIT_POLICY="PASSIVE", JITNEST_CACHE_DIR=str(cache))
    environment.pop("JITNEST_TRANSFORM", None)
    if variant == "nestml":
        environment["JITNEST_TRANSFORM"] = "0"
    return environment


def _child(arguments: list[str], variant: str, cache: Path, prefix: list[str] | None = None,
           timeout: float = 3600) -> dict:
    command = (prefix or []) + [sys.executable, str(Path(__file__).resolve()), "--child", *arguments]
    completed = subprocess.run(command, capture_output=True, text=True, env=_environment(variant, cache),
                               timeout=timeout, check=False)
    if completed.returncode != 0:
        raise RuntimeError(f"{' '.join(arguments)} failed:\n{completed.stdout[-2000:]}\n{completed.stderr[-4000:]}")
    return json.loads(completed.stdout.strip().splitlines()[-1])


def callgrind_instructions(variant: str, case: str, model: str, n: int, indegree: int, sim_ms: float,
                           cache: Path, out: Path) -> dict:
    """Instructions executed inside ``SimulationManager::run`` during the measured Simulate (the
    process runs uninstrumented, ~10x faster than under full callgrind, until just before it)."""
    valgrind = shutil.which("valgrind")
    if valgrind is None:
        return {}
    target = out / f"callgrind.{model}.{case}.{variant}.out"
    prefix = [valgrind, "--tool=callgrind", "--instr-atstart=no", "--collect-atstart=no",
              f"--toggle-collect={RUN_FUNCTION}", f"--callgrind-out-file={target}"]
    result = _child(["callgrind", variant, case, model, str(n), str(indegree), str(sim_ms)], variant, cache, prefix)
    for line in target.read_text().splitlines():
        if line.startswith(("summary:", "totals:")):
            result["instructions"] = int(line.split()[1])
    return result


def _ratio_rows(results: dict, models: list[str], cases: list[str], variants: list[str]) -> list[dict]:
    rows = []
    for model in models:
        for case in cases:
            rounds = results["cpu"].get(model, {}).get(case, [])
            instructions = results["instructions"].get(model, {}).get(case, {})
            memory = results["memory"].get(model, {}).get(case, {})
            active = results["memory_active"].get(model, {}).get(case, {})
            for variant in variants:
                cpu = [r[variant]["cpu_s"] for r in rounds]
                ratios = [r[variant]["cpu_s"] / r["builtin"]["cpu_s"] for r in rounds]
                count = instructions.get(variant, {}).get("instructions")
                base = instructions.get("builtin", {}).get("instructions")
                # Same network, same seed: the transformed code must give NESTML's spikes exactly.
                spikes = {v: [r[v]["spikes"] for r in rounds] + [instructions.get(v, {}).get("spikes")]
                          for v in ("nestml", "jitnest") if v in variants}
                rows.append({
                    "model": model, "case": case, "variant": variant,
                    "cpu_s_median": statistics.median(cpu) if cpu else None,
                    "cpu_ratio_median": statistics.median(ratios) if ratios else None,
                    "cpu_ratio_range": [min(ratios), max(ratios)] if ratios else None,
                    "instructions": count,
                    "instruction_ratio": count / base if count and base else None,
                    "neuron_bytes": memory.get(variant),
                    "neuron_bytes_active": active.get(variant),
                    "synapse_bytes": (rounds[0][variant] if rounds else instructions.get(variant, {})).get(
                        "synapse_bytes"),
                    "rate_hz": statistics.median(r[variant]["rate_hz"] for r in rounds) if rounds
                    else instructions.get(variant, {}).get("rate_hz"),
                    "same_spikes_as_nestml": spikes["jitnest"] == spikes["nestml"]
                    if variant == "jitnest" and "nestml" in variants else None,
                })
    return rows


def table(rows: list[dict]) -> str:
    lines = ["| model | case | variant | CPU s (median) | CPU ratio (median, range) | instructions (10^9) "
             "| instr. ratio | bytes/neuron idle, active | bytes/synapse | rate (Hz) |",
             "| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]

    def number(value: float | None, form: str) -> str:
        return "–" if value is None else format(value, form)

    for r in rows:
        cpu = "–"
        if r["cpu_ratio_median"] is not None:
            low, high = r["cpu_ratio_range"]
            cpu = f"{r['cpu_ratio_median']:.2f} ({low:.2f}–{high:.2f})"
        same = " (spikes ≠ NESTML's!)" if r["same_spikes_as_nestml"] is False else ""
        lines.append(f"| {r['model']} | {r['case']} | {r['variant']}{same} | {number(r['cpu_s_median'], '.2f')} | "
                     f"{cpu} | {number(r['instructions'] and r['instructions'] / 1e9, '.3f')} | "
                     f"{number(r['instruction_ratio'], '.2f')} | {number(r['neuron_bytes'], '.0f')}, "
                     f"{number(r['neuron_bytes_active'], '.0f')} | "
                     f"{r['synapse_bytes'] or '–'} | {number(r['rate_hz'], '.1f')} |")
    return "\n".join(lines)


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        child(sys.argv[2:])
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default="iaf_psc_exp", help="comma-separated: " + ", ".join(MODELS))
    parser.add_argument("--cases", default=",".join(CASES), help="comma-separated: " + ", ".join(CASES)
                        + " (e.g. the neuron case alone at 10^5 neurons)")
    parser.add_argument("--variants", default=",".join(VARIANTS),
                        help="comma-separated: " + ", ".join(VARIANTS) + " (builtin, the reference, always runs; "
                        "e.g. builtin,jitnest where NESTML's own code would take hours)")
    parser.add_argument("--repetitions", type=int, default=5)
    parser.add_argument("--neurons", type=int, default=10_000)
    parser.add_argument("--indegree", type=int, default=100)
    parser.add_argument("--sim-ms", type=float, default=500.0)
    parser.add_argument("--callgrind-neurons", type=int, default=1000)
    parser.add_argument("--callgrind-ms", type=float, default=100.0)
    parser.add_argument("--memory-neurons", type=int, default=100_000)
    parser.add_argument("--no-callgrind", action="store_true")
    parser.add_argument("--no-cpu", action="store_true", help="skip the CPU rounds (e.g. on a busy machine)")
    parser.add_argument("--memory", default="idle,active",
                        help="comma-separated bytes-per-neuron measures: " + ", ".join(MEMORY_MEASURES)
                        + " (none: skip)")
    parser.add_argument("--out", type=Path, default=HERE / "results")
    parser.add_argument("--cache", type=Path, default=None, help="jitnest cache (default: a folder in --out)")
    options = parser.parse_args()
    def names(text: str, known) -> list[str]:
        chosen = [name.strip() for name in text.split(",") if name.strip()]
        unknown = [name for name in chosen if name not in known]
        if unknown:
            parser.error(f"unknown {unknown}: choose from {', '.join(known)}")
        return chosen

    models, cases = names(options.models, MODELS), names(options.cases, CASES)
    chosen = set(names(options.variants, VARIANTS)) | {"builtin"}
    variants = [variant for variant in VARIANTS if variant in chosen]
    memory = [] if options.memory == "none" else names(options.memory, MEMORY_MEASURES)
    options.out.mkdir(parents=True, exist_ok=True)
    cache = options.cache or options.out / "speed-cache"
    started = time.strftime("%Y-%m-%d %H:%M")
    results: dict = {"cpu": {}, "instructions": {}, "memory": {}, "memory_active": {}}

    def say(text: str) -> None:
        print(f"[speed {time.strftime('%H:%M:%S')}] {text}", file=sys.stderr, flush=True)

    for model in models:  # build every module first (not measured)
        for case in cases:
            for variant in (v for v in variants if v != "builtin"):
                say(f"building {model} {case} {variant}")
                _child(["run", variant, case, model, "20", "5", "1"], variant, cache)
    for model in models:
        results["cpu"][model] = {case: [] for case in cases}
        for case in cases:
            for repetition in range(0 if options.no_cpu else options.repetitions):
                one_round = {}
                shift = repetition % len(variants)
                for variant in variants[shift:] + variants[:shift]:  # interleaved: one round holds every variant
                    one_round[variant] = _child(["run", variant, case, model, str(options.neurons),
                                                 str(options.indegree), str(options.sim_ms)], variant, cache)
                say(f"{model} {case} round {repetition + 1}: "
                    + ", ".join(f"{v} {one_round[v]['cpu_s']:.2f} s" for v in variants))
                results["cpu"][model][case].append(one_round)
        if not options.no_callgrind:
            results["instructions"][model] = {}
            for case in cases:
                results["instructions"][model][case] = {}
                for variant in variants:
                    say(f"callgrind {model} {case} {variant}")
                    results["instructions"][model][case][variant] = callgrind_instructions(
                        variant, case, model, options.callgrind_neurons, options.indegree, options.callgrind_ms,
                        cache, options.out)
        for kind, key in (MEMORY_MEASURES[name] for name in memory):
            results[key][model] = {}
            for case in cases:
                results[key][model][case] = {}
                for variant in variants:
                    say(f"{kind} {model} {case} {variant}")
                    results[key][model][case][variant] = _child(
                        [kind, variant, case, model, str(options.memory_neurons)], variant, cache)["neuron_bytes"]
    rows = _ratio_rows(results, models, cases, variants)
    load = os.getloadavg()
    report = {"started": started, "finished": time.strftime("%Y-%m-%d %H:%M"), "options": {
        k: str(v) for k, v in vars(options).items()}, "machine": {"platform": platform.platform(),
                                                                  "cpus": os.cpu_count(), "load_at_end": load},
        "rows": rows, "raw": results}
    (options.out / "speed.json").write_text(json.dumps(report, indent=1))
    print(f"Speed benchmark {started}, {options.neurons} neurons, indegree {options.indegree}, "
          f"{options.sim_ms:g} ms, {options.repetitions} interleaved rounds; callgrind: {options.callgrind_neurons} "
          f"neurons, {options.callgrind_ms:g} ms; memory: {options.memory_neurons} neurons; "
          f"load average at the end {load[0]:.1f}")
    print(table(rows))


if __name__ == "__main__":
    main()
