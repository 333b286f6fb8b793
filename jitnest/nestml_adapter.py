"""The one narrow door between jitnest and NESTML.

NESTML keeps global state (FrontendConfiguration, Logger, symbol tables) across calls in one
process, so jitnest never imports it. Each request runs ``nestml_worker.py`` in a process of its
own, with ``PYTHONHASHSEED=0`` (NESTML's output order follows the hash seed), and reads one JSON
answer. NESTML's own chatter is kept as a log for error messages.

Requests go to a fork server (the worker in serve mode, started at the first request of this
process, or earlier through ``prestart_server``): it has imported NESTML once and answers each
request in a forked child, which saves the ~1 s import per request while keeping a fresh NESTML
state per request. If the server cannot be started, or ``JITNEST_NESTML_SERVER=0``, each request
starts a worker process of its own.
"""

from __future__ import annotations

import atexit
import itertools
import json
import os
import select
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path

from .errors import ModelProblem

WORKER = Path(__file__).resolve().parent / "nestml_worker.py"
_SERVER_START_SECONDS = 120.0
_SERVER_IDLE_SECONDS = 60.0  # then the server exits; the next request starts another one


@dataclass
class WorkerResult:
    """The worker's JSON answer and everything it printed to stderr."""

    answer: dict
    log: str

    @property
    def ok(self) -> bool:
        return bool(self.answer.get("ok"))

    def problems(self) -> list[ModelProblem]:
        return [ModelProblem(file=e.get("file") or "<unknown>", line=e.get("line"),
                             message=e.get("message", ""), column=e.get("column"))
                for e in self.answer.get("errors", [])]


class WorkerCrash(RuntimeError):
    """The worker process died without answering; ``log`` holds what it printed."""

    def __init__(self, message: str, log: str) -> None:
        super().__init__(message)
        self.log = log


def _worker_environment() -> dict[str, str]:
    from .cache import cache_root

    return dict(os.environ, PYTHONHASHSEED="0", PYNEST_QUIET="1",
                JITNEST_TEMPLATE_CACHE=str(cache_root() / "templates"))


def _run_in_new_process(request: dict) -> WorkerResult:
    completed = subprocess.run([sys.executable, str(WORKER)], input=json.dumps(request),
                               capture_output=True, text=True, env=_worker_environment(), check=False)
    try:
        answer = json.loads(completed.stdout.strip().splitlines()[-1])
    except (IndexError, ValueError):
        log = f"{completed.stdout}\n{completed.stderr}"
        raise WorkerCrash(f"NESTML worker exited with status {completed.returncode} without an answer",
                          log) from None
    return WorkerResult(answer, completed.stderr)


class _ServerUnavailable(Exception):
    """The fork server could not be started or reached (not a failure of the request itself)."""


class _ForkServer:
    """A worker in serve mode, owned by this process; it exits when this process does.

    Thread-safe: every request is its own connection, answered by its own forked child.
    """

    def __init__(self) -> None:
        self.owner = os.getpid()  # a forked copy of this process must neither use nor close it
        self._directory = Path(tempfile.mkdtemp(prefix="jitnest-nestml-"))  # 0700: private to the user
        self._socket_path = str(self._directory / "socket")
        self._requests = itertools.count()
        stderr_path = self._directory / "server.log"
        with open(stderr_path, "wb") as stderr:
            self._process = subprocess.Popen(
                [sys.executable, str(WORKER), "--serve", self._socket_path, "--idle", str(_SERVER_IDLE_SECONDS)],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE, stderr=stderr, env=_worker_environment())
        atexit.register(self.close)
        ready, _, _ = select.select([self._process.stdout], [], [], _SERVER_START_SECONDS)
        line = self._process.stdout.readline() if ready else b""
        if line.strip() != b"ready":
            self.close()
            raise _ServerUnavailable(f"NESTML fork server did not start: {stderr_path.read_text()[-2000:]}"
                                     if stderr_path.exists() else "NESTML fork server did not start")

    def run(self, request: dict) -> WorkerResult:
        log_path = self._directory / f"request-{next(self._requests)}.log"
        envelope = json.dumps({"request": request, "log_file": str(log_path)}).encode()
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as connection:
            try:
                connection.connect(self._socket_path)
                connection.sendall(envelope)
                connection.shutdown(socket.SHUT_WR)
            except OSError as error:
                raise _ServerUnavailable(f"NESTML fork server unreachable: {error}") from None
            chunks = []
            try:
                while chunk := connection.recv(1 << 16):
                    chunks.append(chunk)
            except ConnectionResetError:
                chunks = []
        log = log_path.read_text(errors="replace") if log_path.exists() else ""
        log_path.unlink(missing_ok=True)
        try:
            answer = json.loads(b"".join(chunks))
        except ValueError:
            if not log and self._exited_meanwhile():
                raise _ServerUnavailable("NESTML fork server exited (idle) before forking") from None
            raise WorkerCrash("NESTML worker exited without an answer", log) from None
        return WorkerResult(answer, log)

    def _exited_meanwhile(self) -> bool:
        """Whether the server is gone: a connection made while it was closing for idleness is
        dropped unanswered (no child was forked for it, so nothing was logged)."""
        try:
            self._process.wait(timeout=1)
        except subprocess.TimeoutExpired:
            return False
        return True

    def usable(self) -> bool:
        return self.owner == os.getpid() and self._process.poll() is None

    def close(self, wait: bool = True) -> None:
        """Tell the server to exit; with ``wait``, also reap it (its interpreter shutdown takes
        ~0.4 s, so a build does not wait: the exit handler registered at start reaps it)."""
        if self.owner != os.getpid():
            return
        if self._process.poll() is None:
            self._process.stdin.close()  # the server's signal to exit
            if wait:
                try:
                    self._process.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    self._process.kill()
        shutil.rmtree(self._directory, ignore_errors=True)


_server: _ForkServer | None = None
_server_failed = False
_server_lock = threading.Lock()


def _fork_server() -> _ForkServer | None:
    """This process's fork server, started on first use; None if disabled or it cannot start."""
    global _server, _server_failed
    with _server_lock:
        if _server is not None and _server.usable():
            return _server
        if _server is not None:
            _server.close(wait=False)  # exited (idle, killed): remove its directory
        if _server_failed or os.environ.get("JITNEST_NESTML_SERVER", "1") == "0" or not hasattr(os, "fork"):
            return None
        try:
            _server = _ForkServer()
        except (_ServerUnavailable, OSError):
            _server_failed = True
            return None
        return _server


def prestart_server() -> None:
    """Start this process's fork server in the background, when a script has just said it will
    need NESTML (it added a model file that was never parsed): its ~1 s of imports then overlap the
    script's own work instead of delaying the first ``Create``. No-op if a server runs or is
    disabled."""
    if _server is not None and _server.usable():
        return
    threading.Thread(target=_fork_server, name="jitnest-nestml-server-start", daemon=True).start()


def stop_server() -> None:
    """Stop this process's NESTML fork server now; the next request starts another one.

    jitnest calls this once the network is built: NESTML is rarely needed after that, and on a
    cold cache every MPI rank would otherwise keep a server (~115 MB each) until it idles out.
    """
    global _server
    with _server_lock:
        if _server is not None:
            _server.close(wait=False)
            _server = None


def _run(request: dict) -> WorkerResult:
    server = _fork_server()
    if server is not None:
        try:
            return server.run(request)
        except _ServerUnavailable:
            pass  # e.g. the server was killed: a process of its own still answers
    return _run_in_new_process(request)


def nestml_version() -> str:
    """NESTML's version, read from package metadata (no import of NESTML)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("nestml")
    except PackageNotFoundError:
        return "unknown"


def parse(files: list[str]) -> WorkerResult:
    """Parse and validate NESTML model files; the answer describes each model (see worker)."""
    return _run({"op": "parse", "files": files})


def generate(files: list[str], target_dir: Path, module_name: str, pairs: list[dict],
             weight_variables: dict[str, str], delay_variables: dict[str, str],
             nest_version: str, paired_only: bool = False) -> WorkerResult:
    """Generate NEST C++ code for ``files`` into ``target_dir`` (no build); with ``paired_only``,
    a paired neuron is not also generated alone."""
    return _run({
        "op": "generate",
        "files": files,
        "target_dir": str(target_dir),
        "module_name": module_name,
        "neuron_synapse_pairs": pairs,
        "weight_variable": weight_variables,
        "delay_variable": delay_variables,
        "nest_version": nest_version,
        "paired_only": paired_only,
    })
