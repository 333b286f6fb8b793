"""Transformation ``input_buffer``: a neuron's inputs arrive in one multi-channel buffer instead
of a separately allocated ring buffer per input port and per "spike received" flag.

What NESTML 9 writes, in a neuron's ``Buffers_``::

    std::vector< nest::RingBuffer > spike_inputs_;          // NUM_SPIKE_RECEPTORS ring buffers
    std::vector< double > spike_inputs_grid_sum_;
    std::vector< nest::RingBuffer > spike_input_received_;  // NUM_SPIKE_RECEPTORS ring buffers
    std::vector< double > spike_input_received_grid_sum_;
    std::vector< nest::RingBuffer > continuous_inputs_;     // NUM_CONTINUOUS_INPUT_PORTS ring buffers
    std::vector< double > continuous_inputs_grid_sum_;

(for ``iaf_psc_exp_neuron``: five ring buffers, each its own heap block, and three heap vectors
per neuron). ``handle(SpikeEvent&)`` adds into two ring buffers, ``handle(CurrentEvent&)`` into
one; ``update()`` reads (and so zeroes) each spike port's two ring buffers at the start of a
step and each continuous port's at its end, into the ``*_grid_sum_`` vectors.

What this transformation writes instead, as NEST's hand-written ``iaf_psc_exp`` does: one
multi-channel buffer, ``jitnest_InputBuffer< NUM_SPIKE_RECEPTORS, true, NUM_SPIKE_RECEPTORS +
NUM_CONTINUOUS_INPUT_PORTS >`` (emitted into the header: NEST's ``MultiChannelInputBuffer`` whose
empty spike channels hold -0.0 when the second argument, "marked", is ``true``), with a channel
per spike port and per continuous port, and the three grid sums as ``std::array``s inside
``Buffers_``. The "spike received" flags get no channel:
a slot's spike channel still holds -0.0 if and only if no spike arrived there. ``handle`` adds
``value + 0.0`` into the channel at slot ``get_modulo(<the same relative delivery step>)`` (the
index ``RingBuffer::add_value`` uses) and no flag; ``update()`` reads the slot ``get_modulo(lag)``
(the index ``RingBuffer::get_value`` uses) where NESTML read the ring buffers: a spike port's sum as
``channel + 0.0``; NESTML's tests of a flag's sum (``if (B_.spike_input_received_grid_sum_[X])``)
ask the channel instead whether it is not -0.0 (the flags' sums are gone); and it empties the
whole slot after the step's last read, where NESTML read (and zeroed) the continuous ports. A spike thus
costs one addition instead of two, and a slot of ``iaf_psc_exp_neuron`` 24 bytes (as the
built-in's) instead of 40. A neuron that never tests a flag (one whose inputs only feed kernels,
as ``iaf_psc_alpha_neuron``) needs no mark: its buffer is ``jitnest_InputBuffer<
NUM_SPIKE_RECEPTORS, false, ... >``, whose spike channels start at 0.0, receive ``value`` and are
read as they are, as the ring buffers.

Why this is exact (bit for bit): every channel of a slot receives the same values in the same
order as NESTML's ring buffer at that index (an unmarked channel also from the same start, 0.0).
The marked spike channels start from -0.0 instead of 0.0
and receive ``v + 0.0`` instead of ``v``, which is ``v`` except that -0.0 becomes 0.0; an IEEE sum
is -0.0 only if both terms are, so after the first spike a channel is never -0.0, and it holds
NESTML's sum (0.0 + v = v + 0.0; adding 0.0 or -0.0 to a sum that is not -0.0 gives the same
double). So ``channel + 0.0`` is NESTML's sum (0.0 where no spike arrived), and "not -0.0" is
NESTML's flag sum being non-zero, which is all that NESTML's code asks of it (the guards check).
Each value is read at the same point of ``update()`` as before. The spike channels are emptied at
the end of the step instead of at its start: nothing adds to a neuron's buffer during its own
``update()`` (NEST delivers events between updates), and the step's spike values are not read again
after they were copied into the grid sums. Where a step may end between the two reads (by
``continue``, ``break``, ``return`` or ``throw``: a GSL neuron throws when its solver fails), the
step reads a copy of its slot and empties the spike channels at once, so that the slot is left as
NESTML leaves its ring buffers then: spike entries zeroed, continuous entries not. The buffer's life
cycle is NESTML's: sized and emptied in ``init_buffers_`` (``clear`` sizes it to min + max delay, as
the ring buffers that NESTML's ``pre_run_hook`` re-created after ``init_buffers_`` emptied the
vectors), the grid sums zero from construction and zeroed in ``init_buffers_``, and nothing done in
``pre_run_hook`` (NESTML's ``resize`` calls change nothing once the vectors have their size).
``clear`` also records the thread of the node (``get_thread()``, fixed when the node is created), in 4
bytes beside the slots' address, where ``slice_origin_cache``'s handlers read it without touching
another part of the node; the buffer is 16 bytes (the slots' address, their number and the thread)
where a ``std::vector`` took 24.
(Compiled without ``-ffast-math``, as NESTML's build does: the compiler may not drop ``+ 0.0``.)

Guards (else the neuron is left exactly as NESTML wrote it): each of the six members is declared
once in ``Buffers_`` with NESTML's type, after ``NUM_SPIKE_RECEPTORS`` and
``NUM_CONTINUOUS_INPUT_PORTS``, and initialised with its size in both ``Buffers_`` constructors;
``init_buffers_`` clears each one once; ``pre_run_hook`` resizes each one once to its size;
``update()`` has one ``for ( long lag = from ; lag < to ; ++lag )`` loop whose body holds, not
nested in a block or ``#if`` nor after an ``if``/``else``, NESTML's loop copying the spike ports
and, after it, the loop copying the continuous ports, with no ``goto`` between them;
``handle(SpikeEvent&)`` asserts the port against the buffer's size and adds into each spike ring
buffer once, the flag ``1.`` right after the value and at the same index,
``handle(CurrentEvent&)`` likewise into the continuous ones, each add at
``e.get_rel_delivery_steps( nest::kernel().simulation_manager.get_slice_origin() )`` with an
index expression without side effects; and every other mention of the six members or their
getters in the neuron's code is a subscript of a grid sum through ``B_`` (which a ``std::array``
serves as the vector did), for a flag's sum only as the whole condition of an ``if`` in the
step loop between the two reads, with a plain index.

(This module is longer than most: it carries the C++ of the buffer class it emits.)
"""

from __future__ import annotations

import re

from . import cxx

NAME = "input_buffer"
DESCRIPTION = "neuron: one multi-channel input buffer instead of a ring buffer per input port and flag"

# The names this transformation writes into the code (later transformations recognise its output by them).
BUFFER = "__jitnest_input_buffer_"
SLOT = "__jitnest_slot"
INPUT = "__jitnest_input"
# The ring buffers in channel order, with their number of channels and first channel.
# The "spike received" flags have no channel: an empty spike channel says it (see _CLASS).
_RINGS = {"spike_inputs": ("NUM_SPIKE_RECEPTORS", ""),
          "spike_input_received": ("NUM_SPIKE_RECEPTORS", None),
          "continuous_inputs": ("NUM_CONTINUOUS_INPUT_PORTS", "NUM_SPIKE_RECEPTORS + ")}
_CHANNELS = "NUM_SPIKE_RECEPTORS + NUM_CONTINUOUS_INPUT_PORTS"


def buffer_type(marked: bool) -> str:
    """The buffer's type: its spike channels marked (empty = -0.0) where NESTML tests a flag."""
    return f"jitnest_InputBuffer< NUM_SPIKE_RECEPTORS, {'true' if marked else 'false'}, {_CHANNELS} >"


# The flags, the flag NESTML adds per spike, and the only use of the flags' sums it makes: a condition.
_FLAGS = "spike_input_received"
_FLAG_VALUE = "1."
_FLAG_TEST = re.compile(r"\bif\s*\(\s*(?P<read>B_\.spike_input_received_grid_sum_\[(?P<index>[^\[\]\n]+)\])\s*\)")
# NEST's MultiChannelInputBuffer (nestkernel/ring_buffer.h), except that an empty spike channel holds
# -0.0. The include guard lets two neurons of one module both carry it.
_CLASS = """
#ifndef JITNEST_INPUT_BUFFER
#define JITNEST_INPUT_BUFFER
#include <algorithm>
#include <array>
#include <cstdint>
#include <cstring>
#include <memory>
#include <stdexcept>

// jitnest: nest::MultiChannelInputBuffer whose first num_spike_channels channels are spike channels. If
// marked (a neuron that asks whether a spike arrived), an empty spike channel holds -0.0, not 0.0: it
// still holds -0.0 if and only if no spike arrived there, which replaces a channel per "spike
// received" flag (jitnest/generate/transform/input_buffer.py).
template < size_t num_spike_channels, bool marked, size_t num_channels >
class jitnest_InputBuffer
{
public:
  void
  add_value( const size_t slot, const size_t channel, const double value )
  {
    buffer_[ slot ][ channel ] += value;
  }

  const std::array< double, num_channels >&
  get_values_all_channels( const size_t slot ) const
  {
    return buffer_[ slot ];
  }

  void
  reset_values_all_channels( const size_t slot )
  {
    // channel by channel: assigning empty_slot() made GCC 12 also store a dead copy of it on the stack
    std::array< double, num_channels >& values = buffer_[ slot ];
    for ( size_t channel = 0; channel < num_channels; ++channel )
    {
      values[ channel ] = channel < num_spike_channels ? empty_spike_channel : 0.0;
    }
  }

  //! Empty the slot's spike channels only (a step that may end before its last read empties them
  //! where NESTML read, and so zeroed, its spike ring buffers).
  void
  reset_spike_channels( const size_t slot )
  {
    std::fill( buffer_[ slot ].begin(), buffer_[ slot ].begin() + num_spike_channels, empty_spike_channel );
  }

  //! Size the buffer to min + max delay slots, empty it, and record the thread of the node that owns it.
  void
  clear( const size_t thread )
  {
    const nest::ConnectionManager& connections = nest::kernel().connection_manager;
    const size_t slots = connections.get_min_delay() + connections.get_max_delay();
    if ( slots > UINT32_MAX or thread > UINT32_MAX )
    {
      throw std::length_error( "jitnest_InputBuffer: more slots or threads than it counts" );
    }
    if ( slots != slots_ )
    {
      buffer_.reset( new std::array< double, num_channels >[ slots ] );
      slots_ = slots;
    }
    std::fill( buffer_.get(), buffer_.get() + slots_, empty_slot() );
    thread_ = thread;
  }

  //! The thread of the node that owns the buffer: beside the slots' address, in the part of the node
  //! that a handler reads anyway (see slice_origin_cache.py).
  size_t
  thread() const
  {
    return thread_;
  }

  //! A marked spike channel's sum as NESTML's ring buffer holds it (0.0 where no spike arrived).
  static double
  sum( const double channel )
  {
    return channel + 0.0;  // -0.0 + 0.0 is 0.0; every other value is unchanged
  }

  //! Whether a spike arrived in the marked spike channel: whether it is not -0.0 (compared as bits: one
  //! integer comparison).
  static bool
  received( const double channel )
  {
    std::uint64_t bits;
    std::memcpy( &bits, &channel, sizeof bits );
    return bits != 0x8000000000000000ULL;
  }

private:
  static std::array< double, num_channels >
  empty_slot()
  {
    std::array< double, num_channels > slot {};
    std::fill( slot.begin(), slot.begin() + num_spike_channels, empty_spike_channel );
    return slot;
  }

  static constexpr double empty_spike_channel = marked ? -0.0 : 0.0;

  // 16 bytes (a std::vector took 24): the slots, their number and the owner's thread.
  std::unique_ptr< std::array< double, num_channels >[] > buffer_;
  std::uint32_t slots_ = 0;
  std::uint32_t thread_ = 0;
};
#endif
"""
_MENTION = re.compile(r"\b(?:get_)?(?:spike_inputs|spike_input_received|continuous_inputs)_(?:grid_sum_)?(?!\w)")
_GRID_READ = re.compile(r"(?<=\bB_\.)(?:spike_inputs|spike_input_received|continuous_inputs)_grid_sum_(?=\s*\[)")
_OWN_NAMES = re.compile(rf"\b(?:{BUFFER}|{SLOT}|{INPUT}|MultiChannelInputBuffer|jitnest_InputBuffer)\b")
_NOTE = "// jitnest: one multi-channel input buffer (see jitnest/generate/transform/input_buffer.py)"
_OFFSET = r"e\.get_rel_delivery_steps\(\s*nest::kernel\(\)\.simulation_manager\.get_slice_origin\(\)\s*\)"
_SPIKE_LOOP = re.compile(
    r"for \(long i = 0; i < NUM_SPIKE_RECEPTORS; \+\+i\)\s*\{\s*"
    r"get_spike_inputs_grid_sum_\(\)\[i\] = get_spike_inputs_\(\)\[i\]\.get_value\(lag\);\s*"
    r"get_spike_input_received_grid_sum_\(\)\[i\] = get_spike_input_received_\(\)\[i\]\.get_value\(lag\);\s*\}")
_CONTINUOUS_LOOP = re.compile(
    r"for \(long i = 0; i < NUM_CONTINUOUS_INPUT_PORTS; \+\+i\)\s*\{\s*"
    r"get_continuous_inputs_grid_sum_\(\)\[i\] = get_continuous_inputs_\(\)\[i\]\.get_value\(lag\);\s*\}")
_PURE_INDEX = re.compile(r"[\w\s.+\-*()]+")


class _Edits:
    """Replacements of spans of one text, found in its ``code_only`` twin (same positions)."""

    def __init__(self, text: str) -> None:
        self.text, self.code = text, cxx.code_only(text)
        self.spans: list[tuple[int, int, str]] = []

    def one(self, pattern: str | re.Pattern, start: int = 0, end: int | None = None, count: int = 1) -> list[re.Match]:
        """The matches of ``pattern`` in ``code[start:end]``: exactly ``count`` of them, else the code is not ours."""
        end = len(self.code) if end is None else end
        found = list(re.compile(pattern).finditer(self.code, start, end))
        if len(found) != count:
            raise cxx.Unrecognised(str(pattern))
        return found

    def replace(self, match: re.Match, replacement: str) -> None:
        self.spans.append(_whole_line(self.text, match.start(), match.end(), replacement))

    def apply(self) -> str:
        spans = sorted(self.spans)
        if any(a[1] > b[0] for a, b in zip(spans, spans[1:])):
            raise cxx.Unrecognised("overlapping edits")
        text = self.text
        for start, end, replacement in reversed(spans):
            text = text[:start] + replacement + text[end:]
        return text

    def covers(self, position: int) -> bool:
        return any(start <= position < end for start, end, _ in self.spans)


def _whole_line(text: str, start: int, end: int, replacement: str) -> tuple[int, int, str]:
    """A deletion that leaves only blanks on its line removes the line (and the doc comment
    directly above a deleted getter)."""
    if replacement:
        return start, end, replacement
    line_start = text.rfind("\n", 0, start) + 1
    line_end = text.find("\n", end)
    line_end = len(text) if line_end < 0 else line_end
    if text[line_start:start].strip() or text[end:line_end].strip():
        return start, end, replacement
    doc = re.search(r"[ \t]*/\*\*[ \t]*\n(?:[ \t]*\*(?!\*/)[^\n]*\n)*[ \t]*\*\*/[ \t]*\n\Z", text[:line_start])
    if doc is not None and "inline" in text[start:end]:
        line_start = doc.start()
    return line_start, min(line_end + 1, len(text)), ""


def _header(header: str, marked: bool) -> str:
    edits = _Edits(header)
    struct = edits.one(r"\bstruct Buffers_\s*\{")[0]
    struct_end = cxx.matching_brace(edits.code, struct.end() - 1)
    if struct_end is None:
        raise cxx.Unrecognised("Buffers_")
    for constant in (r"static const size_t NUM_SPIKE_RECEPTORS\s*=", r"\bNUM_CONTINUOUS_INPUT_PORTS\s*=(?!=)"):
        if edits.one(constant)[0].start() > struct.start():
            raise cxx.Unrecognised(constant)
    includes = list(re.finditer(r'^#include "ring_buffer\.h"', header, re.M))  # a string literal: not in edits.code
    if len(includes) != 1:
        raise cxx.Unrecognised("ring_buffer.h")
    include = includes[0]
    edits.replace(include, '#include "ring_buffer.h"  ' + _NOTE + "\n" + _CLASS.strip("\n"))
    for ring, (size, _) in _RINGS.items():
        declaration = edits.one(rf"std::vector<\s*nest::RingBuffer\s*>\s+{ring}_\s*;", struct.end(), struct_end)[0]
        edits.replace(declaration, f"{buffer_type(marked)} {BUFFER};  {_NOTE}"
                      if ring == "spike_inputs" else "")
        grid = edits.one(rf"std::vector<\s*double\s*>\s+{ring}_grid_sum_\s*;", struct.end(), struct_end)[0]
        edits.replace(grid, "" if ring == _FLAGS else f"std::array< double, {size} > {ring}_grid_sum_;")
        for member, kind in ((f"{ring}_", r"nest::RingBuffer"), (f"{ring}_grid_sum_", "double")):
            getters = edits.one(rf"inline std::vector<\s*{kind}\s*>&\s*get_{member}\(\)\s*\{{\s*"
                                rf"return (?:{member}|B_\.get_{member}\(\));\s*\}}", count=2)
            for getter in getters:
                edits.replace(getter, "")
    _check_mentions(edits)
    return edits.apply()


def _source(source: str, cls: str) -> tuple[str, bool]:
    """The rewritten source, and whether its spike channels are marked (NESTML tests a flag)."""
    edits = _Edits(source)
    name = re.escape(cls)
    constructors = list(re.finditer(rf"\b{name}::Buffers_::Buffers_\([^)]*\)\s*:(?P<init>[^{{]*)\{{", edits.code))
    if len(constructors) != 2:
        raise cxx.Unrecognised("Buffers_ constructors")
    for constructor in constructors:
        start, end = constructor.span("init")
        for ring, (size, _) in _RINGS.items():
            entry = edits.one(rf",\s*{ring}_\(\s*std::vector<\s*nest::RingBuffer\s*>\(\s*{size}\s*\)\s*\)",
                              start, end)[0]
            edits.replace(entry, f", {BUFFER}()" if ring == "spike_inputs" else "")
            grid = edits.one(rf",\s*{ring}_grid_sum_\(\s*std::vector<\s*double\s*>\(\s*{size}\s*\)\s*\)",
                             start, end)[0]
            edits.replace(grid, "" if ring == _FLAGS else f", {ring}_grid_sum_()")

    init = cxx.only_function(edits.code, rf"\bvoid\s+{name}::init_buffers_\(\s*\)")
    pre_run = cxx.only_function(edits.code, rf"\bvoid\s+{name}::pre_run_hook\(\s*\)")
    for ring, (size, _) in _RINGS.items():
        clear = edits.one(rf"\bget_{ring}_\(\)\.clear\(\);", init.body_start, init.body_end)[0]
        edits.replace(clear, f"B_.{BUFFER}.clear( get_thread() );  {_NOTE}" if ring == "spike_inputs" else "")
        grid = edits.one(rf"\bget_{ring}_grid_sum_\(\)\.clear\(\);", init.body_start, init.body_end)[0]
        edits.replace(grid, "" if ring == _FLAGS else f"B_.{ring}_grid_sum_.fill( 0.0 );")
        for member in (f"{ring}_", f"{ring}_grid_sum_"):
            resize = edits.one(rf"\bB_\.{member}\.resize\(\s*{size}\s*\);", pre_run.body_start, pre_run.body_end)[0]
            edits.replace(resize, "")

    marked = _update(edits, cls)
    spike = cxx.only_function(edits.code, rf"\bvoid\s+{name}::handle\(\s*nest::SpikeEvent\s*&\s*e\s*\)")
    current = cxx.only_function(edits.code, rf"\bvoid\s+{name}::handle\(\s*nest::CurrentEvent\s*&\s*e\s*\)")
    for function, rings, bound in ((spike, ("spike_inputs", "spike_input_received"), "NUM_SPIKE_RECEPTORS"),
                                   (current, ("continuous_inputs",), "NUM_CONTINUOUS_INPUT_PORTS")):
        check = edits.one(rf"assert\(\s*e\.get_rport\(\) < B_\.{rings[0]}_\.size\(\)\s*\);",
                          function.body_start, function.body_end)[0]
        edits.replace(check, f"assert( e.get_rport() < static_cast< size_t >( {bound} ) );")
        adds = []
        for ring in rings:
            add = edits.one(rf"\bB_\.{ring}_\[(?P<index>[^\]\n]+)\]\.add_value\(\s*(?P<offset>{_OFFSET})\s*,"
                            r"\s*(?P<value>[^;]+?)\s*\);", function.body_start, function.body_end)[0]
            index = add.group("index").strip()
            calls = re.findall(r"([\w.]+)\s*\(", index)
            if not _PURE_INDEX.fullmatch(index) or "++" in index or "--" in index or any(
                    call != "e.get_rport" for call in calls):
                raise cxx.Unrecognised(index)  # evaluated once either way, but only plain arithmetic is ours
            if not re.fullmatch(r"[\w\s.*()]+", add.group("value")):
                raise cxx.Unrecognised(add.group("value"))
            first = _RINGS[ring][1]
            adds.append((add, f"{first}( {index} )" if first else index, add.group("value").strip()))
        if function is current:
            add, channel, value = adds[0]
            slot = f"nest::kernel().event_delivery_manager.get_modulo( {add.group('offset')} )"
            edits.replace(add, f"B_.{BUFFER}.add_value( {slot}, {channel}, {value} );")
            continue
        # A spike adds its value and, right after, the flag 1. at the same index: the flag has no
        # channel. In a marked channel (an empty one says it) the value is added with + 0.0, which
        # turns -0.0 into 0.0 and changes no other value: a sum that starts at -0.0 then stays -0.0
        # only while no spike arrived, and is the sum that NESTML's ring buffer, starting at 0.0, holds.
        # An unmarked channel starts at 0.0 and receives the values themselves, as the ring buffer.
        (value_add, channel, value), (flag_add, _, flag) = adds
        if (edits.code[value_add.end():flag_add.start()].strip() or flag != _FLAG_VALUE
                or value_add.group("index") != flag_add.group("index")):
            raise cxx.Unrecognised("spike value and flag")
        slot = f"nest::kernel().event_delivery_manager.get_modulo( {value_add.group('offset')} )"
        value = f"( {value} ) + 0.0" if marked else value
        edits.replace(value_add, f"B_.{BUFFER}.add_value( {slot}, {channel}, {value} );  {_NOTE}")
        edits.replace(flag_add, "")
    _check_mentions(edits)
    return edits.apply(), marked


def _update(edits: _Edits, cls: str) -> bool:
    """Rewrite ``update()``'s reads; returns whether the spike channels are marked (a flag is tested)."""
    loop = cxx.step_loop(edits.code, cls)
    loop_end = loop.body_end
    spikes = edits.one(_SPIKE_LOOP, loop.body_start, loop_end)[0]
    continuous = edits.one(_CONTINUOUS_LOOP, loop.body_start, loop_end)[0]
    between = edits.code[spikes.start():continuous.end()]
    if continuous.start() < spikes.end() or re.search(r"\bgoto\b", between):
        raise cxx.Unrecognised("order of the reads")
    # A step that may end between the two reads (a GSL neuron throws when its solver fails) must
    # leave the slot as NESTML leaves its ring buffers then: spike entries zeroed (read), continuous
    # entries not (unread). So such a step reads a copy of the slot and empties its spike channels
    # at once; the end of the step empties the whole slot as usual.
    may_end = bool(re.search(r"\b(?:continue|break|return|throw)\b", between))
    for match in (spikes, continuous):
        before = edits.code[loop.body_start:match.start()]
        directives = re.findall(r"^[ \t]*#[ \t]*(if|endif)", before, re.M)
        code = re.sub(r"^[ \t]*#[^\n]*", "", before, flags=re.M).rstrip()
        if (before.count("{") != before.count("}") or code[-1:] not in ("", ";", "{", "}")
                or directives.count("if") != directives.count("endif")):
            raise cxx.Unrecognised("nested or conditional read")  # in a block or #if, or after if (...)/else
    # NESTML's tests of a flag's sum (the number of spikes that arrived) ask the channel itself, read
    # below, whether a spike arrived; they are all between the two reads (else the code is not ours).
    # Without them the spike channels need no mark: read as they are, as NESTML's ring buffers.
    tests = list(_FLAG_TEST.finditer(edits.code))
    if any(not spikes.end() <= test.start() < continuous.start() or not _PURE_INDEX.fullmatch(test.group("index"))
           or re.search(r"\+\+|--|\(", test.group("index")) for test in tests):
        raise cxx.Unrecognised("a flag tested elsewhere")
    marked, type_name = bool(tests), buffer_type(bool(tests))
    indent = re.search(r"[ \t]*\Z", edits.text[:spikes.start()]).group()
    edits.replace(spikes, "\n".join([
        f"const size_t {SLOT} = nest::kernel().event_delivery_manager.get_modulo( lag );  {_NOTE}",
        f"{indent}const auto{'' if may_end else '&'} {INPUT} = B_.{BUFFER}.get_values_all_channels( {SLOT} );",
        *([f"{indent}B_.{BUFFER}.reset_spike_channels( {SLOT} );  // the step may end before its last read"]
          if may_end else []),
        f"{indent}for (long i = 0; i < NUM_SPIKE_RECEPTORS; ++i)",
        f"{indent}{{",
        f"{indent}  B_.spike_inputs_grid_sum_[i] = "
        + (f"{type_name}::sum( {INPUT}[i] );" if marked else f"{INPUT}[i];"),
        f"{indent}}}"]))
    for test in tests:
        read = re.search(re.escape(test.group("read")), edits.code[test.start():test.end()])
        edits.spans.append((test.start() + read.start(), test.start() + read.end(),
                            f"{type_name}::received( {INPUT}[{test.group('index')}] )"))
    indent = re.search(r"[ \t]*\Z", edits.text[:continuous.start()]).group()
    edits.replace(continuous, "\n".join([
        "for (long i = 0; i < NUM_CONTINUOUS_INPUT_PORTS; ++i)",
        f"{indent}{{",
        f"{indent}  B_.continuous_inputs_grid_sum_[i] = {INPUT}[NUM_SPIKE_RECEPTORS + i];",
        f"{indent}}}",
        f"{indent}B_.{BUFFER}.reset_values_all_channels( {SLOT} );  // the step's last read of its inputs"]))
    return marked


def _check_mentions(edits: _Edits) -> None:
    """Every mention of the buffers is being rewritten, or is a grid sum's subscript (a flag's only as
    the tests that ``_update`` rewrites)."""
    if _OWN_NAMES.search(edits.code):
        raise cxx.Unrecognised("already transformed")
    grid_reads = {m.start() for m in _GRID_READ.finditer(edits.code)}
    if any(m.group().startswith(_FLAGS) and not edits.covers(m.start()) for m in _GRID_READ.finditer(edits.code)):
        raise cxx.Unrecognised("a flag's sum read otherwise")  # only the tests of _update are rewritten
    for mention in _MENTION.finditer(edits.code):
        if not edits.covers(mention.start()) and mention.start() not in grid_reads:
            raise cxx.Unrecognised(f"mention of {mention.group()} at {mention.start()}")


def rewrite(source: str, header: str, cls: str) -> tuple[str, str] | None:
    """The neuron ``cls``'s source and header with one multi-channel input buffer, or None if a guard fails."""
    try:
        source, marked = _source(source, cls)
        return source, _header(header, marked)
    except cxx.Unrecognised:
        return None


def apply(files: dict[str, str], models: list[dict], network: dict) -> list[str]:
    """Rewrite the input buffers of every neuron in ``files`` that passes the guards; one note per neuron."""
    del network  # depends on the generated code only
    notes = []
    for model, source, header in cxx.neurons(files, models):
        rewritten = rewrite(files[source], files[header], model["name"])
        if rewritten is not None:
            files[source], files[header] = rewritten
            notes.append(f"{model['name']}: one multi-channel input buffer instead of a ring buffer per port and flag")
    return notes
