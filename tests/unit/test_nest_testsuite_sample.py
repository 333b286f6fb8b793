"""A sample of NEST's own test suite passes with ``nest`` resolved to jitnest as it does plain.

Runs a few of the NEST wheel's test files (NodeCollection semantics, connections, kernel
attributes) through ``benchmarks/nest_testsuite.py``: each file once with
plain PyNEST and once under the import hook, one pytest process per file. The whole suite is
``python benchmarks/nest_testsuite.py`` (minutes).
"""

from __future__ import annotations

import importlib.util
import sys

import pytest
from conftest import ROOT

pytest.importorskip("pandas", reason="NEST's test suite (its conftest.py) needs pandas")

SAMPLE = [
    "other/test_node_collection_indexing_slicing.py",  # NodeCollection indexing, slicing, iteration
    "other/test_node_collection_operations.py",  # joining, equality, membership, tolist
    "other/test_create.py",  # Create of every built-in model, params forms, nest.NodeCollection()
    "other/test_nest_set_get.py",  # kernel attributes: nest.set/get, nest.<attribute>
    "connect/test_connect_all_to_all.py",  # Connect with rules and parameter arrays
    "connect/test_get_connections.py",  # GetConnections on node subsets
]


def _load_runner():
    spec = importlib.util.spec_from_file_location("nest_testsuite", ROOT / "benchmarks" / "nest_testsuite.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("nest_testsuite", module)
    spec.loader.exec_module(module)
    return module


@pytest.mark.slow  # ~25 CPU-seconds: twelve pytest processes, each importing NEST
def test_sample_of_nest_testsuite_passes_under_import_hook():
    runner = _load_runner()
    root = runner.testsuite_dir()
    missing = [f for f in SAMPLE if not (root / f).is_file()]
    assert not missing, f"NEST's test suite no longer has {missing}"
    results = runner.run_suite(SAMPLE, jobs=2, timeout=300, root=root, progress=False)

    crashed = [(r.mode, r.file, r.output_tail[-2000:]) for r in results if r.crashed]
    assert not crashed
    assert all(r.hook_active for r in results if r.mode == "jitnest"), "the import hook was not active"
    assert not any(r.hook_active for r in results if r.mode == "plain")
    plain, jitnest = runner.totals(results, "plain"), runner.totals(results, "jitnest")
    assert plain["passed"] > 250 and plain["failed"] == 0  # the sample means something
    regressions = runner.regressions(results)
    assert regressions == [], "\n\n".join(f"{r['nodeid']}: {r['message'][-1500:]}" for r in regressions)
    assert jitnest == plain
    assert runner.outcomes(results, "jitnest") == runner.outcomes(results, "plain")
