"""Faults under mpirun: every rank reports the same error at the user's line, no rank hangs, no
lock outlives its holder.

* a NESTML error (each rank parses the model at its ``Create``);
* a compiler failure (one rank compiles; the others raise its error instead of compiling again),
  with the file-lock coordination and with ``JITNEST_BUILD_SYNC=mpi``;
* the rank that builds is killed: mpirun ends the job; the other ranks say why, at the user's line.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import filelock
import pytest
from conftest import MODELS, ROOT
from mpi_helpers import STDP, STDP_NETWORK, jitnest_error, mpirun, mpirun_prefix, needs_mpi, rank_output

pytestmark = [*needs_mpi, pytest.mark.slow]

BAD_MODEL_SCRIPT = """
import sys
import jitnest as nest
nest.add_model_file(sys.argv[1])
pre = nest.Create("unknown_variable_neuron", 4)  # the user's line
nest.Simulate(10.0)
"""
# NEST's headers fail to compile with it; CMake's compiler check and NESTML do not notice it.
BREAKS_COMPILATION = "-DDictionary=int"


def _held_locks(cache: Path) -> list[Path]:
    held = []
    for path in cache.rglob("*.lock"):
        lock = filelock.FileLock(str(path))
        try:
            lock.acquire(timeout=0)
            lock.release()
        except filelock.Timeout:
            held.append(path)
    return held


def test_nestml_error_on_every_rank(tmp_path):
    script = tmp_path / "bad_model.py"
    script.write_text(BAD_MODEL_SCRIPT)
    completed = mpirun(2, str(script), str(MODELS / "bad" / "unknown_variable_neuron.nestml"), check=False,
                       output_dir=tmp_path / "out", timeout=300)

    assert completed.returncode != 0
    errors = [jitnest_error(rank_output(tmp_path / "out", rank)) for rank in range(2)]
    assert errors[0] == errors[1]
    assert errors[0].startswith("jitnest.errors.NestmlModelError: NESTML model 'unknown_variable_neuron' has errors")
    assert f'File "{script}", line 5' in errors[0]


@pytest.mark.parametrize("sync", ["lock", "mpi"])
def test_compiler_failure_on_every_rank(tmp_path, sync):
    cache = tmp_path / "cache"
    completed = mpirun(3, "-m", "jitnest", str(STDP), "hook", "-", str(tmp_path), check=False,
                       output_dir=tmp_path / "out", timeout=900,
                       env={"JITNEST_CACHE_DIR": str(cache), "JITNEST_CXXFLAGS": BREAKS_COMPILATION,
                            "JITNEST_BUILD_SYNC": sync})

    assert completed.returncode != 0
    errors = [jitnest_error(rank_output(tmp_path / "out", rank)) for rank in range(3)]
    assert errors[1] == errors[0] and errors[2] == errors[0], "ranks report different errors"
    assert errors[0].startswith("jitnest.errors.BuildError: building iaf_psc_exp_neuron + stdp_synapse failed: "
                                "the C++ compiler failed:")
    assert f'model introduced in your code: File "{STDP_NETWORK}", line' in errors[0]
    logs = list((cache / "logs").glob("*.log"))
    assert len(logs) == 1, f"the module was compiled {len(logs)} times"
    assert str(logs[0]) in errors[0]
    assert not _held_locks(cache)


def _kill_the_builder(tmp_path: Path, sync: str) -> tuple[subprocess.CompletedProcess, float, Path]:
    """Start 2 ranks on an empty cache, SIGKILL the rank that builds once its build is under way;
    returns mpirun's result, the seconds it took to end after the kill, and the cache."""
    cache = tmp_path / "cache"
    out = tmp_path / "ranks"
    out.mkdir()
    command = mpirun_prefix(2) + ["--output-filename", str(tmp_path / "out"),
                                  sys.executable, "-m", "jitnest", str(STDP), "hook", "-", str(out)]
    process = subprocess.Popen(command, cwd=str(ROOT), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               env={**os.environ, "JITNEST_CACHE_DIR": str(cache), "JITNEST_BUILD_SYNC": sync})
    builder = None
    deadline = time.monotonic() + 600
    while builder is None and process.poll() is None and time.monotonic() < deadline:
        # A build works in tmp/<key>.<pid>.<random>/ (cache.store): the pid there is the builder's.
        for work in (cache / "tmp").glob("*.*.*") if (cache / "tmp").is_dir() else []:
            match = re.fullmatch(r"[0-9a-f]{64}\.(\d+)\.\w+", work.name)
            if match:
                builder = int(match.group(1))
        time.sleep(0.1)
    assert builder is not None, f"no build started: {process.communicate(timeout=60)[0][-3000:]!r}"
    time.sleep(2)  # into NESTML's generation or the compiler
    os.kill(builder, signal.SIGKILL)
    killed = time.monotonic()
    try:
        process.communicate(timeout=120)
    except subprocess.TimeoutExpired:
        process.kill()
        process.communicate()
        pytest.fail("a rank hung after the builder was killed")
    return process, time.monotonic() - killed, cache


def test_killed_builder_rank_with_file_locks(tmp_path):
    process, seconds, cache = _kill_the_builder(tmp_path, "lock")

    assert process.returncode != 0 and seconds < 60
    survivors = [rank for rank in range(2) if "was stopped" in rank_output(tmp_path / "out", rank)]
    assert len(survivors) == 1, "the rank that did not build must say why it stops"
    error = jitnest_error(rank_output(tmp_path / "out", survivors[0]))
    assert error.startswith("jitnest.errors.BuildError: building iaf_psc_exp_neuron + stdp_synapse was stopped: "
                            "this process received SIGTERM")
    assert f'model introduced in your code: File "{STDP_NETWORK}", line' in error
    assert not _held_locks(cache)
    # Nothing left behind blocks the next run: it builds and runs.
    rerun = tmp_path / "rerun"
    rerun.mkdir()
    mpirun(2, "-m", "jitnest", str(STDP), "hook", "-", str(rerun), env={"JITNEST_CACHE_DIR": str(cache)})
    assert len(list(rerun.glob("rank-*.json"))) == 2


def test_killed_rank0_with_mpi_sync(tmp_path):
    """Under JITNEST_BUILD_SYNC=mpi rank 1 waits in MPI's barrier, where Python cannot run: mpirun
    ends it, and faulthandler's stack names the user's line."""
    process, seconds, cache = _kill_the_builder(tmp_path, "mpi")

    assert process.returncode != 0 and seconds < 60
    follower = rank_output(tmp_path / "out", 1)
    assert "in follow" in follower and f'File "{STDP}", line' in follower, follower[-3000:]
    assert not _held_locks(cache)


ONE_RANK_FAILS_SCRIPT = """
import jitnest as nest
neurons = nest.Create("iaf_psc_alpha", 4, params={"I_e": 400.0})
if nest.Rank() == 1:
    raise ValueError("only rank 1 fails")
nest.Simulate(5.0)   # the other ranks wait here for rank 1 in NEST's collective calls
nest.Simulate(5.0)
"""


def test_uncaught_exception_on_one_rank_ends_the_job(tmp_path):
    """Plain PyNEST hangs here: the failed rank waits in MPI_Finalize at exit, the others wait for it
    in Simulate. jitnest ends the job once the grace period is over."""
    script = tmp_path / "one_rank_fails.py"
    script.write_text(ONE_RANK_FAILS_SCRIPT)
    started = time.monotonic()
    completed = mpirun(3, str(script), check=False, output_dir=tmp_path / "out", timeout=240)

    assert completed.returncode != 0
    assert time.monotonic() - started < 180
    failed = rank_output(tmp_path / "out", 1)
    assert "ValueError: only rank 1 fails" in failed
    assert "[jitnest] rank 1 ended with an uncaught exception" in failed


ALL_RANKS_FAIL_SCRIPT = """
import jitnest as nest
nest.Create("iaf_psc_alpha", 4)
raise ValueError(f"rank {nest.Rank()} fails")
"""


def test_uncaught_exception_on_every_rank_finalizes_as_plain_nest(tmp_path):
    """When every rank fails alike, MPI_Finalize returns at once: each rank prints its own error and
    ends with status 1, with no rank killed by the grace timer."""
    script = tmp_path / "all_ranks_fail.py"
    script.write_text(ALL_RANKS_FAIL_SCRIPT)
    completed = mpirun(2, str(script), check=False, output_dir=tmp_path / "out", timeout=240)

    assert completed.returncode == 1
    for rank in range(2):
        assert f"ValueError: rank {rank} fails" in rank_output(tmp_path / "out", rank)
    assert "exited improperly" not in completed.stdout + completed.stderr
