"""Transformation ``spike_sign``: a neuron's ``handle(SpikeEvent&)`` picks the port of a spike by its
weight's sign without NESTML's port variable. Where the spike channels are marked it adds the weight as
it is and ``update()`` negates the negative port's sum once per step; where they are unmarked it adds
NESTML's value in one branch per port, the slot computed first.

What NESTML 9 writes (here as ``spike_port_table`` and ``input_buffer`` leave it), for a neuron with
an excitatory and an inhibitory spike port whose ``onReceive`` blocks ask whether a spike arrived (so
that ``input_buffer`` marked its spike channels and adds each value ``+ 0.0``)::

    double weight = e.get_weight();
    size_t nestml_buffer_idx = 0;
    if ( weight >= 0.0 )
    {
      nestml_buffer_idx = static_cast< int >( cls::EXC_SPIKES );
    }
    else
    {
      nestml_buffer_idx = static_cast< int >( cls::INH_SPIKES );
      if ( nestml_buffer_idx != cls::PORT_NOT_AVAILABLE )
      {
        weight = -weight;
      }
      else
      {
        nestml_buffer_idx = static_cast< int >( cls::EXC_SPIKES );
      }
    }
    B_.__jitnest_input_buffer_.add_value( <slot>, nestml_buffer_idx - MIN_SPIKE_RECEPTOR,
                                          ( weight * e.get_multiplicity() ) + 0.0 );

a branch and a negation per delivered spike. What this transformation writes instead, as NEST's
``iaf_psc_exp`` picks its channel::

    const double weight = e.get_weight();
    B_.__jitnest_input_buffer_.add_value( <slot>, ( weight >= 0.0 ? static_cast< int >( cls::EXC_SPIKES )
        : static_cast< int >( cls::INH_SPIKES ) ) - MIN_SPIKE_RECEPTOR, <the same value> );

so that the negative port's channel sums the weights times multiplicities unnegated; and in
``update()``, the loop that copies the spike channels into NESTML's sums negates that channel::

    B_.spike_inputs_grid_sum_[i] = i == INH_SPIKES - MIN_SPIKE_RECEPTOR ? 0.0 - __jitnest_input[i]
                                                                      : <input_buffer's sum( __jitnest_input[i] )>;

Measured (callgrind, ``iaf_psc_exp_neuron``): -1 instruction per excitatory spike, -3 per
inhibitory one, nothing per step: the compiler unrolls the loop over the ports, and ``0.0 - x``
costs what the marked channel's ``x + 0.0`` did (a separate statement after the loop cost ~3
instructions per step).

Unmarked channels (a neuron whose spikes only feed kernels, ``iaf_psc_alpha_neuron``; ``input_buffer``
adds ``weight * e.get_multiplicity()`` as it is) keep NESTML's negation: there the copy reads a
channel as it is, so negating it would cost an instruction per step that the branch it saves does
not repay (measured: +1.0 M instructions, 0.2 %, in the neuron-only benchmark, whose spikes are all
excitatory). Their ``handle`` is written instead as one addition per port, the slot computed first::

    const size_t __jitnest_spike_slot = <slot>;
    const double weight = e.get_weight();
    if ( weight >= 0.0 )
    {
      B_.__jitnest_input_buffer_.add_value( __jitnest_spike_slot, static_cast< int >( cls::EXC_SPIKES )
                                            - MIN_SPIKE_RECEPTOR, weight * e.get_multiplicity() );
    }
    else
    {
      B_.__jitnest_input_buffer_.add_value( __jitnest_spike_slot, static_cast< int >( cls::INH_SPIKES )
                                            - MIN_SPIKE_RECEPTOR, -weight * e.get_multiplicity() );
    }

the same port by the same test and the same value (``(-weight) * m``, NESTML's negated weight times
the multiplicity), computed from the same reads of the event and the kernel, none of which writes
anything. It changes only what GCC 12 makes of it: -2 instructions per spike (42 against NESTML's
44; NEST's ``iaf_psc_alpha`` 40), as the port index no longer lives in a register across the slot's
computation.

Why this is exact (bit for bit, NaN payloads and NaN signs aside, which IEEE 754 leaves unspecified
for arithmetic and the compiler does not keep either): the channel is chosen by the same condition,
and the positive port's values are unchanged. Let ``b = weight * m`` (``m``, the multiplicity, a
non-negative integer) for a spike of the negative port (``weight < 0``): NESTML adds ``(-weight) * m
= -b`` (IEEE multiplication is sign-symmetric), this code adds ``b + 0.0``: negative, -inf,
or 0.0 (``m = 0``). IEEE rounding is symmetric under negation, so a sum of
such values is the negation of the sum of their negations as long as no sum of nonzero terms cancels
to zero, which terms of one sign never do; zeros leave a nonzero sum unchanged. So where some spike
of the slot had a nonzero value, the channel holds ``-S`` for NESTML's sum ``S`` (nonzero), and
``0.0 - (-S) = S``. Where none had: NESTML's sum is 0.0; the channel holds -0.0 (no spike arrived:
the channel's mark) or 0.0 (spikes of value zero: ``-0.0 + 0.0``), and ``0.0 - -0.0``, ``0.0 - 0.0``
are both 0.0. The channel still holds -0.0 exactly when no spike arrived (no value added is -0.0,
and a sum is -0.0 only if both terms are), so NESTML's "spike received" tests (``input_buffer``'s
``received``) answer as before. Nothing else reads or writes the channel: its sum is written where
the copy loop wrote NESTML's, once per step.

Guards (else the neuron is left exactly as NESTML wrote it): ``handle(SpikeEvent&)``'s body is
exactly the code above (after ``spike_port_table`` and ``input_buffer``), the two ports are distinct
entries of the header's ``enum SynapseTypes`` with non-negative values and ``PORT_NOT_AVAILABLE`` is
-1 (so the negative port is available and the weight is negated). For marked channels (the value
added is ``( weight * e.get_multiplicity() ) + 0.0``) also: the buffer's other ``add_value`` calls write
continuous channels (``NUM_SPIKE_RECEPTORS + ...``); ``update()`` has ``input_buffer``'s copy loop
once, and reads the slot (``__jitnest_input``) only there, in spike-received tests and in the
continuous-input copy loop, and writes ``B_.spike_inputs_grid_sum_`` nowhere else.
"""

from __future__ import annotations

import re

from . import cxx, input_buffer

NAME = "spike_sign"
DESCRIPTION = ("neuron: handle(SpikeEvent&) picks the port by the weight's sign without negating it "
               "(marked channels), or adds to each port in its own branch (unmarked)")

_NOTE = "  // jitnest: the port by the weight's sign, not negated (see jitnest/generate/transform/spike_sign.py)"
_READ_NOTE = "  // jitnest: the negative port's channel holds its weights unnegated (see spike_sign.py)"
_MARKED_VALUE = "( weight * e.get_multiplicity() ) + 0.0"
_UNMARKED_VALUE = "weight * e.get_multiplicity()"
_SPIKE_SLOT = "__jitnest_spike_slot"
_UNMARKED_NOTE = "  // jitnest: one addition per port, the slot first (see jitnest/generate/transform/spike_sign.py)"
# input_buffer's output, for a marked buffer: its names and the buffer's type.
_BUFFER, _INPUT = re.escape(input_buffer.BUFFER), re.escape(input_buffer.INPUT)
_TYPE = re.escape(input_buffer.buffer_type(marked=True))
_SLOT = (r"nest::kernel\(\)\.event_delivery_manager\.get_modulo\( e\.get_rel_delivery_steps\( "
         r"nest::kernel\(\)\.simulation_manager\.get_slice_origin\(\) \) \)")
_COPY_LOOP = re.compile(
    r"for \(long i = 0; i < NUM_SPIKE_RECEPTORS; \+\+i\)\s*\{\s*B_\.spike_inputs_grid_sum_\[i\] = "
    rf"(?P<read>{_TYPE}::sum\( {_INPUT}\[i\] \));\s*\}}")
_SLOT_READS = (rf"{_TYPE}::received\( {_INPUT}\[\w+ - MIN_SPIKE_RECEPTOR\] \)",
               rf"B_\.continuous_inputs_grid_sum_\[i\] = {_INPUT}\[NUM_SPIKE_RECEPTORS \+ i\];",
               rf"const auto&? {_INPUT} = B_\.{_BUFFER}\.get_values_all_channels\( "
               rf"{re.escape(input_buffer.SLOT)} \);")


def _handle_pattern(cls: str) -> re.Pattern:
    name = re.escape(cls)
    port = r"nestml_buffer_idx = static_cast< int >\( {cls}::(?P<{group}>\w+) \);\s*"
    return re.compile(
        r"(?:\s*(?:#ifdef DEBUG\b[^#]*#endif\s*)?assert\(e\.get_delay_steps\(\) > 0\);\s*"
        r"assert\( e\.get_rport\(\) < static_cast< size_t >\( NUM_SPIKE_RECEPTORS \) \);\s*)"
        r"(?P<sign>double weight = e\.get_weight\(\);\s*size_t nestml_buffer_idx = 0;\s*"
        r"if \( weight >= 0\.0 \)\s*\{\s*" + port.format(cls=name, group="positive") + r"\}\s*"
        r"else\s*\{\s*" + port.format(cls=name, group="negative")
        + rf"if \( nestml_buffer_idx != {name}::PORT_NOT_AVAILABLE \)\s*\{{\s*weight = -weight;\s*\}}\s*"
        rf"else\s*\{{\s*nestml_buffer_idx = static_cast< int >\( {name}::(?P=positive) \);\s*\}}\s*\}}\s*)"
        rf"(?P<add>B_\.{_BUFFER}\.add_value\( (?P<slot>{_SLOT}), "
        r"(?P<index>nestml_buffer_idx - MIN_SPIKE_RECEPTOR), "
        rf"(?P<value>{re.escape(_MARKED_VALUE)}|{re.escape(_UNMARKED_VALUE)}) \);)\s*")


def _ports(header_code: str) -> dict[str, int]:
    """The spike ports of the header's ``enum SynapseTypes`` and their values."""
    enums = re.findall(r"\benum SynapseTypes\s*\{([^{}]*)\}", header_code)
    if len(enums) != 1 or len(re.findall(r"\bPORT_NOT_AVAILABLE\b", header_code)) != 1 or not re.search(
            r"\bstatic const nest_port_t PORT_NOT_AVAILABLE = -1;", header_code):
        raise cxx.Unrecognised("ports")
    entries = [entry.strip() for entry in enums[0].split(",") if entry.strip()]
    ports = {}
    for entry in entries:
        match = re.fullmatch(r"(\w+)\s*=\s*(\d+)", entry)
        if match is None:
            raise cxx.Unrecognised(entry)
        ports[match.group(1)] = int(match.group(2))
    return ports


def _rewrite(source: str, header: str, cls: str) -> str:
    code, header_code = cxx.code_only(source), cxx.code_only(header)
    name = re.escape(cls)
    handle = cxx.only_function(code, rf"\bvoid\s+{name}::handle\(\s*nest::SpikeEvent\s*&\s*e\s*\)")
    body = _handle_pattern(cls).fullmatch(code, handle.body_start, handle.body_end)
    if body is None:
        raise cxx.Unrecognised("handle(SpikeEvent&)")
    ports = _ports(header_code)
    positive, negative = body.group("positive"), body.group("negative")
    if positive not in ports or negative not in ports or ports[positive] == ports[negative]:
        raise cxx.Unrecognised("the two ports")
    if body.group("value") == _UNMARKED_VALUE:
        return _rewrite_unmarked(source, cls, body)
    adds = [m.start() for m in re.finditer(rf"\bB_\.{_BUFFER}\.add_value\(", code)]
    others = [a for a in adds if not handle.body_start <= a < handle.body_end]
    if len(adds) - len(others) != 1 or any(
            not re.match(rf"B_\.{_BUFFER}\.add_value\( [^,;]+, NUM_SPIKE_RECEPTORS \+ ", code[a:])
            for a in others):
        raise cxx.Unrecognised("another add to a spike channel")

    update = cxx.only_function(code, rf"\bvoid\s+{name}::update\(\s*nest::Time const\s*&\s*origin\s*,"
                                     r"\s*const long from\s*,\s*const long to\s*\)")
    loops = list(_COPY_LOOP.finditer(code, update.body_start, update.body_end))
    if len(loops) != 1 or len(re.findall(r"\bspike_inputs_grid_sum_\[[^\]]*\]\s*=(?!=)", code)) != 1:
        raise cxx.Unrecognised("the copy of the spike channels")
    reads = {m.start() for m in re.finditer(rf"\b{_INPUT}\b", code)}
    allowed = {loops[0].start() + m.start() for m in re.finditer(rf"\b{_INPUT}\b", loops[0].group())}
    for pattern in _SLOT_READS:
        for match in re.compile(pattern).finditer(code, update.body_start, update.body_end):
            allowed |= {match.start() + m.start() for m in re.finditer(rf"\b{_INPUT}\b", match.group())}
    if reads - allowed:
        raise cxx.Unrecognised("the slot read elsewhere")

    sign, index = body.span("sign"), body.span("index")
    indent = re.search(r"[ \t]*\Z", source[:sign[0]]).group()
    read = loops[0].span("read")
    edits = [(*sign, f"const double weight = e.get_weight();{_NOTE}\n{indent}"),
             (*index, f"( weight >= 0.0 ? static_cast< int >( {cls}::{positive} ) "
                      f": static_cast< int >( {cls}::{negative} ) ) - MIN_SPIKE_RECEPTOR"),
             (*read, f"i == {negative} - MIN_SPIKE_RECEPTOR ? 0.0 - {input_buffer.INPUT}[i] : {source[slice(*read)]}"),
             (source.index("\n", read[1]), source.index("\n", read[1]), _READ_NOTE)]
    for start, end, text in sorted(edits, reverse=True):
        source = source[:start] + text + source[end:]
    return source


def _rewrite_unmarked(source: str, cls: str, body: re.Match) -> str:
    """NESTML's ``handle`` on unmarked channels as one addition per port, the slot computed first
    (the channels get NESTML's values: nothing else changes)."""
    indent = re.search(r"[ \t]*\Z", source[:body.start("sign")]).group()
    add = (f"B_.{input_buffer.BUFFER}.add_value( {_SPIKE_SLOT}, "
           f"static_cast< int >( {cls}::{{port}} ) - MIN_SPIKE_RECEPTOR, ")
    lines = [f"const size_t {_SPIKE_SLOT} = {source[slice(*body.span('slot'))]};{_UNMARKED_NOTE}",
             "const double weight = e.get_weight();",
             "if ( weight >= 0.0 )", "{",
             "  " + add.format(port=body.group("positive")) + f"{_UNMARKED_VALUE} );", "}",
             "else", "{",
             "  " + add.format(port=body.group("negative")) + f"-{_UNMARKED_VALUE} );", "}"]
    line_end = source.index("\n", body.end("add"))  # the rest of the line is input_buffer's note
    return source[:body.start("sign")] + f"\n{indent}".join(lines) + source[line_end:]


def rewrite(source: str, header: str, cls: str) -> str | None:
    """The neuron ``cls``'s source with its spikes' sign handled as described, or None if a guard fails."""
    try:
        return _rewrite(source, header, cls)
    except cxx.Unrecognised:
        return None


def apply(files: dict[str, str], models: list[dict], network: dict) -> list[str]:
    """Rewrite the spike handler of every neuron in ``files`` that passes the guards; one note per neuron."""
    del network  # depends on the generated code only
    return cxx.rewrite_neuron_sources(files, models, rewrite, lambda source: "handle(SpikeEvent&) " + (
        "adds to each port in its own branch, the slot computed first" if _SPIKE_SLOT in source
        else "picks the port by the weight's sign, not negating it"))
