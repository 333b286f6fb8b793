"""Builds shared by several processes: the ranks of an MPI job, or any processes using one cache.

``JITNEST_BUILD_SYNC`` chooses how the ranks of an MPI job share a build:

* ``lock`` (default): every process runs the builder. The cache's per-key file lock lets one of
  them build each module; the others wait for it and load the same file. So there is one build
  per cache folder: ranks sharing a folder build once, ranks with node-local folders
  (``JITNEST_CACHE_DIR``) once per node. Needs file locks that work between the processes that
  share a folder (a local disk; NFS with lockd; Lustre or GPFS with flock).
* ``mpi``: rank 0 alone looks the modules up and builds what is missing; the other ranks wait
  at an MPI barrier (NEST's ``SyncProcesses``) and then load what rank 0 published. No file lock
  is shared between ranks, so this suits one cache folder on a filesystem whose locks cannot be
  trusted (NFS without lockd). Every rank must reach the build: the first ``Simulate`` does (it
  is collective in NEST anyway); a call that builds on some ranks only (``GetConnections``
  before the first ``Simulate`` inside ``if nest.Rank() == 0``) would leave rank 0 at the barrier.
  Builds started off the main thread (IPython's background builds) run on rank 0 only.

Failures reach every rank with the same message (each naming the user's own line):

* A build that fails records its message in ``logs/<key>.failed.json``. A process that waited for
  that build (``lock``: it held the lock while this process waited, or it belongs to the same MPI
  job) raises the same ``BuildError`` instead of building again; so does every rank following
  rank 0 (``mpi``).
* A rank killed while it builds: mpirun ends the job by sending SIGTERM to the other ranks. While
  they build or wait for a build in Python (``lock``, and rank 0 under ``mpi``), SIGTERM prints
  the build's message and the user's line and exits with status 143, as SIGTERM would without the
  message. Ranks waiting at the MPI barrier (``mpi``) cannot run Python code: faulthandler prints
  their stack, which names the user's line, before SIGTERM ends them.
* No lock outlives its holder: the cache's file locks are released by the OS when a process dies,
  and a waiter then finds no module and builds it (when no mpirun ends the job first).
"""

from __future__ import annotations

import contextlib
import faulthandler
import json
import os
import signal
import socket
import sys
import threading
import time
import uuid
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

from ..cache.store import CacheEntry, ModuleCache
from ..call_site import CallSite
from ..config import settings
from ..errors import BuildError, CacheIntegrityError
from ..files import write_atomically
from ..log import get_logger
from ..pynest import REAL

_log = get_logger(__name__)
# How long a rank following rank 0 keeps looking for a published module after the barrier: a
# network filesystem may show another client's new files only after its attribute cache expires.
VISIBILITY_SECONDS = 60.0
_JOB_VARIABLES = ("PMIX_NAMESPACE", "OMPI_MCA_ess_base_jobid", "PMI_KVSNAME")


def job_id() -> str:
    """An identifier of the MPI job (or batch job step) this process belongs to; "" outside one."""
    for name in _JOB_VARIABLES:
        if os.environ.get(name):
            return f"{name}={os.environ[name]}"
    if os.environ.get("SLURM_JOB_ID"):
        return f"slurm={os.environ['SLURM_JOB_ID']}.{os.environ.get('SLURM_STEP_ID', '')}"
    return ""


# --- failure records ---------------------------------------------------------------------


def _this_process() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def _record_path(root: Path, key: str) -> Path:
    return root / "logs" / f"{key}.failed.json"


def read_failure(root: Path, key: str) -> dict | None:
    """The last recorded failure of ``key``'s build, or None."""
    try:
        return json.loads(_record_path(root, key).read_text())
    except (OSError, ValueError):
        return None


def record_failure(root: Path, key: str, message: str, log_path: str | None) -> None:
    """Record that building ``key`` failed with ``message`` (the BuildError's text without sites)."""
    record = {"id": uuid.uuid4().hex, "job": job_id(), "process": _this_process(), "time": time.time(),
              "message": message, "log_path": log_path}
    with contextlib.suppress(OSError):  # only a courtesy to other processes
        write_atomically(_record_path(root, key), json.dumps(record))


def clear_failure(root: Path, key: str) -> None:
    with contextlib.suppress(OSError):
        _record_path(root, key).unlink()


def failure_token(root: Path, key: str) -> str | None:
    """Which failure of ``key`` is on record before this process waits for its build."""
    record = read_failure(root, key)
    return record["id"] if record else None


def failure_while_waiting(root: Path, key: str, token: str | None, sites: Sequence[CallSite]) -> BuildError | None:
    """The error of a build of ``key`` that failed while this process waited for it, if any: the
    record changed since ``token`` was taken, or it comes from this process's own MPI job."""
    record = read_failure(root, key)
    if record is None or record.get("process") == _this_process():
        return None
    if record["id"] != token or (record.get("job") and record.get("job") == job_id()):
        return BuildError(record["message"], record.get("log_path"), sites)
    return None


# --- SIGTERM while building ------------------------------------------------------------------


@contextlib.contextmanager
def reporting_termination(what: str, sites: Sequence[CallSite]) -> Iterator[None]:
    """While building ``what``: SIGTERM prints a BuildError naming the user's line, then ends the
    process with status 143 as SIGTERM would. Only on the main thread, and only where nobody else
    handles SIGTERM."""
    if threading.current_thread() is not threading.main_thread() \
            or signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL:
        yield
        return

    def stop(signum: int, frame: object) -> None:
        error = BuildError(f"building {what} was stopped: this process received SIGTERM (under mpirun: another "
                           "rank failed or was killed, and mpirun ends the job)", None, sites)
        # Exiting here, not raising: the builder's threads would keep the process alive until mpirun kills it.
        with contextlib.suppress(OSError):
            os.write(2, f"{type(error).__module__}.{type(error).__name__}: {error}\n".encode())
        os._exit(128 + signal.SIGTERM)

    signal.signal(signal.SIGTERM, stop)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)


@contextlib.contextmanager
def _stack_on_termination() -> Iterator[None]:
    """While in MPI code (where Python handlers cannot run): SIGTERM prints the stack, then ends the
    process as before."""
    if signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL:
        yield
        return
    try:
        faulthandler.register(signal.SIGTERM, file=sys.stderr, all_threads=False, chain=True)
    except (AttributeError, ValueError, OSError):  # no usable stderr (e.g. replaced by an object without a fd)
        yield
        return
    try:
        yield
    finally:
        faulthandler.unregister(signal.SIGTERM)


# --- coordination of one plan ----------------------------------------------------------------


class PlanSync:
    """How this process takes part in building one plan, by ``JITNEST_BUILD_SYNC``.

    ``follower``: under ``mpi``, a rank other than 0 (it builds nothing; ``follow``).
    ``leading()``: wraps the build on every other process; under ``mpi`` rank 0 reaches the
    barrier there whether its build succeeded or failed.
    """

    def __init__(self, cache: ModuleCache) -> None:
        self.cache = cache
        self.on_main_thread = threading.current_thread() is threading.main_thread()
        self.mode = settings().build_sync
        self.rank, self.size = (REAL.Rank(), REAL.NumProcesses()) if self.mode == "mpi" else (0, 1)

    @property
    def coordinated(self) -> bool:
        return self.mode == "mpi" and self.size > 1

    @property
    def follower(self) -> bool:
        return self.coordinated and self.rank != 0

    @contextlib.contextmanager
    def leading(self, keys: Iterable[str]) -> Iterator[None]:
        """Rank 0 under ``mpi`` (main thread): forget old failures of ``keys``, build, then meet the
        others at the barrier, having recorded any failure for them. A no-op otherwise."""
        if not (self.coordinated and self.on_main_thread):
            yield
            return
        keys = list(keys)
        for key in keys:
            clear_failure(self.cache.root, key)
        try:
            yield
        except BaseException as error:
            for key in keys:
                if read_failure(self.cache.root, key) is None and not self.cache.is_published(key):
                    record_failure(self.cache.root, key, f"rank 0 could not build it: {error}", None)
            self._barrier()
            raise
        self._barrier()

    def follow(self, wanted: dict[str, tuple[str, Sequence[CallSite]]]) -> dict[str, CacheEntry]:
        """A follower's modules: wait for rank 0 at the barrier, then load what it published.

        ``wanted`` maps each key to its unit's label and the user's lines that introduced it.
        Raises rank 0's BuildError where its build failed. Off the main thread (a background
        build) it returns {} at once: rank 0 builds, the foreground build of this rank follows.
        """
        if not self.on_main_thread:
            return {}
        _log.debug("rank %d: waiting for rank 0 to build %s", self.rank,
                   ", ".join(label for label, _ in wanted.values()))
        with _stack_on_termination():
            self._barrier()
        found: dict[str, CacheEntry] = {}
        deadline = time.monotonic() + VISIBILITY_SECONDS
        while True:
            for key, (_label, sites) in wanted.items():
                if key in found:
                    continue
                try:
                    entry = self.cache.lookup(key)
                except CacheIntegrityError as error:
                    if "refusing to load" in str(error):  # not safe to load (owner, permissions): say so now
                        raise
                    entry = None  # still being renamed into place, or damaged: look again
                if entry is not None:
                    found[key] = entry
                    continue
                record = read_failure(self.cache.root, key)
                if record is not None:
                    raise BuildError(record["message"], record.get("log_path"), sites)
            if len(found) == len(wanted):
                return found
            if time.monotonic() > deadline:
                label, sites = next(v for k, v in wanted.items() if k not in found)
                raise BuildError(
                    f"building {label}: rank {self.rank} does not see the module rank 0 built in "
                    f"{self.cache.root} after {VISIBILITY_SECONDS:.0f} s. JITNEST_BUILD_SYNC=mpi needs one cache "
                    "folder shared by all ranks; with a cache folder per node use JITNEST_BUILD_SYNC=lock",
                    None, sites)
            time.sleep(0.2)

    @staticmethod
    def _barrier() -> None:
        REAL.SyncProcesses()
