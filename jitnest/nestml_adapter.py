"""The one narrow door between jitnest and NESTML.

NESTML keeps global state (FrontendConfiguration, Logger, symbol tables) across calls in one
process, so jitnest never imports it. Each request runs ``nestml_worker.py`` in a fresh
subprocess with ``PYTHONHASHSEED=0`` (NESTML's output order follows the hash seed) and reads
one JSON answer. NESTML's own chatter is kept as a log for error messages.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from .errors import ModelProblem

WORKER = Path(__file__).resolve().parent / "nestml_worker.py"


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


def _run(request: dict, timeout: float | None = None) -> WorkerResult:
    env = dict(os.environ, PYTHONHASHSEED="0", PYNEST_QUIET="1")
    completed = subprocess.run([sys.executable, str(WORKER)], input=json.dumps(request),
                               capture_output=True, text=True, env=env, timeout=timeout, check=False)
    try:
        answer = json.loads(completed.stdout.strip().splitlines()[-1])
    except (IndexError, ValueError):
        log = f"{completed.stdout}\n{completed.stderr}"
        raise WorkerCrash(f"NESTML worker exited with status {completed.returncode} without an answer",
                          log) from None
    return WorkerResult(answer, completed.stderr)


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
             nest_version: str) -> WorkerResult:
    """Generate NEST C++ code for ``files`` into ``target_dir`` (no build)."""
    return _run({
        "op": "generate",
        "files": files,
        "target_dir": str(target_dir),
        "module_name": module_name,
        "neuron_synapse_pairs": pairs,
        "weight_variable": weight_variables,
        "delay_variable": delay_variables,
        "nest_version": nest_version,
    })
