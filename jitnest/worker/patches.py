"""Changes the worker makes to NESTML (and to ANTLR and Jinja2 as NESTML uses them) in its own process.

Each function applies one change at most once per process (a marker attribute on the replaced
function says it is applied); :func:`.validation._configure_nestml` applies all of them before
NESTML runs. Two are speed-ups that must not change any output (the compiled-template cache, the
lexer start-state cache); one records syntax errors for the error responses
(:data:`_SYNTAX_ERRORS`, read by :mod:`.validation`). The module imports NESTML and its libraries
only inside these functions.
"""

from __future__ import annotations

import os
from typing import Any

from ..config import settings

_SYNTAX_ERRORS: list[dict[str, Any]] = []
"""Syntax errors reported by ANTLR while parsing the current file (see :func:`_install_syntax_error_hook`)."""


def _keep_compiled_templates() -> None:
    """Give every Jinja2 environment NESTML creates a bytecode cache in ``$JITNEST_TEMPLATE_CACHE``.

    NESTML compiles its templates anew in every process (~0.4 s of a pair's generation). Jinja2's
    own file cache keys each template by name, file and a checksum of its source, and writes
    atomically; the directory is per Jinja2 version.
    """
    import jinja2

    directory = settings().template_cache
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
