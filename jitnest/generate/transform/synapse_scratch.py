"""Transformation ``synapse_scratch``: a synapse's internals become locals of the function that
uses them, instead of members stored in every one of the network's synapses.

NESTML 9 stores a synapse's internals (``V_.__h``, the step, and propagators such as
``V_.__P__pre_trace__pre_trace``) in each connection object: 16 bytes of the STDP synapse's 128.
Yet they are scratch values: ``update_internal_state_`` sets ``V_.__h = timestep`` and calls
``recompute_internal_variables()`` before it reads any of them, and nothing else reads them (the
constructor, the copy constructor and ``set_status`` only write them; ``get_status`` does not
report them). This transformation removes the member and computes, in
``update_internal_state_``, exactly the internals that function reads, with NESTML's own
expressions (so the same values, bit for bit).

Guards (else the synapse is left as NESTML wrote it): ``Variables_`` holds only ``double``s;
``recompute_internal_variables()`` is a list of ``V_.x = <pure expression>;`` reading only
parameters, ``V_.__h`` and internals assigned before; every other mention of ``V_`` or of
``recompute_internal_variables`` in the code is one of: the member's declaration; the function's
declaration; ``V_.__h = <resolution>; recompute_internal_variables();``; a constructor's
``V_.x = <resolution or pure expression>;`` or ``V_.x = rhs.V_.x;``; and, once, in
``update_internal_state_``, ``V_.__h = timestep; assert(V_.__h > 0); recompute_internal_variables();``
followed only by reads of internals.
"""

from __future__ import annotations

import re

from . import cxx

NAME = "synapse_scratch"
DESCRIPTION = "synapse: internals (step, propagators) are locals of update_internal_state_, not per-synapse members"

_RESOLUTION = re.compile(r"(?:nest::)?Time::get_resolution\(\)\.get_ms\(\)")
_PREFIX = "__jitnest_"


def _internals(code: str, cls: str) -> tuple[list[tuple[str, str]], cxx.Function] | None:
    functions = cxx.find_functions(code, rf"\bvoid\s+{re.escape(cls)}<\s*targetidentifierT\s*>::"
                                         r"recompute_internal_variables\(\s*\)")
    if len(functions) != 1:
        return None
    assignments: list[tuple[str, str]] = []
    for line in functions[0].body(code).splitlines():
        line = line.strip()
        if not line or re.fullmatch(r"const double __timestep = " + _RESOLUTION.pattern + ";", line):
            continue
        match = re.fullmatch(r"V_\.(\w+)\s*=\s*(.+);", line)
        if match is None:
            return None
        name, expression = match.groups()
        operands = cxx.expression_operands(expression)
        assigned = {n for n, _ in assignments}
        if operands is None or name == "__h" or name in assigned:
            return None
        if any(o.startswith("S_.") or (o.startswith("V_.") and o != "V_.__h" and o[3:] not in assigned)
               for o in operands):
            return None
        assignments.append((name, expression))
    return (assignments, functions[0]) if assignments else None


def _rewrite(text: str, cls: str) -> str | None:
    """``text`` with the synapse's internals as locals, or None if a guard fails."""
    code = cxx.code_only(text)
    struct = list(re.finditer(r"struct Variables_\s*\{(?P<members>[^{}]*)\};", code))
    declaration = list(re.finditer(r"\n[ \t]*Variables_\s+V_;[^\n]*", code))
    if len(struct) != 1 or len(declaration) != 1:
        return None
    members = [m.strip() for m in struct[0].group("members").split(";") if m.strip()]
    if not all(re.fullmatch(r"double\s+\w+", m) for m in members):
        return None
    found = _internals(code, cls)
    if found is None:
        return None
    assignments, recompute = found
    update = cxx.find_functions(code, rf"{re.escape(cls)}<\s*targetidentifierT\s*>::update_internal_state_\("
                                      r"double t_start, double timestep, [^)]*\)")
    if len(update) != 1:
        return None
    body = update[0]
    step = list(re.finditer(r"V_\.__h = timestep;\s*assert\(V_\.__h > 0\);\s*recompute_internal_variables\(\);",
                            code[body.body_start:body.body_end]))
    if len(step) != 1:
        return None
    step_start, step_end = body.body_start + step[0].start(), body.body_start + step[0].end()

    edits: list[tuple[int, int, str]] = []  # (start, end, replacement) in text
    covered: list[tuple[int, int]] = [(declaration[0].start(), declaration[0].end()),
                                      (recompute.body_start, recompute.body_end), (step_start, step_end)]
    edits.append((declaration[0].start(), declaration[0].end(),
                  "\n  // (jitnest: no internals stored per synapse; update_internal_state_ computes them)"))
    edits.append((recompute.body_start, recompute.body_end,
                  "\n  // jitnest: the internals are locals of update_internal_state_\n"))
    for match in re.finditer(r"V_\.__h = " + _RESOLUTION.pattern + r";\s*recompute_internal_variables\(\);", code):
        covered.append((match.start(), match.end()))
        edits.append((match.start(), match.end(), ""))
    names = {n for n, _ in assignments} | {"__h"}
    for match in re.finditer(r"V_\.(\w+) = (?P<value>[^;\n]+);", code):
        if any(s <= match.start() < e for s, e in covered) or match.group(1) not in names:
            continue
        value = match.group("value").strip()
        copied = value == f"rhs.V_.{match.group(1)}"
        if not (copied or _RESOLUTION.fullmatch(value) or cxx.expression_operands(value) is not None):
            return None
        if not copied and "V_." in value.replace("V_.__h", ""):
            return None
        covered.append((match.start(), match.end()))
        edits.append((match.start(), match.end(), ""))
    reads = [m for m in re.finditer(r"\bV_\.(\w+)", code)
             if step_end <= m.start() < body.body_end and m.group(1) in names]
    for position in (m.start() for m in re.finditer(r"\bV_\b|\brecompute_internal_variables\s*\(", code)):
        if any(s <= position < e for s, e in covered) or any(m.start() == position for m in reads):
            continue
        if re.match(r"recompute_internal_variables\(\s*\)\s*;", code[position:]) and re.search(
                r"void\s+$", code[max(0, position - 10):position]):
            continue  # the declaration
        if position == recompute.start or code[position:].startswith("recompute_internal_variables()\n{"):
            continue
        if re.search(r"::\s*$", code[max(0, position - 4):position]):
            continue  # the definition's name
        return None
    if any(re.match(r"V_\.\w+\s*=(?!=)", code[m.start():]) for m in reads):
        return None
    needed = {m.group(1) for m in reads} - {"__h"}
    for name, expression in reversed(assignments):
        if name in needed:
            needed |= set(re.findall(r"\bV_\.(\w+)", expression)) - {"__h"}

    def localised(expression: str) -> str:
        expression = re.sub(r"\bV_\.__h\b", f"{_PREFIX}h", expression)
        return re.sub(r"\bV_\.(\w+)\b", lambda m: _PREFIX + m.group(1), expression)

    indent = re.search(r"[ \t]*$", text[:step_start]).group()
    lines = [f"const double {_PREFIX}h = timestep;  // jitnest: internals as locals "
             "(see jitnest/generate/transform/synapse_scratch.py)", f"{indent}assert({_PREFIX}h > 0);"]
    lines += [f"{indent}const double {_PREFIX}{n} = {localised(e)};" for n, e in assignments if n in needed]
    edits.append((step_start, step_end, "\n".join(lines)))
    for match in reads:
        edits.append((match.start(), match.end(), _PREFIX + match.group(1)))
    edits = [_whole_line(text, *edit) for edit in edits]
    edits.sort()
    if any(a[1] > b[0] for a, b in zip(edits, edits[1:])):
        return None  # overlapping: not the expected shape
    for start, end, replacement in reversed(edits):
        text = text[:start] + replacement + text[end:]
    return text


def _whole_line(text: str, start: int, end: int, replacement: str) -> tuple[int, int, str]:
    """A deletion that leaves only blanks and a comment on its line removes the line."""
    if replacement:
        return start, end, replacement
    line_start = text.rfind("\n", 0, start) + 1
    line_end = text.find("\n", end)
    line_end = len(text) if line_end < 0 else line_end
    if text[line_start:start].strip() == "" and cxx.without_comments(text[end:line_end]) == "":
        return line_start, min(line_end + 1, len(text)), ""
    return start, end, replacement


def apply(files: dict[str, str], models: list[dict], network: dict) -> list[str]:
    """Rewrite every synapse header in ``files`` that passes the guards; one note per synapse."""
    del network  # depends on the generated code only
    notes = []
    for model, header in cxx.synapses(files, models):
        rewritten = _rewrite(files[header], model["name"])
        if rewritten is not None:
            files[header] = rewritten
            notes.append(f"{model['name']}: internals computed in update_internal_state_, not stored")
    return notes
