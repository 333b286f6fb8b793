"""Shared builds (``jitnest.compile.build_sync``) without mpirun: the setting, failure records that
spare waiting processes a second failing build, and what SIGTERM prints during a build.

The same code under mpirun is tested in test_mpi_faults.py and test_mpi_clusters.py.
"""

from __future__ import annotations

import subprocess
import sys

import pytest
from conftest import ROOT

from jitnest import config
from jitnest.call_site import CallSite
from jitnest.compile import build_sync
from jitnest.errors import BuildError

SITE = CallSite("script.py", 7, "nest.Simulate(100.0)")


@pytest.fixture
def clean_job(monkeypatch):
    for name in (*build_sync._JOB_VARIABLES, "SLURM_JOB_ID"):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def test_setting_chooses_lock_or_mpi(monkeypatch):
    monkeypatch.delenv("JITNEST_BUILD_SYNC", raising=False)
    assert config.settings().build_sync == "lock"
    monkeypatch.setenv("JITNEST_BUILD_SYNC", "MPI")
    assert config.settings().build_sync == "mpi"
    monkeypatch.setenv("JITNEST_BUILD_SYNC", "nfs")
    with pytest.raises(ValueError, match="JITNEST_BUILD_SYNC"):
        config.settings()


def test_a_failure_while_waiting_is_raised_again_not_rebuilt(tmp_path, clean_job):
    (tmp_path / "logs").mkdir()
    before = build_sync.failure_token(tmp_path, "k")
    assert before is None
    build_sync.record_failure(tmp_path, "k", "building a + b failed: the C++ compiler failed:\nerror: x", "/log")
    assert build_sync.failure_while_waiting(tmp_path, "k", before, [SITE]) is None, "its own failure: try again"

    clean_job.setattr(build_sync, "_this_process", lambda: "another-host:1")
    error = build_sync.failure_while_waiting(tmp_path, "k", before, [SITE])
    assert isinstance(error, BuildError)
    assert str(error) == str(BuildError("building a + b failed: the C++ compiler failed:\nerror: x", "/log", [SITE]))
    # A failure on record before this process waited is an older run's: this process builds again.
    assert build_sync.failure_while_waiting(tmp_path, "k", build_sync.failure_token(tmp_path, "k"), [SITE]) is None


def test_a_failure_of_the_same_mpi_job_is_raised_even_if_seen_before(tmp_path, clean_job):
    (tmp_path / "logs").mkdir()
    clean_job.setenv("PMIX_NAMESPACE", "1234")
    build_sync.record_failure(tmp_path, "k", "building a failed: NESTML failed", None)
    clean_job.setattr(build_sync, "_this_process", lambda: "another-host:1")
    token = build_sync.failure_token(tmp_path, "k")
    assert build_sync.failure_while_waiting(tmp_path, "k", token, [SITE]) is not None, "a late rank of the same job"
    clean_job.setenv("PMIX_NAMESPACE", "5678")
    assert build_sync.failure_while_waiting(tmp_path, "k", token, [SITE]) is None, "another job tries again"
    build_sync.clear_failure(tmp_path, "k")
    assert build_sync.read_failure(tmp_path, "k") is None


def test_without_mpi_every_process_builds_for_itself(tmp_path, monkeypatch):
    from jitnest.cache.store import ModuleCache

    for mode in ("lock", "mpi"):  # one process: nobody to follow, whatever the setting
        monkeypatch.setenv("JITNEST_BUILD_SYNC", mode)
        sync = build_sync.PlanSync(ModuleCache(tmp_path))
        assert not sync.follower and not sync.coordinated
        with sync.leading(["k"]):
            pass


def test_sigterm_during_a_build_names_the_users_line():
    code = ("import os, signal, time\n"
            "from jitnest.call_site import CallSite\n"
            "from jitnest.compile.build_sync import reporting_termination\n"
            "site = CallSite('script.py', 7, 'nest.Simulate(100.0)')\n"
            "with reporting_termination('a + b', [site]):\n"
            "    os.kill(os.getpid(), signal.SIGTERM)\n"
            "    time.sleep(30)\n")
    completed = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert completed.returncode == 143
    assert "jitnest.errors.BuildError: building a + b was stopped: this process received SIGTERM" in completed.stderr
    assert str(SITE) in completed.stderr


def test_nestml_server_socket_is_per_host(tmp_path, monkeypatch):
    """A cache folder shared by several machines holds one NESTML server socket per machine: a Unix
    socket reaches only processes on its own machine."""
    from jitnest.generate import nestml_client

    monkeypatch.setenv("JITNEST_CACHE_DIR", str(tmp_path))
    paths = set()
    for host in ("node-a", "node-b"):
        monkeypatch.setattr(nestml_client.socket, "gethostname", lambda host=host: host)
        paths.add(nestml_client._server_socket_path())
    assert len(paths) == 2 and all(p is not None and p.parent == tmp_path / "servers" for p in paths)
