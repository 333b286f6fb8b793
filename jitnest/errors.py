"""Errors jitnest raises.

Every error that stems from a recorded call names the user's line (a ``CallSite``); errors
about a model also name the model file and line; build errors name the full log's path.
Where NEST has an error class for the same situation, jitnest's error is also an instance of
it, so ``except nest.NESTErrors.UnknownModelName`` keeps working in drop-in scripts.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from .call_site import CallSite
from .pynest import NESTErrors


class JitnestError(Exception):
    """Base class of all errors raised by jitnest itself."""

    def __init__(self, message: str, site: CallSite | None = None) -> None:
        self.site = site
        self.message = message
        super().__init__(self._compose())

    def _compose(self) -> str:
        if self.site is None:
            return self.message
        return f"{self.message}\n  in your code: {self.site}"


class UnknownModelError(JitnestError, NESTErrors.UnknownModelName):
    """A model name that is neither a NEST built-in nor a NESTML model on the model path."""


@dataclass(frozen=True)
class ModelProblem:
    """One problem NESTML reported, located in a model file."""

    file: str
    line: int | None
    message: str
    column: int | None = None

    def __str__(self) -> str:
        where = self.file if self.line is None else f"{self.file}:{self.line}"
        if self.column is not None and self.line is not None:
            where += f":{self.column}"
        return f"{where}: {self.message}"


class NestmlModelError(JitnestError):
    """NESTML rejected a model (syntax error, unknown variable, unsupported construct, ...)."""

    def __init__(self, model: str, problems: Sequence[ModelProblem], site: CallSite | None = None,
                 log_path: str | None = None) -> None:
        self.model = model
        self.problems = list(problems)
        self.log_path = log_path
        lines = [f"NESTML model '{model}' has errors:"]
        lines += [f"  {problem}" for problem in self.problems]
        if log_path:
            lines.append(f"  full log: {log_path}")
        super().__init__("\n".join(lines), site)


class ConnectionModelError(JitnestError, NESTErrors.IllegalConnection):
    """A connection jitnest cannot realise (e.g. a NESTML plastic synapse onto a built-in neuron)."""


class NetworkFrozenError(JitnestError, NESTErrors.DynamicModuleManagementError):
    """A new NESTML model or combination is needed after simulation time has passed."""


class BuildError(JitnestError):
    """Generating or compiling a NEST module failed; ``log_path`` holds the full log."""

    def __init__(self, message: str, log_path: str | None, sites: Sequence[CallSite] = ()) -> None:
        self.log_path = log_path
        self.sites = list(sites)
        text = message
        if log_path:
            text += f"\n  full log: {log_path}"
        for site in self.sites[:3]:
            text += f"\n  model introduced in your code: {site}"
        super().__init__(text)


class CacheIntegrityError(JitnestError):
    """A cache entry is corrupt, truncated, or not safe to load (permissions, owner)."""
