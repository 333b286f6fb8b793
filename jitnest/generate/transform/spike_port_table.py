"""Transformation ``spike_port_table``: a neuron's ``handle(SpikeEvent&)`` reads its constant
port table at compile time instead of from a heap vector per spike.

What NESTML 9 writes: a static table from receptor port to NESTML's input port for positive and
for negative weights, filled once at load time and read for every delivered spike::

    std::vector< std::tuple< int, int > > cls::rport_to_nestml_buffer_idx =
    {
      { cls::EXC_SPIKES, cls::INH_SPIKES },
    };
    ...
    nestml_buffer_idx = std::get<0>(rport_to_nestml_buffer_idx[e.get_rport()]);   // and std::get<1>

What this transformation writes instead, for a table of one row: the row's entry itself,
``static_cast< int >( cls::EXC_SPIKES )``, a compile-time constant (the compiler then also
resolves NESTML's ``nestml_buffer_idx != PORT_NOT_AVAILABLE`` check). The table stays defined.

Why this is exact: the table is never written (every mention of it is its declaration, its
definition or such a read), so each read yields the value its initialiser put there: the entry,
converted to ``int`` (which ``static_cast< int >`` does). The row read is row 0: the table has one
row, so 0 is its only index in bounds, and it is the index of every spike the neuron receives:
``handles_test_event(nest::SpikeEvent&, ...)`` refuses every receptor type but 0 and returns 0, the
port that NEST stores in the connection and gives the event.

Guards (else the neuron is left exactly as NESTML wrote it): the header declares the table once as
``static std::vector< std::tuple< int, int > > rport_to_nestml_buffer_idx;``; the source defines it
once with one row of two ``cls::NAME`` entries; every other mention is
``std::get<0|1>(rport_to_nestml_buffer_idx[e.get_rport()])`` in ``handle(nest::SpikeEvent&)``;
``handles_test_event(nest::SpikeEvent&, nest_port_t receptor_type)`` is NESTML's: it throws for
``receptor_type != 0`` and otherwise returns 0.
"""

from __future__ import annotations

import re

from . import cxx

NAME = "spike_port_table"
DESCRIPTION = "neuron: handle(SpikeEvent&) reads its one-row constant port table at compile time"

_TABLE = "rport_to_nestml_buffer_idx"
_NOTE = "  // jitnest: constant port table (see jitnest/generate/transform/spike_port_table.py)"
_READ = re.compile(rf"std::get<(?P<column>[01])>\({_TABLE}\[e\.get_rport\(\)\]\)")


def rewrite(source: str, header: str, cls: str) -> str | None:
    """The neuron ``cls``'s source with its port table read at compile time, or None if a guard fails."""
    name = re.escape(cls)
    code, header_code = cxx.code_only(source), cxx.code_only(header)
    declarations = re.findall(rf"\bstatic std::vector< std::tuple< int, int > > {_TABLE};", header_code)
    if len(declarations) != 1 or header_code.count(_TABLE) != 1:
        return None
    definition = list(re.finditer(
        rf"^std::vector< std::tuple< int, int > > {name}::{_TABLE} =\s*\{{\s*"
        rf"\{{\s*(?P<first>{name}::\w+)\s*,\s*(?P<second>{name}::\w+)\s*\}}\s*,?\s*\}};", code, re.M))
    if len(definition) != 1:
        return None
    entries = (definition[0].group("first"), definition[0].group("second"))
    handles = cxx.find_functions(code, rf"\bvoid\s+{name}::handle\(\s*nest::SpikeEvent\s*&\s*e\s*\)")
    tests = cxx.find_functions(header_code, rf"\binline nest_port_t {name}::handles_test_event\("
                                            r"\s*nest::SpikeEvent\s*&\s*,\s*nest_port_t receptor_type\s*\)")
    if len(handles) != 1 or len(tests) != 1:
        return None
    if not re.fullmatch(r"\s*if \(receptor_type != 0\)\s*\{\s*throw nest::UnknownReceptorType\(receptor_type, "
                        r"get_name\(\)\);\s*\}\s*return 0;\s*", tests[0].body(header_code)):
        return None
    handle = handles[0]
    reads = list(_READ.finditer(code, handle.body_start, handle.body_end))
    if not reads or code.count(_TABLE) != 1 + len(reads):
        return None  # mentioned (and so perhaps written) elsewhere; or already transformed (no reads)
    result = source
    for position, read in reversed(list(enumerate(reads))):
        entry = f"static_cast< int >( {entries[int(read.group('column'))]} )"
        line_end = result.find("\n", read.end())
        note = _NOTE if position == 0 else ""
        result = result[:read.start()] + entry + result[read.end():line_end] + note + result[line_end:]
    return result


def apply(files: dict[str, str], models: list[dict], network: dict) -> list[str]:
    """Resolve the port table of every neuron in ``files`` that passes the guards; one note per neuron."""
    del network  # depends on the generated code only
    return cxx.rewrite_neuron_sources(files, models, rewrite,
                                      lambda _: "handle(SpikeEvent&) reads its one-row port table at compile time")
