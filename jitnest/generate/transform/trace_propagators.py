"""Transformation ``trace_propagators``: a paired neuron computes only the propagators it uses
when it advances a synapse's trace to a past or future time.

What NESTML 9 writes, in ``get_<trace>(t)`` (called from the synapse's ``send()`` for every
delivered spike) and in ``set_spiketime`` (every postsynaptic spike)::

    const double old___h = V_.__h;
    V_.__h = <h>;
    recompute_internal_variables(true);     // every internal of the neuron, ~30 exp()
    <integrate the trace with V_.__P__trace__trace>
    V_.__h = old___h;
    recompute_internal_variables(true);     // and all of them again, to restore them

What this transformation writes instead::

    const double __jitnest_h = <h>;
    const double __jitnest___P__trace__trace = std::exp((-__jitnest_h) / P_.tau_tr_post);  // NESTML's own expression
    <the same integration, reading the local>

Why this is exact (bit for bit): the local is NESTML's expression with the same operands, so it
has the value ``recompute_internal_variables(true)`` would store; the restoring call recomputes
the internals from the parameters and the restored step, which yields the values they had on
entry as long as, at every such scope, the internals are what ``recompute_internal_variables``
makes of the parameters and ``V_.__h``. The guards below establish that invariant from the code:

* ``recompute_internal_variables`` has NESTML's two branches, each a list of ``V_.x = <pure
  expression>;`` that reads only parameters, ``V_.__h`` and internals assigned before it, and the
  ``else`` branch is the ``if`` branch plus ``V_.__h = <resolution>``;
* internals are written nowhere else except the copy constructor (``V_.x = __n.V_.x``), their
  never-called setters, ``V_.__h = <resolution>;`` directly followed by a recomputation, and the
  scopes being transformed;
* parameters are written only in the copy constructor, their setters (called only by
  ``set_status``, which recomputes after them) and ``init_state_internal_`` (which recomputes
  after them);
* every scope has exactly the form above (optionally with ``assert(V_.__h > 0);`` or inside
  ``if (V_.__h > 1E-12) { ... }``), and its integration code only declares ``const double``
  temporaries and assigns state variables from pure expressions.

If any guard fails for a neuron, its code is left exactly as NESTML wrote it.

One divergence is kept on purpose: in ``set_spiketime`` NESTML leaves ``V_.__h`` changed (and
so the next restore recomputes with it) when a postsynaptic spike follows the previous one by
at most 1e-12 ms; the transformed code leaves ``V_.__h`` changed the same way but does not
recompute later. With grid-based spike times (every generated neuron this applies to: the guard
requires ``set_spiketime`` to be called only with ``origin + lag + 1`` steps and no offset)
consecutive spikes are at least one step apart and the first follows ``last_spike_ = -1 ms``,
so that branch is never taken.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from . import cxx

NAME = "trace_propagators"
DESCRIPTION = "paired neuron: trace getters and set_spiketime compute only the propagators they use"

_RESOLUTION = "nest::Time::get_resolution().get_ms()"
_ASSIGNMENT = re.compile(r"^V_\.(\w+)\s*=\s*(.+);$")
_PREFIX = "__jitnest_"
# One scope of a temporary step; groups: indent, h, cond (the set_spiketime form), assert, body.
_END = r"[ \t]*(?://[^\n]*)?\n"  # end of a line: blanks and a comment allowed
_SCOPE = re.compile(
    r"(?P<indent>[ \t]*)const double old___h = V_\.__h;" + _END
    + r"[ \t]*V_\.__h = (?P<h>[^;\n]+);" + _END
    + r"(?P<cond>[ \t]*if \(V_\.__h > 1E-12\)" + _END + r"[ \t]*\{" + _END + ")?"
    + r"(?P<assert>[ \t]*assert\(V_\.__h > 0\);" + _END + ")?"
    + r"[ \t]*recompute_internal_variables\(true\);" + _END
    + r"(?P<body>(?:(?![ \t]*V_\.__h = old___h;).*\n)*?)"
    + r"[ \t]*V_\.__h = old___h;" + _END
    + r"[ \t]*recompute_internal_variables\(true\);" + _END
    + r"(?(cond)[ \t]*\}" + _END + ")")
_BODY_LINE = re.compile(r"^(?:const double (?P<local>\w+)|S_\.\w+)\s*=\s*(?P<expression>.+);$")


@dataclass(frozen=True)
class Internals:
    """``recompute_internal_variables``'s assignments (the ``if (exclude_timestep)`` branch), in order."""

    assignments: tuple[tuple[str, str], ...]

    def expression(self, name: str) -> str | None:
        return next((e for n, e in self.assignments if n == name), None)


def _assignments(block: str) -> list[tuple[str, str]] | None:
    found = []
    for line in block.splitlines():
        code = cxx.without_comments(line)
        if not code:
            continue
        match = _ASSIGNMENT.match(code)
        if match is None:
            return None
        found.append((match.group(1), match.group(2).strip()))
    return found


def read_internals(text: str, cls: str) -> Internals | None:
    """The internals' definitions of ``cls``, if ``recompute_internal_variables`` is of the guarded form."""
    functions = cxx.find_functions(text, _recompute_header(cls))
    if len(functions) != 1:
        return None
    body = functions[0].body(text)
    match = re.fullmatch(r"\s*const double __timestep = nest::Time::get_resolution\(\)\.get_ms\(\);[^\n]*\n"
                         r"\s*if \(exclude_timestep\)\s*\{(?P<true>[^{}]*)\}\s*else\s*\{(?P<false>[^{}]*)\}\s*", body)
    if match is None:
        return None
    true_branch, false_branch = _assignments(match.group("true")), _assignments(match.group("false"))
    if not true_branch or false_branch is None or ("__h", _RESOLUTION) not in false_branch:
        return None
    step = false_branch.index(("__h", _RESOLUTION))
    if [a for a in false_branch if a != ("__h", _RESOLUTION)] != true_branch:
        return None
    assigned: set[str] = set()
    for position, (name, expression) in enumerate(true_branch):
        operands = cxx.expression_operands(expression)
        if operands is None or name == "__h" or name in assigned:
            return None
        for operand in operands:
            kind, member = operand.split(".")
            if kind == "S_" or (kind == "V_" and member != "__h" and member not in assigned):
                return None
            if kind == "V_" and member == "__h" and position < step:  # read before the else branch sets it
                return None
        assigned.add(name)
    return Internals(tuple(true_branch))


def _writes_are_guarded(source: str, header: str, cls: str, internals: Internals,
                        scopes: list[re.Match]) -> bool:
    """Internals and parameters are written only where the invariant holds (see the module doc)."""
    joined = source + "\n" + header
    names = {n for n, _ in internals.assignments} | {"__h"}
    for text in (source, header):
        for match in re.finditer(r"\bV_\.(\w+)\s*=(?!=)", text):
            name = match.group(1)
            if name not in names:
                continue
            line_start = text.rfind("\n", 0, match.start()) + 1
            line = text[line_start:text.find("\n", match.end())].strip()
            following = text[text.find("\n", match.end()) + 1:].lstrip()
            if re.fullmatch(rf"V_\.{name} = __n\.V_\.{name};", line):
                continue  # copy constructor
            if line == f"V_.{name} = __v;" and len(re.findall(rf"\bset_{name}\s*\(", joined)) == 1:
                continue  # setter, never called
            if name == "__h" and line.startswith(f"V_.__h = {_RESOLUTION};") and following.startswith(
                    "recompute_internal_variables();"):
                continue
            if _inside_recompute(text, cls, match.start()):
                continue
            if text is source and any(s.start() <= match.start() < s.end() for s in scopes):
                continue
            return False
    # Every temporary step and every partial recomputation belongs to a scope being transformed.
    if joined.count("old___h") != 2 * len(scopes) or joined.count("recompute_internal_variables(true)") != 2 * len(
            scopes):
        return False
    return _parameter_writes_are_guarded((source, header), cls, joined)


def _recompute_header(cls: str) -> str:
    return rf"\bvoid\s+{re.escape(cls)}::recompute_internal_variables\(\s*bool exclude_timestep\s*\)"


def _inside_recompute(text: str, cls: str, position: int) -> bool:
    return any(f.body_start <= position < f.body_end for f in cxx.find_functions(text, _recompute_header(cls)))


def _parameter_writes_are_guarded(texts: tuple[str, str], cls: str, joined: str) -> bool:
    for text in texts:
        init = cxx.find_functions(text, rf"\bvoid\s+{re.escape(cls)}::init_state_internal_\(\s*\)")
        for match in re.finditer(r"\bP_\.(\w+)\s*=(?!=)", text):
            name = match.group(1)
            line_start = text.rfind("\n", 0, match.start()) + 1
            line = text[line_start:text.find("\n", match.end())].strip()
            if re.fullmatch(rf"P_\.{name} = __n\.P_\.{name};", line):
                continue
            if line == f"P_.{name} = __v;" and _setter_called_only_in_set_status(joined, name):
                continue
            if any(f.body_start <= match.start() < f.body_end
                   and "recompute_internal_variables();" in text[match.end():f.body_end] for f in init):
                continue
            return False
    return True


def _setter_called_only_in_set_status(joined: str, name: str) -> bool:
    definitions = {m.start() + len("void ") for m in re.finditer(rf"\bvoid set_{name}\s*\(", joined)}
    set_status = cxx.find_functions(joined, r"\bvoid\s+\w+::set_status\(\s*const DictionaryDatum\s*&\s*__d\s*\)")
    for call in (m.start() for m in re.finditer(rf"\bset_{name}\s*\(", joined)):
        if call in definitions:
            continue
        recomputes_after = [f for f in set_status if f.body_start <= call < f.body_end and joined[
            call:f.body_end].rstrip().endswith("recompute_internal_variables();")]
        if not recomputes_after:
            return False
    return True


def _spiketime_calls_are_on_the_grid(joined: str, cls: str) -> bool:
    """Every mention of ``set_spiketime`` is its declaration, its definition, the base class's call
    inside it, or a call with the time step of an on-grid spike and no offset."""
    grid = re.compile(r"set_spiketime\(\s*nest::Time::step\(\s*origin\.get_steps\(\)\s*\+\s*lag\s*\+\s*1\s*\)\s*\);")
    allowed = (r"void set_spiketime\(\s*nest::Time const& t_sp, double offset = 0\.0\s*\);",
               rf"{re.escape(cls)}::set_spiketime\(\s*nest::Time const& t_sp, double offset\s*\)\s*\{{",
               r"ArchivingNode::set_spiketime\(\s*t_sp, offset\s*\);")
    on_grid = 0
    for match in re.finditer(r"(?:\w+::)?set_spiketime\b", joined):
        declared = joined[max(0, match.start() - 5):match.start()] == "void "
        start = match.start() - len("void ") if declared else match.start()
        if grid.match(joined, match.start()):
            on_grid += 1
        elif not any(re.compile(pattern).match(joined, start) for pattern in allowed):
            return False
    return on_grid >= 1


def _rewrite_scope(match: re.Match, internals: Internals) -> str | None:
    """The scope matched by ``_SCOPE`` computing only the internals its body reads; None if the
    body is not of the guarded form."""
    indent, body = match.group("indent"), match.group("body")
    locals_declared: set[str] = set()
    for line in body.splitlines():
        code = cxx.without_comments(line)
        if not code:
            continue
        statement = _BODY_LINE.match(code)
        if statement is None or "V_.__h" in code or "recompute" in code:
            return None
        if cxx.expression_operands(statement.group("expression"), frozenset(locals_declared)) is None:
            return None
        if statement.group("local"):
            locals_declared.add(statement.group("local"))
    read = set(re.findall(r"\bV_\.(\w+)", body)) & {n for n, _ in internals.assignments}
    needed = set(read)
    for name, expression in reversed(internals.assignments):  # the internals those read, and so on
        if name in needed:
            needed |= set(re.findall(r"\bV_\.(\w+)", expression)) - {"__h"}
    h = f"{_PREFIX}h"
    lines = [f"{indent}const double {h} = {match.group('h')};  // jitnest: only the propagators used here "
             "(see jitnest/generate/transform/trace_propagators.py)"]
    inner = indent
    if match.group("cond"):
        lines += [f"{indent}if ({h} > 1E-12)", f"{indent}{{"]
        inner = indent + "  "
    if match.group("assert"):
        lines.append(f"{inner}assert({h} > 0);")

    def localised(expression: str) -> str:
        expression = re.sub(r"\bV_\.__h\b", h, expression)
        return re.sub(r"\bV_\.(\w+)\b", lambda m: _PREFIX + m.group(1) if m.group(1) in needed else m.group(0),
                      expression)

    for name, expression in internals.assignments:
        if name in needed:
            lines.append(f"{inner}const double {_PREFIX}{name} = {localised(expression)};")
    new_body = re.sub(r"\bV_\.(\w+)\b", lambda m: _PREFIX + m.group(1) if m.group(1) in needed else m.group(0), body)
    text = "\n".join(lines) + "\n" + new_body
    if match.group("cond"):
        text += (f"{indent}}}\n{indent}else\n{indent}{{\n"
                 f"{indent}  V_.__h = {h};  // as NESTML's code leaves it (never reached on the grid)\n{indent}}}\n")
    return text


def apply(files: dict[str, str], models: list[dict], network: dict) -> list[str]:
    """Rewrite the scopes of every paired neuron in ``files`` (name -> text, changed in place)
    whose code passes the guards; returns one note per neuron changed."""
    del network  # this transformation depends on the generated code only
    notes = []
    for model in models:
        if model["kind"] != "neuron" or not model.get("paired") or not model.get("source"):
            continue
        cls, source, header = model["name"], model["source"], model["header"]
        text = files.get(source)
        if text is None or header not in files:
            continue
        internals = read_internals(text, cls)
        if internals is None:
            continue
        scopes = list(_SCOPE.finditer(text))
        if not scopes or not _writes_are_guarded(text, files[header], cls, internals, scopes):
            continue
        if not _spiketime_calls_are_on_the_grid(cxx.code_only(text + "\n" + files[header]), cls):
            continue
        rewritten = [_rewrite_scope(scope, internals) for scope in scopes]
        if any(r is None for r in rewritten):
            continue
        parts, last = [], 0
        for scope, replacement in zip(scopes, rewritten):
            parts += [text[last:scope.start()], replacement]
            last = scope.end()
        files[source] = "".join(parts) + text[last:]
        notes.append(f"{cls}: {len(scopes)} scopes compute only the propagators they read")
    return notes
