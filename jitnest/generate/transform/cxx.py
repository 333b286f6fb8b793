"""Small, strict readers of the C++ that NESTML generates (no C++ parser: exact patterns only).

Every helper answers ``None`` (or raises nothing and matches nothing) when the text is not of the
expected form, so that a transformation built on them leaves code it does not recognise alone.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass

# Functions an expression may call and still be a pure function of its operands. NESTML renders
# its mathematical functions with these names (``std::exp``, ``pow``, ...).
PURE_FUNCTIONS = frozenset({"exp", "expm1", "log", "log10", "log1p", "pow", "sqrt", "cbrt", "sin", "cos", "tan",
                            "sinh", "cosh", "tanh", "asin", "acos", "atan", "atan2", "fabs", "abs", "floor",
                            "ceil", "min", "max", "erf", "erfc", "tgamma", "lgamma", "hypot"})
# NEST's mathematical constants (libnestutil/numerics.h: ``const double``), which NESTML writes for e and pi.
NEST_CONSTANTS = frozenset({"numerics::e", "numerics::pi"})
# A compile-time test of the NEST a module is compiled against, for code that replicates a part of NEST
# 3.10.0 and falls back to NEST's own elsewhere (the generated code does not say which NEST it will be
# compiled against). The include guard lets several transformations and neurons of one module emit it.
IS_NEST_3_10_0 = """#ifndef JITNEST_IS_NEST_3_10_0
#define JITNEST_IS_NEST_3_10_0
constexpr bool
jitnest_is_nest_3_10_0( const char* version, const char* expected = "3.10.0" )
{
  return *version == *expected and ( *version == '\\0' or jitnest_is_nest_3_10_0( version + 1, expected + 1 ) );
}
#endif
"""
_NUMBER = r"(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?"
_TOKEN = re.compile(rf"\s+|(?P<member>\b[PSV]_\.\w+)|(?P<call>\b(?:std::)?(?P<function>\w+)\s*(?=\())"
                    rf"|(?P<number>{_NUMBER})|(?P<name>\b[A-Za-z_]\w*(?:::\w+)*)|(?P<operator>[-+*/(),])")


def matching_brace(text: str, opening: int) -> int | None:
    """Index of the ``}`` that closes the ``{`` at ``opening`` (ignoring braces in comments and
    string literals, which NESTML's debug output has); None if unbalanced."""
    if text[opening] != "{":
        return None
    depth = 0
    pattern = re.compile(r'//[^\n]*|/\*.*?\*/|"(?:\\.|[^"\\\n])*"|\'(?:\\.|[^\'\\\n])*\'|[{}]', re.S)
    for match in pattern.finditer(text, opening):
        token = match.group()
        if token == "{":
            depth += 1
        elif token == "}":
            depth -= 1
            if depth == 0:
                return match.start()
    return None


class Unrecognised(Exception):
    """The code is not of the form a transformation guards for (it then leaves the code alone)."""


@dataclass(frozen=True)
class Function:
    """A function definition found in a text: its header and its body (without the braces)."""

    start: int  # index of the first character of the definition
    body_start: int  # index just after ``{``
    body_end: int  # index of the closing ``}``

    def body(self, text: str) -> str:
        return text[self.body_start:self.body_end]


def find_functions(text: str, header_pattern: str) -> list[Function]:
    """Definitions whose header (up to and including ``{``) matches ``header_pattern``."""
    found = []
    for match in re.finditer(header_pattern + r"\s*\{", text):
        opening = match.end() - 1
        closing = matching_brace(text, opening)
        if closing is not None:
            found.append(Function(match.start(), opening + 1, closing))
    return found


def only_function(text: str, header_pattern: str) -> Function:
    """The one definition in ``text`` whose header matches ``header_pattern``; ``Unrecognised`` if
    there is none or more than one."""
    functions = find_functions(text, header_pattern)
    if len(functions) != 1:
        raise Unrecognised(header_pattern)
    return functions[0]


_LAG_LOOP = re.compile(r"for\s*\(\s*long lag = from\s*;\s*lag < to\s*;\s*\+\+lag\s*\)\s*\{")


@dataclass(frozen=True)
class StepLoop:
    """A neuron's ``update()`` and the one ``for ( long lag = from ; lag < to ; ++lag )`` loop directly
    in its body, NESTML's loop over the steps of a slice."""

    update: Function
    start: int  # index of ``for``
    body_start: int  # index just after the loop's ``{``
    body_end: int  # index of the loop's closing ``}``


def step_loop(code: str, cls: str) -> StepLoop:
    """The step loop of ``cls::update(nest::Time const & origin, const long from, const long to)`` in
    ``code`` (comments and strings blanked, see ``code_only``); ``Unrecognised`` unless there is one
    such definition with one such loop, not nested in another statement."""
    update = only_function(code, rf"\bvoid\s+{re.escape(cls)}::update\(\s*nest::Time const\s*&\s*origin\s*,"
                                 r"\s*const long from\s*,\s*const long to\s*\)")
    loops = list(_LAG_LOOP.finditer(code, update.body_start, update.body_end))
    if len(loops) != 1:
        raise Unrecognised("lag loop")
    loop = loops[0]
    before = code[update.body_start:loop.start()]
    if before.count("{") != before.count("}") or before.rstrip()[-1:] not in ("", ";", "{", "}"):
        raise Unrecognised("the loop is nested")
    loop_end = matching_brace(code, loop.end() - 1)
    if loop_end is None:
        raise Unrecognised("lag loop")
    return StepLoop(update, loop.start(), loop.end(), loop_end)


def expression_operands(expression: str, allowed_names: frozenset[str] = frozenset()) -> set[str] | None:
    """The ``P_.x``/``S_.x``/``V_.x`` operands of an arithmetic expression, or None unless the
    expression is built only of those, numbers, ``allowed_names`` (names or qualified names, as
    ``NEST_CONSTANTS``), ``+ - * / ( ) ,`` and calls of ``PURE_FUNCTIONS``: then evaluating it has
    no side effect and reads nothing else."""
    operands: set[str] = set()
    position = 0
    while position < len(expression):
        match = _TOKEN.match(expression, position)
        if match is None:
            return None
        if match.group("member"):
            operands.add(match.group("member"))
        elif match.group("call"):
            if match.group("function") not in PURE_FUNCTIONS:
                return None
        elif match.group("name") and match.group("name") not in allowed_names:
            return None
        position = match.end()
    return operands


def code_only(text: str) -> str:
    """``text`` with comments and the contents of string and character literals blanked out
    (same length, same line breaks), so that searches find code only."""
    pattern = re.compile(r'//[^\n]*|/\*.*?\*/|"(?:\\.|[^"\\\n])*"|\'(?:\\.|[^\'\\\n])*\'', re.S)
    return pattern.sub(lambda m: re.sub(r"[^\n]", " ", m.group()), text)


def without_comments(line: str) -> str:
    """``line`` without a trailing ``// ...`` comment (NESTML writes none inside string literals
    on the lines this is used for), stripped."""
    return line.split("//", 1)[0].strip()


def neurons(files: dict[str, str], models: list[dict]) -> Iterator[tuple[dict, str, str]]:
    """``(model, source file name, header file name)`` of every neuron of ``models`` whose source
    and header are both in ``files`` (the neuron transformations rewrite these two)."""
    for model in models:
        if model["kind"] != "neuron" or not model.get("source"):
            continue
        if model["source"] in files and model["header"] in files:
            yield model, model["source"], model["header"]


def synapses(files: dict[str, str], models: list[dict]) -> Iterator[tuple[dict, str]]:
    """``(model, header file name)`` of every synapse of ``models`` whose header is in ``files`` (a
    NESTML synapse is all in its header, which the synapse transformations rewrite)."""
    for model in models:
        if model["kind"] == "synapse" and model["header"] in files:
            yield model, model["header"]


def rewrite_neuron_sources(files: dict[str, str], models: list[dict], rewrite: Callable[[str, str, str], str | None],
                           note: Callable[[str], str]) -> list[str]:
    """Replace the source of every neuron of ``models`` in ``files`` by ``rewrite(source, header, cls)``
    where that is not None (a guard failed: the source stays); returns ``"cls: " + note(new source)``
    per neuron changed. For the transformations that rewrite a neuron's source alone."""
    notes = []
    for model, source, header in neurons(files, models):
        rewritten = rewrite(files[source], files[header], model["name"])
        if rewritten is not None:
            files[source] = rewritten
            notes.append(f"{model['name']}: {note(rewritten)}")
    return notes
