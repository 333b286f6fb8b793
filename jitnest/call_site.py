"""Where in the user's code a call was made.

A recorded call may fail much later (at the first ``Simulate``). Like Brian2's "object was
created here", jitnest keeps the user's file and line with every recorded call so that the
error names the line the user wrote, not a line inside jitnest or PyNEST.
"""

from __future__ import annotations

import linecache
import os
import sys
from dataclasses import dataclass

_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))
_INTERNAL_PREFIXES: tuple[str, ...] = (_PACKAGE_DIR + os.sep,)


def register_internal_directory(path: str) -> None:
    """Treat frames from files under ``path`` (e.g. PyNEST itself) as library frames."""
    global _INTERNAL_PREFIXES
    prefix = os.path.abspath(path) + os.sep
    if prefix not in _INTERNAL_PREFIXES:
        _INTERNAL_PREFIXES = (*_INTERNAL_PREFIXES, prefix)


def _is_internal(filename: str) -> bool:
    return filename.startswith(_INTERNAL_PREFIXES) or "/wrapt/" in filename


@dataclass(frozen=True)
class CallSite:
    """A file, line and the source text of that line (empty when unavailable)."""

    filename: str
    lineno: int
    text: str = ""

    def __str__(self) -> str:
        location = f'File "{self.filename}", line {self.lineno}'
        return f"{location}\n    {self.text}" if self.text else location

    @property
    def short(self) -> str:
        return f"{self.filename}:{self.lineno}"


UNKNOWN_SITE = CallSite("<unknown>", 0)


def capture() -> CallSite:
    """The innermost frame on the stack that is not jitnest's, PyNEST's or wrapt's own."""
    frame = sys._getframe(1)
    while frame is not None and _is_internal(os.path.abspath(frame.f_code.co_filename)):
        frame = frame.f_back
    if frame is None:
        return UNKNOWN_SITE
    filename = frame.f_code.co_filename
    lineno = frame.f_lineno
    return CallSite(filename, lineno, linecache.getline(filename, lineno, frame.f_globals).strip())
