"""Transformation ``spike_history``: the spike history a paired neuron keeps for its synapses is a
small contiguous container that allocates nothing until the neuron spikes, instead of a
``std::deque``.

What NESTML 9 writes for a neuron paired with synapses that read its state (``E`` below stands for
``histentry__<neuron>``, the class of one entry, defined in the neuron's header)::

    std::deque< E > history_;                                    // neuron header, a member
    void get_history__( double t1, double t2,
      std::deque< E >::iterator* start, std::deque< E >::iterator* finish );   // header and source
    std::deque< E >::reverse_iterator runner = history_.rbegin();   // locals of the neuron's source
    std::deque< E >::iterator start;                             // locals of each synapse's send()

A libstdc++ ``std::deque`` is 80 bytes and allocates a 64-byte map and a 512-byte node when it
is constructed: ~690 bytes per neuron, for a history that holds a few entries (24 bytes each for
``stdp_synapse``) and none in a neuron that never spikes.

What this transformation writes instead: ``jitnest_spike_history< E >`` everywhere the pair wrote
``std::deque< E >``, a class template emitted into the neuron header just after ``E`` (behind an
include guard, as several neuron headers of one module may emit it). It holds a ``std::vector``
and the index of the front entry (32 bytes, nothing allocated while empty). The entries are
contiguous: iterators are plain pointers, ``reverse_iterator`` is ``std::reverse_iterator< E* >``;
``pop_front()`` advances the front index and moves nothing; only ``push_back()`` moves entries,
when the storage is full: it drops the popped ones in place if they are at least half of it, else
moves the live ones into storage of twice the size (amortised constant time; the storage is at
most four times the most entries the history held at once, and, unlike the deque's, is kept when
entries are popped, until ``clear()`` or the neuron's end). It offers what NESTML's code calls on
the history: ``push_back``, ``pop_front``, ``front``, ``back``, ``operator[]``, ``size``,
``empty``, ``clear``, ``begin``, ``end``, ``rbegin``, ``rend``, and copying (of the live entries).

Why this is exact: each of these gives the same entries, in the same order, as the deque's, so
every read of the history (the synapses' loops over ``get_history__``'s range, the neuron's
``register_stdp_connection``, pruning and trace getters) sees the same values. The two containers
differ only in what stays valid. ``push_back`` here may move the entries, where the deque keeps
references to them valid (its iterators it invalidates too); so the guards establish that no
reference, pointer or iterator into the history lives across a ``push_back``: it is called once,
in ``set_spiketime``, whose body declares no iterator and names the history only to read an
entry's member (a value), its size, ``pop_front`` and ``push_back``, in statements without a
``&`` (but ``&&``); ``set_spiketime`` is called only from ``update()``, which does not name the
history; the iterators are variables of function blocks (the neuron's, the synapses'), not
members, and nothing else names the entry type. Popped entries are destroyed later than the
deque destroys them: a ``static_assert`` requires trivially destructible entries (NESTML's are
doubles and a ``size_t``), for which that is unobservable.

Guards (else the pair is left exactly as NESTML wrote it): the neuron header defines ``class E``
once, at file scope, and declares ``std::deque< E > history_;`` once, after it; every mention of
``E`` in the unit's files is in the neuron's header, its source or a synapse header and is one of:
that definition and ``E``'s constructor inside it, ``history_.push_back( E(`` (a temporary entry),
or ``std::deque< E >`` followed by `` history_;`` (the member), by ``::iterator`` or
``::reverse_iterator`` and a name (in the source and the synapses, in a block that follows a
``)``: a function's or a statement's) or by ``::iterator*`` (``get_history__``'s two parameters,
in the header and the source); no ``deque`` of ``E`` written otherwise; ``history_`` is named only
in the neuron's header and source, each time as ``history_.f(`` with ``f`` one of the functions
above, or ``history_[``; ``push_back`` and ``set_spiketime`` as above (``set_spiketime`` also named
once in the header and nowhere in the synapses; ``update()`` is NESTML's ``update`` or, with gap
junctions, ``update_``); and jitnest's container is not there yet.
"""

from __future__ import annotations

import re

from . import cxx

NAME = "spike_history"
DESCRIPTION = "paired neuron: its spike history is a contiguous container that allocates nothing before a spike"

_CONTAINER = "jitnest_spike_history"
_NOTE = "// jitnest: a compact spike history (see jitnest/generate/transform/spike_history.py)"
_MEMBERS = ("push_back", "pop_front", "front", "back", "size", "empty", "clear", "begin", "end", "rbegin", "rend")
_HISTORY_USE = re.compile(rf"\bhistory_(?:\s*\.\s*(?:{'|'.join(_MEMBERS)})\s*\(|\s*\[)")
# In set_spiketime: reads of an entry's members (values), its size, pop_front and push_back.
_SPIKETIME_USE = re.compile(r"history_(?:\s*(?:\.\s*(?:front|back)\s*\(\s*\)|\[[^\[\]]*\])\s*\.\s*\w+\b(?!\s*[(\[])"
                            r"|\s*\.\s*(?:size|empty|pop_front)\s*\(\s*\)|\.push_back\()")

# The container (C++03-style text, as the rest of NESTML's code): see the module docstring.
_TEMPLATE = f"""#ifndef JITNEST_SPIKE_HISTORY_H
#define JITNEST_SPIKE_HISTORY_H
#include <cstddef>
#include <iterator>
#include <type_traits>
#include <vector>

{_NOTE}
// The spike history a paired neuron keeps for its synapses: the deque operations NESTML's code uses, on
// contiguous entries (entries_[ head_ ] is the front). pop_front() advances head_ and moves nothing; only
// push_back() moves entries (so references to entries are valid until the next push_back). An empty history
// allocates nothing.
template < typename T >
class {_CONTAINER}
{{
  // popped entries are destroyed later than by a deque: unobservable for entries without a destructor
  static_assert( std::is_trivially_destructible< T >::value, "{_CONTAINER}: entries must be plain data" );

public:
  typedef T* iterator;
  typedef const T* const_iterator;
  typedef std::reverse_iterator< T* > reverse_iterator;

  {_CONTAINER}()
    : head_( 0 )
  {{
  }}

  {_CONTAINER}( const {_CONTAINER}& other )
    : entries_( other.begin(), other.end() )
    , head_( 0 )
  {{
  }}

  {_CONTAINER}& operator=( const {_CONTAINER}& other )
  {{
    if ( this != &other )
    {{
      entries_.assign( other.begin(), other.end() );
      head_ = 0;
    }}
    return *this;
  }}

  // by value: ``entry`` may be an entry of this history, which making room moves
  void push_back( T entry )
  {{
    if ( head_ > 0 and entries_.size() == entries_.capacity() )
    {{
      const size_t live = entries_.size() - head_;
      if ( head_ >= live )
      {{
        entries_.erase( entries_.begin(), entries_.begin() + head_ );  // at least half the storage is free then
      }}
      else
      {{
        std::vector< T > grown;
        grown.reserve( 2 * entries_.capacity() );
        grown.assign( entries_.begin() + head_, entries_.end() );
        entries_.swap( grown );
      }}
      head_ = 0;
    }}
    entries_.push_back( entry );
  }}

  void pop_front()
  {{
    ++head_;
    if ( head_ == entries_.size() )
    {{
      entries_.clear();  // empty again: start over at the front of the storage
      head_ = 0;
    }}
  }}

  void clear()
  {{
    entries_.clear();
    head_ = 0;
  }}

  size_t size() const
  {{
    return entries_.size() - head_;
  }}
  bool empty() const
  {{
    return entries_.size() == head_;
  }}

  T& front()
  {{
    return entries_[ head_ ];
  }}
  const T& front() const
  {{
    return entries_[ head_ ];
  }}
  T& back()
  {{
    return entries_.back();
  }}
  const T& back() const
  {{
    return entries_.back();
  }}
  T& operator[]( size_t i )
  {{
    return entries_[ head_ + i ];
  }}
  const T& operator[]( size_t i ) const
  {{
    return entries_[ head_ + i ];
  }}

  iterator begin()
  {{
    return entries_.data() + head_;
  }}
  iterator end()
  {{
    return entries_.data() + entries_.size();
  }}
  const_iterator begin() const
  {{
    return entries_.data() + head_;
  }}
  const_iterator end() const
  {{
    return entries_.data() + entries_.size();
  }}
  reverse_iterator rbegin()
  {{
    return reverse_iterator( end() );
  }}
  reverse_iterator rend()
  {{
    return reverse_iterator( begin() );
  }}

private:
  std::vector< T > entries_;
  size_t head_;  // entries_[ 0 .. head_ ) are popped
}};
#endif
"""


def _check(condition: bool, what: str) -> None:
    if not condition:
        raise cxx.Unrecognised(what)


def _in(function: cxx.Function, position: int) -> bool:
    return function.body_start <= position < function.body_end


def _in_block(code: str, position: int) -> bool:
    """Whether ``position`` is in a function's (or a statement's) block: the innermost ``{``
    enclosing it follows a ``)``, not a class or namespace name."""
    depth = 0
    for index in range(position - 1, -1, -1):
        if code[index] == "}":
            depth += 1
        elif code[index] == "{":
            if depth == 0:
                return code[:index].rstrip().endswith(")")
            depth -= 1
    return False


def _deque_uses(code: str, entry: str, kind: str) -> list[re.Match]:
    """The mentions of ``std::deque< entry >`` in ``code``, each of an accepted form (else raise)."""
    exact = list(re.finditer(rf"std::deque< {entry} >", code))
    loose = re.findall(rf"\bdeque\s*<\s*{entry}\s*>", code)
    _check(len(exact) == len(loose), "a deque of the entries written otherwise")
    for match in exact:
        rest = code[match.end():]
        if kind == "header" and re.match(r" history_;", rest):
            continue
        if re.match(r"::iterator\*", rest) and kind in ("header", "source"):
            continue  # get_history__'s parameters (checked below)
        if re.match(r"::(?:reverse_)?iterator \w+", rest) and kind in ("source", "synapse"):
            _check(_in_block(code, match.start()), "an iterator that is not a local")
            continue
        raise cxx.Unrecognised(f"std::deque< {entry} > in {kind}: {rest[:40]!r}")
    return exact


def _check_push_back(source_code: str, cls: str) -> None:
    """Nothing holds a reference into the history across its one ``push_back`` (else raise)."""
    set_spiketime = cxx.only_function(source_code, rf"\bvoid\s+{cls}::set_spiketime\([^)]*\)")
    update = cxx.only_function(source_code, rf"\b(?:void\s+{cls}::update|bool\s+{cls}::update_)\("
                                            r"\s*nest::Time const\s*&\s*origin\s*,\s*const long from\s*,"
                                            r"\s*const long to\s*(?:,\s*const bool called_from_wfr_update\s*)?\)"
                                            )  # (update_ with gap junctions)
    pushes = list(re.finditer(r"\bhistory_\.push_back\(", source_code))
    _check(len(pushes) == 1 and _in(set_spiketime, pushes[0].start()), "push_back elsewhere")
    _check(not re.search(r"\biterator\b", set_spiketime.body(source_code)), "an iterator in set_spiketime")
    for mention in re.compile(r"\bhistory_\b").finditer(source_code, set_spiketime.body_start, set_spiketime.body_end):
        _check(_SPIKETIME_USE.match(source_code, mention.start()) is not None, "set_spiketime uses the history so")
        statement_start = max(source_code.rfind(c, 0, mention.start()) for c in ";{}") + 1
        statement_end = min(i for i in (source_code.find(c, mention.start()) for c in ";{}") if i >= 0)
        _check("&" not in source_code[statement_start:statement_end].replace("&&", ""),
               "set_spiketime may hold a reference to an entry")
    _check(not re.search(r"\bhistory_\b|\biterator\b", update.body(source_code)), "update() uses the history")
    definition = set_spiketime.start + source_code[set_spiketime.start:].index("set_spiketime")
    for mention in re.finditer(r"\bset_spiketime\b", source_code):
        qualified = re.search(r"::\s*$", source_code[:mention.start()]) is not None
        _check(mention.start() == definition or (_in(update, mention.start()) and not qualified)
               or (_in(set_spiketime, mention.start()) and qualified),  # the base class's
               "set_spiketime called elsewhere")


def rewrite(files: dict[str, str], cls: str, source: str, header: str, synapse_headers: list[str]) -> dict[str, str]:
    """The rewritten files of the neuron ``cls``'s pair (name -> text), or raise ``cxx.Unrecognised``."""
    entry = f"histentry__{cls}"
    mentioning = [name for name, text in files.items() if re.search(rf"\b{entry}\b", cxx.code_only(text))]
    _check(header in mentioning and source in mentioning, "the neuron does not name its history entries")
    _check(set(mentioning) <= {header, source, *synapse_headers}, "the entries named outside the pair")
    _check(not any(_CONTAINER in files[name] for name in (header, source, *synapse_headers)), "already transformed")
    kinds = {header: "header", source: "source", **{name: "synapse" for name in synapse_headers if name in mentioning}}
    codes = {name: cxx.code_only(files[name]) for name in kinds}

    # the entry class, at file scope in the neuron header; the member declared once
    header_code = codes[header]
    definitions = list(re.finditer(rf"\bclass {entry}\s*\{{", header_code))
    _check(len(definitions) == 1, "the entry class")
    definition = definitions[0]
    closing = cxx.matching_brace(header_code, definition.end() - 1)
    _check(closing is not None and header_code[closing:closing + 2] == "};", "the entry class's end")
    before = header_code[:definition.start()]
    _check(before.count("{") == before.count("}"), "the entry class not at file scope")
    _check(len(re.findall(rf"std::deque< {entry} > history_;", header_code)) == 1, "the member")

    # every mention of the entry type is of a known form
    replaced: dict[str, list[re.Match]] = {}
    for name, kind in kinds.items():
        code = codes[name]
        replaced[name] = _deque_uses(code, entry, kind)
        _check(name != header or all(m.start() > closing for m in replaced[name]), "a deque before the entry class")
        accepted = {m.start() + len("std::deque< ") for m in replaced[name]}
        for mention in re.finditer(rf"\b{entry}\b", code):
            position = mention.start()
            if position in accepted:
                continue
            if name == header and (position == definition.start() + len("class ") or (
                    definition.end() <= position < closing and re.match(rf"{entry}\s*\(", code[position:]))):
                continue  # the class and its constructor
            if name == source and re.search(r"\bhistory_\.push_back\(\s*$", code[:position]) and re.match(
                    rf"{entry}\(", code[position:]):
                continue  # the entry pushed, a temporary
            raise cxx.Unrecognised(f"{entry} named in {name} at {position}")

    # get_history__'s parameters: pointers to iterators, in its declaration and its definition
    for name in (header, source):
        parameters = [m for m in replaced[name] if codes[name].startswith("::iterator*", m.end())]
        _check(len(parameters) == 2, "get_history__'s parameters")
        for parameter in parameters:
            _check(re.search(r"\bget_history__\(\s*double t1,\s*double t2,\s*(?:std::deque< \w+ >::iterator\* start,"
                             r"\s*)?$", codes[name][:parameter.start()]) is not None, "an iterator pointer elsewhere")

    # history_: named in the neuron only, with the functions the container offers
    for name, code in codes.items():
        for mention in re.finditer(r"\bhistory_\b", code):
            if name == header and code.startswith("history_;", mention.start()) and re.search(
                    rf"std::deque< {entry} > $", code[:mention.start()]):
                continue
            _check(name in (header, source) and _HISTORY_USE.match(code, mention.start()) is not None,
                   f"history_ used otherwise in {name}")

    _check_push_back(codes[source], re.escape(cls))
    _check(len(re.findall(r"\bset_spiketime\b", header_code)) == 1, "set_spiketime in the header")
    _check(not any(re.search(r"\bset_spiketime\b", codes[n]) for n in kinds if kinds[n] == "synapse"),
           "set_spiketime named in a synapse")

    rewritten = {}
    for name, matches in replaced.items():
        text = files[name]
        for match in reversed(matches):
            replacement = f"{_CONTAINER}< {entry} >"
            end = match.end()
            if name == header and text.startswith(" history_;", end):
                replacement, end = f"{replacement} history_;  {_NOTE}", end + len(" history_;")
            text = text[:match.start()] + replacement + text[end:]
        rewritten[name] = text
    text = rewritten[header]
    after = text.find("\n", closing) + 1 or len(text)  # the line after the entry class (before any edit)
    rewritten[header] = text[:after] + "\n" + _TEMPLATE + text[after:]
    return rewritten


def apply(files: dict[str, str], models: list[dict], network: dict) -> list[str]:
    """Rewrite the spike history of every paired neuron in ``files`` that passes the guards, with
    its synapses; one note per neuron."""
    del network  # depends on the generated code only
    synapse_headers = [header for _, header in cxx.synapses(files, models)]
    notes = []
    for model, source, header in cxx.neurons(files, models):
        if not re.search(rf"\bhistentry__{re.escape(model['name'])}\b", files[header]):
            continue  # not a paired neuron
        try:
            rewritten = rewrite(files, model["name"], source, header, synapse_headers)
        except cxx.Unrecognised:
            continue
        files.update(rewritten)
        readers = len(rewritten) - 2
        notes.append(f"{model['name']}: spike history in a contiguous container instead of a std::deque "
                     f"(its iterators also in {readers} synapse header{'s' if readers != 1 else ''})")
    return notes
