"""Progress of long builds, for terminals and notebooks.

Builds take tens of seconds on a cold cache; silence would look like a hang. A reporter gets
one call per stage of each unit. ``JITNEST_QUIET=1`` silences it. In a notebook, messages go to
the cell's output as a single updating line.
"""

from __future__ import annotations

import os
import sys
import threading
import time


def _in_notebook() -> bool:
    shell = sys.modules.get("IPython")
    if shell is None:
        return False
    try:
        ipython = shell.get_ipython()
    except AttributeError:
        return False
    return ipython is not None and type(ipython).__name__ == "ZMQInteractiveShell"


class Progress:
    """Reports build stages; thread-safe, since units build in parallel."""

    def __init__(self, total_units: int, quiet: bool | None = None) -> None:
        self.total = total_units
        self.done = 0
        self.started = time.monotonic()
        self.quiet = os.environ.get("JITNEST_QUIET") == "1" if quiet is None else quiet
        self._lock = threading.Lock()
        self._notebook = _in_notebook()
        self._handle = None

    def _emit(self, text: str) -> None:
        if self.quiet:
            return
        elapsed = time.monotonic() - self.started
        line = f"[jitnest {elapsed:5.1f}s {self.done}/{self.total}] {text}"
        if self._notebook:
            from IPython.display import display

            if self._handle is None:
                self._handle = display({"text/plain": line}, raw=True, display_id=True)
            else:
                self._handle.update({"text/plain": line}, raw=True)
        else:
            print(line, file=sys.stderr, flush=True)

    def stage(self, label: str, stage: str) -> None:
        with self._lock:
            self._emit(f"{label}: {stage}")

    def finished(self, label: str, seconds: float, cached: bool) -> None:
        with self._lock:
            self.done += 1
            how = "from cache" if cached else f"built in {seconds:.1f}s"
            self._emit(f"{label}: {how}")
