"""Progress of builds, for terminals and notebooks alike.

A cold build takes seconds to tens of seconds; silence would look like a hang. The builder
reports each stage of each unit (``stage``) and each unit's end (``finished``). A cold build
shows one ``tqdm.auto`` bar (a text bar in a terminal, a widget in Jupyter, Colab and VS Code),
described by the units' labels, its postfix the latest stage; units found in the cache are
logged on the ``jitnest`` logger instead. Quiet (``JITNEST_QUIET=1``, or a log level above INFO) shows neither.
"""

from __future__ import annotations

import threading
import time

from ..config import settings
from ..log import get_logger

_log = get_logger(__name__)


class Progress:
    """Reports build stages; thread-safe, since units build in parallel."""

    def __init__(self, total_units: int, quiet: bool | None = None, labels: list[str] | None = None) -> None:
        self.total = total_units
        self.done = 0
        self.started = time.monotonic()
        self.quiet = settings().quiet if quiet is None else quiet
        self.labels = labels or []
        self._lock = threading.Lock()
        self._bar = None

    def _show(self, text: str) -> None:
        """Put ``text`` on the bar (created on the first stage of a build: cache hits show none)."""
        if self.quiet:
            return
        if self._bar is None:
            from tqdm.auto import tqdm

            what = ", ".join(self.labels) if self.labels else f"{self.total} module{'s' if self.total != 1 else ''}"
            self._bar = tqdm(total=self.total, desc=f"jitnest: building {what}", unit="module", leave=True,
                             initial=self.done, dynamic_ncols=True)
        self._bar.set_postfix_str(text, refresh=True)

    def stage(self, label: str, stage: str) -> None:
        with self._lock:
            _log.debug("%s: %s", label, stage)
            self._show(f"{label}: {stage}")

    def finished(self, label: str, seconds: float, cached: bool) -> None:
        with self._lock:
            self.done += 1
            how = "from cache" if cached else f"built in {seconds:.1f}s"
            if self._bar is not None:  # the bar says it (a log line would break the bar's line)
                self._bar.update(1)
                self._show(f"{label}: {how}")
            elif not self.quiet:
                elapsed = time.monotonic() - self.started
                _log.info("%5.1fs %d/%d %s: %s", elapsed, self.done, self.total, label, how)

    def close(self) -> None:
        with self._lock:
            if self._bar is not None:
                self._bar.close()
                self._bar = None
