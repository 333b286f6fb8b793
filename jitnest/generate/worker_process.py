"""One NESTML worker process per request, and what a worker answers.

``run_in_new_process`` starts ``python -m jitnest.worker`` (``WORKER_COMMAND``) with the
environment the worker needs (``worker_environment``: ``PYTHONHASHSEED=0``, where NESTML's compiled
templates are kept, this jitnest on the path), sends one request and reads one JSON answer
(``answers.WorkerResult``); a worker that dies without answering is a ``WorkerCrash``, one that
exceeds ``JITNEST_NESTML_TIMEOUT`` a ``WorkerTimeout`` (its processes killed). The shared fork server
(``nestml_client``) starts the same command in serve mode with the same environment.
"""

from __future__ import annotations

import functools
import json
import os
import site
import sys
from pathlib import Path

from .. import processes
from ..cache.integrity import check_tree, private_dir
from ..cache.store import cache_root
from ..config import settings
from .answers import WorkerCrash, WorkerResult, WorkerTimeout
from .identity import WORKER_PACKAGE

WORKER_COMMAND = (sys.executable, "-m", "jitnest.worker")


@functools.lru_cache(maxsize=4)
def _template_cache(root: Path) -> Path:
    """Where the worker keeps NESTML's compiled templates: checked to be the user's own, files
    included, once per process (the worker executes them: Jinja2 bytecode)."""
    path = private_dir(root, root / "templates")
    check_tree(root, path, "NESTML's compiled templates, which the NESTML worker executes")
    return path


def worker_environment() -> dict[str, str]:
    environment = dict(os.environ, PYTHONHASHSEED="0", PYNEST_QUIET="1",
                       JITNEST_TEMPLATE_CACHE=str(_template_cache(cache_root())))
    # The worker must import this very jitnest: an installed one is found anyway; a checkout that
    # this process found through its own sys.path is put first on the worker's path.
    package_parent = str(WORKER_PACKAGE.parents[1])
    if package_parent not in site.getsitepackages() and package_parent != site.getusersitepackages():
        environment["PYTHONPATH"] = os.pathsep.join(p for p in (package_parent, os.environ.get("PYTHONPATH")) if p)
    return environment


def run_in_new_process(request: dict) -> WorkerResult:
    try:
        completed = processes.run(WORKER_COMMAND, input=json.dumps(request), env=worker_environment(),
                                  timeout=settings().nestml_timeout)
    except processes.ProcessTimeout as timeout:
        raise WorkerTimeout(timeout.seconds, f"{timeout.stdout}\n{timeout.stderr}") from None
    try:
        answer = json.loads(completed.stdout.strip().splitlines()[-1])
    except (IndexError, ValueError):
        log = f"{completed.stdout}\n{completed.stderr}"
        raise WorkerCrash(f"NESTML worker exited with status {completed.returncode} without an answer",
                          log) from None
    return WorkerResult(answer, completed.stderr)
