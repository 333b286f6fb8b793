"""Transformation ``synapse_shared_parameters``: a synapse's parameters are stored once per
distinct set, and every connection points to its set, instead of a copy in each connection.

NESTML 9 stores all of a synapse's parameters in every connection (``Parameters_ P_``: 64 of the
STDP synapse's 112 bytes after ``synapse_scratch``), though a network rarely gives two
connections different values. NEST's answer is a second model (``stdp_synapse_hom``) whose
parameters live in the model's common properties, which the user must choose up front. This
transformation keeps the model as it is for the user and changes only where the values live:

* a table of parameter sets, one per synapse model (``ParameterTable_``), in which each distinct
  set (compared bit for bit) is stored once, never changed and never removed, so a pointer to it
  stays valid for the life of the process;
* each connection holds a pointer to its set (8 bytes) instead of the set (STDP synapse 112 → 56
  bytes, NEST's built-in ``stdp_synapse`` has 96, ``stdp_synapse_hom`` 48);
* reads (``P_.x``) read through the pointer; writes (the setters, ``set_status``, the
  constructors) build the new set and look it up in the table (``intern``). A per-connection
  ``set`` therefore still works: the connection then points to another set.

Exact, bit for bit: every read returns the value the member would have held, because every write
is replaced by "copy the current set, change the member, point to the set with those bits". The
cost is in the writes (a lookup under a lock, skipped when a thread interns the same set as its
last one, which is the case of a ``Connect`` with the same parameters for every connection) and
in memory where parameters differ per connection: each distinct set costs its 64 bytes plus ~40
bytes of index, in place of 64 bytes in the connection.

Guards (else the synapse is left as NESTML wrote it): ``Parameters_`` is a struct of ``double``
members only (no padding, so bitwise comparison is value-and-sign comparison), declared once with
one member ``Parameters_ P_;``; every use of ``P_`` is one of: a read ``P_.x`` or ``rhs.P_.x``
(not followed by an assignment or increment); a setter ``set_x(const double __v) { P_.x = __v; }``;
the default constructor's consecutive ``P_.x = <expression>;`` lines assigning every member once;
the copy constructor's consecutive ``P_.x = rhs.P_.x;`` lines, one per member.
"""

from __future__ import annotations

import re

from . import cxx

NAME = "synapse_shared_parameters"
DESCRIPTION = "synapse: parameters stored once per distinct set, each connection points to its set"

_MEMBER = "jitnest_parameters_"
_TABLE = '''
/**
 * jitnest (transformation synapse_shared_parameters, see jitnest/generate/transform/): the
 * parameter sets of this synapse model's connections, each distinct set (bit for bit) stored
 * once. Sets are never changed or removed, so pointers to them stay valid.
 */
class ParameterTable_
{
public:
  static const Parameters_*
  intern( const Parameters_& p )
  {
    // A Connect gives most connections the same set: each thread remembers its last one.
    thread_local const Parameters_* last = nullptr;
    if ( last != nullptr and std::memcmp( last, &p, sizeof( Parameters_ ) ) == 0 )
    {
      return last;
    }
    std::lock_guard< std::mutex > lock( mutex_() );
    auto found = index_().find( &p );
    if ( found == index_().end() )
    {
      sets_().push_back( p );  // a deque: the addresses of earlier sets do not change
      found = index_().insert( &sets_().back() ).first;
    }
    last = *found;
    return last;
  }

private:
  struct Hash_
  {
    size_t
    operator()( const Parameters_* p ) const
    {
      return std::hash< std::string_view >()(
        std::string_view( reinterpret_cast< const char* >( p ), sizeof( Parameters_ ) ) );
    }
  };
  struct Equal_
  {
    bool
    operator()( const Parameters_* a, const Parameters_* b ) const
    {
      return std::memcmp( a, b, sizeof( Parameters_ ) ) == 0;
    }
  };
  static std::mutex&
  mutex_()
  {
    static std::mutex m;
    return m;
  }
  static std::deque< Parameters_ >&
  sets_()
  {
    static std::deque< Parameters_ > s;
    return s;
  }
  static std::unordered_set< const Parameters_*, Hash_, Equal_ >&
  index_()
  {
    static std::unordered_set< const Parameters_*, Hash_, Equal_ > i;
    return i;
  }
};
'''
_INCLUDES = ("#include <cstring>\n#include <deque>\n#include <functional>\n#include <mutex>\n"
             "#include <string_view>\n#include <unordered_set>\n")
_PARAMETER = re.compile(r"\bP_\.")
_SETTER = re.compile(r"inline void set_(?P<name>\w+)\(const double __v\)\s*\{\s*P_\.(?P=name) = __v;\s*\}")
_SETTER_BODY = ("inline void set_{name}(const double __v)\n  {{\n"
                "    Parameters_ __p = *" + _MEMBER + ";\n"
                "    __p.{name} = __v;\n    " + _MEMBER + " = ParameterTable_::intern( __p );\n  }}")


def _members(code: str) -> tuple[list[str], int] | None:
    """The ``double`` members of the one ``struct Parameters_`` and the index just after it."""
    structs = list(re.finditer(r"\bstruct Parameters_\s*\{", code))
    if len(structs) != 1:
        return None
    closing = cxx.matching_brace(code, structs[0].end() - 1)
    if closing is None or not code.startswith("};", closing):
        return None
    body = re.sub(r"Parameters_\(\)\s*\{\s*\}\s*;?", "", code[structs[0].end():closing])
    members = [m.strip() for m in body.split(";") if m.strip()]
    names = [m.group(1) for m in (re.fullmatch(r"double\s+(\w+)", m) for m in members) if m]
    if not names or len(names) != len(members) or len(set(names)) != len(names):
        return None
    line_end = code.find("\n", closing)
    return names, (len(code) if line_end < 0 else line_end)


def _block(code: str, pattern: str, names: list[str]) -> tuple[int, int, dict[str, str]] | None:
    """The one run of consecutive lines ``P_.x = <value>;`` (``pattern`` matches one line and
    captures ``name`` and ``value``) that assigns each of ``names`` once: (start, end, values)."""
    line = rf"[ \t]*{pattern}[ \t]*(?://[^\n]*)?\n"
    runs = [m for m in re.finditer(rf"(?:{line})+", code)]
    runs = [m for m in runs if len(re.findall(line, m.group())) == len(names)]
    if len(runs) != 1:
        return None
    values = {m.group("name"): m.group("value") for m in re.finditer(line, runs[0].group())}
    if sorted(values) != sorted(names):
        return None
    return runs[0].start(), runs[0].end(), values


def _interned(code: str, start: int, comment: str, initial: str, values: dict[str, str]) -> str:
    """A block, indented as the line at ``start``, that builds a set ``__p`` (``Parameters_ __p<initial>;``),
    assigns ``values`` to its members and points the connection to that set in the table."""
    indent = re.match(r"[ \t]*", code[start:]).group()
    lines = [f"{indent}{{  // jitnest: {comment}", f"{indent}  Parameters_ __p{initial};"]
    lines += [f"{indent}  __p.{name} = {value};" for name, value in values.items()]
    lines += [f"{indent}  {_MEMBER} = ParameterTable_::intern( __p );", f"{indent}}}"]
    return "\n".join(lines) + "\n"


def _rewrite(text: str) -> str | None:
    """``text`` with shared parameter sets, or None if a guard fails."""
    code = cxx.code_only(text)
    found = _members(code)
    if found is None:
        return None
    names, after_struct = found
    declaration = list(re.finditer(r"\n[ \t]*Parameters_\s+P_;[^\n]*", code))
    namespace = list(re.finditer(r"\nnamespace nest\s*\{", code))
    if len(declaration) != 1 or not namespace:
        return None
    constructor = _block(code, r"P_\.(?P<name>\w+) = (?P<value>(?!rhs\.)[^;\n]+);", names)
    copy = _block(code, r"P_\.(?P<name>\w+) = (?P<value>rhs\.P_\.(?P=name));", names)
    if constructor is None or copy is None:
        return None

    edits: list[tuple[int, int, str]] = [
        (namespace[0].start() + 1, namespace[0].start() + 1, "// jitnest: for ParameterTable_\n" + _INCLUDES),
        (after_struct, after_struct, "\n" + _TABLE),
        (declaration[0].start(), declaration[0].end(),
         f"\n  const Parameters_* {_MEMBER};  //!< Free parameters (jitnest: shared, see ParameterTable_)."),
    ]
    covered = [(declaration[0].start(), declaration[0].end())]
    start, end, values = constructor
    values = {n: _PARAMETER.sub("__p.", v) for n, v in values.items()}
    edits.append((start, end, _interned(code, start, "the default set, looked up in ParameterTable_", "", values)))
    covered.append((start, end))
    start, end, _ = copy
    indent = re.match(r"[ \t]*", code[start:]).group()
    edits.append((start, end, f"{indent}{_MEMBER} = rhs.{_MEMBER};  // jitnest: the same set\n"))
    covered.append((start, end))
    for match in _SETTER.finditer(code):
        if match.group("name") in names:
            edits.append((match.start(), match.end(), _SETTER_BODY.format(name=match.group("name"))))
            covered.append((match.start(), match.end()))
    alternatives = "|".join(names)
    batch = _block(code, rf"set_(?P<name>{alternatives})\((?P<value>tmp_(?P=name))\);", names)
    if batch is not None:  # set_status: one lookup for the new set, not one per parameter
        start, end, values = batch
        edits.append((start, end, _interned(code, start, "the new set, looked up once", f" = *{_MEMBER}", values)))
    for match in re.finditer(r"\bP_\b", code):
        if any(s <= match.start() < e for s, e in covered):
            continue
        read = re.match(r"P_\.(\w+)\b(?!\s*(?:=[^=]|\+\+|--|[-+*/%&|^]=))", code[match.start():])
        if read is None or read.group(1) not in names or code[max(0, match.start() - 2):match.start()] in ("++", "--"):
            return None
        edits.append((match.start(), match.start() + len("P_."), f"{_MEMBER}->"))
    edits.sort()
    if any(a[1] > b[0] for a, b in zip(edits, edits[1:])):
        return None
    for start, end, replacement in reversed(edits):
        text = text[:start] + replacement + text[end:]
    return text


def apply(files: dict[str, str], models: list[dict], network: dict) -> list[str]:
    """Rewrite every synapse header in ``files`` that passes the guards; one note per synapse."""
    del network  # valid for any network: a per-connection set still works
    notes = []
    for model, header in cxx.synapses(files, models):
        rewritten = _rewrite(files[header])
        if rewritten is not None:
            files[header] = rewritten
            notes.append(f"{model['name']}: parameters shared per distinct set, a pointer per connection")
    return notes
