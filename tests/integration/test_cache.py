"""The module cache: reused by later processes, built once under concurrency, never poisoned.

These tests compile a deliberately tiny NESTML neuron (tests/models/tiny_neuron.nestml) into
caches of their own, so each starts cold.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import psutil
import pytest
from conftest import NETWORKS, ROOT, last_json, new_tiny_source, run_python

pytestmark = pytest.mark.slow

TINY = NETWORKS / "tiny_network.py"


def _spawn(cache: Path, *args: str, env: dict | None = None) -> subprocess.Popen:
    env = {**os.environ, "JITNEST_CACHE_DIR": str(cache), **(env or {})}
    return subprocess.Popen([sys.executable, str(TINY), *args], cwd=str(ROOT), env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)


def _wait_for(condition, process: subprocess.Popen, what: str, seconds: float = 600):
    """``condition()``'s first true value, polled while ``process`` runs (a loaded machine makes
    this slower, never wrong)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = condition()
        if found:
            return found
        assert process.poll() is None, f"exited before {what}: {process.communicate()[1][-3000:]}"
        time.sleep(0.1)
    raise AssertionError(f"no {what} within {seconds} s")


def _compiler_running(process: subprocess.Popen) -> bool:
    try:
        return any(p.name() in ("cc1plus", "cc1") for p in psutil.Process(process.pid).children(recursive=True))
    except psutil.Error:
        return False


class _Lines:
    """A process's output lines, read by a thread as they come."""

    def __init__(self, stream) -> None:
        self.lines: list[str] = []
        self._thread = threading.Thread(target=lambda: self.lines.extend(iter(stream.readline, "")), daemon=True)
        self._thread.start()

    def text(self) -> str:
        self._thread.join(timeout=60)
        return "".join(self.lines)


def _published(cache: Path) -> list[Path]:
    modules = cache / "modules"
    return sorted(modules.iterdir()) if modules.is_dir() else []


@pytest.fixture(scope="module")
def warm_cache(tmp_path_factory) -> Path:
    cache = tmp_path_factory.mktemp("warm")
    completed = run_python(TINY, env={"JITNEST_CACHE_DIR": str(cache)})
    result = last_json(completed)
    assert result["events"] > 0
    assert [b["built_here"] for b in result["build"].values()] == [True]
    assert result["nestml_requests"] == {"parse": 1, "generate": 1}, "the count sees what a cold run asks NESTML"
    return cache


def test_second_process_neither_generates_nor_compiles(warm_cache, tmp_path):
    """A warm run asks NESTML nothing (counted in the client: a request answered by a NESTML server
    that is still running starts no process, so launched processes alone cannot prove it) and
    starts no compiler."""
    launched = tmp_path / "launched.jsonl"
    completed = run_python(TINY, str(launched), env={"JITNEST_CACHE_DIR": str(warm_cache)})
    result = last_json(completed)
    assert result["events"] > 0
    assert [b["built_here"] for b in result["build"].values()] == [False]
    assert result["nestml_requests"] == {}, "no parse or generate request, not even to a running server"
    commands = [json.loads(line) for line in launched.read_text().splitlines()] if launched.exists() else []
    assert not [c for c in commands if any("jitnest.worker" in part for part in c)], commands
    assert not [c for c in commands if "--build" in c or "-S" in c], commands


def test_processes_started_together_build_once(tmp_path):
    cache = tmp_path / "cache"
    processes = [_spawn(cache) for _ in range(3)]
    results = []
    for process in processes:
        stdout, stderr = process.communicate(timeout=600)
        assert process.returncode == 0, stderr[-3000:]
        results.append(json.loads(stdout.strip().splitlines()[-1]))
    built = [b["built_here"] for r in results for b in r["build"].values()]
    assert sorted(built) == [False, False, True]
    assert len({r["events"] for r in results}) == 1 and results[0]["events"] > 0
    assert len(_published(cache)) == 1


def test_killed_build_leaves_cache_usable(tmp_path):
    cache = tmp_path / "cache"
    process = _spawn(cache)
    # Kill everything while the compiler runs inside the temporary build directory.
    _wait_for(lambda: _compiler_running(process), process, "compiler process")
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    assert _published(cache) == [], "a killed build must not publish anything"
    assert list((cache / "tmp").iterdir()), "the killed build's leftovers are expected in tmp/"

    completed = run_python(TINY, env={"JITNEST_CACHE_DIR": str(cache)})
    result = last_json(completed)
    assert result["events"] > 0
    assert [b["built_here"] for b in result["build"].values()] == [True]
    assert len(_published(cache)) == 1
    assert not [p for p in (cache / "tmp").iterdir()], "leftovers of the killed build are cleaned up"


def test_corrupted_module_is_rebuilt_not_loaded(warm_cache, tmp_path):
    (entry,) = _published(warm_cache)
    module = next(entry.glob("*.so"))
    module.write_bytes(module.read_bytes()[:4096])  # truncated
    completed = run_python(TINY, env={"JITNEST_CACHE_DIR": str(warm_cache)})
    result = last_json(completed)
    assert result["events"] > 0
    assert [b["built_here"] for b in result["build"].values()] == [True]


def test_compiler_failure_names_model_line_errors_and_log(tmp_path):
    cache = tmp_path / "cache"
    code = ("import jitnest as nest\n"
            "from jitnest.errors import BuildError\n"
            "nest.add_model_file('tests/models/tiny_neuron.nestml')\n"
            "n = nest.Create('tiny_neuron', 2)\n"
            "try:\n"
            "    nest.Simulate(1.0)\n"
            "except BuildError as error:\n"
            "    print('LOG', error.log_path)\n"
            "    print(error)\n")
    script = tmp_path / "user_script.py"
    script.write_text(code.replace("tests/models", str(ROOT / "tests" / "models")))
    completed = run_python(script, env={"JITNEST_CACHE_DIR": str(cache), "JITNEST_CXXFLAGS": "-fno-such-option"})
    text = completed.stdout
    assert "building tiny_neuron failed" in text
    assert "no-such-option" in text  # the compiler's own first error
    assert "line 4" in text and "nest.Create('tiny_neuron', 2)" in text  # the user's line
    log = Path(text.split("LOG ", 1)[1].splitlines()[0])
    assert log.is_file() and "no-such-option" in log.read_text()
    assert _published(cache) == [], "a failed build must not publish anything"


def _copy(cache: Path, tmp_path: Path) -> Path:
    """A copy of ``cache`` without the NESTML server's socket (not a file that can be copied)."""
    import shutil

    copy = tmp_path / "cache"
    shutil.copytree(cache, copy, symlinks=True, ignore=shutil.ignore_patterns("servers"))
    return copy


@pytest.mark.skipif(os.getuid() != 0, reason="giving files to another user needs root")
def test_a_warm_cache_prepared_by_another_user_is_refused(warm_cache, tmp_path):
    """A cache another user built (a copied home folder, a shared JITNEST_CACHE_DIR): nothing of it
    is loaded; the message names the folder and what to do."""
    cache = _copy(warm_cache, tmp_path)
    for path in [cache, *cache.rglob("*")]:
        os.chown(path, 65534, 65534, follow_symlinks=False)
    completed = run_python(TINY, env={"JITNEST_CACHE_DIR": str(cache)}, check=False)
    assert completed.returncode != 0
    assert "UnsafeCacheError" in completed.stderr and f"refusing to use {cache}" in completed.stderr
    assert "JITNEST_CACHE_DIR" in completed.stderr


def test_a_group_writable_precompiled_header_is_not_force_included(warm_cache, tmp_path):
    """A cold build would force-include the shared precompiled header into its compile: a header
    folder others may write is refused, not used, not silently skipped."""
    import stat

    cache = _copy(warm_cache, tmp_path)
    (header_dir,) = [p for p in (cache / "pch").iterdir() if not p.name.startswith(".")]
    header_dir.chmod(header_dir.stat().st_mode | stat.S_IWGRP)
    completed = run_python(f"""
import jitnest as nest
nest.add_model_source({new_tiny_source("pch_refused_neuron")!r})
nest.Create("pch_refused_neuron", 2)
nest.Simulate(1.0)
""", env={"JITNEST_CACHE_DIR": str(cache)}, check=False)
    assert completed.returncode != 0
    assert "UnsafeCacheError" in completed.stderr and f"chmod go-w {header_dir}" in completed.stderr, \
        completed.stderr[-3000:]
    assert [p.name for p in _published(cache)] == [p.name for p in _published(warm_cache)], "nothing published"


def test_cache_is_private_and_foreign_writable_modules_are_refused(warm_cache, tmp_path):
    import stat

    for created_by_jitnest in ("modules", "locks", "tmp", "models"):
        assert stat.S_IMODE((warm_cache / created_by_jitnest).stat().st_mode) == 0o700
    cache = _copy(warm_cache, tmp_path)
    (entry,) = _published(cache)
    module = next(entry.glob("*.so"))
    module.chmod(module.stat().st_mode | stat.S_IWOTH)  # anyone could have replaced the code
    completed = run_python(TINY, env={"JITNEST_CACHE_DIR": str(cache)}, check=False)
    assert completed.returncode != 0
    assert "refusing to load" in completed.stderr and "writable by other users" in completed.stderr
    assert str(module) in completed.stderr


def test_a_waiting_process_names_the_builder_and_builds_when_the_builder_dies(tmp_path):
    """A process that waits for another's build says for whom (process, host, since when); when
    the builder is killed, the lock is released and the waiter builds the module itself."""
    cache = tmp_path / "cache"
    builder = _spawn(cache)
    # the builder holds the module's lock once its note is there
    note = _wait_for(lambda: next((cache / "locks").glob("*.lock.holder"), None), builder, "lock note")
    assert json.loads(note.read_text())["pid"] == builder.pid
    waiter = _spawn(cache, env={"JITNEST_LOG_LEVEL": "INFO"})
    out, err = _Lines(waiter.stdout), _Lines(waiter.stderr)
    waiting = _wait_for(lambda: next((line for line in err.lines if "waiting for the module of tiny_neuron" in line),
                                     None), waiter, "message of the waiting process")
    assert f"process {builder.pid} on {socket.gethostname()} since " in waiting, waiting
    os.killpg(builder.pid, signal.SIGKILL)
    builder.wait()
    assert waiter.wait(timeout=900) == 0, err.text()[-3000:]
    result = json.loads(out.text().strip().splitlines()[-1])
    assert result["events"] > 0 and [b["built_here"] for b in result["build"].values()] == [True]
    assert len(_published(cache)) == 1
    assert not list((cache / "locks").glob("*.holder")), "the waiter's note is gone with its lock"


def test_a_compile_over_its_time_limit_is_killed_with_its_processes(tmp_path):
    """JITNEST_COMPILE_TIMEOUT bounds CMake and the compiler: the build fails with a message
    naming the limit, no compiler is left running, nothing is published."""
    cache = tmp_path / "cache"
    completed = run_python(f"""
import json, psutil
import jitnest as nest
from jitnest.errors import BuildError
nest.add_model_source({new_tiny_source("slow_compile_neuron")!r})
nest.Create("slow_compile_neuron", 2)
try:
    nest.Simulate(1.0)
    message = None
except BuildError as error:
    message = str(error)
left = [p.name() for p in psutil.Process().children(recursive=True)
        if p.status() != psutil.STATUS_ZOMBIE and "jitnest.worker" not in " ".join(p.cmdline())]
print(json.dumps({{"message": message, "left": left}}))
""", env={"JITNEST_CACHE_DIR": str(cache), "JITNEST_COMPILE_TIMEOUT": "3", "JITNEST_PCH": "0"})
    result = last_json(completed)
    assert result["message"] and "did not finish" in result["message"], result
    assert "within 3 s (JITNEST_COMPILE_TIMEOUT); its processes were killed" in result["message"]
    assert result["left"] == [], "CMake, Ninja and the compilers are killed with the build"
    assert _published(cache) == []
