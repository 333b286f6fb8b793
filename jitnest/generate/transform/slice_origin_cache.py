"""Transformation ``slice_origin_cache``: a neuron's event handlers take the slice origin in steps from
a per-thread table, converted once per slice, instead of converting it for every event delivered.

What NESTML 9 writes in each ``handle`` (here as ``input_buffer`` and ``spike_sign`` leave it), to find
the input slot of an event::

    nest::kernel().event_delivery_manager.get_modulo(
        e.get_rel_delivery_steps( nest::kernel().simulation_manager.get_slice_origin() ) )

``Event::get_rel_delivery_steps( t )`` (NEST 3.10, ``nestkernel/event.h``) is ``stamp_steps_ + d_ - 1 -
t.get_steps()``, the event's stamp in steps cached in the event (``stamp_steps_``, 0 until computed)
and the origin converted from tics to steps on every call: a test for ±infinity on each side and a
multiplication by a double, 15 instructions of the ~40 a spike costs ``iaf_psc_alpha_neuron``, for a
value that changes once per slice. NEST's own models do the same. What this transformation writes
instead::

    jitnest_slice_origin::rel_delivery_steps( e, B_.__jitnest_input_buffer_.thread() )

emitted into the neuron's source (``_TABLE``): NEST 3.10.0's function with the origin's steps
read from ``jitnest_slice_origin::table[ thread ]``, one 64-byte entry per thread holding the origin
in tics and in steps. An entry converts its thread's slice origin once, when the origin in tics is
not the one it holds. ``pre_run_hook`` forgets its thread's entry. The thread is the node's, as
``input_buffer``'s buffer records it beside its slots: ``get_thread()`` reads the node's first cache
line, which nothing else of a handler touches, and that cost more than the conversion saved
(measured: 12 rounds of 10^4 ``iaf_psc_exp_neuron``, CPU 1.09 of the built-in's with ``get_thread()``).

Why this is exact: the table returns ``origin.get_steps()`` of an origin with the same tics, and
``Time::get_steps()`` reads nothing but the tics and ``Time::Range``'s statics (the ticks per step),
which change only with the resolution or ``tics_per_ms``. NEST allows those only in a kernel without
nodes, after ``ResetKernel``. That unloads the module, but a library that something else holds stays
loaded with its table; and before any event reaches a node of a kernel, NEST calls every node's
``pre_run_hook`` (``NodeManager::prepare_nodes``, on the node's thread). So an entry that an event of
a thread reads was filled with the current ticks per step. A thread reads and writes only its own
entry: NEST calls a node's handlers and ``pre_run_hook`` on the node's thread (``get_thread()``;
events are delivered per thread); the one other call, ``pre_run_hook`` from NESTML's default
constructor (the model's prototype, when the module is installed), precedes every simulation. A
thread beyond the table (1024 threads) converts as before. The event's own steps are computed as
``get_rel_delivery_steps`` computes them (``stamp_steps_`` is protected: read through a pointer to
member formed in a derived class). With another NEST than 3.10.0 the emitted function calls
``e.get_rel_delivery_steps`` as NESTML wrote it (chosen at compile time).

Measured (callgrind, 1,000 ``iaf_psc_alpha_neuron``, 110 ms): ``handle(SpikeEvent&)`` 42 → 38
instructions per spike (NEST's ``iaf_psc_alpha`` 40), the run 597.8 M → 586.1 M instructions.

Guards (else the neuron is left exactly as NESTML wrote it): ``input_buffer`` gave the neuron its
buffer (declared in the header); the source includes the neuron's header on a line of its own and
defines ``pre_run_hook`` once; the expression above is rewritten only where
it is the argument of ``get_rel_delivery_steps`` called on ``e``, the event parameter of one of the
neuron's own ``handle`` definitions (other calls stay as they are).
"""

from __future__ import annotations

import re

from . import cxx, input_buffer

NAME = "slice_origin_cache"
DESCRIPTION = "neuron: handlers take the slice origin in steps from a per-thread table, converted once per slice"

_NAMESPACE = "jitnest_slice_origin"
_NOTE = "  // jitnest: forget the thread's slice origin (see jitnest/generate/transform/slice_origin_cache.py)"
_CALL = re.compile(r"\be\.get_rel_delivery_steps\(\s*nest::kernel\(\)\.simulation_manager\.get_slice_origin\(\)\s*\)")

# Emitted once per translation unit (include guard), after the neuron's own header.
_TABLE = cxx.IS_NEST_3_10_0 + """#ifndef JITNEST_SLICE_ORIGIN_CACHE
#define JITNEST_SLICE_ORIGIN_CACHE
// jitnest: the slice origin in steps, converted once per slice and thread, for the event handlers
// (jitnest/generate/transform/slice_origin_cache.py).
namespace jitnest_slice_origin
{
// One entry per thread, each on a cache line of its own: a thread writes only its own entry.
struct alignas( 64 ) Entry
{
  long tics = -1; // the slice origin it holds, in tics (-1: none; a slice origin is never negative)
  long steps = 0; // nest::Time::get_steps() of that origin
};
constexpr size_t threads = 1024;
// Hidden: one table per module, addressed without a lookup in the global offset table.
__attribute__( ( visibility( "hidden" ) ) ) inline Entry table[ threads ];

// Called by pre_run_hook: the resolution may have changed since the entry was filled (a new kernel).
inline void
forget( const size_t thread )
{
  if ( thread < threads )
  {
    table[ thread ].tics = -1;
  }
}

// nest::kernel().simulation_manager.get_slice_origin().get_steps(), converted once per slice and thread.
inline long
origin_steps( const size_t thread )
{
  const nest::Time& origin = nest::kernel().simulation_manager.get_slice_origin();
  if ( thread >= threads ) [[unlikely]]
  {
    return origin.get_steps();
  }
  Entry& entry = table[ thread ];
  if ( entry.tics != origin.get_tics() ) [[unlikely]]
  {
    entry.tics = origin.get_tics();
    entry.steps = origin.get_steps();
  }
  return entry.steps;
}

// Forms a pointer to Event's protected stamp_steps_ (only instantiated with NEST 3.10.0).
template < class EventT >
struct StampSteps : EventT
{
  static long&
  of( EventT& e )
  {
    return e.*( &StampSteps::stamp_steps_ );
  }
};

// e.get_rel_delivery_steps( nest::kernel().simulation_manager.get_slice_origin() ) on the thread of the
// node handling e: NEST 3.10.0's Event::get_rel_delivery_steps with the origin's steps from the table.
template < class EventT >
inline long
rel_delivery_steps( EventT& e, const size_t thread )
{
  if constexpr ( jitnest_is_nest_3_10_0( NEST_VERSION ) )
  {
    long& stamp_steps = StampSteps< EventT >::of( e );
    if ( stamp_steps == 0 )
    {
      stamp_steps = e.get_stamp().get_steps();
    }
    return stamp_steps + e.get_delay_steps() - 1 - origin_steps( thread );
  }
  else
  {
    return e.get_rel_delivery_steps( nest::kernel().simulation_manager.get_slice_origin() );
  }
}
} // namespace jitnest_slice_origin
#endif
"""


def _rewrite(source: str, header: str, cls: str) -> str:
    code = cxx.code_only(source)
    if _NAMESPACE in code:
        raise cxx.Unrecognised("already transformed")
    if not re.search(rf"\b{re.escape(input_buffer.BUFFER)};", cxx.code_only(header)):
        raise cxx.Unrecognised("no input buffer to read the node's thread from")
    name = re.escape(cls)
    include = list(re.finditer(rf'^#include "{name}\.h"[ \t]*$', source, re.M))  # code_only blanks the name
    if len(include) != 1:
        raise cxx.Unrecognised("the neuron's own header")
    hook = cxx.only_function(code, rf"\bvoid\s+{name}::pre_run_hook\(\s*\)")
    calls = [call for handle in cxx.find_functions(code, rf"\bvoid\s+{name}::handle\(\s*nest::\w+Event\s*&\s*e\s*\)")
             for call in _CALL.finditer(code, handle.body_start, handle.body_end)]
    if not calls:
        raise cxx.Unrecognised("no handler converts the slice origin")
    thread = f"B_.{input_buffer.BUFFER}.thread()"
    edits = [(call.start(), call.end(), f"{_NAMESPACE}::rel_delivery_steps( e, {thread} )") for call in calls]
    edits.append((hook.body_start, hook.body_start, f"\n  {_NAMESPACE}::forget( get_thread() );{_NOTE}"))
    edits.append((include[0].end(), include[0].end(), "\n" + _TABLE.rstrip("\n")))
    for start, end, text in sorted(edits, reverse=True):
        source = source[:start] + text + source[end:]
    return source


def rewrite(source: str, header: str, cls: str) -> str | None:
    """The neuron ``cls``'s source with its handlers reading the slice origin's steps from the table,
    or None if a guard fails."""
    try:
        return _rewrite(source, header, cls)
    except cxx.Unrecognised:
        return None


def apply(files: dict[str, str], models: list[dict], network: dict) -> list[str]:
    """Rewrite the handlers of every neuron in ``files`` that passes the guards; one note per neuron."""
    del network  # depends on the generated code only
    return cxx.rewrite_neuron_sources(
        files, models, rewrite,
        lambda source: f"{source.count(f'{_NAMESPACE}::rel_delivery_steps( e,')} handler call(s) read the slice "
                       "origin's steps from a per-thread table")
