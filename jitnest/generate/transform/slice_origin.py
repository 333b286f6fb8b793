"""Transformation ``slice_origin``: a neuron's ``update()`` converts the slice origin to steps once per
call instead of once or twice per step.

What NESTML 9 writes, in ``update()``'s ``for ( long lag = from ; lag < to ; ++lag )`` loop::

    B_.logger_.record_data(origin.get_steps() + lag);                // every step
    set_spiketime(nest::Time::step(origin.get_steps() + lag + 1));   // every spike

``nest::Time::get_steps()`` is not a load: it tests the time for ±infinity and converts tics to
steps (about 15 instructions per call; a step of ``iaf_psc_exp_neuron`` is about 90), and the compiler
cannot keep its value, as the loop calls functions that could reach ``origin`` (a reference).
NEST's own models do the same. What this transformation writes instead, directly before the loop::

    const long __jitnest_origin_steps = origin.get_steps();

and ``__jitnest_origin_steps`` for every ``origin.get_steps()`` of the loop's own statements
(lambdas, which capture ``origin`` by value, keep theirs: their body is not in the loop's scope).

Why this is exact: ``origin`` is the ``nest::Time const &`` that NEST passes to ``update()``, its
simulation clock at the start of the slice (``SimulationManager::update_`` gives ``clock_``). NEST
advances the clock only in ``SimulationManager::advance_time_``, on one thread after every thread
has finished the slice's updates (behind a barrier), and ``get_steps()`` reads nothing else but
``Time::Range``'s statics, which change only with the resolution, never during a simulation. So
every ``origin.get_steps()`` of one ``update()`` call returns the same ``long``, and reading it
once before the loop (even in a call with no step) has no other effect.

Guards (else the neuron is left exactly as NESTML wrote it): ``update()`` has NESTML's signature
and one step loop directly in its body; ``origin`` is named in ``update()`` only as
``origin.get_steps()``, in a lambda's capture list or passed on as a call's argument (so no
declaration shadows it); the neuron's files name ``simulation_manager`` only to read
``get_slice_origin()`` (nothing that could move the clock).
"""

from __future__ import annotations

import re

from . import cxx

NAME = "slice_origin"
DESCRIPTION = "neuron: update() converts the slice origin to steps once per call, not every step"

_LOCAL = "__jitnest_origin_steps"
_NOTE = "  // jitnest: the slice origin, constant during update() (see jitnest/generate/transform/slice_origin.py)"
_READ = re.compile(r"\borigin\.get_steps\(\)")
# Every other way update() may name ``origin``: a lambda's capture list (``[origin, lag]``) or an
# argument passed on (``on_receive_block_x(origin, lag)``, a ``nest::Time const &`` parameter).
_PASSED_ON = re.compile(r"\[\s*origin\s*,\s*lag\s*\]|\(\s*origin\s*,\s*lag\s*\)")
_LAMBDA = re.compile(r"\[[^\[\]]*\]\s*\(\s*\)\s*\{")


def _rewrite(source: str, header: str, cls: str) -> str:
    code = cxx.code_only(source)
    if _LOCAL in code:
        raise cxx.Unrecognised("already transformed")
    for text in (code, cxx.code_only(header)):
        if len(re.findall(r"\bsimulation_manager\b", text)) != len(
                re.findall(r"\bsimulation_manager\s*\.\s*get_slice_origin\s*\(\s*\)", text)):
            raise cxx.Unrecognised("simulation_manager named otherwise")
    loop = cxx.step_loop(code, cls)
    update = loop.update
    mentions = len(re.findall(r"\borigin\b", code[update.body_start:update.body_end]))
    reads = list(_READ.finditer(code, update.body_start, update.body_end))
    if mentions != len(reads) + len(_PASSED_ON.findall(code, update.body_start, update.body_end)):
        raise cxx.Unrecognised("origin named otherwise")
    lambdas = []
    for lambda_ in _LAMBDA.finditer(code, loop.body_start, loop.body_end):
        closing = cxx.matching_brace(code, lambda_.end() - 1)
        if closing is None:
            raise cxx.Unrecognised("lambda")
        lambdas.append((lambda_.start(), closing))
    replaced = [read for read in reads if loop.body_start <= read.start() < loop.body_end
                and not any(start <= read.start() < end for start, end in lambdas)]
    if not replaced:
        raise cxx.Unrecognised("no read in the step loop")
    line_start = source.rfind("\n", 0, loop.start) + 1
    indent = source[line_start:loop.start]
    if indent.strip():
        raise cxx.Unrecognised("loop not on its own line")
    result = source
    for read in reversed(replaced):
        result = result[:read.start()] + _LOCAL + result[read.end():]
    declaration = f"{indent}const long {_LOCAL} = origin.get_steps();{_NOTE}\n"
    return result[:line_start] + declaration + result[line_start:]


def rewrite(source: str, header: str, cls: str) -> str | None:
    """The neuron ``cls``'s source with the slice origin converted once per ``update()`` call, or None
    if a guard fails."""
    try:
        return _rewrite(source, header, cls)
    except cxx.Unrecognised:
        return None


def apply(files: dict[str, str], models: list[dict], network: dict) -> list[str]:
    """Convert the slice origin once per ``update()`` call in every neuron of ``files`` that passes the
    guards; one note per neuron."""
    del network  # depends on the generated code only
    return cxx.rewrite_neuron_sources(files, models, rewrite,
                                      lambda _: "update() converts the slice origin to steps once per call")
