"""Build locks that say who holds them.

A build holds its key's file lock for as long as it generates and compiles (minutes, up to the
time limits ``JITNEST_NESTML_TIMEOUT`` and ``JITNEST_COMPILE_TIMEOUT``); every other process that
needs the same key waits. The lock is a ``filelock`` lock: the operating system releases it when
its holder dies, so a killed builder never blocks the others, who then build themselves.

So that a waiting process can say for whom it waits, the holder writes a note beside the lock
(``<lock file>.holder``: process ID, host, start time, what it builds) and removes it before it
releases the lock; a waiter logs the note (logger ``jitnest``, INFO), and again every
``REPEAT_SECONDS`` while it waits. A note whose process is gone (it died before removing it) is
reported as such.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import filelock

from ..files import write_atomically
from ..log import get_logger

REPEAT_SECONDS = 300.0
_log = get_logger(__name__)


def note_path(lock: filelock.FileLock) -> Path:
    return Path(f"{lock.lock_file}.holder")


def holder(lock: filelock.FileLock) -> str:
    """Who holds ``lock`` according to its note, e.g. ``process 4711 on node3 since 14:02:07 (3 min
    ago)``; what is known if the note is missing or stale."""
    try:
        note = json.loads(note_path(lock).read_text())
        pid, host, started = int(note["pid"]), str(note["host"]), float(note["started"])
    except (OSError, ValueError, KeyError, TypeError):
        return "another process (it has not said which yet)"
    since = f"since {time.strftime('%H:%M:%S', time.localtime(started))} ({_ago(time.time() - started)})"
    if host == socket.gethostname() and not _alive(pid):
        return f"process {pid} on {host} {since}, which has ended (its lock is about to be released)"
    return f"process {pid} on {host} {since}"


def _ago(seconds: float) -> str:
    seconds = max(seconds, 0.0)
    return f"{seconds:.0f} s ago" if seconds < 120 else f"{seconds / 60:.0f} min ago"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@contextlib.contextmanager
def holding(lock: filelock.FileLock, what: str, on_wait: Callable[[str], None] | None = None) -> Iterator[None]:
    """Hold ``lock`` while building ``what`` (e.g. "the module of iaf_psc_exp_neuron"), with a note
    saying so. If another process holds it, log whom we wait for and call ``on_wait(holder)``."""
    try:
        lock.acquire(timeout=0)
    except filelock.Timeout:
        waited = holder(lock)
        _log.info("waiting for %s: it is being built by %s", what, waited)
        if on_wait is not None:
            on_wait(waited)
        while True:
            try:
                lock.acquire(timeout=REPEAT_SECONDS)
                break
            except filelock.Timeout:
                _log.info("still waiting for %s: it is being built by %s", what, holder(lock))
    note = note_path(lock)
    try:
        with contextlib.suppress(OSError):  # a note is a courtesy: never fail a build for it
            write_atomically(note, json.dumps({"pid": os.getpid(), "host": socket.gethostname(),
                                               "started": time.time(), "what": what}))
        yield
    finally:
        with contextlib.suppress(OSError):
            note.unlink()
        lock.release()
