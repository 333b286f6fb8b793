"""The one narrow door between jitnest and NESTML.

NESTML keeps global state (FrontendConfiguration, Logger, symbol tables) across calls in one
process, so jitnest never imports it. Each request runs the worker (``python -m jitnest.worker``,
see ``jitnest.worker``) in a process of its own, with ``PYTHONHASHSEED=0`` (NESTML's output order
follows the hash seed), and reads one JSON
answer. NESTML's own chatter is kept as a log for error messages.

Requests go to a fork server (the worker in serve mode, see ``_SharedServer``: shared by this
user's processes with the same settings, started by the first request that finds none, or
earlier through ``prestart_server``, and gone after a minute without requests): it has imported
NESTML once and answers each request in a forked child, which saves the ~1 s import per request
while keeping a fresh NESTML state per request. If the server cannot be started, or
``JITNEST_NESTML_SERVER=0``, each request starts a worker process of its own. A server's identity
includes what produced its code (``identity``: NESTML's files, NEST's version), so a server that
still runs the NESTML of before an upgrade is never asked.

Every request is bounded by ``JITNEST_NESTML_TIMEOUT``: then its processes are killed and
``WorkerTimeout`` is raised. Requests carry ``optimise`` (``identity.nestml_optimised``): false
asks the worker for NESTML's plain path.
"""

from __future__ import annotations

import atexit
import collections
import contextlib
import fcntl
import hashlib
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
import time
from pathlib import Path

from .. import processes
from ..cache.store import cache_root
from ..config import settings
from ..log import get_logger
from .identity import nest_version, nestml_identity, nestml_optimised, nestml_version, worker_identity
from .worker_process import (
    WORKER_COMMAND,
    WorkerCrash,
    WorkerResult,
    WorkerTimeout,
    run_in_new_process,
    worker_environment,
)

__all__ = ["WorkerCrash", "WorkerResult", "WorkerTimeout", "generate", "nest_version", "nestml_identity",
           "nestml_optimised", "nestml_version", "parse", "prestart_server", "requests_made", "worker_identity"]
_log = get_logger(__name__)
_SERVER_START_SECONDS = 120.0
_SERVER_IDLE_SECONDS = 60.0  # then the server exits; the next request starts another one
_MAX_SOCKET_PATH = 100  # Linux allows 107 bytes for a Unix socket's path
_PING_SECONDS = 30.0  # a live server forks and answers a ping in milliseconds, even on a loaded machine


class _ServerUnavailable(Exception):
    """The fork server could not be started or reached (not a failure of the request itself)."""


class _SharedServer:
    """The fork server of this user for this Python, worker and jitnest settings.

    The first process that needs NESTML starts it (detached, in a session of its own); every
    process with the same settings uses it, one connection per request, so it is thread- and
    fork-safe; it exits after ``_SERVER_IDLE_SECONDS`` without requests. So the next run of a
    script, another MPI rank or a parallel sweep does not import NESTML again, and there is at
    most one server per user and settings, not one per process.
    """

    def __init__(self, socket_path: Path) -> None:
        self.socket_path = socket_path
        self._start_lock = threading.Lock()
        self._logs: Path | None = None
        self._logs_owner = 0
        self._requests = itertools.count()

    @property
    def pid_path(self) -> Path:
        return Path(f"{self.socket_path}.pid")

    def _log_path(self) -> Path:
        """A file for one request's NESTML output, in a directory private to this process."""
        if self._logs is None or self._logs_owner != os.getpid():
            self._logs = Path(tempfile.mkdtemp(prefix="jitnest-nestml-"))  # 0700: private to the user
            self._logs_owner = os.getpid()
            atexit.register(shutil.rmtree, self._logs, True)
        return self._logs / f"request-{next(self._requests)}.log"

    def run(self, request: dict) -> WorkerResult:
        """Send ``request`` and wait for the answer, at most ``JITNEST_NESTML_TIMEOUT``: then the
        request's process (the server's child, which wrote its PID beside the log) and its
        descendants are killed and WorkerTimeout is raised; the server itself goes on. A server
        whose child has not taken the request after ``_PING_SECONDS`` (stopped, or killed but not
        yet gone) is unavailable, and replaced by the caller."""
        log_path = self._log_path()
        pid_path = Path(f"{log_path}.pid")
        envelope = json.dumps({"request": request, "log_file": str(log_path)}).encode()
        started = time.monotonic()
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as connection:
                connection.settimeout(_PING_SECONDS)
                try:
                    connection.connect(str(self.socket_path))
                    connection.sendall(envelope)
                    connection.shutdown(socket.SHUT_WR)
                except OSError as error:  # e.g. refused: no server listens there any more
                    raise _ServerUnavailable(f"NESTML fork server unreachable: {error}") from None
                chunks = self._receive(connection, started, pid_path)
        finally:
            log = log_path.read_text(errors="replace") if log_path.exists() else ""
            log_path.unlink(missing_ok=True)
            pid_path.unlink(missing_ok=True)
        if chunks is None:
            raise WorkerTimeout(settings().nestml_timeout or 0.0, log)
        try:
            answer = json.loads(b"".join(chunks))
        except ValueError:
            if not log:  # no child was forked: the server was closing (idle) or was killed
                raise _ServerUnavailable("NESTML fork server closed the connection unanswered") from None
            raise WorkerCrash("NESTML worker exited without an answer", log) from None
        return WorkerResult(answer, log)

    @staticmethod
    def _receive(connection: socket.socket, started: float, pid_path: Path) -> list[bytes] | None:
        """The answer's chunks ([] if the connection was dropped); None if the time limit is up,
        after killing the request's processes."""
        limit = settings().nestml_timeout
        chunks: list[bytes] = []
        while True:
            elapsed = time.monotonic() - started
            taken = pid_path.exists()  # the server's child has the request
            if limit is not None and elapsed >= limit:
                with contextlib.suppress(OSError, ValueError):
                    processes.kill_tree(int(pid_path.read_text()))
                return None
            if not taken and elapsed >= _PING_SECONDS:
                raise _ServerUnavailable(f"NESTML fork server took no request for {_PING_SECONDS:g} s")
            waits = ([limit - elapsed] if limit is not None else []) + ([] if taken else [_PING_SECONDS - elapsed])
            connection.settimeout(max(min(waits), 0.01) if waits else None)
            try:
                chunk = connection.recv(1 << 16)
            except TimeoutError:
                continue
            except ConnectionResetError:
                return []
            if not chunk:
                return chunks
            chunks.append(chunk)

    def running(self) -> bool:
        """Whether the server that wrote the PID file is alive and its socket is there."""
        try:
            pid = int(self.pid_path.read_text())
        except (OSError, ValueError):
            return False
        with contextlib.suppress(ChildProcessError):  # started by this process: reap it if it ended
            if os.waitpid(pid, os.WNOHANG)[0] == pid:
                return False
        try:
            os.kill(pid, 0)
        except OSError:
            return False
        return self.socket_path.exists()

    def _answers(self) -> bool:
        """Whether the server answers a ping now. Accepting a connection is not enough: a server
        that was just killed (SIGKILL pending, or not yet reaped) still looks alive and its
        socket may still take connections, which are then dropped unanswered."""
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
            probe.settimeout(_PING_SECONDS)
            try:
                probe.connect(str(self.socket_path))
                probe.sendall(json.dumps({"ping": True}).encode())
                probe.shutdown(socket.SHUT_WR)
                answer = b""
                while chunk := probe.recv(1 << 10):
                    answer += chunk
                return json.loads(answer).get("pong") is True
            except (OSError, ValueError, AttributeError):
                return False

    def start(self, after_failure: bool = False) -> None:
        """Make sure a server runs (start one unless another process has, or does so meanwhile).

        ``after_failure``: a request could not reach the server, so its process being alive is not
        enough; it must answer a ping too, or it is replaced.
        """
        with self._start_lock, open(f"{self.socket_path}.lock", "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes, or if this process dies
            if self.running() and (not after_failure or self._answers()):
                return
            self.socket_path.unlink(missing_ok=True)
            self.pid_path.unlink(missing_ok=True)
            log_path = Path(f"{self.socket_path}.log")
            with open(log_path, "wb") as stderr:
                process = subprocess.Popen(
                    [*WORKER_COMMAND, "--serve", str(self.socket_path),
                     "--idle", str(_SERVER_IDLE_SECONDS), "--detached"],
                    stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=stderr, env=worker_environment(),
                    cwd=self.socket_path.parent,  # not the starter's, which may be removed while it runs
                    start_new_session=True)  # not killed with this process (Ctrl-C, terminal hang-up)
            ready, _, _ = select.select([process.stdout], [], [], _SERVER_START_SECONDS)
            line = process.stdout.readline() if ready else b""
            process.stdout.close()
            if line.strip() != b"ready":
                process.kill()
                raise _ServerUnavailable(f"NESTML fork server did not start: {log_path.read_text()[-2000:]}")


def _server_socket_path() -> Path | None:
    """Where the server for this process's settings listens: in the cache folder, or, if that path
    is too long for a Unix socket, in a private folder under the temporary directory; None if
    neither can be used (then every request starts a worker process of its own)."""
    environment = [*settings().identity(), ("PYTHONPATH", os.environ.get("PYTHONPATH", ""))]
    # A server keeps the NESTML it imported: after an upgrade of NESTML (or NEST) it must not
    # answer for the new one, so what produced the code is part of the server's identity. The host
    # too: a cache folder shared by several machines (MPI ranks on a network filesystem) holds one
    # socket per machine, as a Unix socket reaches only processes on its own machine.
    identity = hashlib.sha256(json.dumps([sys.executable, worker_identity(), nestml_identity(), nest_version(),
                                          str(cache_root()), environment, socket.gethostname()]).encode()
                              ).hexdigest()[:16]
    for directory in (cache_root() / "servers", Path(tempfile.gettempdir()) / f"jitnest-servers-{os.getuid()}"):
        path = directory / f"{identity}.sock"
        if len(str(path)) > _MAX_SOCKET_PATH:
            continue
        try:
            directory.mkdir(mode=0o700, exist_ok=True)
            info = directory.stat()
        except OSError:
            continue
        if info.st_uid == os.getuid() and not info.st_mode & 0o077:  # nobody else may reach the socket
            return path
    return None


_server: _SharedServer | None = None
_server_failed = False
_server_lock = threading.Lock()


def _shared_server() -> _SharedServer | None:
    """The shared fork server's handle; None if servers are disabled or cannot be used here."""
    global _server, _server_failed
    with _server_lock:
        if _server_failed:
            return None
        if _server is not None:
            return _server
        if not settings().nestml_server or not hasattr(os, "fork"):
            _server_failed = True
            return None
        path = _server_socket_path()
        if path is None:
            _server_failed = True
            return None
        _server = _SharedServer(path)
        return _server


def prestart_server() -> None:
    """Start the shared fork server in the background, when a script has just said it will need
    NESTML (it added a model file that was never parsed): its ~1 s of imports then overlap the
    script's own work instead of delaying the first ``Create``. No-op if one runs or is disabled."""
    server = _shared_server()
    if server is None or server.running():
        return
    threading.Thread(target=_start_quietly, args=(server,), name="jitnest-nestml-server-start",
                     daemon=True).start()


def _start_quietly(server: _SharedServer) -> None:
    with contextlib.suppress(_ServerUnavailable, OSError):
        server.start()


_requests_made: collections.Counter[str] = collections.Counter()
_requests_lock = threading.Lock()  # units generate in parallel threads


def requests_made() -> dict[str, int]:
    """How many NESTML requests this process has made, by op (``parse``, ``generate``): what a warm
    run must not make, whether a server answers them or a process of their own."""
    with _requests_lock:
        return dict(_requests_made)


def _run(request: dict) -> WorkerResult:
    global _server_failed
    with _requests_lock:
        _requests_made[request["op"]] += 1
    server = _shared_server()
    if server is not None:
        for _ in range(2):  # e.g. the server idled out or was killed just now: start another once
            try:
                return server.run(request)
            except _ServerUnavailable as unavailable:
                try:
                    server.start(after_failure=True)
                except (_ServerUnavailable, OSError) as error:
                    _log.warning("NESTML server unavailable (%s; then %s): each NESTML request now starts a "
                                 "process of its own", unavailable, error)
                    _server_failed = True  # a process of its own still answers, now and from now on
                    break
    return run_in_new_process(request)


def parse(files: list[str], model_options: dict[str, dict] | None = None) -> WorkerResult:
    """Parse and validate NESTML model files; the answer describes each model (see worker), with
    ``model_options`` ({model: {option: value}}) applied to the named models' descriptions."""
    request: dict = {"op": "parse", "files": files, "optimise": nestml_optimised()}
    if model_options:
        request["model_options"] = model_options
    return _run(request)


def describe_pair(files: list[str], pair: dict) -> WorkerResult:
    """Describe the neuron as NESTML pairs it with synapses (``pair``: neuron, synapses and the
    weight/delay/strictly-synaptic maps, as NESTML's options); no code generation."""
    return _run({"op": "describe_pair", "files": files, "optimise": nestml_optimised(), **pair})


def generate(files: list[str], target_dir: Path, module_name: str, pairs: list[dict],
             weight_variables: dict[str, str], delay_variables: dict[str, str],
             nest_version: str, paired_only: bool = False, codegen_opts: dict | None = None,
             models: list[str] | None = None) -> WorkerResult:
    """Generate NEST C++ code for ``files`` into ``target_dir`` (no build); with ``paired_only``,
    a paired neuron is not also generated alone. ``codegen_opts``: further NESTML options;
    ``models``: generate only these models of the files (source names; default: all)."""
    return _run({
        "op": "generate",
        "files": files,
        **({"models": models} if models else {}),
        "target_dir": str(target_dir),
        "module_name": module_name,
        "neuron_synapse_pairs": pairs,
        "weight_variable": weight_variables,
        "delay_variable": delay_variables,
        "nest_version": nest_version,
        "paired_only": paired_only,
        **({"codegen_opts": codegen_opts} if codegen_opts else {}),
        "optimise": nestml_optimised(),
    })
