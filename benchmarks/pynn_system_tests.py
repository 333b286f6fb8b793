"""PyNN's own NEST tests, run twice: on plain NEST, and on jitnest through the import hook.

PyNN ships its tests only in its source distribution. This script fetches the sdist of the
installed PyNN version with pip (``pip download --no-deps --no-binary :all: PyNN==X``) unless
``--source`` names an unpacked one, and runs with pytest, once per mode, in a fresh process:

* ``test/system/test_nest.py`` and ``test/system/test_nest_nestml.py``;
* ``test/system/scenarios/`` with the ``nest`` parameter only (the scenarios are parametrized
  over simulators; the neuron and brian2 cases are deselected, not skipped);
* ``test/unittests/test_nest.py`` (PyNN's NEST-backend unit tests, also on the real kernel).

Mode ``nest`` is plain PyNEST. Mode ``jitnest`` calls ``jitnest.hooks.install()`` before pytest
imports anything, so PyNN's ``import nest`` gets jitnest. Prints the counts of both modes and
every test whose outcome differs, and writes the JUnit XML files to ``--out``.

Usage: ``python benchmarks/pynn_system_tests.py [--source DIR] [--out DIR] [--only nest|jitnest]
[-- extra pytest args]``
"""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import os
import subprocess
import sys
import tarfile
import tempfile
import time
import xml.etree.ElementTree as ElementTree
from pathlib import Path

GROUPS = {
    "system": ["system/test_nest.py", "system/test_nest_nestml.py", "system/scenarios"],
    "unittests": ["unittests/test_nest.py"],
}


def fetch_sdist(into: Path) -> Path:
    """Unpack the sdist of the installed PyNN version into ``into``; return its root."""
    version = importlib.metadata.version("PyNN")
    root = into / f"pynn-{version}"
    if (root / "test").is_dir():
        return root
    into.mkdir(parents=True, exist_ok=True)
    subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--no-deps", "--no-binary", ":all:",
                    f"PyNN=={version}", "-d", str(into)], check=True)
    archive = next(p for p in into.iterdir() if p.name.lower().startswith("pynn-") and p.name.endswith(".tar.gz"))
    with tarfile.open(archive) as tar:
        tar.extractall(into, filter="data")
    unpacked = next(p for p in into.iterdir() if p.is_dir() and (p / "test").is_dir())
    return unpacked


class KeepNestOnly:
    """pytest plugin: of tests parametrized over simulators, keep the ``nest`` case."""

    def pytest_collection_modifyitems(self, config, items):  # noqa: D102 -- pytest hook
        keep, drop = [], []
        for item in items:
            sim = getattr(getattr(item, "callspec", None), "params", {}).get("sim")
            (keep if sim is None or str(sim) == "pyNN.nest" else drop).append(item)
        if drop:
            config.hook.pytest_deselected(items=drop)
        items[:] = keep


def child(mode: str, test_root: Path, junit: Path, extra: list[str]) -> int:
    """Run in the child process: the pytest session of one mode."""
    if mode == "jitnest":
        import jitnest.hooks

        jitnest.hooks.install()
    import pytest

    paths = [str(test_root / p) for group in GROUPS.values() for p in group if (test_root / p).exists()]
    args = ["-p", "no:cacheprovider", "-q", "-rN", f"--junitxml={junit}", f"--rootdir={test_root}", *paths, *extra]
    return int(pytest.main(args, plugins=[KeepNestOnly()]))


def outcomes(junit: Path) -> dict[str, tuple[str, str]]:
    """test id -> (outcome, first line of the message) from a JUnit XML file."""
    result: dict[str, tuple[str, str]] = {}
    for case in ElementTree.parse(junit).getroot().iter("testcase"):
        test_id = f"{case.get('classname')}::{case.get('name')}"
        outcome, message = "passed", ""
        for tag in ("failure", "error", "skipped"):
            element = case.find(tag)
            if element is not None:
                outcome = {"failure": "failed", "error": "error", "skipped": "skipped"}[tag]
                message = (element.get("message") or "").strip().splitlines()[0:1]
                message = message[0][:300] if message else ""
                break
        result[test_id] = (outcome, message)
    return result


def counts(results: dict[str, tuple[str, str]]) -> dict[str, int]:
    tally = {"passed": 0, "failed": 0, "error": 0, "skipped": 0}
    for outcome, _ in results.values():
        tally[outcome] += 1
    return tally


def run_mode(mode: str, test_root: Path, out: Path, extra: list[str]) -> tuple[dict, float]:
    junit = out / f"pynn-{mode}.xml"
    log = out / f"pynn-{mode}.log"
    env = {**os.environ, "PYTHONHASHSEED": "0", "OMP_WAIT_POLICY": "PASSIVE", "PYNEST_QUIET": "1",
           "JITNEST_QUIET": os.environ.get("JITNEST_QUIET", "1")}
    started = time.monotonic()
    with open(log, "w") as handle:
        subprocess.run([sys.executable, __file__, "--child", mode, "--source", str(test_root.parent),
                        "--junit", str(junit), "--", *extra],
                       cwd=str(test_root), env=env, stdout=handle, stderr=subprocess.STDOUT, check=False)
    seconds = time.monotonic() - started
    if not junit.is_file():
        raise SystemExit(f"{mode}: pytest wrote no report; see {log}")
    return outcomes(junit), seconds


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", type=Path, help="an unpacked PyNN sdist (default: fetch it with pip)")
    parser.add_argument("--out", type=Path, default=None, help="where JUnit XML and logs go")
    parser.add_argument("--only", choices=("nest", "jitnest"))
    parser.add_argument("--child", choices=("nest", "jitnest"), help=argparse.SUPPRESS)
    parser.add_argument("--junit", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("extra", nargs="*", help="extra pytest arguments (after --)")
    args = parser.parse_args(argv)

    source = args.source or fetch_sdist(Path(tempfile.gettempdir()) / "jitnest-pynn-sdist")
    test_root = source / "test"
    if args.child:
        sys.exit(child(args.child, test_root, args.junit, args.extra))

    out = args.out or Path(tempfile.mkdtemp(prefix="jitnest-pynn-tests-"))
    out.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("JITNEST_CACHE_DIR", str(Path(tempfile.gettempdir()) / "jitnest-pynn-cache"))
    modes = [args.only] if args.only else ["nest", "jitnest"]
    results = {}
    for mode in modes:
        results[mode], seconds = run_mode(mode, test_root, out, args.extra)
        print(f"{mode:8s} {json.dumps(counts(results[mode]))}  ({seconds:.0f} s, log {out / f'pynn-{mode}.log'})")
        for group in GROUPS:
            in_group = {t: r for t, r in results[mode].items() if t.startswith(f"{group}.")}
            print(f"  {group:9s} {json.dumps(counts(in_group))}")
    if len(results) == 2:
        plain, jit = results["nest"], results["jitnest"]
        absent = ("absent", "")
        differing = sorted(t for t in plain.keys() | jit.keys() if plain.get(t, absent)[0] != jit.get(t, absent)[0])
        print(f"{len(differing)} tests differ between plain NEST and jitnest:")
        for test_id in differing:
            p, j = plain.get(test_id, absent), jit.get(test_id, absent)
            print(f"  {test_id}: nest {p[0]}, jitnest {j[0]}{': ' + j[1] if j[1] else ''}")


if __name__ == "__main__":
    main(sys.argv[1:])
