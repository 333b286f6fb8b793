"""An unmodified NEST script with NESTML models under ``mpirun``: one build, every rank installs,
and the results are those of plain NEST with the manual workflow's module on the same ranks.

The manual side is benchmarks/manual_workflow.py (conftest's ``manual_stdp_module``, built outside
MPI: NESTML's own recipe is "generate outside MPI, then Install under MPI"). Results are gathered
from every rank's file: spikes of all neurons, weights of all connections, node IDs.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from mpi_helpers import STDP, assert_same_network, merged, mpirun, needs_mpi

pytestmark = [*needs_mpi, pytest.mark.slow]


def _run(processes: int, mode: str, module: str, out: Path, threads: int = 1, twin: str = "",
         env: dict | None = None) -> dict:
    out.mkdir()
    script = ["-m", "jitnest", str(STDP)] if mode == "hook" else [str(STDP)]
    mpirun(processes, *script, mode, module, str(out), str(threads), twin, env=env)
    return merged(out)


@pytest.fixture(scope="module")
def manual_runs(manual_stdp_module, tmp_path_factory):
    """Plain NEST's results per (ranks, threads, twin), each run once."""
    runs: dict[tuple, dict] = {}

    def get(processes: int, threads: int = 1, twin: str = "") -> dict:
        if (processes, threads, twin) not in runs:
            out = tmp_path_factory.mktemp(f"manual-{processes}x{threads}{twin}")
            runs[processes, threads, twin] = _run(processes, "manual", str(manual_stdp_module), out / "ranks",
                                                  threads, twin)
        return runs[processes, threads, twin]

    return get


def test_cold_cache_one_build_for_all_ranks(manual_runs, tmp_path):
    """Four ranks on an empty cache: one rank builds, the others wait for it and load the same file."""
    cache = tmp_path / "cache"
    jit = _run(4, "hook", "-", tmp_path / "ranks", env={"JITNEST_CACHE_DIR": str(cache)})

    assert_same_network(jit, manual_runs(4), 4)
    reports = [next(iter(m.values())) for m in jit["modules"]]
    assert sum(r["built_here"] for r in reports) == 1, reports
    assert len({r["module"] for r in reports}) == 1
    assert len(list((cache / "modules").iterdir())) == 1
    assert not list((cache / "logs").glob("*")), "a build failed or a failure record was left"
    assert jit["neuron_models"] == ["iaf_psc_exp_neuron"] and jit["synapse_models"] == ["stdp_synapse_nestml"]


@pytest.mark.parametrize("processes, threads, mode", [(2, 1, "hook"), (2, 2, "jitnest"), (4, 1, "jitnest"),
                                                      (4, 2, "hook")])
def test_same_results_as_plain_nest(manual_runs, tmp_path, processes, threads, mode):
    """``python -m jitnest script.py`` (hook) and ``import jitnest as nest``, 1 or 2 threads per rank."""
    jit = _run(processes, mode, "-", tmp_path / "ranks", threads)

    assert_same_network(jit, manual_runs(processes, threads), processes)
    assert {p * threads for p in jit["processes"]} == jit["virtual_processes"]


def test_twin_registration_shortcut_on_this_nest(manual_runs, tmp_path):
    """module.cpp.jinja registers a named twin through NEST's private member: against a NEST built
    from source with MPI too, the _hpc twin gives NEST's own twin's results, and no unnamed twin exists."""
    jit = _run(2, "jitnest", "-", tmp_path / "ranks", twin="_hpc")

    assert_same_network(jit, manual_runs(2, 1, "_hpc"), 2)
    generated = "stdp_synapse_nestml__with_iaf_psc_exp_neuron_nestml"
    assert all(models == [generated, generated + "_hpc"] for models in jit["real_synapse_models"])
