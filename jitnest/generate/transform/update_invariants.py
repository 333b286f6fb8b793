"""Transformation ``update_invariants``: a neuron's state update computes its loop-invariant terms
once per ``update()`` call instead of once per step.

What NESTML 9 writes, in ``update()``'s ``for ( long lag = from ; lag < to ; ++lag )`` loop (here
``iaf_psc_exp_neuron``'s membrane potential, evaluated every step)::

    const double V_m__tmp = (-P_.E_L) * V_.__P__V_m__V_m + P_.E_L + S_.I_syn_exc * V_.__P__V_m__I_syn_exc
        + ... - P_.I_e * V_.__P__V_m__V_m * P_.tau_m / P_.C_m + P_.I_e * P_.tau_m / P_.C_m - ...;

Parameters (``P_``) and internals (``V_``) do not change during ``update()``, but the compiler
cannot know it (the loop calls functions that could reach ``*this``), so it loads and multiplies
them again every step. What this transformation writes instead, directly before the loop::

    const double __jitnest_invariant_0 = (-P_.E_L) * V_.__P__V_m__V_m + P_.E_L;
    const double __jitnest_invariant_1 = P_.I_e * V_.__P__V_m__V_m * P_.tau_m / P_.C_m;
    const double __jitnest_invariant_2 = P_.I_e * P_.tau_m / P_.C_m;

and in the loop ``__jitnest_invariant_0 + S_.I_syn_exc * ... - __jitnest_invariant_1 +
__jitnest_invariant_2 - ...``. Likewise a parenthesised quotient anywhere in the loop, as NESTML
writes a kernel's spike update (``iaf_psc_alpha_neuron``)::

    S_.I_kernel_exc__X__exc_spikes__d += ((0.001 * B_.spike_inputs_grid_sum_[EXC_SPIKES - MIN_SPIKE_RECEPTOR]))
        * (numerics::e / P_.tau_syn_exc) / (0.001);

becomes ``... * __jitnest_invariant_4 / (0.001)``, one division per step less.

Why this is exact (bit for bit): C++ evaluates ``a + b - c + ...`` left to right, and ``*``/``/``
bind tighter, so a *term* between two top-level ``+``/``-`` is a complete operand and the
*leading prefix* of the sum (its first terms) is the left operand of the next ``+``/``-``.
Replacing a term, or the prefix, by a ``double`` holding the same expression (same operands, same
operations in the same order) gives the same value, and no floating-point sum is reordered. The
operands are the same values before the loop and in it because nothing writes them in between
(guards below). Evaluating the terms once more (before the loop, even in a call whose steps all
take another branch) has no effect: they are pure (members, numbers, ``cxx.PURE_FUNCTIONS``).
Where the compiler may contract a product and a sum into one fused multiply-add (GCC's default
``-ffp-contract=fast`` with a target that has FMA), hoisting must not change which product is
fused with which sum: so a hoisted single term (and a prefix of one term) must end with a
division, which is never fused; a prefix of two or more terms ends with its top-level ``+``/``-``,
which the following product fuses into in both forms alike, and inside it the operations are
NESTML's own. A parenthesised group is a complete operand wherever it stands; one is hoisted only if
it is a single term ending with a division (a quotient, never fused) and its ``(`` groups (it
follows an operator, ``=``, ``(`` or ``,``: not a call's, a cast's or a condition's parenthesis).
(``-ffast-math`` would reassociate NESTML's own code: not supported by any of these
transformations.)

Guards (else the neuron is left exactly as NESTML wrote it):

* ``update()`` has one ``for ( long lag = from ; lag < to ; ++lag )`` loop, directly in its body;
* the hoisted terms and prefixes are of right-hand sides of ``const double x = <expression>;`` in
  the loop; a hoisted term, prefix or group reads only ``P_``/``V_`` members, numbers, NEST's
  constants ``numerics::e``/``numerics::pi`` and pure functions;
* every write of one of those members (assignment, compound assignment, ``++``/``--``, taking its
  address, binding it to a reference, passing it alone to a function other than a pure one,
  returning it from a function that does not return ``double`` by value, any use of ``P_``/``V_``
  as a whole other than its declaration) is in a function
  definition of the neuron's code; a function is a *writer* if it writes one or calls a writer
  (by name: overloads count together), and writers are only the constructors,
  ``recompute_internal_variables``, ``init_state_internal_``, ``pre_run_hook``, ``calibrate``,
  ``init_buffers_``, ``set_status`` and the members' setters ``set_<member>`` (NEST calls these
  between simulation runs, never from a node's ``update()``): so a paired neuron whose trace
  scopes still call ``recompute_internal_variables(true)`` from ``set_spiketime`` (when
  ``trace_propagators`` did not apply) is left alone;
* the loop body (and the code before it in ``update()``) writes none of those members and names
  no writer, and no writer is taken by address (``&cls::f``, as the recordables map does for the
  logger that the loop calls);
* the members' names appear nowhere unqualified except their declaration ``double <name>;``
  (so no member function of the ``Parameters_``/``Variables_`` structs writes them);
* the code holds no name of this transformation already.
"""

from __future__ import annotations

import re

from . import cxx

NAME = "update_invariants"
DESCRIPTION = "neuron: loop-invariant terms of the state update computed once per update() call"

_LOCAL = "__jitnest_invariant_"
_NOTE = "// jitnest: loop-invariant terms (see jitnest/generate/transform/update_invariants.py)"
_KEYWORDS = frozenset({"if", "for", "while", "switch", "return", "sizeof", "catch", "static_cast",
                       "reinterpret_cast", "const_cast", "dynamic_cast", "decltype", "alignof", "typeid", "throw",
                       "new", "delete", "assert", "defined"})
_DEFINITION = re.compile(r"\b(?P<name>~?[A-Za-z_]\w*)\s*\([^()]*\)\s*(?:const\s*)?(?:override\s*)?"
                         r"(?:noexcept\s*)?(?::(?!:)[^{};]*)?\{")
_CALL = re.compile(r"\b([A-Za-z_]\w*)\s*\(")
_STATEMENT = re.compile(r"\bconst double (?P<target>\w+) = (?P<expression>[^;{}]+);")
_ALLOWED_WRITERS = frozenset({"recompute_internal_variables", "init_state_internal_", "pre_run_hook", "calibrate",
                              "calibrate_time",
                              "init_buffers_", "set_status"})
_DECLARATION = re.compile(r"\b(?:Parameters_|State_|Variables_|Buffers_)\s+[PSVB]_\s*;")


def _definitions(code: str) -> list[tuple[str, int, int]]:
    """``(name, body_start, body_end)`` of every function definition in ``code``."""
    found = []
    for match in _DEFINITION.finditer(code):
        if match.group("name") in _KEYWORDS:
            continue
        closing = cxx.matching_brace(code, match.end() - 1)
        if closing is None:
            raise cxx.Unrecognised(match.group())
        found.append((match.group("name"), match.start(), closing))  # the header too (initialiser lists)
    return found


def _enclosing(definitions: list[tuple[str, int, int]], position: int) -> str | None:
    inside = [(start, name) for name, start, end in definitions if start <= position < end]
    return max(inside)[1] if inside else None


def _writes(code: str, members: set[str]) -> list[int]:
    """Positions where ``code`` writes (or could write) one of ``members`` (``P_.x``/``V_.x``)."""
    positions = []
    for match in re.finditer(r"\b(?:P_|V_)\b", code):
        after = re.compile(r"\s*\.\s*(\w+)").match(code, match.end())
        if after is None:  # the struct as a whole
            if not _DECLARATION.match(code, code.rfind("\n", 0, match.start()) + 1) and not re.search(
                    r"\b(?:Parameters_|State_|Variables_|Buffers_)\s+$", code[:match.start()]):
                positions.append(match.start())
            continue
        qualified = f"{match.group()}.{after.group(1)}"
        if qualified not in members:
            continue
        rest = code[after.end():]
        before = code[:match.start()].rstrip()
        statement = before[max(before.rfind(";"), before.rfind("{"), before.rfind("}")) + 1:]
        if (re.match(r"\s*(?:[-+*/%&|^]|<<|>>)?=(?!=)", rest) or re.match(r"\s*(?:\+\+|--)", rest)
                or before.endswith(("++", "--", "&")) or re.search(r"&\s*\w+\s*[=({]", statement)
                or (before.endswith(("(", ",")) and re.match(r"\s*[,)]", rest) and not _pure_argument(before))
                or (re.search(r"\breturn$", before) and not _returns_a_double(code, match.start()))):
            positions.append(match.start())  # assigned, bound to a reference, passed or returned as an lvalue
    return positions


def _pure_argument(before: str) -> bool:
    """The call whose argument list ``before`` ends in is one of ``cxx.PURE_FUNCTIONS`` (by value)."""
    depth = 0
    for position in range(len(before) - 1, -1, -1):
        if before[position] == ")":
            depth += 1
        elif before[position] == "(":
            if depth == 0:
                callee = re.search(r"(?:std::)?(\w+)\s*$", before[:position])
                return callee is not None and callee.group(1) in cxx.PURE_FUNCTIONS
            depth -= 1
    return False


def _returns_a_double(code: str, position: int) -> bool:
    """The function around ``position`` returns ``double`` by value (its header's line says so)."""
    inside = [d for d in _definitions(code) if d[1] <= position < d[2]]
    if not inside:
        return False
    start = max(d[1] for d in inside)
    line = code[code.rfind("\n", 0, start) + 1:start]
    return re.fullmatch(r"\s*(?:inline\s+)?double\s+(?:\w+::)*", line) is not None


def _writers(texts: list[str], members: set[str], cls: str) -> set[str]:
    """The names of the functions that write ``members`` or call such a function (see the guards)."""
    calls: dict[str, set[str]] = {}
    writers: set[str] = set()
    for code in texts:
        definitions = _definitions(code)
        for name, start, end in definitions:
            calls.setdefault(name, set()).update(c for c in _CALL.findall(code, start, end) if c not in _KEYWORDS)
        for position in _writes(code, members):
            name = _enclosing(definitions, position)
            if name is None:
                raise cxx.Unrecognised(f"a write outside a function at {position}")
            writers.add(name)
    changed = True
    while changed:
        changed = False
        for name, called in calls.items():
            if name not in writers and called & writers:
                writers.add(name)
                changed = True
    bare = {m.split(".", 1)[1] for m in members}
    allowed = _ALLOWED_WRITERS | {cls, "Parameters_", "Variables_"} | {f"set_{m}" for m in bare}
    if not writers <= allowed:
        raise cxx.Unrecognised(f"written by {sorted(writers - allowed)}")
    return writers


def _terms(expression: str) -> list[tuple[int, int]]:
    """Spans of the top-level ``+``/``-`` terms of ``expression`` (the operator before a term is
    not part of it; a leading unary sign is)."""
    spans, depth, start, previous = [], 0, 0, ""
    position = 0
    number = re.compile(r"(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")
    while position < len(expression):
        char = expression[position]
        if char.isdigit() or (char == "." and expression[position + 1:position + 2].isdigit()):
            if not (previous.isalnum() or previous == "_"):
                match = number.match(expression, position)
                position, previous = match.end(), "0"
                continue
        if char in "([":
            depth += 1
        elif char in ")]":
            depth -= 1
            if depth < 0:
                raise cxx.Unrecognised(expression)
        elif char in "+-" and depth == 0 and (previous.isalnum() or previous in "_)]"):
            spans.append((start, position))
            start = position + 1
        if not char.isspace():
            previous = char
        position += 1
    if depth != 0:
        raise cxx.Unrecognised(expression)
    spans.append((start, len(expression)))
    return spans


def _ends_with_division(term: str) -> bool:
    depth, last = 0, None
    for char in term:
        if char in "([":
            depth += 1
        elif char in ")]":
            depth -= 1
        elif char in "*/" and depth == 0:
            last = char
    return last == "/"


def _invariant(term: str) -> set[str] | None:
    """The members a pure term of parameters, internals, numbers and NEST's constants reads; else None."""
    operands = cxx.expression_operands(term, cxx.NEST_CONSTANTS)
    if operands is None or any(not o.startswith(("P_.", "V_.")) for o in operands):
        return None
    return operands


def _hoisted(expression: str) -> list[tuple[int, int, set[str]]]:
    """Spans of ``expression`` to compute before the loop: its leading prefix of invariant terms,
    then each other invariant term that ends with a division (see the module doc)."""
    terms = _terms(expression)
    spans = []
    prefix = 0
    while prefix < len(terms) and _invariant(expression[slice(*terms[prefix])]) is not None:
        prefix += 1
    if prefix >= 2:
        start, end = terms[0][0], terms[prefix - 1][1]
        spans.append((start, end, _invariant(expression[start:end]) or set()))
    for index, (start, end) in enumerate(terms):
        if index < prefix and prefix >= 2:
            continue
        term = expression[start:end]
        operands = _invariant(term)
        if operands and _ends_with_division(term):
            spans.append((start, end, operands))
    return spans


def _groups(code: str, start: int, end: int, taken: list[tuple[int, int]]) -> list[tuple[int, int, set[str]]]:
    """Spans of the outermost parenthesised groups in ``code[start:end]`` (outside ``taken``) to
    compute before the loop: invariant, one term ending with a division, and grouping (the ``(``
    follows an operator, ``=``, ``(`` or ``,``: not a call, cast, condition or stream)."""
    found: list[tuple[int, int, set[str]]] = []
    position = start
    while position < end:
        opening = code.find("(", position, end)
        if opening < 0:
            break
        position = opening + 1
        if any(a <= opening < b for a, b in taken + [(a, b) for a, b, _ in found]):
            continue
        if code[:opening].rstrip()[-1:] not in tuple("=+-*/(,"):
            continue
        depth, closing = 0, None
        for index in range(opening, end):
            if code[index] == "(":
                depth += 1
            elif code[index] == ")":
                depth -= 1
                if depth == 0:
                    closing = index
                    break
            elif code[index] in ";{}" or (code[index] == "," and depth == 1):
                break  # not one expression
        if closing is None:
            continue
        inner = code[opening + 1:closing]
        operands = _invariant(inner)
        if operands and len(_terms(inner)) == 1 and _ends_with_division(inner):  # a quotient: never fused
            found.append((opening, closing + 1, operands))
    return found


def _rewrite(source: str, header: str, cls: str) -> tuple[str, int]:
    code = cxx.code_only(source)
    if re.search(rf"\b{_LOCAL}\w*", code):
        raise cxx.Unrecognised("already transformed")
    loop = cxx.step_loop(code, cls)
    loop_end = loop.body_end

    # The terms to hoist: (absolute start, end, text) with their operands.
    hoisted: list[tuple[int, int, str]] = []
    members: set[str] = set()
    for statement in _STATEMENT.finditer(code, loop.body_start, loop_end):
        offset = statement.start("expression")
        expression = statement.group("expression")
        for start, end, operands in _hoisted(expression):
            # trim blanks so the replacement keeps the spacing around the operator
            text = expression[start:end]
            start += len(text) - len(text.lstrip())
            end -= len(text) - len(text.rstrip())
            if not re.search(r"[*/+\-]", expression[start:end]):
                continue  # a lone member: nothing to gain
            hoisted.append((offset + start, offset + end, source[offset + start:offset + end]))
            members |= operands
    for start, end, operands in _groups(code, loop.body_start, loop_end, [(a, b) for a, b, _ in hoisted]):
        hoisted.append((start, end, source[start:end]))
        members |= operands
    if not hoisted:
        raise cxx.Unrecognised("nothing loop-invariant")

    # Nothing in the loop (or before it) can write the members.
    header_code = cxx.code_only(header)
    writers = _writers([code, header_code], members, cls)
    for name in {m.split(".", 1)[1] for m in members}:
        for text in (code, header_code):
            for mention in re.finditer(rf"(?<![\w.]){re.escape(name)}\b", text):
                if not re.match(rf"\s*double\s+{re.escape(name)}\s*;", text[text.rfind("\n", 0, mention.start()) + 1:]):
                    raise cxx.Unrecognised(f"unqualified {name}")
    scope = code[loop.update.body_start:loop_end]
    if _writes(scope, members):
        raise cxx.Unrecognised("written in update")
    if any(re.search(rf"\b{re.escape(w)}\b", scope) for w in writers):
        raise cxx.Unrecognised("a writer named in update")
    for text in (code, header_code):
        for pointer in re.finditer(r"&\s*(?:\w+::)*(\w+)\b(?!\s*\.)", text):
            if pointer.group(1) in writers:
                raise cxx.Unrecognised(f"writer {pointer.group(1)} taken by address")

    locals_: dict[str, str] = {}
    for _, _, text in hoisted:
        locals_.setdefault(text, f"{_LOCAL}{len(locals_)}")
    line_start = source.rfind("\n", 0, loop.start) + 1
    indent = source[line_start:loop.start]
    if indent.strip():
        raise cxx.Unrecognised("loop not on its own line")
    declarations = "".join(f"{indent}const double {name} = {text};{'  ' + _NOTE if i == 0 else ''}\n"
                           for i, (text, name) in enumerate(locals_.items()))
    result = source
    for start, end, text in sorted(hoisted, reverse=True):
        result = result[:start] + locals_[text] + result[end:]
    return result[:line_start] + declarations + result[line_start:], len(locals_)


def rewrite(source: str, header: str, cls: str) -> tuple[str, int] | None:
    """The neuron ``cls``'s source with its loop-invariant terms hoisted and how many, or None if a guard fails."""
    try:
        return _rewrite(source, header, cls)
    except cxx.Unrecognised:
        return None


def apply(files: dict[str, str], models: list[dict], network: dict) -> list[str]:
    """Hoist the loop-invariant terms of every neuron in ``files`` that passes the guards; one note per neuron."""
    del network  # depends on the generated code only
    notes = []
    for model, source, header in cxx.neurons(files, models):
        rewritten = rewrite(files[source], files[header], model["name"])
        if rewritten is not None:
            files[source], count = rewritten
            notes.append(f"{model['name']}: {count} loop-invariant terms computed once per update() call")
    return notes
