"""NESTML's front end in the worker: configuration, parsing, validation, and NESTML's errors as entries.

:func:`_configure_nestml` sets up NESTML's global state for the one run of this process (and
applies :mod:`.patches`); :func:`_parse_and_validate` parses every input file and runs NESTML's
context conditions (CoCos) on every model, collecting all errors of all files as error entries
(see :mod:`.messages`), sorted by file and position. :func:`_logged_errors` turns what NESTML
logged into error entries, also for code generation.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Sequence
from typing import Any

from .messages import _error, _exception_error
from .names import SUFFIX
from .patches import _SYNTAX_ERRORS, _cache_lexer_start_states, _install_syntax_error_hook, _keep_compiled_templates

_PARSE_ERROR_PREFIXES = ("Error occurred during parsing: ", "Error occurred during lexing: ")


def _configure_nestml(
    files: Sequence[str],
    target_dir: str,
    module_name: str | None = None,
    codegen_opts: dict[str, Any] | None = None,
    suffix: str = SUFFIX,
    optimise: bool = True,
) -> None:
    """Initialise NESTML's global configuration, logger and predefined symbols for one run.

    NESTML appends ``suffix`` to model names already while parsing; parse uses ``""`` so that models
    are described by their source names. Without ``optimise`` NESTML's lexer is left as it is
    (the start-state cache relies on the lexer's internals, see :mod:`.patches`).
    """
    from pynestml.frontend import pynestml_frontend as frontend

    _install_syntax_error_hook()
    _keep_compiled_templates()
    if optimise:
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
