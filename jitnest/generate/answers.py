"""What a NESTML request gives back, as jitnest's client sees it: an answer, or why there is none.

``WorkerResult`` is the worker's JSON answer (see ``jitnest.worker.protocol``) with NESTML's log;
``WorkerCrash`` a worker that died without answering; ``WorkerTimeout`` a request that ran longer
than ``JITNEST_NESTML_TIMEOUT`` and was killed with its processes. Callers turn the last two into
``BuildError``s (``codegen``, ``models.model_info``).
"""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import ModelProblem


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


class WorkerTimeout(WorkerCrash):
    """A request ran longer than ``JITNEST_NESTML_TIMEOUT``; its processes were killed."""

    def __init__(self, seconds: float, log: str) -> None:
        super().__init__(f"NESTML did not answer within {seconds:g} s (JITNEST_NESTML_TIMEOUT); its processes "
                         "were killed", log)
        self.seconds = seconds
