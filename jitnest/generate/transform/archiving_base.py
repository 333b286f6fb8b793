"""Transformation ``archiving_base``: a paired neuron no longer carries ``nest::ArchivingNode``'s
spike archive, which its own archive replaces and which therefore always stays empty.

A neuron that NESTML 9 pairs with a synapse reading postsynaptic state derives from
``nest::ArchivingNode`` *and* keeps its own archive (``history_`` of ``histentry__<neuron>``): the
generated class declares its own ``n_incoming_`` and overrides ``register_stdp_connection``, the
only function that counts STDP connections into ``ArchivingNode``'s ``n_incoming_``. So
``ArchivingNode``'s count stays 0, and ``ArchivingNode::set_spiketime`` (which the generated one
calls) fills ``ArchivingNode``'s archive only when that count is not 0: never. Yet the archive's
``std::deque`` (80 bytes in the node, a 64-byte map and a 512-byte block on the heap) is allocated
for every neuron: ~0.7 KB per neuron for nothing (issue 14, item 4).

What this transformation writes instead: the neuron derives from
``jitnest_ArchivingNodeWithoutArchive``, emitted into its header: ``ArchivingNode`` (NEST 3.10's
``archiving_node.cpp``) with its archive and everything that only its archive could change
removed: ``StructuralPlasticityNode`` and ``IgnoreAndSpikeMechanism`` as bases, ``t_spike``,
``tau_minus``, ``tau_minus_triplet`` and ``post_trace`` in ``GetStatus``, the same checks in
``SetStatus``, and ``get_K_value``/``get_K_values``/``get_history`` answering what
``ArchivingNode`` answers with an empty archive (a trace of 0, an empty range). So a NEST built-in
plastic synapse that targets the neuron, a ``GetStatus`` and a ``SetStatus`` see exactly what they
saw before.

Why this is exact: with its count at 0, ``ArchivingNode``'s archive is empty at every moment; then
its ``Kminus_``, ``Kminus_triplet_`` and ``trace_`` are 0 at every moment (only a spike archived,
or ``get_K_value`` on an empty archive, which sets 0, writes them), and ``last_spike_`` follows
``set_spiketime`` and ``clear`` alone, as here. Nothing outside the class can raise the count:
``ArchivingNode::register_stdp_connection`` is virtual and overridden, ``n_incoming_`` is protected.

Guards (else the neuron is left exactly as NESTML wrote it): the header declares the class
``: public nest::ArchivingNode`` and, inside it, its own ``size_t n_incoming_;`` and
``void register_stdp_connection( double t_first_read, double delay );``; the source defines that
function without naming ``ArchivingNode``; every other mention of ``ArchivingNode`` in the code is
``ArchivingNode()`` in a constructor's initialiser list or a call of ``ArchivingNode::get_status``,
``ArchivingNode::set_status`` or ``ArchivingNode::set_spiketime``. Which NEST the module is compiled
against, the generated code does not say: the emitted header chooses at compile time, deriving from
the replacement only where NEST is 3.10.0 with the ``ArchivingNode`` layout replicated here, and
from ``ArchivingNode`` (as NESTML wrote it) otherwise.
"""

from __future__ import annotations

import re

from . import cxx

NAME = "archiving_base"
DESCRIPTION = "paired neuron: ArchivingNode's interface without ArchivingNode's archive, which stays empty there"

_SHIM = "jitnest_ArchivingNodeWithoutArchive"
# What the neuron derives from: the shim with the NEST it replicates, else ArchivingNode (chosen at compile time).
BASE = "jitnest_ArchivingBase"
# Mentions of ArchivingNode the rewrite knows (each becomes a mention of BASE), besides the base-class list.
_USES = re.compile(r"\bArchivingNode(?:\(\)|::(?:get_status|set_status|set_spiketime)\b)")

# nest::ArchivingNode of NEST 3.10 (nestkernel/archiving_node.{h,cpp}) with an archive that is always
# empty: the functions below are ArchivingNode's with history_.empty() true and n_incoming_ == 0.
# The include guard lets two paired neurons of one module both carry it.
_CLASS = """
#ifndef JITNEST_ARCHIVING_NODE_WITHOUT_ARCHIVE
#define JITNEST_ARCHIVING_NODE_WITHOUT_ARCHIVE
#include <type_traits>

#include "config.h"
#include "exceptions.h"
#include "nest_names.h"

// jitnest: nest::ArchivingNode without its spike archive, for neurons whose own archive replaces it
// and that never count a connection into ArchivingNode's (jitnest/generate/transform/archiving_base.py).
// Every answer is ArchivingNode's with an empty archive.
class jitnest_ArchivingNodeWithoutArchive : public nest::StructuralPlasticityNode, public nest::IgnoreAndSpikeMechanism
{
public:
  jitnest_ArchivingNodeWithoutArchive()
    : nest::StructuralPlasticityNode()
    , nest::IgnoreAndSpikeMechanism()
    , tau_minus_( 20.0 )
    , tau_minus_triplet_( 110.0 )
    , last_spike_( -1.0 )
  {
  }

  jitnest_ArchivingNodeWithoutArchive( const jitnest_ArchivingNodeWithoutArchive& n ) = default;

  double
  get_K_value( double ) override
  {
    return 0.0;
  }

  void
  get_K_values( double, double& K_value, double& nearest_neighbor_K_value, double& K_triplet_value ) override
  {
    K_triplet_value = 0.0;
    nearest_neighbor_K_value = 0.0;
    K_value = 0.0;
  }

  void
  get_history( double,
    double,
    std::deque< nest::histentry >::iterator* start,
    std::deque< nest::histentry >::iterator* finish ) override
  {
    // The empty range, as ArchivingNode gives it: start == finish (value-initialised iterators compare equal).
    *finish = std::deque< nest::histentry >::iterator();
    *start = *finish;
  }

  void
  get_status( Dictionary& d ) const override
  {
    d[ nest::names::t_spike ] = last_spike_;
    d[ nest::names::tau_minus ] = tau_minus_;
    d[ nest::names::tau_minus_triplet ] = tau_minus_triplet_;
    d[ nest::names::post_trace ] = 0.0;
#ifdef DEBUG_ARCHIVER
    d[ nest::names::archiver_length ] = 0L;
#endif
    nest::StructuralPlasticityNode::get_status( d );
    nest::IgnoreAndSpikeMechanism::get_status( d );
  }

  void
  set_status( const Dictionary& d ) override
  {
    double new_tau_minus = tau_minus_;
    double new_tau_minus_triplet = tau_minus_triplet_;
    d.update_value( nest::names::tau_minus, new_tau_minus );
    d.update_value( nest::names::tau_minus_triplet, new_tau_minus_triplet );
    if ( new_tau_minus <= 0.0 or new_tau_minus_triplet <= 0.0 )
    {
      throw nest::BadProperty( "All time constants must be strictly positive." );
    }
    nest::StructuralPlasticityNode::set_status( d );
    tau_minus_ = new_tau_minus;
    tau_minus_triplet_ = new_tau_minus_triplet;
    bool clear = false;
    d.update_value( nest::names::clear, clear );
    if ( clear )
    {
      clear_history();
    }
    nest::IgnoreAndSpikeMechanism::set_status( d, this );
  }

protected:
  void
  set_spiketime( nest::Time const& t_sp, double offset = 0.0 )
  {
    nest::StructuralPlasticityNode::set_spiketime( t_sp, offset );
    last_spike_ = t_sp.get_ms() - offset;
  }

  double
  get_spiketime_ms() const
  {
    return last_spike_;
  }

  void
  clear_history()
  {
    last_spike_ = -1.0;
  }

private:
  double tau_minus_;
  double tau_minus_triplet_;
  double last_spike_;
};

// What is replicated is NEST 3.10.0's ArchivingNode: its members after the bases are n_incoming_, nine
// doubles and the archive. With another NEST, the neuron keeps ArchivingNode (a choice made here, at
// compile time, because the generated code does not say which NEST it will be compiled against).
using jitnest_ArchivingBase = std::conditional_t< jitnest_is_nest_3_10_0( NEST_VERSION )
    and sizeof( nest::ArchivingNode ) == sizeof( jitnest_ArchivingNodeWithoutArchive ) - 3 * sizeof( double )
        + sizeof( size_t ) + 9 * sizeof( double ) + sizeof( std::deque< nest::histentry > ),
  jitnest_ArchivingNodeWithoutArchive,
  nest::ArchivingNode >;
#endif
"""


def rewrite(source: str, header: str, cls: str) -> tuple[str, str] | None:
    """The neuron ``cls``'s source and header deriving from ``BASE``, or None if a guard fails."""
    name = re.escape(cls)
    code, header_code = cxx.code_only(source), cxx.code_only(header)
    base_line = re.compile(rf"^class {name} : public nest::ArchivingNode$", re.M)
    base = list(base_line.finditer(header_code))
    if len(base) != 1:
        return None
    body_start = header_code.find("{", base[0].end())
    body_end = cxx.matching_brace(header_code, body_start)
    if body_end is None:
        return None
    declaration = header_code[body_start:body_end]
    if (len(re.findall(r"^\s*size_t n_incoming_;", declaration, re.M)) != 1
            or len(re.findall(r"^\s*void register_stdp_connection\( double t_first_read, double delay \);",
                              declaration, re.M)) != 1):
        return None
    register = cxx.find_functions(code, rf"\bvoid\s+{name}::register_stdp_connection\(\s*double t_first_read,"
                                        r"\s*double delay\s*\)")
    if len(register) != 1 or "ArchivingNode" in register[0].body(code):
        return None
    # Every mention of ArchivingNode is one the rewrite knows (NESTML's comments and debug strings may
    # name it too: code_only has blanked them).
    for text in (code, header_code[:base[0].start()] + header_code[base[0].end():]):
        if len(re.findall(r"\bArchivingNode\b", text)) != len(_USES.findall(text)):
            return None
    new_header = _renamed(header, header_code)
    new_base = list(base_line.finditer(cxx.code_only(new_header)))[0]
    new_header = (new_header[:new_base.start()] + cxx.IS_NEST_3_10_0 + _CLASS.lstrip("\n") + "\n"
                  + f"class {cls} : public {BASE}" + new_header[new_base.end():])
    return _renamed(source, code), new_header


def _renamed(text: str, code: str) -> str:
    """``text`` with each known use of ArchivingNode in its code (``code``: ``text`` without comments
    and strings) naming ``BASE``."""
    for use in reversed(list(_USES.finditer(code))):
        text = text[:use.start()] + BASE + text[use.start() + len("ArchivingNode"):]
    return text


def apply(files: dict[str, str], models: list[dict], network: dict) -> list[str]:
    """Rebase every paired neuron in ``files`` that passes the guards; one note per neuron."""
    del network  # depends on the generated code only: a built-in plastic synapse sees the same answers
    notes = []
    for model, source, header in cxx.neurons(files, models):
        rewritten = rewrite(files[source], files[header], model["name"])
        if rewritten is not None:
            files[source], files[header] = rewritten
            notes.append(f"{model['name']}: derives from {_SHIM} where NEST is 3.10.0 (no ArchivingNode archive, "
                         "which stayed empty)")
    return notes
