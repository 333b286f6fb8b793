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
            self._emit_notebook(line, text)
        else:
            print(line, file=sys.stderr, flush=True)

    def _emit_notebook(self, line: str, text: str) -> None:
        """One progress bar per build, updated in place in the cell's output."""
        import html

        from IPython.display import display

        bar = (f'<div class="jitnest-progress"><progress value="{self.done}" max="{self.total}" '
               f'style="width:20em"></progress> <code>jitnest</code> {self.done}/{self.total} '
               f"{html.escape(text)}</div>")
        payload = {"text/html": bar, "text/plain": line}
        if self._handle is None:
            self._handle = display(payload, raw=True, display_id=True)
        else:
            self._handle.update(payload, raw=True)

    def stage(self, label: str, stage: str) -> None:
        with self._lock:
            self._emit(f"{label}: {stage}")

    def finished(self, label: str, seconds: float, cached: bool) -> None:
        with self._lock:
            self.done += 1
            how = "from cache" if cached else f"built in {seconds:.1f}s"
            self._emit(f"{label}: {how}")
