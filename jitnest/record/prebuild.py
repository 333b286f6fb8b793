"""Builds between notebook cells: the compiler works while the user reads.

In IPython and Jupyter, after each cell that leaves NESTML models waiting for a build, jitnest
starts that build on a background thread. The first ``Simulate`` then finds the modules in the
cache, or waits for the build under way (the cache's per-module lock) instead of starting its
own. A build for a network that changed afterwards is not wasted beyond its CPU time: it lands
in the cache like any other, and the foreground builds what the final network needs.

Scripts are not affected: a script goes on to its next statement at once, so there is no pause
to use. ``JITNEST_PREBUILD=0`` turns background builds off.
"""

from __future__ import annotations

import sys
import threading
from typing import Any

from ..compile.builder import unit_key
from ..compile.progress import Progress
from ..config import settings
from ..log import get_logger
from .session import SESSION

_log = get_logger(__name__)

_registered = False
_running: threading.Thread | None = None


def enable_in_ipython() -> bool:
    """Build after each IPython cell from now on (idempotent); False outside IPython."""
    global _registered
    ipython_module = sys.modules.get("IPython")
    try:
        shell = ipython_module.get_ipython() if ipython_module is not None else None
        if shell is None:
            return False
        if not _registered:
            shell.events.register("post_run_cell", after_cell)
            _registered = True
    except Exception:  # noqa: BLE001 -- an unusual embedded shell: builds then simply wait for Simulate
        return False
    return True


def after_cell(result: Any = None) -> None:
    """IPython's post_run_cell hook: start building what the recorded network still lacks."""
    global _running
    if not settings().prebuild or not SESSION.pending:
        return
    if _running is not None and _running.is_alive():
        return  # one at a time; the next cell looks again
    try:
        builder = SESSION.builder  # on this thread: detecting the toolchain is not thread-safe
        plan = SESSION.requirements.plan()
        missing = [u for u in plan.sorted_units() if not builder.cache.is_published(unit_key(u, builder.toolchain))]
    except Exception:  # noqa: BLE001 -- e.g. no compiler: the foreground build says so at Simulate
        return
    if not missing:
        return
    _log.info("building %s in the background; the first Simulate will use it", ", ".join(u.label for u in missing))
    sites = {name: list(found) for name, found in SESSION.sites_of.items()}

    def build() -> None:
        try:
            built = builder.build_plan(plan, sites, Progress(len(plan.units), quiet=True))
        except Exception:  # noqa: BLE001 -- the foreground build repeats it and reports at the user's line
            return
        SESSION.built_in_background.update(b.entry.key for b in built.values() if b.built_here)

    _running = threading.Thread(target=build, name="jitnest-prebuild", daemon=True)
    _running.start()
