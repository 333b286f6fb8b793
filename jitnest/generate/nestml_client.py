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
``JITNEST_NESTML_SERVER=0``, each request starts a worker process of its own.
"""

from __future__ import annotations

import atexit
import contextlib
import fcntl
import functools
import hashlib
import itertools
import json
import os
import select
import shutil
import site
import socket
import subprocess
import sys
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path

from ..cache.store import cache_root
from ..config import settings
from ..errors import ModelProblem
from ..log import get_logger

WORKER_PACKAGE = Path(__file__).resolve().parents[1] / "worker"
WORKER_COMMAND = (sys.executable, "-m", "jitnest.worker")
_log = get_logger(__name__)
_SERVER_START_SECONDS = 120.0
_SERVER_IDLE_SECONDS = 60.0  # then the server exits; the next request starts another one
_MAX_SOCKET_PATH = 100  # Linux allows 107 bytes for a Unix socket's path


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


@functools.lru_cache(maxsize=1)
def worker_identity() -> str:
    """SHA-256 over the worker package's source files: part of every key of what NESTML produced."""
    digest = hashlib.sha256()
    for path in sorted(WORKER_PACKAGE.glob("*.py")):
        digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def _worker_environment() -> dict[str, str]:
    environment = dict(os.environ, PYTHONHASHSEED="0", PYNEST_QUIET="1",
                       JITNEST_TEMPLATE_CACHE=str(cache_root() / "templates"))
    # The worker must import this very jitnest: an installed one is found anyway; a checkout that
    # this process found through its own sys.path is put first on the worker's path.
    package_parent = str(WORKER_PACKAGE.parents[1])
    if package_parent not in site.getsitepackages() and package_parent != site.getusersitepackages():
        environment["PYTHONPATH"] = os.pathsep.join(p for p in (package_parent, os.environ.get("PYTHONPATH")) if p)
    return environment


def _run_in_new_process(request: dict) -> WorkerResult:
    completed = subprocess.run(list(WORKER_COMMAND), input=json.dumps(request),
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
        log_path = self._log_path()
        envelope = json.dumps({"request": request, "log_file": str(log_path)}).encode()
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as connection:
            try:
                connection.connect(str(self.socket_path))
                connection.sendall(envelope)
                connection.shutdown(socket.SHUT_WR)
            except OSError as error:  # e.g. refused: no server listens there any more
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
            if not log:  # no child was forked: the server was closing (idle) or was killed
                raise _ServerUnavailable("NESTML fork server closed the connection unanswered") from None
            raise WorkerCrash("NESTML worker exited without an answer", log) from None
        return WorkerResult(answer, log)

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

    def _accepts_connections(self) -> bool:
        """Whether a server listens on the socket now (a killed one refuses at once, even while its
        process is not yet reaped and so still looks alive)."""
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
            try:
                probe.connect(str(self.socket_path))
            except OSError:
                return False
            probe.shutdown(socket.SHUT_WR)  # an empty request: the server's child exits quietly
            return True

    def start(self, after_failure: bool = False) -> None:
        """Make sure a server runs (start one unless another process has, or does so meanwhile).

        ``after_failure``: a request could not reach the server, so its process being alive is not
        enough; it must accept connections too, or it is replaced.
        """
        with self._start_lock, open(f"{self.socket_path}.lock", "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes, or if this process dies
            if self.running() and (not after_failure or self._accepts_connections()):
                return
            self.socket_path.unlink(missing_ok=True)
            self.pid_path.unlink(missing_ok=True)
            log_path = Path(f"{self.socket_path}.log")
            with open(log_path, "wb") as stderr:
                process = subprocess.Popen(
                    [*WORKER_COMMAND, "--serve", str(self.socket_path),
                     "--idle", str(_SERVER_IDLE_SECONDS), "--detached"],
                    stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=stderr, env=_worker_environment(),
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
    # The host too: a cache folder shared by several machines (MPI ranks on a network filesystem)
    # holds one socket per machine, as a Unix socket reaches only processes on its own machine.
    identity = hashlib.sha256(json.dumps([sys.executable, worker_identity(), str(cache_root()), environment,
                                          socket.gethostname()]).encode()).hexdigest()[:16]
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


def _run(request: dict) -> WorkerResult:
    global _server_failed
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
