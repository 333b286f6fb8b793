"""Errors jitnest raises.

Every error that stems from a recorded call names the user's line (a ``CallSite``); errors
about a model also name the model file and line; build errors name the full log's path.
Where NEST has an error class for the same situation, jitnest's error is also an instance of
it, so ``except nest.NESTErrors.UnknownModelName`` keeps working in drop-in scripts. Those
classes (``NEST_FLAVOURED``) derive from PyNEST's and are made on first access, so that
importing this module does not start NEST (the cache's command line and the NESTML worker
import it); each is made once, so ``isinstance`` and ``except`` work as for any class.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from .call_site import CallSite


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


class UnsafeCacheError(CacheIntegrityError):
    """A path in jitnest's cache belongs to another user or others may write to it: jitnest
    refuses to use it (never rebuilds over it silently); the message names the path and the fix."""


# name -> (NEST's error class it also is, docstring)
NEST_FLAVOURED: dict[str, tuple[str, str]] = {
    "UnknownModelError": ("UnknownModelName",
                          "A model name that is neither a NEST built-in nor a NESTML model on the model path."),
    "ConnectionModelError": ("IllegalConnection", "A connection jitnest cannot realise (e.g. a NESTML plastic "
                                                  "synapse onto a built-in neuron)."),
    "NetworkFrozenError": ("DynamicModuleManagementError",
                           "A new NESTML model or combination is needed after simulation time has passed."),
    "UnknownParameterError": ("UnaccessedDictionaryEntry", "A key the model does not have, set before the build."),
}


def __getattr__(name: str) -> Any:
    if name not in NEST_FLAVOURED:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from .pynest import NESTErrors

    with _making:
        if name not in globals():
            nest_class, doc = NEST_FLAVOURED[name]
            globals()[name] = type(name, (JitnestError, getattr(NESTErrors, nest_class)),
                                   {"__doc__": doc, "__module__": __name__})
    return globals()[name]


_making = threading.Lock()
