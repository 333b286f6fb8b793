"""Fault injection: several processes share one cache while builders are killed, entries corrupted
and permissions flipped. Nothing may be lost, stale or foreign.

    python benchmarks/fault_injection.py [--processes 4] [--runs 24] [--seed 1] [--models 2]

Each *run* is a fresh Python process that records a small network of a tiny NESTML neuron
(one of ``--models`` variants, so runs of different processes build the same keys at the same
time), sets parameters on part of it, simulates and reports what it loaded. Up to
``--processes`` runs go at once. Meanwhile a chaos thread, at random moments:

* kills a running process with SIGKILL (wherever it is: parsing, generating, compiling, publishing);
* corrupts a published module: renames garbage over its ``.so`` (the manifest keeps the true SHA-256);
* makes a published entry's folder or ``.so``, a precompiled header or a parse-cache file group-
  or world-writable for a while, then restores it.

Reported (the figures of the README's table):

* runs completed / killed / refused (a refusal is a CacheIntegrityError about a loose or foreign
  file: the right answer while the chaos thread has flipped something) / failed otherwise;
* builds per key: compilations of each key between two corruptions of it (must be 1);
* stale loads: a run whose mapped module bytes (``/proc/self/map_files``) do not hash to the
  SHA-256 its manifest was published with (must be 0);
* foreign loads: a run that loaded a module while its file or folder was writable by others
  (must be 0);
* journal entries lost: a completed run whose network differs from what it recorded (spike count
  or a parameter set before the build not as set; must be 0).
Exit status 0 if all the "must" figures hold, 1 otherwise.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import random
import signal
import stat
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
TINY = HERE.parent / "tests" / "models" / "tiny_neuron.nestml"

# The run: records, builds (at Simulate), checks its own network, reports what it loaded.
RUN = r'''
import hashlib, json, os, sys, time
import jitnest as nest
from jitnest.record.session import SESSION
model_file, model = sys.argv[1], sys.argv[2]
nest.add_model_file(model_file)
nest.ResetKernel()
pop = nest.Create(model, 6, params={"I_e": 400.0})
nest.SetStatus(pop[0:3], {"I_e": 600.0})
pop[3:6].set(V_th=-50.0)
recorder = nest.Create("spike_recorder")
nest.Connect(pop, recorder)
recorded = len(SESSION.journal)
started = time.time()
nest.Simulate(100.0)
loaded_at = time.time()
(info,) = SESSION.last_build.values()
module = info["module"]
mapped = None
with open("/proc/self/maps") as maps:  # the module as loaded, even if a file was renamed over it since
    for line in maps:
        if module in line:
            mapped = "/proc/self/map_files/" + line.split()[0]
            break
entry = os.path.dirname(module)
manifest = json.load(open(os.path.join(entry, "manifest.json")))
digest = hashlib.sha256(open(mapped, "rb").read()).hexdigest() if mapped else None
print(json.dumps({
    "key": manifest["key"], "built_here": info["built_here"], "recorded": recorded,
    "loaded_sha": digest, "manifest_sha": manifest["module_sha256"], "module": module,
    "started": started, "loaded_at": loaded_at, "events": recorder.get("n_events"),
    "I_e": list(pop.get("I_e")), "V_th": list(pop.get("V_th")),
}))
'''


class Chaos(threading.Thread):
    """Kills, corrupts and flips at random; logs what it did and when."""

    def __init__(self, cache: Path, running: dict[int, subprocess.Popen], rng: random.Random, pace: float) -> None:
        super().__init__(daemon=True)
        self.cache, self.running, self.rng, self.pace = cache, running, rng, pace
        self.stop = threading.Event()
        self.kills = 0
        self.corruptions: list[tuple[float, str]] = []  # (time, key)
        self.flips: list[tuple[float, float, str]] = []  # (from, to, path)
        self.lock = threading.Lock()

    def run(self) -> None:
        while not self.stop.wait(self.rng.uniform(0.3, 2.0) * self.pace):
            action = self.rng.choice(("kill", "kill", "corrupt", "flip"))
            getattr(self, action)()

    def kill(self) -> None:
        with self.lock:
            candidates = [p for p in self.running.values() if p.poll() is None]
        if candidates:
            victim = self.rng.choice(candidates)
            with self.lock:
                victim.jitnest_killed = True  # type: ignore[attr-defined]
            os.killpg(victim.pid, signal.SIGKILL)
            self.kills += 1

    def _entries(self) -> list[Path]:
        modules = self.cache / "modules"
        return sorted(p for p in modules.iterdir() if (p / "manifest.json").is_file()) if modules.is_dir() else []

    def corrupt(self) -> None:
        entries = self._entries()
        if not entries:
            return
        entry = self.rng.choice(entries)
        try:
            manifest = json.loads((entry / "manifest.json").read_text())
            module = entry / manifest["module_file"]
            garbage = entry / f".garbage.{os.getpid()}"
            garbage.write_bytes(os.urandom(max(1, module.stat().st_size)))
            os.chmod(garbage, 0o600)
            os.replace(garbage, module)  # never in place: running processes keep their mapped pages
        except (OSError, ValueError, KeyError):
            return
        self.corruptions.append((time.time(), entry.name))

    def flip(self) -> None:
        targets: list[Path] = []
        for entry in self._entries():
            targets += [entry] + list(entry.glob("*.so"))
        targets += list((self.cache / "pch").glob("*/*.gch")) + list((self.cache / "models").glob("*.json"))
        if not targets:
            return
        target = self.rng.choice(targets)
        try:
            mode = target.stat().st_mode
            os.chmod(target, mode | stat.S_IWGRP | stat.S_IWOTH)
        except OSError:
            return
        start = time.time()
        self.stop.wait(self.rng.uniform(1.0, 4.0) * self.pace)
        try:
            os.chmod(target, mode)
        except OSError:
            pass
        self.flips.append((start, time.time(), str(target)))


def _model_files(folder: Path, count: int) -> list[tuple[Path, str]]:
    text = TINY.read_text()
    files = []
    for index in range(count):
        name = f"fault_neuron_{index}"
        path = folder / f"{name}.nestml"
        path.write_text(text.replace("tiny_neuron", name) + f"# variant {index}\n")
        files.append((path, name))
    return files


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--processes", type=int, default=4)
    parser.add_argument("--runs", type=int, default=24)
    parser.add_argument("--models", type=int, default=2)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--pace", type=float, default=3.0, help="seconds scale of the chaos thread's pauses")
    args = parser.parse_args()
    rng = random.Random(args.seed)
    work = Path(tempfile.mkdtemp(prefix="jitnest-faults-"))
    cache = work / "cache"
    models = _model_files(work, args.models)
    environment = dict(os.environ, JITNEST_CACHE_DIR=str(cache), JITNEST_QUIET="1", PYNEST_QUIET="1",
                       PYTHONHASHSEED="0", OMP_WAIT_POLICY="PASSIVE")
    running: dict[int, subprocess.Popen] = {}
    chaos = Chaos(cache, running, rng, args.pace)
    chaos.start()
    outcomes: collections.Counter = collections.Counter()
    reports: list[dict] = []
    failures: list[str] = []
    pending = [models[i % len(models)] for i in range(args.runs)]
    rng.shuffle(pending)
    started = time.time()
    while pending or running:
        while pending and len(running) < args.processes:
            model_file, model = pending.pop()
            process = subprocess.Popen([sys.executable, "-c", RUN, str(model_file), model], env=environment,
                                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                       start_new_session=True)
            process.jitnest_killed = False  # type: ignore[attr-defined]
            with chaos.lock:
                running[process.pid] = process
        time.sleep(0.2)
        for pid, process in list(running.items()):
            if process.poll() is None:
                continue
            with chaos.lock:
                del running[pid]
            out, err = process.communicate()
            if process.jitnest_killed:  # type: ignore[attr-defined]
                outcomes["killed"] += 1
            elif process.returncode == 0:
                outcomes["completed"] += 1
                reports.append(json.loads(out.strip().splitlines()[-1]))
            elif "CacheIntegrityError" in err or "refusing" in err:
                outcomes["refused"] += 1
            else:
                outcomes["failed"] += 1
                failures.append(err[-2000:])
    chaos.stop.set()
    chaos.join()
    elapsed = time.time() - started

    # builds per key between corruptions of that key
    builds: collections.Counter = collections.Counter()
    for report in reports:
        if report["built_here"]:
            epoch = sum(1 for when, key in chaos.corruptions if key == report["key"] and when < report["loaded_at"])
            builds[(report["key"], epoch)] += 1
    stale = [r for r in reports if r["loaded_sha"] != r["manifest_sha"]]
    foreign = [r for r in reports for start, end, path in chaos.flips
               if (path == r["module"] or path == os.path.dirname(r["module"])) and start < r["loaded_at"] and
               end > r["started"]]
    expected = None
    lost = []
    for report in reports:
        ok_params = report["I_e"] == [600.0] * 3 + [400.0] * 3 and report["V_th"][3:] == [-50.0] * 3
        if expected is None:
            expected = report["events"]
        if not ok_params or report["events"] != expected or report["recorded"] < 5:
            lost.append(report)
    summary = {
        "processes": args.processes, "runs": args.runs, "seconds": round(elapsed, 1),
        "outcomes": dict(outcomes), "kills": chaos.kills, "corruptions": len(chaos.corruptions),
        "permission_flips": len(chaos.flips),
        "max_builds_per_key": max(builds.values(), default=0), "builds": len(builds),
        "stale_loads": len(stale), "foreign_loads": len(foreign), "journal_entries_lost": len(lost),
        "unexplained_failures": len(failures),
    }
    print(json.dumps(summary, indent=2))
    for failure in failures[:3]:
        print("--- a run failed without being killed or refused:\n" + failure, file=sys.stderr)
    good = (summary["max_builds_per_key"] <= 1 and not stale and not foreign and not lost and not failures
            and outcomes["completed"] > 0)
    return 0 if good else 1


if __name__ == "__main__":
    sys.exit(main())
