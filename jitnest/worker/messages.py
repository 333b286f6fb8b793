"""The worker's vocabulary for answers and requests: error entries, error responses, malformed requests.

An error entry is ``{"file", "line", "column", "model", "message", "code"}`` (see
:mod:`.protocol`); an error response is ``{"ok": false, "errors": [entries]}``. A request that is
malformed raises :class:`RequestError`, which :mod:`.protocol` answers with a ``BAD_REQUEST``
entry. The helpers that read the request fields shared by several ops live here too.
"""

from __future__ import annotations

import os
import traceback
from typing import Any


class RequestError(Exception):
    """The request itself is malformed (missing key, wrong type, unknown op)."""


def _error(
    file: str | None, line: int | None, column: int | None, model: str | None, message: str, code: str | None
) -> dict[str, Any]:
    """One entry of an error response."""
    return {"file": file, "line": line, "column": column, "model": model, "message": message, "code": code}


def _error_response(errors: list[dict[str, Any]]) -> dict[str, Any]:
    return {"ok": False, "errors": errors}


def _exception_error(file: str | None, exc: BaseException) -> dict[str, Any]:
    """An error entry for an exception raised inside NESTML (with the innermost frame, for triage)."""
    where = traceback.extract_tb(exc.__traceback__)[-1:] if exc.__traceback__ else []
    location = f" ({os.path.basename(where[0].filename)}:{where[0].lineno})" if where else ""
    message = f"NESTML raised {type(exc).__name__}: {exc}{location}"
    return _error(file, None, None, None, message, "INTERNAL_ERROR")


def _string_list(request: dict[str, Any], key: str, required: bool = True) -> list[str]:
    value = request.get(key, None if required else [])
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise RequestError(f"{key!r} must be a list of strings")
    return value


def _input_files(request: dict[str, Any]) -> list[str]:
    """The request's ``files``: absolute paths of existing files, de-duplicated in order."""
    files = list(dict.fromkeys(_string_list(request, "files")))
    if not files:
        raise RequestError("'files' is empty")
    for path in files:
        if not os.path.isabs(path) or not os.path.isfile(path):
            raise RequestError(f"not an absolute path of an existing file: {path!r}")
    return files


def _optimise(request: dict[str, Any]) -> bool:
    """The request's ``optimise`` flag (default true): false asks for NESTML's plain path."""
    value = request.get("optimise", True)
    if not isinstance(value, bool):
        raise RequestError("'optimise' must be true or false")
    return value
