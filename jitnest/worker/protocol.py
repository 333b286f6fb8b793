"""Process contract of the worker: one JSON request on stdin, one JSON response on stdout.

Process contract
----------------
* stdin: exactly one JSON object (the request).
* stdout: exactly one JSON object (the response). Everything else that NESTML, ODE-toolbox or
  anything they start prints goes to stderr: file descriptor 1 is pointed at stderr for the whole
  run and the response is written to a duplicate of the original stdout.
* Exit code 0 whenever a response was written, including ``{"ok": false, ...}`` for model errors,
  bad requests and exceptions raised by NESTML. Non-zero only if the worker itself crashed.
* The caller should set ``PYTHONHASHSEED=0``: NESTML's declaration order in generated code follows
  Python's string hashing.

The fork server (:mod:`.server`) answers the same requests with the same responses, one per
connection.

Requests
--------
``{"op": "parse", "files": [abs paths], "synapse_models": [names] (optional), "optimise": bool (optional)}``
    Parse and validate (NESTML's context conditions, "CoCos") without generating code. Response
    ``{"ok": true, "models": [MODEL, ...], "seconds": float}``. See :func:`.describe.describe_model`
    for MODEL.

``{"op": "generate", "files": [...], "target_dir": abs dir (empty or absent), "module_name": "...module",
"neuron_synapse_pairs": [...], "weight_variable": {...}, "delay_variable": {...},
"nest_version": "v3.10.0" (optional), "synapse_models": [...] (optional),
"codegen_opts": {...} (optional, extra NESTML NEST-target options), "paired_only": bool (optional),
"optimise": bool (optional)}``
    Generate NEST C++ code with ``suffix="_nestml"``; no build. See :func:`.generation.op_generate`.

``{"op": "describe_pair", "files": [...], "neuron": name, "synapses": {name: {"post_ports": [...],
"vt_ports": [...]}}, "weight_variable": {...}, "delay_variable": {...}, "strictly_synaptic_vars": {...}}``
    Describe the neuron as NESTML pairs it with the synapses (no code generation). See
    :func:`.pairing.op_describe_pair`.

``parse`` also takes ``"model_options": {model: {option: value}}`` (the user's weight/delay
variables, post and vt ports, strictly synaptic variables; see :func:`.describe.describe_synapse`).

``"optimise": false`` (default true) asks for NESTML's plain path: none of the speed-ups that reach
into NESTML's internals (the lexer's start-state cache, see :mod:`.patches`; the twin-free,
split pipeline, see :mod:`.pipeline`), NESTML's own generation pipeline order. jitnest's client
asks for it with a NESTML version jitnest was not tested with, or ``JITNEST_OPTIMISE=0``.

Errors (any op)
    ``{"ok": false, "errors": [{"file", "line", "column", "model", "message", "code"}, ...]}``;
    ``line`` and ``column`` are 1-based (``null`` when NESTML gives no position), ``file`` is
    ``null`` for errors that belong to no input file, ``code`` is NESTML's ``MessageCode`` name
    (``BAD_REQUEST`` for a malformed request, ``INTERNAL_ERROR`` for an exception raised inside
    NESTML). See :mod:`.messages`.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from typing import Any

from .describe import op_parse
from .generation import op_generate
from .messages import RequestError, _error, _error_response
from .pairing import op_describe_pair


def main() -> int:
    """Read one request from stdin, write one response to stdout, return the exit code."""
    response_fd = _divert_stdout_to_stderr()
    try:
        request = json.loads(sys.stdin.read())
    except json.JSONDecodeError as exc:
        response = _error_response([_error(None, None, None, None, f"bad request: request is not JSON: {exc}",
                                           "BAD_REQUEST")])
    else:
        response = _respond(request)
    with os.fdopen(response_fd, "w", encoding="utf-8") as out:
        json.dump(response, out, allow_nan=True)
        out.write("\n")
    return 0


def _respond(request: Any) -> dict[str, Any]:
    """The response to one decoded request; malformed requests become error responses."""
    try:
        return handle_request(request)
    except RequestError as exc:
        return _error_response([_error(None, None, None, None, f"bad request: {exc}", "BAD_REQUEST")])


def _divert_stdout_to_stderr() -> int:
    """Point fd 1 (and ``sys.stdout``) at stderr; return a new fd for the real stdout.

    Done at the file-descriptor level so that output of C code and child processes (NEST's banner,
    ODE-toolbox, NESTML's ``print`` based logger) cannot corrupt the JSON response.
    """
    sys.stdout.flush()
    response_fd = os.dup(1)
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    return response_fd


def handle_request(request: Any) -> dict[str, Any]:
    """Dispatch a decoded request to its op; exceptions from NESTML become error responses."""
    if not isinstance(request, dict):
        raise RequestError("the request must be a JSON object")
    ops: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {"parse": op_parse, "generate": op_generate,
                                                                  "describe_pair": op_describe_pair}
    op = request.get("op")
    if op not in ops:
        raise RequestError(f"unknown op {op!r}; expected one of {sorted(ops)}")
    return ops[op](request)
