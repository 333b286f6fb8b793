"""Out-of-process NESTML front end for jitnest: one JSON request in, one JSON response out.

This is the only module of jitnest that imports ``pynestml``. NESTML keeps global state
(``FrontendConfiguration``, ``Logger``, symbol tables, predefined units), so every request runs in a
process on which NESTML never ran before: a fresh one, or a child forked from the fork server
below::

    python -m jitnest.nestml_worker  < request.json  > response.json
    python /path/to/jitnest/nestml_worker.py  < request.json  > response.json

The module uses only the standard library and pynestml (plus odetoolbox/sympy, which pynestml
depends on); it has no relative imports and does not need ``jitnest/__init__.py``.

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

Fork server (``python nestml_worker.py --serve SOCKET [--idle SECONDS]``)
-------------------------------------------------------------------------
Importing NESTML, sympy and ODE-toolbox costs about a second per process. In serve mode the worker
imports them once, listens on the Unix socket ``SOCKET``, prints ``ready`` on stdout and then answers
every connection in a child made by ``fork()``: each request still starts from a state on which
NESTML never ran (the server itself only imports), exactly like a fresh process, but without the
imports. A connection sends ``{"request": REQUEST, "log_file": abs path}`` and closes its sending
side; the child sends the response back and exits; everything it prints goes to ``log_file``. A
child that dies without answering closes the connection unanswered. The server exits when its
stdin reaches end of file (its parent has gone) or after ``--idle SECONDS`` without a request
(it holds ~115 MB; the parent starts a new one when it needs one again).

Requests
--------
``{"op": "parse", "files": [abs paths], "synapse_models": [names] (optional)}``
    Parse and validate (NESTML's context conditions, "CoCos") without generating code. Response
    ``{"ok": true, "models": [MODEL, ...], "seconds": float}``. See :func:`describe_model` for MODEL.

``{"op": "generate", "files": [...], "target_dir": abs dir (empty or absent), "module_name": "...module",
"neuron_synapse_pairs": [...], "weight_variable": {...}, "delay_variable": {...},
"nest_version": "v3.10.0" (optional), "synapse_models": [...] (optional),
"codegen_opts": {...} (optional, extra NESTML NEST-target options), "paired_only": bool (optional)}``
    Generate NEST C++ code with ``suffix="_nestml"``; no build. See :func:`op_generate`.

Errors (any op)
    ``{"ok": false, "errors": [{"file", "line", "column", "model", "message", "code"}, ...]}``;
    ``line`` and ``column`` are 1-based (``null`` when NESTML gives no position), ``file`` is
    ``null`` for errors that belong to no input file, ``code`` is NESTML's ``MessageCode`` name.
"""

from __future__ import annotations

import ast
import json
import math
import os
import re
import shutil
import signal
import socket
import sys
import time
import traceback
from collections.abc import Callable, Iterable, Sequence
from typing import Any

SUFFIX = "_nestml"
"""NESTML's convention: generated models are renamed ``<model>_nestml`` (avoids clashes with NEST's
built-in models, e.g. both have ``stdp_synapse``)."""

_SYNTAX_ERRORS: list[dict[str, Any]] = []
"""Syntax errors reported by ANTLR while parsing the current file (see :func:`_install_syntax_error_hook`)."""

_PARSE_ERROR_PREFIXES = ("Error occurred during parsing: ", "Error occurred during lexing: ")


class RequestError(Exception):
    """The request itself is malformed (missing key, wrong type, unknown op)."""


class Unevaluable(Exception):
    """A default value cannot be computed without running the model; the message says why."""


# ---------------------------------------------------------------------------------------------
#   Process plumbing
# ---------------------------------------------------------------------------------------------


def main() -> int:
    """Read one request from stdin, write one response to stdout, return the exit code."""
    if sys.argv[1:2] == ["--serve"]:
        idle = float(sys.argv[4]) if sys.argv[3:4] == ["--idle"] else None
        return serve(sys.argv[2], idle, detached="--detached" in sys.argv)
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


# Imported by the fork server before it forks: what every request needs. NESTML's code generator,
# transformers and template engine are imported lazily by NESTML itself, so they are named here.
_PRELOAD = (
    "pynestml.frontend.pynestml_frontend",
    "pynestml.cocos.co_cos_manager",
    "pynestml.utils.model_parser",
    "pynestml.codegeneration.nest_code_generator",
    "pynestml.transformers.synapse_post_neuron_transformer",
    "pynestml.transformers.ode_toolbox_transformer",
    "odetoolbox",
    "sympy",
    "jinja2",
)


def serve(socket_path: str, idle_seconds: float | None = None, detached: bool = False) -> int:
    """Fork server: import NESTML once, answer each connection on ``socket_path`` in a forked child.

    The server process never runs NESTML itself (only imports it), so every child starts from the
    state a fresh worker process would have. Children are not waited for (SIGCHLD is ignored, so
    the kernel reaps them); the server exits after ``idle_seconds`` without a connection, and also
    when stdin reaches end of file unless ``detached`` (a server shared by several processes,
    which writes its process ID to ``socket_path + ".pid"`` and removes both files when it exits).
    """
    import importlib
    import selectors

    for name in _PRELOAD:
        importlib.import_module(name)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is for the parent; stdin EOF ends us
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)
    if detached:
        signal.signal(signal.SIGHUP, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))  # exit through the clean-up below
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(socket_path)
    listener.listen(64)
    own_socket = os.stat(socket_path).st_ino
    if detached:
        with open(socket_path + ".pid", "w") as pid_file:
            pid_file.write(f"{os.getpid()}\n")
    sys.stdout.write("ready\n")
    sys.stdout.flush()
    selector = selectors.DefaultSelector()
    selector.register(listener, selectors.EVENT_READ)
    if not detached:
        selector.register(sys.stdin, selectors.EVENT_READ)
    try:
        while True:
            events = selector.select(idle_seconds)
            if not events:  # idle: free the memory; a client starts another server when needed
                return 0
            for key, _ in events:
                if key.fileobj is sys.stdin:
                    if not os.read(sys.stdin.fileno(), 4096):
                        return 0
                    continue
                connection, _ = listener.accept()
                if os.fork() == 0:
                    listener.close()
                    selector.close()
                    _serve_connection(connection)  # never returns
                connection.close()
    finally:
        listener.close()
        if detached:
            _remove_own_files(socket_path, own_socket)


def _remove_own_files(socket_path: str, own_socket: int) -> None:
    """Remove the socket and PID files unless a newer server has replaced them meanwhile."""
    try:
        if os.stat(socket_path).st_ino != own_socket:
            return
        os.unlink(socket_path)
        os.unlink(socket_path + ".pid")
    except OSError:
        pass


def _serve_connection(connection: socket.socket) -> None:
    """In a forked child: answer the one request on ``connection``, then exit the process."""
    status = 1
    try:
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)  # NESTML's own subprocesses must be waitable
        signal.signal(signal.SIGINT, signal.default_int_handler)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        os.close(0)
        chunks = []
        while chunk := connection.recv(1 << 16):
            chunks.append(chunk)
        envelope = json.loads(b"".join(chunks))
        log_fd = os.open(envelope["log_file"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.dup2(log_fd, 1)
        os.dup2(log_fd, 2)
        os.close(log_fd)
        response = _respond(envelope["request"])
        connection.sendall(json.dumps(response, allow_nan=True).encode() + b"\n")
        status = 0
    except BaseException:  # noqa: BLE001 -- report anything on the log, never return to the server loop
        traceback.print_exc()
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(status)


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
    ops: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {"parse": op_parse, "generate": op_generate}
    op = request.get("op")
    if op not in ops:
        raise RequestError(f"unknown op {op!r}; expected one of {sorted(ops)}")
    return ops[op](request)


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


# ---------------------------------------------------------------------------------------------
#   NESTML front end: configuration, parsing, validation
# ---------------------------------------------------------------------------------------------


def _configure_nestml(
    files: Sequence[str],
    target_dir: str,
    module_name: str | None = None,
    codegen_opts: dict[str, Any] | None = None,
    suffix: str = SUFFIX,
) -> None:
    """Initialise NESTML's global configuration, logger and predefined symbols for one run.

    NESTML appends ``suffix`` to model names already while parsing; parse uses ``""`` so that models
    are described by their source names.
    """
    from pynestml.frontend import pynestml_frontend as frontend

    _install_syntax_error_hook()
    _keep_compiled_templates()
    _cache_lexer_start_states()
    # Logging level ERROR: NESTML still records every message in Logger.log (we read them from
    # there); it only *prints* errors, and those go to stderr.
    frontend.configure_front_end(
        list(files),
        "NEST",
        target_path=target_dir,
        logging_level="ERROR",
        module_name=module_name,
        suffix=suffix,
        codegen_opts=codegen_opts,
    )
    frontend.init_predefined()


def _keep_compiled_templates() -> None:
    """Give every Jinja2 environment NESTML creates a bytecode cache in ``$JITNEST_TEMPLATE_CACHE``.

    NESTML compiles its templates anew in every process (~0.4 s of a pair's generation). Jinja2's
    own file cache keys each template by name, file and a checksum of its source, and writes
    atomically; the directory is per Jinja2 version.
    """
    import jinja2

    directory = os.environ.get("JITNEST_TEMPLATE_CACHE")
    if not directory or getattr(jinja2.Environment.__init__, "_jitnest_cache", False):
        return
    directory = os.path.join(directory, f"jinja2-{jinja2.__version__}")
    try:
        os.makedirs(directory, mode=0o700, exist_ok=True)
    except OSError:
        return
    cache = jinja2.FileSystemBytecodeCache(directory)
    original_init = jinja2.Environment.__init__

    def init_with_cache(self: Any, *args: Any, **kwargs: Any) -> None:
        original_init(self, *args, **kwargs)
        if self.bytecode_cache is None:
            self.bytecode_cache = cache

    init_with_cache._jitnest_cache = True  # type: ignore[attr-defined]
    jinja2.Environment.__init__ = init_with_cache


def _cache_lexer_start_states() -> None:
    """Make ANTLR keep the start state of NESTML's lexer instead of recomputing it for every token.

    ANTLR caches a lexer's start state unless a semantic predicate is reachable from it; NESTML's
    ``NEWLINE`` rule starts with one (``atStartOfInput()``), so every token recomputed the closure
    over all lexer rules: ~98% of lexing, ~0.4 s per model file. That closure depends on the input
    only through the predicate's value at the token's start, so one start state per value is
    exact (every library model lexes to the same tokens: tests/test_nestml_worker.py). Applied
    only while NESTML's lexer has exactly that one predicate.
    """
    from antlr4.atn.LexerATNSimulator import LexerATNSimulator
    from antlr4.atn.Transition import PredicateTransition
    from pynestml.generated.PyNestMLLexer import PyNestMLLexer

    if getattr(LexerATNSimulator.matchATN, "_jitnest_cache", False):
        return
    predicates = [(transition.ruleIndex, transition.predIndex) for state in PyNestMLLexer.atn.states
                  for transition in state.transitions if isinstance(transition, PredicateTransition)]
    if len(predicates) != 1 or PyNestMLLexer.ruleNames[predicates[0][0]] != "NEWLINE":
        return
    (rule, predicate), = predicates
    original = LexerATNSimulator.matchATN
    start_states: dict[tuple[int, int, bool], Any] = {}

    def match_atn(self: Any, input: Any) -> Any:  # noqa: A002 -- ANTLR's parameter name
        if not isinstance(self.recog, PyNestMLLexer):
            return original(self, input)
        dfa = self.decisionToDFA[self.mode]
        key = (id(dfa), self.mode, bool(self.evaluatePredicate(input, rule, predicate, False)))
        start = start_states.get(key)
        if start is None:  # what original() computes before it calls execATN
            closure = self.computeStartState(input, self.atn.modeToStartState[self.mode])
            closure.hasSemanticContext = False
            start = start_states[key] = self.addDFAState(closure)
        return self.execATN(input, start)

    match_atn._jitnest_cache = True  # type: ignore[attr-defined]
    LexerATNSimulator.matchATN = match_atn


def _install_syntax_error_hook() -> None:
    """Make NESTML's ANTLR error listener record *every* syntax error with a correct position.

    NESTML's ``NestMLErrorListener`` keeps only the last error of a file (often a follow-up error far
    from the cause), and its indentation-aware lexer synthesises NEWLINE tokens whose line number is
    the *next* line ("missing ':'" would point below the offending line). We record each error and
    recompute the position from the offending token's character offset.
    """
    from antlr4 import Lexer
    from pynestml.utils.error_listener import NestMLErrorListener

    original = NestMLErrorListener.syntaxError
    if getattr(original, "_jitnest_hook", False):
        return

    def syntax_error(self, recognizer, offending_symbol, line, column, msg, e):  # noqa: ANN001
        kind = "lexing" if isinstance(recognizer, Lexer) else "parsing"
        start = getattr(offending_symbol, "start", -1)
        _SYNTAX_ERRORS.append(
            {"line": line, "column": column + 1, "start": start if isinstance(start, int) else -1,
             "message": f"Error occurred during {kind}: {msg}",
             "code": "LEXER_ERROR" if kind == "lexing" else "PARSER_ERROR"}
        )
        original(self, recognizer, offending_symbol, line, column, msg, e)

    syntax_error._jitnest_hook = True  # type: ignore[attr-defined]
    NestMLErrorListener.syntaxError = syntax_error


def _position_from_offset(text: str, offset: int) -> tuple[int, int]:
    """1-based (line, column) of character ``offset`` in ``text``."""
    line = text.count("\n", 0, offset) + 1
    column = offset - (text.rfind("\n", 0, offset) + 1) + 1
    return line, column


def _syntax_errors_for(path: str) -> list[dict[str, Any]]:
    """The syntax errors recorded for ``path`` since the last reset, as error entries."""
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except (OSError, UnicodeDecodeError):
        text = ""
    model_lines = [(text.count("\n", 0, m.start()) + 1, m.group(1))
                   for m in re.finditer(r"^model\s+(\w+)\s*:", text, re.M)]
    errors = []
    for rec in _SYNTAX_ERRORS:
        line, column = rec["line"], rec["column"]
        if 0 <= rec["start"] <= len(text):
            line, column = _position_from_offset(text, rec["start"])
        # the model whose ``model <name>:`` line precedes the error, if any
        model = next((name for model_line, name in reversed(model_lines) if model_line <= line), None)
        errors.append(_error(path, line, column, model, rec["message"], rec["code"]))
    return errors


def _logged_errors(first_index: int, file_of_artifact: dict[str, str], default_file: str | None) -> list[dict]:
    """ERROR-level Logger entries from ``first_index`` on, as error entries.

    Parser/lexer errors are skipped: :func:`_syntax_errors_for` reports them (all of them, with
    corrected positions). ``file_of_artifact`` maps NESTML artifact names (file base names) to paths.
    """
    from pynestml.meta_model.ast_model import ASTModel
    from pynestml.utils.logger import Logger, LoggingLevel

    errors = []
    for index in sorted(k for k in Logger.get_log() if k >= first_index):
        artifact, node, level, code, position, message = Logger.get_log()[index]
        if level != LoggingLevel.ERROR or str(message).startswith(_PARSE_ERROR_PREFIXES):
            continue
        model = node.get_name() if isinstance(node, ASTModel) else None
        file = file_of_artifact.get(artifact, default_file)
        line = position.get_start_line() if position is not None else None
        column = position.get_start_column() + 1 if position is not None else None
        code_name = getattr(code, "name", None)  # a MessageCode; NESTML also logs with None or -1
        errors.append(_error(file, line, column, model, str(message), code_name))
    return errors


def _sorted_unique(errors: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """De-duplicate errors and sort them by file, then source position (unpositioned last)."""
    seen: dict[tuple, dict[str, Any]] = {}
    for err in errors:
        seen.setdefault((err["file"], err["line"], err["column"], err["message"]), err)

    def key(err: dict[str, Any]) -> tuple:
        big = 1 << 30
        return (err["file"] or "\uffff", err["line"] or big, err["column"] or big)

    return sorted(seen.values(), key=key)


def _parse_and_validate(files: Sequence[str]) -> tuple[list[tuple[str, Any]], list[dict[str, Any]]]:
    """Parse every file and run NESTML's context conditions on every model.

    Returns ``([(file, ASTModel), ...], errors)``. A file that fails does not stop the others, so
    one request reports the errors of all files.
    """
    from pynestml.cocos.co_cos_manager import CoCosManager
    from pynestml.utils.logger import Logger
    from pynestml.utils.model_parser import ModelParser

    models: list[tuple[str, Any]] = []
    errors: list[dict[str, Any]] = []
    file_of_artifact = {os.path.basename(f): f for f in files}
    for path in files:
        first = Logger.curr_message or 0
        _SYNTAX_ERRORS.clear()
        file_models: list[Any] = []
        crash: BaseException | None = None
        try:
            unit = ModelParser.parse_file(path)
            file_models = unit.get_model_list() if unit is not None else []
            for model in file_models:
                _check_model(model, first)
        except Exception as exc:  # noqa: BLE001 -- NESTML bugs (even RecursionError) must not kill the batch
            crash = exc
        finally:
            Logger.set_current_node(None)
        # everything logged while this file was processed belongs to it (base names may repeat)
        file_errors = _syntax_errors_for(path) + _logged_errors(first, {}, path)
        if crash is not None and not file_errors:
            file_errors.append(_exception_error(path, crash))
        errors.extend(file_errors)
        if not file_errors:
            models.extend((path, m) for m in file_models)

    first = Logger.curr_message or 0
    CoCosManager.check_no_duplicate_compilation_unit_names([m for _, m in models])
    errors.extend(_logged_errors(first, file_of_artifact, None))
    return models, _sorted_unique(errors)


def _check_model(model: Any, first_index: int) -> None:
    """Run the context conditions NESTML's NEST pipeline runs before generating code.

    Like NESTML's ``process()``, CoCos only run on a model that parsed without errors. NESTML's own
    test, ``Logger.has_errors(model)``, also counts errors logged without a model (any earlier file's
    syntax error), which would silently skip every later file; we only look at the errors logged
    since this file's parsing began (``first_index``).
    """
    from pynestml.cocos.co_cos_manager import CoCosManager

    if _has_errors_since(first_index):
        return
    CoCosManager.check_cocos(model)
    if not _has_errors_since(first_index):
        # checked by NESTCodeGenerator at generation time; better to report it at parse time
        CoCosManager.check_co_co_nest_random_functions_legally_used(model)


def _has_errors_since(first_index: int) -> bool:
    """Whether NESTML logged an ERROR message with index ``first_index`` or later."""
    from pynestml.utils.logger import Logger, LoggingLevel

    log = Logger.get_log()
    return any(log[k][2] == LoggingLevel.ERROR for k in log if k >= first_index)


# ---------------------------------------------------------------------------------------------
#   op "parse"
# ---------------------------------------------------------------------------------------------


def op_parse(request: dict[str, Any]) -> dict[str, Any]:
    """Parse and validate the request's files; describe every model (see :func:`describe_model`)."""
    import tempfile

    started = time.perf_counter()
    files = _input_files(request)
    synapse_models = _string_list(request, "synapse_models", required=False)
    # NESTML insists on a target path (and creates it); nothing is written there by a parse.
    with tempfile.TemporaryDirectory(prefix="jitnest_parse_") as scratch:
        _configure_nestml(files, os.path.join(scratch, "target"), suffix="")
        models, errors = _parse_and_validate(files)
        if errors:
            return _error_response(errors)
        kinds = _model_kinds([m for _, m in models], synapse_models)
        described = [describe_model(m, path, kinds[m.get_name()]) for path, m in models]
    return {"ok": True, "models": described, "seconds": round(time.perf_counter() - started, 3)}


def _model_kinds(models: Sequence[Any], synapse_models: Sequence[str]) -> dict[str, str]:
    """Classify models with NESTML's own rule (``CodeGeneratorUtils.get_model_types_from_names``).

    NESTML 9 has no syntax for the kind: a model is a synapse if its name (minus the suffix and any
    ``__with_...`` part) ends in ``synapse`` or is listed in the ``synapse_models`` option; every
    other model is a neuron.
    """
    from pynestml.codegeneration.code_generator_utils import CodeGeneratorUtils

    neurons, synapses = CodeGeneratorUtils.get_model_types_from_names(models, synapse_models=list(synapse_models))
    kinds = {m.get_name(): "neuron" for m in neurons}
    kinds.update({m.get_name(): "synapse" for m in synapses})
    return kinds


def describe_model(model: Any, path: str, kind: str) -> dict[str, Any]:
    """The MODEL dict of a parsed, valid model.

    Keys: ``name``, ``file``, ``line`` (of the ``model`` keyword), ``kind`` ("neuron"/"synapse"),
    ``input_ports`` (``{"name", "kind": "spike"|"continuous", "line"}``), ``parameters``,
    ``state``, ``internals`` (``{"name", "nest_name", "type", "expression", "line", "vector_size"}``
    in declaration order; ``type`` and ``expression`` are NESTML source text, ``nest_name`` is the
    name in NEST, which differs for ``x'`` and ``g$``), ``value_nest_units`` (parameters and state
    variables by NEST name, see :func:`evaluate_defaults`), ``internal_values`` (the
    model's own internals, which GetStatus shows too; NESTML-added internals such as ``__h`` and
    propagators depend on the resolution and are not listed), ``unevaluated``
    (``[{"name", "reason"}]``, parameters and state variables only), ``recordables``
    (see :func:`recordables`) and ``notes`` (caveats found while describing, normally empty).

    Synapses additionally have ``weight_variable``, ``delay_variable``, ``weight_variable_guess``,
    ``post_ports`` and ``vt_ports`` (see :func:`describe_synapse`). Their values describe the
    source model: in a generated neuron-synapse pair, NEST shows the weight variable also as
    ``weight``, and variables NESTML moves into the neuron (e.g. stdp_synapse's ``post_trace``)
    appear in the neuron's status as ``<var>__for_<synapse>_nestml`` instead of the connection's.
    """
    notes: list[str] = []
    defaults = evaluate_defaults(model, kind, notes)
    info: dict[str, Any] = {
        "name": model.get_name(),
        "file": path,
        "line": model.get_source_position().get_start_line(),
        "kind": kind,
        "input_ports": input_ports(model),
        "parameters": declarations(model.get_parameters_blocks()),
        "state": declarations(model.get_state_blocks()),
        "internals": declarations(model.get_internals_blocks()),
        "value_nest_units": defaults.values,
        "internal_values": defaults.internal_values,
        "unevaluated": defaults.unevaluated,
        "recordables": recordables(model, defaults.kernel_state, defaults.values) if kind == "neuron" else [],
        "notes": notes,
    }
    if kind == "synapse":
        info.update(describe_synapse(model))
    return info


def input_ports(model: Any) -> list[dict[str, Any]]:
    """The model's input ports in declaration order."""
    ports = []
    for block in model.get_input_blocks():
        for port in block.get_input_ports():
            kind = "spike" if port.is_spike() else "continuous"
            ports.append({"name": port.get_name(), "kind": kind, "line": port.get_source_position().get_start_line()})
    return ports


def declarations(blocks: Iterable[Any]) -> list[dict[str, Any]]:
    """One entry per declared variable of the given blocks, in declaration order."""
    from pynestml.codegeneration.printers.nestml_printer import NESTMLPrinter

    printer = NESTMLPrinter()
    entries = []
    for block in blocks:
        for decl in block.get_declarations():
            for var in decl.get_variables():
                size = _vector_size_expression(decl, var)
                entries.append({
                    "name": var.get_complete_name(),
                    "nest_name": nest_name(var.get_complete_name()),
                    "type": printer.print(decl.get_data_type()),
                    "expression": printer.print(decl.get_expression()) if decl.has_expression() else None,
                    "line": decl.get_source_position().get_start_line(),
                    "vector_size": printer.print(size) if size is not None else None,
                })
    return entries


def _vector_size_expression(decl: Any, var: Any) -> Any:
    """The size expression of a vector declaration (``x[N] real = ...``), else None."""
    if var.get_vector_parameter() is not None:
        return var.get_vector_parameter()
    return decl.get_size_parameter() if decl.has_size_parameter() else None


# ---------------------------------------------------------------------------------------------
#   Synapse-specific inference: weight/delay variable, post ports, volume-transmitter ports
# ---------------------------------------------------------------------------------------------


def describe_synapse(model: Any) -> dict[str, Any]:
    """Infer what NESTML needs listed by hand for a neuron-synapse pair.

    * ``weight_variable`` / ``delay_variable``: the first / second argument of ``emit_spike(...)``
      in the ``onReceive`` blocks, if it is a plain variable declared in ``state`` or
      ``parameters`` (and the same in every call); else null.
    * ``weight_variable_guess``: ``weight_variable`` if set; otherwise, among the state/parameter
      variables the first argument depends on (following local declarations of the block, e.g.
      ``w_ real = w + noise``), the one named ``w`` or ``weight``, or the only one; else null.
      (``tsodyks_synapse`` emits ``delta_y_tsp * w``, ``noisy_synapse`` emits a local ``w_``.)
    * ``post_ports``: ports that carry signals from the postsynaptic neuron: every spike input port
      whose name contains ``post`` (e.g. ``post_spikes``), plus every continuous input port (in NEST
      a synapse can receive a continuous signal only from its postsynaptic neuron). For a paired
      generation, NESTML wants a continuous post port as ``[synapse_port, neuron_variable]``;
      ``generate`` turns a bare name into ``[name, name]``.
    * ``vt_ports``: spike ports that are neither post ports nor the presynaptic port (the port whose
      ``onReceive`` calls ``emit_spike``), e.g. ``mod_spikes`` of ``neuromodulated_stdp_synapse``:
      NESTML's ``vt_ports`` (third-factor spikes delivered by a NEST ``volume_transmitter``).
    """
    declared = {s.get_symbol_name() for s in model.get_parameter_symbols() + model.get_state_symbols()}
    calls = _emit_spike_calls(model)
    pre_ports = {port for port, _, _ in calls}
    weight = _plain_argument(calls, 0, declared)
    delay = _plain_argument(calls, 1, declared)
    post, vt = [], []
    for block in model.get_input_blocks():
        for port in block.get_input_ports():
            name = port.get_name()
            if port.is_continuous() or "post" in name.lower():
                post.append(name)
            elif pre_ports and name not in pre_ports:  # without emit_spike in onReceive: no guess
                vt.append(name)
    return {
        "weight_variable": weight,
        "delay_variable": delay,
        "weight_variable_guess": weight or _guess_weight(calls, declared),
        "post_ports": post,
        "vt_ports": vt,
        "moved_to_neuron": _moved_to_neuron(model, post, [v for v in (weight, delay) if v]),
    }


def _moved_to_neuron(model: Any, post_ports: list[str], kept: list[str]) -> list[str]:
    """State variables NESTML moves from the synapse into the paired neuron (e.g. STDP's
    ``post_trace``): they are no synapse parameters once paired. Same computation as NESTML's
    synapse_post_neuron_transformer (predefined variables, weight and delay stay in the synapse)."""
    if not post_ports:
        return []
    from pynestml.symbols.predefined_variables import PredefinedVariables
    from pynestml.utils.ast_utils import ASTUtils

    strictly_synaptic = set(PredefinedVariables.get_variables()) | set(kept)
    _, moved = ASTUtils.collect_variables_affected_by_ports(model, post_ports, strictly_synaptic)
    return sorted(str(v) for v in moved)


def _emit_spike_calls(model: Any) -> list[tuple[str, Any, dict[str, Any]]]:
    """``(port name, emit_spike call, {local variable: its expression})`` for each call in onReceive blocks."""
    from pynestml.meta_model.ast_declaration import ASTDeclaration
    from pynestml.meta_model.ast_function_call import ASTFunctionCall
    from pynestml.visitors.ast_higher_order_visitor import ASTHigherOrderVisitor

    found = []
    for block in model.get_on_receive_blocks():
        calls: list[Any] = []
        local: dict[str, Any] = {}

        def visit(node: Any, calls: list[Any] = calls, local: dict[str, Any] = local) -> None:
            if isinstance(node, ASTFunctionCall) and node.get_name() == "emit_spike":
                calls.append(node)
            elif isinstance(node, ASTDeclaration) and node.has_expression():
                for var in node.get_variables():
                    local[var.get_complete_name()] = node.get_expression()

        block.accept(ASTHigherOrderVisitor(visit_funcs=visit))
        found.extend((block.get_port_name(), call, local) for call in calls)
    return found


def _plain_argument(calls: Sequence[tuple[str, Any, dict]], index: int, declared: set[str]) -> str | None:
    """The declared variable passed as argument ``index`` to every emit_spike call, else None."""
    names = set()
    for _, call, _ in calls:
        args = call.get_args()
        if len(args) <= index:
            return None
        arg = args[index]
        is_variable = getattr(arg, "is_variable", lambda: False)() and not getattr(arg, "is_numeric_literal", bool)()
        if not is_variable or arg.get_variable().get_complete_name() not in declared:
            return None
        names.add(arg.get_variable().get_complete_name())
    return names.pop() if len(names) == 1 else None


def _guess_weight(calls: Sequence[tuple[str, Any, dict]], declared: set[str]) -> str | None:
    """See ``weight_variable_guess`` in :func:`describe_synapse`."""
    candidates: list[str] = []
    for _, call, local in calls:
        if call.get_args():
            for name in _referenced_names(call.get_args()[0], local):
                if name in declared and name not in candidates:
                    candidates.append(name)
    for preferred in ("w", "weight"):
        if preferred in candidates:
            return preferred
    return candidates[0] if len(candidates) == 1 else None


def _referenced_names(expr: Any, local: dict[str, Any], seen: set[str] | None = None) -> list[str]:
    """Variable names used by ``expr``, expanding local variables through their declarations."""
    from pynestml.meta_model.ast_variable import ASTVariable
    from pynestml.visitors.ast_higher_order_visitor import ASTHigherOrderVisitor

    seen = set() if seen is None else seen
    direct: list[str] = []
    expr.accept(ASTHigherOrderVisitor(
        visit_funcs=lambda n: direct.append(n.get_complete_name()) if isinstance(n, ASTVariable) else None))
    names: list[str] = []
    for name in direct:
        if name in seen:
            continue
        seen.add(name)
        names.append(name)
        if name in local:
            names.extend(_referenced_names(local[name], local, seen))
    return names


# ---------------------------------------------------------------------------------------------
#   Default values in NEST units
# ---------------------------------------------------------------------------------------------


_C_FUNCTIONS: dict[str, Callable[..., Any]] = {
    # What NESTML's NEST printer maps these predefined functions to (std::exp, std::log, ...).
    "exp": math.exp, "ln": math.log, "log10": math.log10, "expm1": math.expm1,
    "cos": math.cos, "sin": math.sin, "tan": math.tan, "cosh": math.cosh, "sinh": math.sinh,
    "tanh": math.tanh, "erf": math.erf, "erfc": math.erfc, "pow": lambda a, b: float(a) ** b,
    "max": max, "min": min, "abs": abs, "ceil": lambda x: float(math.ceil(x)),
    "floor": lambda x: float(math.floor(x)),
    "round": lambda x: float(math.floor(abs(x) + 0.5)) * (1 if x >= 0 else -1),  # std::round: half away from 0
    "clip": lambda x, lo, hi: min(max(x, lo), hi),
}

_NEEDS_SIMULATION = {
    "random_normal": "random number drawn at run time", "random_uniform": "random number drawn at run time",
    "random_poisson": "random number drawn at run time", "resolution": "depends on the simulation resolution",
    "timestep": "depends on the simulation resolution", "steps": "depends on the simulation resolution",
}


_NEST_NODE_STATUS_KEYS = frozenset({
    # Written into GetStatus by NEST 3.10's Node/ArchivingNode/StructuralPlasticityNode *after* the
    # NESTML model's own entries (the generated get_status() ends with ArchivingNode::get_status),
    # so a parameter or state variable of the same name shows NEST's value, e.g. hill_tononi's
    # ``t_spike`` shows the last spike time (-1.0). Observed on the NEST 3.10 wheel.
    "Ca", "archiver_length", "beta_Ca", "element_type", "frozen", "global_id", "ignore_and_spike",
    "ignore_and_spike_interval", "ignore_and_spike_offset", "local", "model", "model_id",
    "node_uses_wfr", "post_trace", "recordables", "synaptic_elements", "t_spike", "tau_Ca",
    "tau_minus", "tau_minus_triplet", "thread", "thread_local_id", "vp",
})


class Defaults:
    """Result of :func:`evaluate_defaults` (all names as NEST spells them, see :func:`nest_name`)."""

    def __init__(self) -> None:
        self.values: dict[str, Any] = {}
        self.internal_values: dict[str, Any] = {}
        self.unevaluated: list[dict[str, str]] = []
        self.kernel_state: list[str] = []


def evaluate_defaults(model: Any, kind: str, notes: list[str]) -> Defaults:
    """Default values of parameters, state variables and internals as NEST reports them (GetStatus).

    The generated C++ initialises parameters (declaration order), then internals, then state
    variables, each from its NESTML expression printed by NESTML's own printers: a literal with a
    unit becomes ``factor * literal`` with the factor of ``NESTUnitConverter`` (to ms, mV, pA, pF,
    nS, GOhm; other named units keep their number, e.g. ``10 Hz`` stays 10; compound units are
    converted base by base), and implicit conversion factors are
    applied on top (so NESTML 9 converts ``tau ms = 0.02 s`` twice, to 20000: see ``notes``).
    State variables defined by ODEs take their initial value through ODE-toolbox, as in the
    generated code (see :func:`_ode_initial_values`). This function prints each
    expression with NESTML's Python printers configured the same way and evaluates the result
    with C semantics (integer division truncates unless dividing by a literal, like the C++
    printer; ``round`` rounds half away from zero); user-defined functions made of declarations,
    assignments and a return are evaluated too.

    Values are ``float`` for real/physical types, ``int`` for ``integer``, ``bool`` for
    ``boolean``, and lists for vectors. What needs a run (random functions, ``resolution()``,
    ``steps()``, a parameter that reads a state variable before the C++ initialises it, ...) goes
    to ``unevaluated`` with a reason, as do neuron variables whose name NEST's node classes
    overwrite in GetStatus (:data:`_NEST_NODE_STATUS_KEYS`). State variables of kernels defined by
    ODEs are left out (NESTML's code generator removes them); the state variables it adds for
    convolutions (``<kernel>__X__<port>[__d...]``, initial value 0) are included.
    """
    printer = _value_printer()
    env: dict[str, Any] = {}
    functions = _user_functions(model, printer, env)
    result = Defaults()
    removed = _kernel_variables(model)
    origin = _declaration_origins(model)
    ode_initial_values = _ode_initial_values(model, removed)
    for block_kind, blocks in (("parameters", model.get_parameters_blocks()),
                               ("internals", model.get_internals_blocks()),
                               ("state", model.get_state_blocks())):
        for block in blocks:
            for decl in block.get_declarations():
                for var in decl.get_variables():
                    name = var.get_complete_name()
                    if block_kind == "state" and name in removed:
                        continue
                    target = result.internal_values if block_kind == "internals" else result.values
                    try:
                        if block_kind == "state" and name in ode_initial_values:
                            value = _evaluate_ode_initial_value(
                                ode_initial_values[name], decl, printer, env, functions, origin)
                        else:
                            value = _evaluate_declaration(decl, var, printer, env, functions, origin)
                    except Unevaluable as exc:
                        if block_kind != "internals":
                            result.unevaluated.append({"name": nest_name(name), "reason": str(exc)})
                        origin[_py_name(name)] = f"{name!r}, which cannot be evaluated: {exc}"
                        continue
                    env[_py_name(name)] = value
                    target[nest_name(name)] = value
                    if name not in ode_initial_values and _converts_literal_twice(decl.get_expression()):
                        notes.append(f"{name}: NESTML 9 converts a literal with a unit in '{decl.get_expression()}' "
                                     f"to NEST units and then also scales it by an implicit conversion factor; "
                                     f"NEST reports {value!r}")
    result.kernel_state = kernel_state_variables(model, notes)
    result.values.update((name, 0.0) for name in result.kernel_state)
    if kind == "neuron":
        _drop_overwritten_status_keys(result)
    return result


_SYMPY_FUNCTIONS: dict[str, Callable[..., Any]] = {"log": math.log, "sqrt": math.sqrt}
"""Functions sympy may write into ODE-toolbox results that the C++ code then calls."""


def _ode_initial_values(model: Any, kernel_variables: set[str]) -> dict[str, Any]:
    """Initial-value expressions of ODE state variables as the generated code gets them.

    NESTML hands the initial values of variables defined by ODEs to ODE-toolbox (printed with its
    ODE-toolbox printer), which parses them with sympy and returns ``str(expr)``; NESTML parses
    that text back and prints it into the C++ code (``ASTUtils.update_initial_values_for_odes``).
    That route treats units differently from the direct one (it drops the unit of a literal and
    applies the implicit conversion factor once), so ``V_m mV = -0.07 V`` initialises to -70
    while a parameter ``E_L mV = -0.07 V`` gets -70000 in NESTML 9. This function takes the same
    route (with ODE-toolbox's own parser) and returns ``{state variable: re-parsed expression}``.
    """
    from pynestml.utils.ast_utils import ASTUtils

    variables = [v for v in model.get_state_variables()
                 if v.get_complete_name() not in kernel_variables and ASTUtils.is_ode_variable(v.get_name(), model)]
    if not variables:
        return {}
    from odetoolbox.shapes import Shape
    from odetoolbox.sympy_helpers import _sympy_parse_real
    from pynestml.transformers.ode_toolbox_transformer import ODEToolboxTransformer
    from pynestml.utils.model_parser import ModelParser
    from pynestml.visitors.ast_higher_order_visitor import ASTHigherOrderVisitor

    ode_printer = ODEToolboxTransformer()._ode_toolbox_printer  # configured as NESTML's pipeline uses it
    result = {}
    for var in variables:
        expr = model.get_initial_value(var.get_complete_name())
        if expr is None:
            continue
        try:
            text = str(_sympy_parse_real(ode_printer.print(expr), global_dict=Shape._sympy_globals))
            parsed = ModelParser.parse_expression(text)
        except Exception as exc:  # noqa: BLE001 -- sympy/ODE-toolbox raise many kinds
            result[var.get_complete_name()] = Unevaluable(f"ODE-toolbox cannot process the initial value: {exc}")
            continue
        scope = var.get_scope()
        parsed.accept(ASTHigherOrderVisitor(visit_funcs=lambda node, scope=scope: node.update_scope(scope)))
        result[var.get_complete_name()] = parsed
    return result


def _evaluate_ode_initial_value(
    expr: Any, decl: Any, printer: Any, env: dict[str, Any], functions: dict, origin: dict[str, str]
) -> Any:
    """Value of an ODE state variable from its ODE-toolbox initial value (see :func:`_ode_initial_values`)."""
    if isinstance(expr, Unevaluable):
        raise expr
    if decl.get_variables()[0].get_vector_parameter() is not None:
        raise Unevaluable("vector variable defined by an ODE")
    value = _evaluate_expression(expr, printer, env, {**_SYMPY_FUNCTIONS, **functions}, origin)
    return _coerce(value, decl.get_data_type())


def _converts_literal_twice(expr: Any) -> bool:
    """Whether NESTML's printers convert a literal of ``expr`` to NEST units twice.

    The C++ printer always prints a literal with a unit in NEST units (``0.02 s`` -> ``20.``), and
    also applies the implicit conversion factor that NESTML attaches to a (sub)expression whose unit
    differs from the declared one (s -> ms: 1000): ``tau ms = 0.02 s`` becomes ``1000.0 * (20.)``.
    """
    from pynestml.meta_model.ast_simple_expression import ASTSimpleExpression
    from pynestml.visitors.ast_higher_order_visitor import ASTHigherOrderVisitor

    found = []

    def literals_below(node: Any) -> bool:
        hits: list[Any] = []
        node.accept(ASTHigherOrderVisitor(visit_funcs=lambda n: hits.append(n) if (
            isinstance(n, ASTSimpleExpression) and n.is_numeric_literal_with_unit()) else None))
        return bool(hits)

    def visit(node: Any) -> None:
        factor = getattr(node, "get_implicit_conversion_factor", lambda: None)()
        if factor not in (None, 1, 1.0) and literals_below(node):
            found.append(node)

    expr.accept(ASTHigherOrderVisitor(visit_funcs=visit))
    return bool(found)


def _declaration_origins(model: Any) -> dict[str, str]:
    """For each declared variable (by :func:`_py_name`), why it may lack a value when referenced."""
    origins = {}
    for variable in model.get_parameter_variables():
        origins[_py_name(variable.get_complete_name())] = (
            f"parameter {variable.get_complete_name()!r}, which is declared (initialised) later")
    for block in model.get_internals_blocks():
        for decl in block.get_declarations():
            for variable in decl.get_variables():
                origins[_py_name(variable.get_complete_name())] = (
                    f"internal {variable.get_complete_name()!r}, which is declared (initialised) later")
    for variable in model.get_state_variables():
        origins[_py_name(variable.get_complete_name())] = (
            f"state variable {variable.get_complete_name()!r}, which the generated code initialises only "
            "after parameters and internals (NEST shows a value computed from uninitialised memory)")
    return origins


def _drop_overwritten_status_keys(result: Defaults) -> None:
    """Move variables whose GetStatus entry NEST's node classes overwrite to ``unevaluated``."""
    for name in [n for n in result.values if n in _NEST_NODE_STATUS_KEYS]:
        del result.values[name]
        result.unevaluated.append({"name": name, "reason": (
            f"GetStatus shows NEST's own {name!r} (written by its node base classes after the model's entries)")})


def nest_name(name: str) -> str:
    """The name NEST uses for a NESTML variable.

    NESTML's ``IllegalVariableNameTransformer`` appends ``_`` to C++ keywords (``delete`` ->
    ``delete_``) and its C++ printer spells ``x'`` as ``x__d`` and ``g$`` as ``g__DOLLAR``.
    """
    from pynestml.codegeneration.printers.cpp_variable_printer import CppVariablePrinter

    base = name.rstrip("'")
    while base in _cpp_forbidden_names():
        base += "_"
    return CppVariablePrinter._print_cpp_name(base + name[len(name.rstrip("'")):])


_FORBIDDEN: list[frozenset[str]] = []


def _cpp_forbidden_names() -> frozenset[str]:
    """The variable names NESTML's NEST target rewrites (C++ keywords), taken from NESTML itself."""
    if not _FORBIDDEN:
        from pynestml.frontend import pynestml_frontend as frontend
        from pynestml.transformers.illegal_variable_name_transformer import IllegalVariableNameTransformer

        transformers, _ = frontend.transformers_from_target_name("NEST", options={})
        names: set[str] = set()
        for transformer in transformers:
            if isinstance(transformer, IllegalVariableNameTransformer):
                names.update(transformer.get_option("forbidden_names"))
        _FORBIDDEN.append(frozenset(names))
    return _FORBIDDEN[0]


def _evaluate_declaration(
    decl: Any, var: Any, printer: Any, env: dict[str, Any], functions: dict, origin: dict[str, str]
) -> Any:
    """Value of one declared variable (a list for a vector), cast like the C++ member."""
    if not decl.has_expression():
        raise Unevaluable("declared without a default value")
    value = _evaluate_expression(decl.get_expression(), printer, env, functions, origin)
    scalar = _coerce(value, decl.get_data_type())
    size_expr = _vector_size_expression(decl, var)
    if size_expr is None:
        return scalar
    size = _evaluate_expression(size_expr, printer, env, functions, origin)
    if not isinstance(size, (int, float)) or size != int(size) or size < 0:
        raise Unevaluable(f"vector size {size!r} is not a non-negative integer")
    return [scalar] * int(size)


def _coerce(value: Any, data_type: Any) -> Any:
    """Convert like the C++ assignment to the member (``long``, ``bool`` or ``double``)."""
    if data_type.is_boolean:
        return bool(value)
    if data_type.is_integer:
        if isinstance(value, float) and not math.isfinite(value):
            raise Unevaluable("non-finite value assigned to an integer")
        return int(value)  # C++ conversion truncates towards zero, as int() does
    if data_type.is_string:
        raise Unevaluable("string-typed variable")
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise Unevaluable(f"value {value!r} is not a number")
    return float(value)


def _evaluate_expression(
    expr: Any, printer: Any, env: dict[str, Any], functions: dict, origin: dict[str, str] | None = None
) -> Any:
    """Print ``expr`` with the value printer and evaluate the Python text with C semantics.

    ``origin`` explains names that have no value (yet), for the Unevaluable message.
    """
    _reject_run_time_functions(expr, functions)
    text = printer.print(expr)
    try:
        tree = ast.parse(text, mode="eval")
    except SyntaxError as exc:
        raise Unevaluable(f"cannot evaluate {text!r}") from exc
    return _CEval(env, functions, origin or {}).eval(tree.body)


def _reject_run_time_functions(expr: Any, functions: dict) -> None:
    """Raise Unevaluable if ``expr`` calls a function whose value is only known at run time."""
    from pynestml.meta_model.ast_function_call import ASTFunctionCall
    from pynestml.visitors.ast_higher_order_visitor import ASTHigherOrderVisitor

    calls: list[str] = []
    expr.accept(ASTHigherOrderVisitor(
        visit_funcs=lambda n: calls.append(n.get_name()) if isinstance(n, ASTFunctionCall) else None))
    for name in calls:
        if name in _NEEDS_SIMULATION:
            raise Unevaluable(f"calls {name}(): {_NEEDS_SIMULATION[name]}")
        if name not in _C_FUNCTIONS and name not in functions:
            raise Unevaluable(f"calls {name}(), which is neither a math function nor defined in the model")


def _user_functions(model: Any, printer: Any, env: dict[str, Any]) -> dict[str, Callable[..., Any]]:
    """Callables for the model's ``function`` blocks, evaluated like the C++ member functions.

    Supported bodies: local declarations, plain assignments and a final ``return`` (what the
    library models use); anything else makes a call Unevaluable. The body sees the model's
    variables through ``env`` (the generated functions read ``P_``/``S_`` members too).
    """
    functions: dict[str, Callable[..., Any]] = {}
    for function in model.get_functions():
        functions[function.get_name()] = _make_user_function(function, printer, env, functions)
    return functions


def _make_user_function(function: Any, printer: Any, env: dict[str, Any], functions: dict) -> Callable[..., Any]:
    """A Python callable evaluating one NESTML ``function`` with C semantics (see :func:`_user_functions`)."""
    name = function.get_name()
    params = function.get_parameters()
    depth = [0]

    def call(*args: Any) -> Any:
        if len(args) != len(params):
            raise Unevaluable(f"{name}() called with {len(args)} arguments")
        if depth[0] > 20:
            raise Unevaluable(f"{name}() recurses too deeply")
        local = dict(env)
        local.update({_py_name(p.get_name()): _coerce(a, p.get_data_type()) for p, a in zip(params, args)})
        depth[0] += 1
        try:
            for stmt in function.get_stmts_body().get_stmts():
                small = stmt.small_stmt if stmt.is_small_stmt() else None
                if small is not None and small.is_declaration():
                    decl = small.get_declaration()
                    if not decl.has_expression():
                        raise Unevaluable(f"{name}() declares a variable without a value")
                    value = _coerce(_evaluate_expression(decl.get_expression(), printer, local, functions),
                                    decl.get_data_type())
                    local.update({_py_name(v.get_complete_name()): value for v in decl.get_variables()})
                elif small is not None and small.is_assignment() and small.get_assignment().is_direct_assignment:
                    assignment = small.get_assignment()
                    target = _py_name(assignment.get_variable().get_complete_name())
                    local[target] = _evaluate_expression(assignment.get_expression(), printer, local, functions)
                elif small is not None and small.is_return_stmt() and small.get_return_stmt().has_expression():
                    value = _evaluate_expression(small.get_return_stmt().get_expression(), printer, local, functions)
                    return _coerce(value, function.get_return_type())
                else:
                    raise Unevaluable(f"{name}() has statements other than declarations, assignments and return")
            raise Unevaluable(f"{name}() does not return a value")
        finally:
            depth[0] -= 1

    return call


def _py_name(name: str) -> str:
    """A Python identifier for a NESTML variable name (``g$`` and ``x'`` are legal in NESTML)."""
    return "v_" + name.replace("$", "__DOLLAR").replace("'", "__d")


class _CEval:
    """Evaluate a Python expression tree (as printed by NESTML's Python printers) with C semantics.

    Only the node types those printers emit are accepted; nothing is ``eval``-ed.
    """

    _ARITH: dict[type, Callable[[Any, Any], Any]] = {
        ast.Add: lambda a, b: a + b, ast.Sub: lambda a, b: a - b, ast.Mult: lambda a, b: a * b,
        ast.Pow: lambda a, b: float(a) ** b, ast.BitAnd: lambda a, b: a & b,
        ast.BitOr: lambda a, b: a | b, ast.BitXor: lambda a, b: a ^ b,
        ast.LShift: lambda a, b: a << b, ast.RShift: lambda a, b: a >> b,
    }
    _COMPARE: dict[type, Callable[[Any, Any], bool]] = {
        ast.Lt: lambda a, b: a < b, ast.LtE: lambda a, b: a <= b, ast.Eq: lambda a, b: a == b,
        ast.NotEq: lambda a, b: a != b, ast.Gt: lambda a, b: a > b, ast.GtE: lambda a, b: a >= b,
    }

    def __init__(self, env: dict[str, Any], functions: dict[str, Callable[..., Any]], origin: dict[str, str]) -> None:
        self.env = env
        self.functions = functions
        self.origin = origin

    def eval(self, node: ast.AST) -> Any:
        handler = getattr(self, "_" + type(node).__name__, None)
        if handler is None:
            raise Unevaluable(f"unsupported construct {type(node).__name__}")
        try:
            return handler(node)
        except (ArithmeticError, ValueError, TypeError) as exc:
            raise Unevaluable(f"evaluation failed: {exc}") from exc

    def _Constant(self, node: ast.Constant) -> Any:
        return node.value

    def _Name(self, node: ast.Name) -> Any:
        if node.id in self.env:
            return self.env[node.id]
        if node.id in self.origin:
            raise Unevaluable(f"depends on {self.origin[node.id]}")
        raise Unevaluable(f"unknown name {node.id!r}")

    def _Attribute(self, node: ast.Attribute) -> Any:
        if isinstance(node.value, ast.Name) and node.value.id == "math" and node.attr in ("e", "pi"):
            return getattr(math, node.attr)
        raise Unevaluable(f"unsupported attribute {node.attr!r}")

    def _BinOp(self, node: ast.BinOp) -> Any:
        a, b = self.eval(node.left), self.eval(node.right)
        if isinstance(node.op, ast.Div):
            return _c_div(a, b)
        if isinstance(node.op, ast.Mod):
            return _c_mod(a, b)
        return self._ARITH[type(node.op)](a, b)

    def _UnaryOp(self, node: ast.UnaryOp) -> Any:
        value = self.eval(node.operand)
        ops = {ast.USub: lambda v: -v, ast.UAdd: lambda v: +v, ast.Not: lambda v: not v, ast.Invert: lambda v: ~v}
        return ops[type(node.op)](value)

    def _BoolOp(self, node: ast.BoolOp) -> Any:
        values = [bool(self.eval(v)) for v in node.values]
        return all(values) if isinstance(node.op, ast.And) else any(values)

    def _Compare(self, node: ast.Compare) -> Any:
        left = self.eval(node.left)
        for op, right_node in zip(node.ops, node.comparators):
            right = self.eval(right_node)
            if not self._COMPARE[type(op)](left, right):
                return False
            left = right
        return True

    def _IfExp(self, node: ast.IfExp) -> Any:
        return self.eval(node.body) if self.eval(node.test) else self.eval(node.orelse)

    def _Call(self, node: ast.Call) -> Any:
        if not isinstance(node.func, ast.Name):
            raise Unevaluable("unsupported call")
        if node.func.id == "float" and len(node.args) == 1:  # the printer's float("inf")
            return float(self.eval(node.args[0]))
        function = _C_FUNCTIONS.get(node.func.id) or self.functions.get(node.func.id)
        if function is None:
            raise Unevaluable(f"calls {node.func.id}()")
        return function(*[self.eval(a) for a in node.args])


def _c_div(a: Any, b: Any) -> Any:
    """C++ ``/``: integer division truncates towards zero; division by zero gives inf/nan."""
    if isinstance(a, int) and isinstance(b, int) and not isinstance(a, bool):
        if b == 0:
            raise Unevaluable("integer division by zero")
        q = abs(a) // abs(b)
        return q if (a >= 0) == (b >= 0) else -q
    if b == 0:
        return math.nan if a == 0 or math.isnan(a) else math.copysign(math.inf, a) * math.copysign(1.0, b)
    return a / b


def _c_mod(a: Any, b: Any) -> Any:
    """C++ ``%`` (and ``std::fmod``): the result has the sign of the dividend."""
    if isinstance(a, int) and isinstance(b, int):
        if b == 0:
            raise Unevaluable("integer modulo by zero")
        return a - b * _c_div(a, b)
    return math.fmod(a, b)


def _value_printer() -> Any:
    """NESTML's Python expression printer, set up to print values in NEST units.

    Numbers are printed with NESTML's ``ConstantPrinter`` (as the C++ printer does, so rounding to
    9 significant digits matches the generated code); literals with units and implicit conversion
    factors come from NESTML's printers; variables print as :func:`_py_name` placeholders.
    """
    from pynestml.codegeneration.nest_unit_converter import NESTUnitConverter
    from pynestml.codegeneration.printers.constant_printer import ConstantPrinter
    from pynestml.codegeneration.printers.python_expression_printer import PythonExpressionPrinter
    from pynestml.codegeneration.printers.python_function_call_printer import PythonFunctionCallPrinter
    from pynestml.codegeneration.printers.python_simple_expression_printer import PythonSimpleExpressionPrinter
    from pynestml.codegeneration.printers.python_variable_printer import PythonVariablePrinter
    from pynestml.meta_model.ast_simple_expression import ASTSimpleExpression
    from pynestml.symbols.predefined_units import PredefinedUnits
    from pynestml.symbols.predefined_variables import PredefinedVariables
    from pynestml.symbols.symbol import SymbolKind

    class VariablePrinter(PythonVariablePrinter):
        def print_variable(self, variable: Any) -> str:
            name = variable.get_complete_name()
            if name == PredefinedVariables.E_CONSTANT:
                return "math.e"
            if name == PredefinedVariables.PI_CONSTANT:
                return "math.pi"
            if name == PredefinedVariables.TIME_CONSTANT:
                raise Unevaluable("uses the simulation time t")
            scope = variable.get_scope()
            symbol = scope.resolve_to_symbol(name, SymbolKind.VARIABLE) if scope is not None else None
            if symbol is None and PredefinedUnits.is_unit(name):
                return repr(float(NESTUnitConverter.get_factor(PredefinedUnits.get_unit(name).get_unit())))
            if variable.has_vector_parameter():
                raise Unevaluable(f"indexes the vector {name!r}")
            return _py_name(name)

    class SimpleExpressionPrinter(PythonSimpleExpressionPrinter):
        def print_simple_expression(self, node: Any) -> str:
            if node.is_numeric_literal() and not node.is_numeric_literal_with_unit():
                return self._constant_printer.print_constant(node.get_numeric_literal())
            return super().print_simple_expression(node)

    class ExpressionPrinter(PythonExpressionPrinter):
        def print_arithmetic_operator(self, node: Any) -> str:
            # Like NESTML's C++ printer: division by a number literal is always a floating-point
            # division; otherwise int / int truncates as in C++ (see _c_div).
            rhs = node.get_rhs()
            if (node.get_binary_operator().is_div_op and isinstance(rhs, ASTSimpleExpression)
                    and rhs.is_numeric_literal()):
                return self.print(node.get_lhs()) + " / float(" + self.print(rhs) + ")"
            return super().print_arithmetic_operator(node)

    variable_printer = VariablePrinter(None)
    function_call_printer = PythonFunctionCallPrinter(None)
    printer = ExpressionPrinter(simple_expression_printer=SimpleExpressionPrinter(
        variable_printer=variable_printer, constant_printer=ConstantPrinter(),
        function_call_printer=function_call_printer))
    variable_printer._expression_printer = printer
    function_call_printer._expression_printer = printer
    return printer


# ---------------------------------------------------------------------------------------------
#   Kernels and recordables
# ---------------------------------------------------------------------------------------------


def _kernel_variables(model: Any) -> set[str]:
    """State variables that belong to kernels defined by ODEs (``kernel g' = ...``).

    NESTML's code generator removes their declarations (``ASTUtils.remove_initial_values_for_kernels``)
    and replaces them by one state variable per convolution.
    """
    names = set()
    for block in model.get_equations_blocks():
        for kernel in block.get_kernels():
            for var in kernel.get_variables():
                names.update(var.get_name() + "'" * order for order in range(var.get_differential_order()))
    return names


def kernel_state_variables(model: Any, notes: list[str]) -> list[str]:
    """State variables NESTML adds for the convolutions of the model, in convolve() order.

    For every ``convolve(K, port)`` with a non-delta kernel ``K`` and every kernel variable ``k`` of
    ``K``: ``ASTUtils.construct_kernel_X_spike_buf_name(k, port, i)`` for each order ``i`` below
    the kernel's ODE order. For a kernel defined by an ODE the order is the written one
    (``g'' = ...`` gives 2); for a kernel written as a function of ``t`` it is the order of the
    linear homogeneous ODE that ODE-toolbox finds for it (``Shape.from_function``: exponential 1,
    alpha and beta functions 2), computed here with ODE-toolbox itself.
    """
    from pynestml.utils.ast_utils import ASTUtils

    names: list[str] = []
    orders: dict[int, list[tuple[str, int]]] = {}
    for kernel, port in _kernel_buffers(model):
        if ASTUtils.is_delta_kernel(kernel):
            continue
        if id(kernel) not in orders:
            orders[id(kernel)] = _kernel_orders(kernel, notes)
        for var_name, order in orders[id(kernel)]:
            for i in range(order):
                name = ASTUtils.construct_kernel_X_spike_buf_name(var_name, port, i)
                if name not in names:
                    names.append(name)
    return names


def _kernel_buffers(model: Any) -> list[tuple[Any, str]]:
    """``(kernel, port name)`` for every distinct convolve() call, in source order.

    Mirrors ``ConvolutionsToBuffersTransformer.generate_kernel_buffers`` (including its acceptance
    of ``convolve(port, kernel)``), but keeps the order deterministic.
    """
    from pynestml.utils.ast_utils import ASTUtils

    buffers: list[tuple[Any, str]] = []
    for block in model.get_equations_blocks():
        for call in ASTUtils.get_convolve_function_calls(block):
            first, second = call.get_args()[0], call.get_args()[1]
            kernel = model.get_kernel_by_name(first.get_variable().get_name())
            port = second
            if kernel is None:
                kernel, port = model.get_kernel_by_name(second.get_variable().get_name()), first
            if kernel is None:
                continue
            entry = (kernel, port.get_variable().get_name())
            if not any(k is entry[0] and p == entry[1] for k, p in buffers):
                buffers.append(entry)
    return buffers


def _kernel_orders(kernel: Any, notes: list[str]) -> list[tuple[str, int]]:
    """``[(kernel variable name, ODE order)]`` for one kernel declaration."""
    result = []
    for var, expr in zip(kernel.get_variables(), kernel.get_expressions()):
        order = var.get_differential_order()
        if order == 0:
            order = _function_kernel_order(var.get_name(), str(expr), notes)
        result.append((var.get_name(), order))
    return result


def _function_kernel_order(name: str, definition: str, notes: list[str]) -> int:
    """Order of the ODE that ODE-toolbox derives for a kernel given as a function of ``t``."""
    from odetoolbox.shapes import Shape

    try:
        return int(Shape.from_function(name, definition).order)
    except Exception as exc:  # noqa: BLE001 -- ODE-toolbox raises plain Exception
        notes.append(f"kernel {name}: ODE-toolbox could not derive an ODE ({exc}); assumed order 1")
        return 1


def recordables(model: Any, kernel_state: Sequence[str], values: dict[str, Any]) -> list[str]:
    """Names a NEST multimeter can record from the generated (unpaired) neuron.

    Mirrors NESTML's NEST templates (``NeuronClass.jinja2``, ``recordable_state_variables`` in
    ``NESTCodeGenerator``): every state variable of type real, integer or a physical unit (not
    boolean, not removed kernel variables) in declaration order, then the state variables added for
    convolutions, then inline expressions declared ``recordable``. If the model has vector state
    variables the template switches to a dynamic map: non-vector integer variables are then left
    out and a vector ``x`` of size n appears as ``X_0`` ... ``X_<n-1>`` (upper case).
    A neuron paired with a synapse additionally records the synapse's postsynaptic variables
    (``<var>__for_<synapse>_nestml``); ``generate`` reports the recordables of each generated model.
    """
    from pynestml.symbols.boolean_type_symbol import BooleanTypeSymbol
    from pynestml.symbols.string_type_symbol import StringTypeSymbol
    from pynestml.symbols.symbol import SymbolKind

    removed = _kernel_variables(model)
    has_vectors = model.has_state_vectors()
    names: list[str] = []
    for var in model.get_state_variables():  # declaration order, as in the generated map
        name = var.get_complete_name()
        symbol = var.get_scope().resolve_to_symbol(name, SymbolKind.VARIABLE)
        if name in removed or isinstance(symbol.get_type_symbol(), (BooleanTypeSymbol, StringTypeSymbol)):
            continue
        if symbol.has_vector_parameter():
            size = values.get(nest_name(name))
            count = len(size) if isinstance(size, list) else 0
            names.extend(f"{nest_name(name).upper()}_{i}" for i in range(count))
        elif not (has_vectors and _is_integer(symbol)):
            names.append(nest_name(name))
    names.extend(kernel_state)
    for symbol in model.get_inline_expression_symbols():
        if symbol.is_recordable and not isinstance(symbol.get_type_symbol(), (BooleanTypeSymbol, StringTypeSymbol)):
            names.append(symbol.get_symbol_name())
    return names


def _is_integer(symbol: Any) -> bool:
    from pynestml.symbols.integer_type_symbol import IntegerTypeSymbol

    return isinstance(symbol.get_type_symbol(), IntegerTypeSymbol)


# ---------------------------------------------------------------------------------------------
#   op "generate"
# ---------------------------------------------------------------------------------------------


def op_generate(request: dict[str, Any]) -> dict[str, Any]:
    """Generate NEST C++ code for the request's files into ``target_dir`` (no build).

    Response ``{"ok": true, "target_dir", "files": [relative names, sorted], "log_file": relative
    name of NESTML's JSON message log, "nest_version", "models": [...], "seconds"}``. Each model:
    ``{"name", "kind", "source_model", "paired", "header", "source", "register_call",
    "recordables"}``; ``register_call`` is the statement of NESTML's module template (from the
    generated ``<module_name>.cpp``) that registers the model. NESTML also emits the unpaired
    neuron of every pair (unless ``paired_only``): it is listed with ``"paired": false``. The
    timestamp that NESTML writes into every file is removed, so the output depends only on the
    inputs (given ``PYTHONHASHSEED=0``).
    """
    started = time.perf_counter()
    files = _input_files(request)
    target_dir = _target_dir(request)
    module_name = request.get("module_name")
    if not isinstance(module_name, str) or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*module", module_name):
        raise RequestError("'module_name' must be a C identifier ending in 'module'")
    nest_version = request.get("nest_version") or installed_nest_version()
    if not isinstance(nest_version, str):
        raise RequestError("'nest_version' must be a string such as 'v3.10.0'")
    paired_only = _flag(request, "paired_only")

    from pynestml.frontend.frontend_configuration import FrontendConfiguration
    from pynestml.utils.logger import Logger

    _configure_nestml(files, target_dir, module_name=module_name)
    models, errors = _parse_and_validate(files)
    if errors:
        return _error_response(errors)

    codegen_opts = _codegen_options(request, nest_version, [m for _, m in models])
    FrontendConfiguration.set_codegen_opts(codegen_opts)
    first = Logger.curr_message or 0
    file_of_artifact = {os.path.basename(f): f for f in files}
    branch_errors: list[dict[str, Any]] = []
    try:
        branch_errors = _run_code_generation([m for _, m in models], codegen_opts, paired_only, file_of_artifact)
        crash: BaseException | None = None
    except (Exception, SystemExit) as exc:  # noqa: BLE001 -- report NESTML failures as errors
        crash = exc
    log_file = _write_log(target_dir)
    errors = _sorted_unique(_logged_errors(first, file_of_artifact, None) + branch_errors)
    if crash is not None and not errors:  # else it is NESTML's "Error(s) occurred during code generation"
        errors.append(_exception_error(None, crash))
    if errors:
        return _error_response(errors)

    written = _neutralise_timestamps(target_dir)
    return {
        "ok": True,
        "target_dir": target_dir,
        "files": [f for f in written if f != log_file],
        "log_file": log_file,
        "nest_version": nest_version,
        "models": _generated_models(target_dir, module_name),
        "seconds": round(time.perf_counter() - started, 3),
    }


def _target_dir(request: dict[str, Any]) -> str:
    """The absolute target directory, created (with parents) if missing.

    It must be empty: the response lists every file in it, so stale files from another run must
    not be mistaken for generated ones.
    """
    target_dir = request.get("target_dir")
    if not isinstance(target_dir, str) or not os.path.isabs(target_dir):
        raise RequestError("'target_dir' must be an absolute path")
    os.makedirs(target_dir, exist_ok=True)
    if os.listdir(target_dir):
        raise RequestError(f"'target_dir' must be empty or not exist: {target_dir}")
    return os.path.normpath(target_dir)


def installed_nest_version() -> str:
    """NEST's version in NESTML's format ("v3.10.0"), read from package metadata.

    ``NESTTools.detect_nest_version`` gets the same string by starting a Python process that imports
    ``nest`` (~0.5 s, and the NEST banner); reading the wheel's metadata is instant. Like NESTML, a
    development version (``post0.dev`` pre-release) maps to "main".
    """
    from importlib import metadata

    for dist in ("nest-simulator", "nest_simulator"):
        try:
            version = metadata.version(dist)
            break
        except metadata.PackageNotFoundError:
            continue
    else:
        raise RequestError("'nest_version' not given and no installed NEST (nest-simulator) found")
    return "main" if "post0.dev" in version else "v" + version


def _codegen_options(request: dict[str, Any], nest_version: str, models: Sequence[Any]) -> dict[str, Any]:
    """NESTML's NEST code generator options for the request.

    ``nest_version`` is always set: without it ``NESTCodeGenerator`` starts a process to detect it.
    Continuous post ports given by bare name become ``[name, name]`` (NESTML wants the pair
    ``(synapse port, neuron state variable)``; by default the neuron variable has the same name).
    """
    pairs = request.get("neuron_synapse_pairs", [])
    if not isinstance(pairs, list) or not all(isinstance(p, dict) and "neuron" in p for p in pairs):
        raise RequestError("'neuron_synapse_pairs' must be a list of {'neuron': ..., 'synapses': {...}}")
    extra = request.get("codegen_opts") or {}
    if not isinstance(extra, dict):
        raise RequestError("'codegen_opts' must be an object")
    options: dict[str, Any] = dict(extra)
    options.update({
        "nest_version": nest_version,
        "neuron_synapse_pairs": _normalise_pairs(pairs, {_source_model_name(m.get_name()): m for m in models}),
        "weight_variable": _string_map(request, "weight_variable"),
        "delay_variable": _string_map(request, "delay_variable"),
    })
    synapse_models = _string_list(request, "synapse_models", required=False)
    if synapse_models:
        options["synapse_models"] = synapse_models
    return options


def _string_map(request: dict[str, Any], key: str) -> dict[str, str]:
    """``request[key]`` as a {model name: variable name} dict (``{}`` if absent)."""
    value = request.get(key) or {}
    if not isinstance(value, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in value.items()):
        raise RequestError(f"{key!r} must map synapse model names to variable names")
    return dict(value)


def _normalise_pairs(pairs: list[dict[str, Any]], models: dict[str, Any]) -> list[dict[str, Any]]:
    """Copy of ``pairs`` with continuous post ports written as ``[port, port]``.

    ``models`` maps source model names (without the suffix NESTML appended while parsing) to ASTs.
    """
    normalised = []
    for pair in pairs:
        synapses = {}
        for syn_name, spec in (pair.get("synapses") or {}).items():
            spec = dict(spec or {})
            model = models.get(syn_name)
            continuous = set(model.get_continuous_input_port_names()) if model is not None else set()
            spec["post_ports"] = [[p, p] if isinstance(p, str) and p in continuous else p
                                  for p in spec.get("post_ports", [])]
            synapses[syn_name] = spec
        normalised.append({**pair, "synapses": synapses})
    return normalised


def _flag(request: dict[str, Any], key: str) -> bool:
    value = request.get(key, False)
    if not isinstance(value, bool):
        raise RequestError(f"{key!r} must be true or false")
    return value


def _run_code_generation(models: list[Any], codegen_opts: dict[str, Any], paired_only: bool = False,
                         file_of_artifact: dict[str, str] | None = None) -> list[dict[str, Any]]:
    """NESTML's ``process()`` after validation, minus its builder and its report directory.

    ``process()`` builds the code generator without options (so it always starts the NEST version
    detection process), runs the NEST builder (which fails on the wheel's bogus ``nest-config``),
    orders models through a ``set`` and writes its log next to, not into, the target directory.

    With ``paired_only``, a neuron that is paired with synapses is generated only in its paired
    form: NESTML would also analyse and generate the neuron alone (its "twin"), which a caller
    that needs only the pair pays for in ODE analysis, rendering and compiling. The synapses are
    then transformed, analysed and rendered in a forked child beside the neurons (``_SynapseBranch``;
    ``JITNEST_NESTML_SPLIT=0``: all in this process). Returns the errors the child reported.
    """
    from pynestml.exceptions.code_generator_options_exception import CodeGeneratorOptionsException
    from pynestml.frontend import pynestml_frontend as frontend
    from pynestml.transformers.synapse_post_neuron_transformer import SynapsePostNeuronTransformer

    transformers, unused_by_transformers = frontend.transformers_from_target_name("NEST", options=codegen_opts)
    code_generator = frontend.code_generator_from_target_name("NEST", options=codegen_opts)
    unused_by_generator = code_generator.set_options(codegen_opts)
    for key in codegen_opts:
        if key in unused_by_transformers and key in unused_by_generator:
            raise CodeGeneratorOptionsException(f'The code generator option "{key}" does not exist.')
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(max(limit, 10000))  # as NESTML's command line does: deep generated expressions
    branch: _SynapseBranch | None = None
    try:
        # frontend.transform_models(), with the twins dropped right after pairing (before ODE analysis)
        metadata: dict[str, dict[str, Any]] = {}
        transformed: list[Any] = list(models)
        remaining = list(transformers)
        while remaining:
            transformer = remaining.pop(0)
            transformed = list(transformer.transform(transformed, metadata))
            if paired_only and isinstance(transformer, SynapsePostNeuronTransformer):
                paired = {pair["neuron"] + SUFFIX for pair in codegen_opts["neuron_synapse_pairs"]}
                transformed = [m for m in transformed if m.get_name() not in paired]
                if os.environ.get("JITNEST_NESTML_SPLIT", "1") != "0":
                    branch = _SynapseBranch.fork(transformed, remaining, code_generator, metadata,
                                                 file_of_artifact or {})
                    transformed = branch.models
        frontend.generate_code(code_generator, list(transformed), metadata)
        if branch is not None:
            branch.join(code_generator, metadata)
    finally:
        sys.setrecursionlimit(limit)
        if branch is not None:
            branch.discard()
    return branch.errors if branch is not None else []


class _SynapseBranch:
    """The synapses of a generation, analysed and rendered in a forked child while this process
    does the neurons (after pairing, NESTML treats each model on its own until the module files).

    The child writes into a directory of its own and reports NESTML's errors through a pipe;
    ``join`` moves its model files into the target directory and rewrites the module files for
    all models. It takes about the time of the neurons alone. For the STDP pair the files are
    byte-identical to generating everything in one process (tests/test_nestml_worker.py). In
    general the order of some declarations in a neuron can differ (NESTML orders them through sets
    of AST nodes, which hash by identity, so by allocation history), never what they compute; for
    given inputs the output is the same on every run.
    """

    def __init__(self, models: list[Any], synapses: list[Any], pid: int, reader: int, directory: str) -> None:
        self.models, self.synapses = models, synapses
        self._pid, self._reader, self._directory = pid, reader, directory
        self.errors: list[dict[str, Any]] = []

    @classmethod
    def fork(cls, models: list[Any], transformers: list[Any], code_generator: Any,
             metadata: dict[str, dict[str, Any]], file_of_artifact: dict[str, str]) -> _SynapseBranch:
        """Fork; the child runs ``transformers`` and the code generator on the synapses of
        ``models``; the parent goes on with the returned branch's ``models`` (the neurons)."""
        from pynestml.codegeneration.code_generator_utils import CodeGeneratorUtils
        from pynestml.frontend.frontend_configuration import FrontendConfiguration

        neurons, synapses = CodeGeneratorUtils.get_model_types_from_names(
            models, synapse_models=code_generator.get_option("synapse_models"))
        directory = os.path.join(FrontendConfiguration.get_target_path(), ".synapses")
        os.makedirs(directory)
        reader, writer = os.pipe()
        sys.stdout.flush()
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:  # the child never returns from here
            os.close(reader)
            cls._generate_in_child(synapses, transformers, code_generator, metadata, directory, writer,
                                   file_of_artifact)
        os.close(writer)
        _set_continuous_post_ports(synapses, metadata)  # NESTML sets them on the neurons from the synapses
        return cls(neurons, synapses, pid, reader, directory)

    @staticmethod
    def _generate_in_child(synapses: list[Any], transformers: list[Any], code_generator: Any,
                           metadata: dict[str, dict[str, Any]], directory: str, writer: int,
                           file_of_artifact: dict[str, str]) -> None:
        status = 1
        try:
            from pynestml.frontend import pynestml_frontend as frontend
            from pynestml.frontend.frontend_configuration import FrontendConfiguration
            from pynestml.utils.logger import Logger

            FrontendConfiguration.target_path = directory
            first = Logger.curr_message or 0
            crash = None
            try:
                for transformer in transformers:
                    synapses = list(transformer.transform(synapses, metadata))
                frontend.generate_code(code_generator, synapses, metadata)
            except (Exception, SystemExit) as exc:  # noqa: BLE001 -- reported to the parent
                crash = exc
            errors = _logged_errors(first, file_of_artifact, None)
            if crash is not None and not errors:
                errors.append(_exception_error(None, crash))
            with os.fdopen(writer, "w") as pipe:
                json.dump(errors, pipe)
            status = 0
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(status)

    def join(self, code_generator: Any, metadata: dict[str, dict[str, Any]]) -> None:
        """Wait for the child; take over its files and errors; write the module files for all models."""
        from pynestml.frontend.frontend_configuration import FrontendConfiguration

        with os.fdopen(self._reader) as pipe:
            answer = pipe.read()
        self._reader = -1
        _, status = os.waitpid(self._pid, 0)
        self._pid = 0
        if status != 0 or not answer:
            raise RuntimeError(f"the process generating the synapses died (wait status {status})")
        self.errors = json.loads(answer)
        if self.errors:
            return
        target = FrontendConfiguration.get_target_path()
        module_files = set(os.listdir(target))
        for name in os.listdir(self._directory):
            if name not in module_files:
                os.replace(os.path.join(self._directory, name), os.path.join(target, name))
        code_generator.generate_module_code(self.models, self.synapses, metadata)

    def discard(self) -> None:
        if self._reader >= 0:
            os.close(self._reader)
            self._reader = -1
        if self._pid:
            os.kill(self._pid, signal.SIGKILL)
            os.waitpid(self._pid, 0)
            self._pid = 0
        shutil.rmtree(self._directory, ignore_errors=True)


def _set_continuous_post_ports(synapses: list[Any], metadata: dict[str, dict[str, Any]]) -> None:
    """What NESTCodeGenerator.generate_code does for each synapse before rendering its neuron."""
    from pynestml.frontend.frontend_configuration import FrontendConfiguration
    from pynestml.utils.ast_utils import ASTUtils

    pairs = FrontendConfiguration.get_codegen_opts().get("neuron_synapse_pairs")
    for synapse in synapses:
        if pairs is not None and "paired_neuron" in metadata[synapse.name]:
            neuron = metadata[synapse.name]["paired_neuron"]
            ports = ASTUtils.get_post_ports_of_neuron_synapse_pair(neuron, synapse, pairs)
            metadata[neuron.name]["continuous_post_ports"] = [p for p in ports if isinstance(p, (tuple, list))]


def _write_log(target_dir: str) -> str:
    """Write NESTML's message log into ``target_dir`` as JSON; return the file's name.

    Same content as NESTML's ``--store_log`` file (which goes to ``<target>/../report/``), but
    written with ``json``: NESTML's ``Logger.get_json_format`` builds JSON by string concatenation
    and fails on messages that contain quotes.
    """
    from pynestml.utils.logger import Logger

    entries = []
    for index in sorted(Logger.get_log()):
        artifact, node, level, code, position, message = Logger.get_log()[index]
        entries.append({
            "filename": artifact,
            "nodeName": node.get_name() if node is not None and hasattr(node, "get_name") else "GLOBAL",
            "severity": level.name,
            "code": getattr(code, "name", None),
            "row": position.get_start_line() if position is not None else None,
            "col": position.get_start_column() if position is not None else None,
            "message": str(message),
        })
    name = "nestml_log.json"
    with open(os.path.join(target_dir, name), "w", encoding="utf-8") as f:
        json.dump(entries, f, indent=1)
        f.write("\n")
    return name


_TIMESTAMP = re.compile(r"(Generated from NESTML[^\n]*?) at time: [^\n]*")


def _neutralise_timestamps(target_dir: str) -> list[str]:
    """Drop the generation time from every text file in ``target_dir``; return all file names.

    NESTML writes "Generated from NESTML 9.0.0 at time: <now>" into each file; without it, output
    with ``PYTHONHASHSEED=0`` is byte-identical between runs.
    """
    names = []
    for root, _, filenames in os.walk(target_dir):
        for filename in filenames:
            path = os.path.join(root, filename)
            names.append(os.path.relpath(path, target_dir))
            try:
                with open(path, encoding="utf-8") as f:
                    text = f.read()
            except UnicodeDecodeError:
                continue
            cleaned = _TIMESTAMP.sub(r"\1", text)
            if cleaned != text:
                with open(path, "w", encoding="utf-8") as f:
                    f.write(cleaned)
    return sorted(names)


_NEURON_REGISTRATION = re.compile(r"^\s*(register_(\w+)\(\s*\"([^\"]+)\"\s*\);)", re.M)
_SYNAPSE_REGISTRATION = re.compile(r"^\s*(nest::(\w+)::register_\w+\(\s*\"([^\"]+)\"\s*\);)", re.M)


def _generated_models(target_dir: str, module_name: str) -> list[dict[str, Any]]:
    """Describe each model registered by NESTML's generated ``<module_name>.cpp``."""
    with open(os.path.join(target_dir, module_name + ".cpp"), encoding="utf-8") as f:
        module_source = f.read()
    models = []
    for kind, pattern in (("neuron", _NEURON_REGISTRATION), ("synapse", _SYNAPSE_REGISTRATION)):
        for match in pattern.finditer(module_source):
            call, name = match.group(1), match.group(3)
            source = name + ".cpp" if os.path.isfile(os.path.join(target_dir, name + ".cpp")) else None
            models.append({
                "name": name,
                "kind": kind,
                "source_model": _source_model_name(name),
                "paired": "__with_" in name,
                "header": name + ".h",
                "source": source,
                "register_call": call,
                "recordables": _generated_recordables(target_dir, source) if kind == "neuron" else [],
            })
    return models


def _source_model_name(generated: str) -> str:
    """``stdp_synapse_nestml__with_iaf_psc_exp_neuron_nestml`` -> ``stdp_synapse``."""
    base = generated.split("__with_")[0]
    return base[: -len(SUFFIX)] if base.endswith(SUFFIX) else base


_RECORDABLE_INSERT = re.compile(r"insert_\(\s*\w+::_(\w+)\s*,|insert\(\s*\"([^\"]+)\"")


def _generated_recordables(target_dir: str, source: str | None) -> list[str]:
    """Recordable names inserted into the RecordablesMap in the generated neuron source.

    Vector state variables are inserted at run time (``X_<i>``) and are not listed here.
    """
    if source is None:
        return []
    with open(os.path.join(target_dir, source), encoding="utf-8") as f:
        text = f.read()
    return [m.group(1) or m.group(2) for m in _RECORDABLE_INSERT.finditer(text)]


if __name__ == "__main__":
    sys.exit(main())
