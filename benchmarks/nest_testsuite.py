"""NEST's own pytest suite, run plain and with ``nest`` resolved to jitnest.

    python benchmarks/nest_testsuite.py [--jobs 2] [--filter PATTERN] [--modes plain,jitnest]

Runs the test files of the installed NEST wheel (``<site-packages>/nest/share/nest/testsuite/
pytests``, without ``mpi_direct``/``mpi_indirect``, which need MPI, as NEST's ``do_tests.sh``) twice:
once with plain PyNEST, once with jitnest's import hook installed by the pytest plugin
``benchmarks/pytest_plugins/jitnest_import_hook.py`` (loaded with ``-p`` before NEST's conftest.py,
so every ``import nest`` in the suite gets jitnest). One pytest process per test file (the suite
is not safe in one process), at most ``--jobs`` at a time, with ``PYTHONHASHSEED=0`` (test ids
come from sets), ``OMP_WAIT_POLICY=PASSIVE`` and ``JITNEST_CACHE_DIR`` in a temp dir.

Prints the counts of both runs and every test that passes plain but not under jitnest, and
writes everything (per test outcome, failure text, per file time) to
``benchmarks/results/nest_testsuite-<time>.json`` (and ``nest_testsuite-latest.json``).
Exit status: 0 when no test passes plain and fails under jitnest, 1 otherwise.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
PLUGINS = HERE / "pytest_plugins"
RESULTS = HERE / "results"
MODES = ("plain", "jitnest")
OUTCOMES = ("passed", "failed", "skipped", "xfailed", "xpassed", "error")
EXCLUDED_DIRS = ("mpi_direct", "mpi_indirect")
# A test id's outcome when it has several records (call failed and teardown errored, ...): the worst.
_SEVERITY = {"passed": 0, "xpassed": 0, "skipped": 1, "xfailed": 1, "failed": 2, "error": 3, "missing": 4}


def testsuite_dir() -> Path:
    """NEST's pytest directory inside the installed wheel (found without importing nest)."""
    import importlib.util

    spec = importlib.util.find_spec("nest")
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit("nest (the NEST simulator wheel) is not installed in this Python")
    path = Path(list(spec.submodule_search_locations)[0]) / "share" / "nest" / "testsuite" / "pytests"
    if not path.is_dir():
        raise SystemExit(f"NEST's test suite is not where the wheel puts it: {path}")
    return path


def test_files(root: Path, pattern: str | None = None) -> list[str]:
    """Test files relative to ``root``, as pytest would collect them, optionally filtered by a regex."""
    files = []
    for path in sorted(root.rglob("test_*.py")):
        relative = path.relative_to(root).as_posix()
        if relative.split("/")[0] in EXCLUDED_DIRS or "__pycache__" in relative:
            continue
        if pattern is None or re.search(pattern, relative):
            files.append(relative)
    return files


@dataclass
class FileResult:
    """One pytest process: one test file in one mode."""

    mode: str
    file: str
    returncode: int
    seconds: float
    tests: dict[str, str] = field(default_factory=dict)  # nodeid -> outcome (the worst of its records)
    counts: dict[str, int] = field(default_factory=dict)  # pytest's way: one per record
    messages: dict[str, str] = field(default_factory=dict)  # nodeid -> failure text
    hook_active: bool | None = None  # whether every record saw jitnest's stand-in as ``nest``
    output_tail: str = ""  # end of pytest's own output when something went wrong

    @property
    def crashed(self) -> bool:
        # pytest exits 0 (all passed), 1 (failures), 5 (nothing collected); anything else is a crash,
        # an internal error, a usage error or our timeout.
        return self.returncode not in (0, 1, 5)


def _environment(mode: str, cache_dir: str, report: str) -> dict[str, str]:
    env = dict(os.environ)
    paths = [str(PLUGINS)] + ([env["PYTHONPATH"]] if env.get("PYTHONPATH") else [])
    env.update(PYTHONPATH=os.pathsep.join(paths), PYTHONHASHSEED="0", OMP_WAIT_POLICY="PASSIVE",
               JITNEST_CACHE_DIR=cache_dir, NEST_TESTSUITE_REPORT=report)
    env.pop("PYTEST_ADDOPTS", None)
    env.pop("PYTEST_PLUGINS", None)
    return env


def run_file(mode: str, relative: str, root: Path, work_dir: Path, cache_dir: str, timeout: float,
             python: str = sys.executable) -> FileResult:
    """Run one test file in a fresh pytest process; collect its outcomes from the report plugin."""
    report = work_dir / f"{mode}-{relative.replace('/', '__')}.jsonl"
    report.unlink(missing_ok=True)
    cwd = work_dir / f"cwd-{mode}"  # tests that write files into the working directory write here
    cwd.mkdir(exist_ok=True)
    command = [python, "-m", "pytest", str(root / relative), f"--rootdir={root}", "-p", "no:cacheprovider",
               "-p", "testsuite_report", "-q", "--no-header", "-rN", "-o", "console_output_style=classic"]
    if mode == "jitnest":
        command += ["-p", "jitnest_import_hook"]
    start = time.monotonic()
    process = subprocess.Popen(command, cwd=cwd, env=_environment(mode, cache_dir, str(report)),
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                               start_new_session=True)
    try:
        output, _ = process.communicate(timeout=timeout)
        returncode = process.returncode
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)  # the process group this call started, nothing else
        output, _ = process.communicate()
        output += f"\n[nest_testsuite: killed after {timeout:.0f} s]"
        returncode = -9
    result = FileResult(mode, relative, returncode, round(time.monotonic() - start, 2))
    records = []
    if report.exists():
        records = [json.loads(line) for line in report.read_text(encoding="utf-8").splitlines() if line.strip()]
    counts: Counter[str] = Counter()
    for record in records:
        nodeid, outcome = record["nodeid"], record["outcome"]
        counts[outcome] += 1
        if _SEVERITY[outcome] >= _SEVERITY[result.tests.get(nodeid, "passed")]:
            result.tests[nodeid] = outcome
        if record["message"]:
            result.messages[nodeid] = (result.messages.get(nodeid, "") + "\n" + record["message"]).strip()
    result.counts = dict(counts)
    if records:
        result.hook_active = all(r["jitnest"] for r in records)
    if result.crashed or (mode == "jitnest" and result.hook_active is False):
        result.output_tail = output[-6000:]
    return result


def _order(files: list[str], root: Path) -> list[str]:
    """Longest files first (by the last run's times, else by size), so that the pool ends together."""
    previous: dict[str, float] = {}
    latest = RESULTS / "nest_testsuite-latest.json"
    if latest.exists():
        try:
            for item in json.loads(latest.read_text())["files"]:
                previous[item["file"]] = max(previous.get(item["file"], 0.0), item["seconds"])
        except (ValueError, KeyError):
            previous = {}
    return sorted(files, key=lambda f: (previous.get(f, -1.0), (root / f).stat().st_size), reverse=True)


def run_suite(files: list[str], modes: tuple[str, ...] = MODES, jobs: int = 2, timeout: float = 900.0,
              root: Path | None = None, progress: bool = True) -> list[FileResult]:
    """Run ``files`` in every mode, ``jobs`` pytest processes at a time."""
    root = root or testsuite_dir()
    tasks = [(mode, f) for f in _order(files, root) for mode in modes]
    results: list[FileResult] = []
    with tempfile.TemporaryDirectory(prefix="nest-testsuite-") as tmp:
        work_dir = Path(tmp)
        cache_dir = str(work_dir / "jitnest-cache")
        with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
            futures = [pool.submit(run_file, mode, f, root, work_dir, cache_dir, timeout) for mode, f in tasks]
            for done, future in enumerate(futures, 1):
                result = future.result()
                results.append(result)
                if progress:
                    flag = " CRASHED" if result.crashed else ""
                    summary = " ".join(f"{k}={v}" for k, v in sorted(result.counts.items()))
                    print(f"[{done}/{len(tasks)}] {result.mode:7s} {result.file} ({result.seconds:.1f} s) "
                          f"{summary}{flag}", flush=True)
    return results


def totals(results: list[FileResult], mode: str) -> dict[str, int]:
    counts: Counter[str] = Counter({k: 0 for k in OUTCOMES})
    for result in results:
        if result.mode == mode:
            counts.update(result.counts)
    counts["files"] = sum(1 for r in results if r.mode == mode)
    counts["crashed_files"] = sum(1 for r in results if r.mode == mode and r.crashed)
    return dict(counts)


def outcomes(results: list[FileResult], mode: str) -> dict[str, str]:
    merged: dict[str, str] = {}
    for result in results:
        if result.mode == mode:
            merged.update(result.tests)
    return merged


def regressions(results: list[FileResult]) -> list[dict[str, str]]:
    """Tests that pass plain but not under jitnest (failed, errored, skipped or never reported)."""
    plain, jit = outcomes(results, "plain"), outcomes(results, "jitnest")
    messages = {nodeid: text for r in results if r.mode == "jitnest" for nodeid, text in r.messages.items()}
    crashed = {r.file for r in results if r.mode == "jitnest" and r.crashed}
    found = []
    for nodeid, outcome in sorted(plain.items()):
        if outcome not in ("passed", "xpassed"):
            continue
        other = jit.get(nodeid, "missing")
        if other in ("passed", "xpassed"):
            continue
        message = messages.get(nodeid, "")
        if other == "missing":
            file = nodeid.split("::")[0]
            module_error = messages.get(file, "")
            message = module_error or ("the test file's process crashed" if file in crashed else "not reported")
        found.append({"nodeid": nodeid, "plain": outcome, "jitnest": other, "message": message})
    return found


def _last_line(message: str) -> str:
    lines = [line for line in message.strip().splitlines() if line.strip()]
    error_lines = [line for line in lines if line.startswith("E ")]
    return (error_lines[-1] if error_lines else (lines[-1] if lines else ""))[:200]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--jobs", type=int, default=2, help="pytest processes at a time (default 2)")
    parser.add_argument("--filter", metavar="PATTERN",
                        help="regex searched in test file paths relative to the suite, e.g. 'other/test_node'")
    parser.add_argument("--modes", default="plain,jitnest", help="comma-separated: plain, jitnest (default both)")
    parser.add_argument("--timeout", type=float, default=900.0, help="seconds per test file (default 900)")
    parser.add_argument("--output", type=Path, help="JSON results file (default benchmarks/results/...)")
    args = parser.parse_args(argv)
    modes = tuple(m.strip() for m in args.modes.split(",") if m.strip())
    if not modes or any(m not in MODES for m in modes):
        parser.error(f"--modes takes {', '.join(MODES)}")

    root = testsuite_dir()
    files = test_files(root, args.filter)
    if not files:
        parser.error(f"no test file matches {args.filter!r}")
    print(f"NEST test suite: {root}\n{len(files)} test files x {len(modes)} modes, {args.jobs} jobs", flush=True)
    start = time.monotonic()
    results = run_suite(files, modes, args.jobs, args.timeout, root)
    seconds = round(time.monotonic() - start, 1)

    summary = {mode: totals(results, mode) for mode in modes}
    found = regressions(results) if set(MODES) <= set(modes) else []
    print(f"\n{'mode':8s} " + " ".join(f"{k:>8s}" for k in (*OUTCOMES, "files", "crashed_files")))
    for mode in modes:
        print(f"{mode:8s} " + " ".join(f"{summary[mode][k]:8d}" for k in (*OUTCOMES, "files", "crashed_files")))
    for mode in modes:
        mode_seconds = sum(r.seconds for r in results if r.mode == mode)
        print(f"{mode}: {mode_seconds:.0f} s of pytest processes")
    for result in results:
        if result.crashed:
            print(f"\n{result.mode}: {result.file} exited with {result.returncode}:\n{result.output_tail[-1500:]}")
        if result.mode == "jitnest" and result.hook_active is False:
            print(f"\njitnest: the import hook was not active throughout {result.file}")
    if set(MODES) <= set(modes):
        print(f"\n{len(found)} tests pass plain but not with jitnest:")
        for item in found:
            print(f"  {item['nodeid']}  [{item['jitnest']}]  {_last_line(item['message'])}")
    print(f"\nwall time {seconds:.0f} s")

    RESULTS.mkdir(exist_ok=True)
    output = args.output or RESULTS / f"nest_testsuite-{time.strftime('%Y%m%d-%H%M%S')}.json"
    document = {
        "command": " ".join([Path(sys.executable).name, *sys.argv]), "suite": str(root), "jobs": args.jobs,
        "filter": args.filter, "modes": list(modes), "wall_seconds": seconds, "totals": summary,
        "passes_plain_not_jitnest": found, "files": [asdict(r) for r in results],
    }
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(document, indent=1))
    if args.filter is None and args.output is None:
        (RESULTS / "nest_testsuite-latest.json").write_text(json.dumps(document, indent=1))
    print(f"results: {output}")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
