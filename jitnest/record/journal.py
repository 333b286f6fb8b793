"""Recorded calls: what the user did since the last ResetKernel, replayable in order.

NEST refuses ``Install`` once any node exists, so making NESTML models available means:
reset the kernel, install the modules, and replay every recorded call in order. An entry
keeps the user's arguments (mutable containers copied, so later edits by the user do not
leak in; per-node values of unbuilt NESTML nodes are referred to in the parameter store, which
holds its own copy, see ``StoredValues``), the user's call site, and after execution its real result.

Entries speak the names the user wrote; a ``Translation`` (see session) turns them into the
generated models' names at execution time, because which generated model a name means is
only known once all combinations are known.
"""

from __future__ import annotations

import copy
import weakref
from collections.abc import Callable, Sequence
from typing import Any, Protocol

import numpy

from ..call_site import CallSite
from ..models.node_ids import NodeIds
from ..models.parameters import Piece, Population
from ..pynest import REAL


class Translation(Protocol):
    """What an entry needs from the session to execute against the real kernel."""

    generation: int  # the kernel's generation the entry executes in (see proxies)

    def real(self, value: Any) -> Any: ...
    def node_model(self, name: str) -> str: ...
    def syn_spec(self, spec: Any, post: NodeIds) -> Any: ...
    def target_groups(self, spec: Any, post: NodeIds) -> list[list[int]]: ...
    def model_variants(self, name: str) -> list[str]: ...
    def copy_variants(self, existing: str, new: str) -> list[tuple[str, str]]: ...


class StoredValues:
    """Per-node values of a recorded call that the parameter store holds: the journal refers to the
    store instead of keeping a second copy (heterogeneous values would sit in memory twice).

    ``segments`` cover the call's nodes in order: ``(population, key, positions)`` where a
    population's store holds the values, else an own copy of the user's values for nodes it has no
    store for (built-in or already built nodes). ``values()`` reads them back when the call executes.
    The store copied the user's values when they were set, so later changes to the user's array do
    not leak in. It may by then hold values that a later call set on the same nodes while the
    network waited for its build; the replay executes that later call afterwards anyway, and nothing
    reads a node's parameters in between, so NEST ends up with the same values.
    """

    __slots__ = ("segments",)

    def __init__(self, segments: list[tuple[Population, str, range | numpy.ndarray] | numpy.ndarray]) -> None:
        self.segments = segments

    def values(self) -> numpy.ndarray:
        parts = [segment if isinstance(segment, numpy.ndarray) else
                 segment[0].stored(segment[1], segment[2]) for segment in self.segments]
        return parts[0] if len(parts) == 1 else numpy.concatenate(parts)


def refer_to_store(params: Any, pieces: Sequence[Piece]) -> Any:
    """``params`` of a Create or set (a dict; other forms are returned as they are) with each per-node
    value that the stores of ``pieces`` hold (``Population.holds``) replaced by ``StoredValues``.

    ``pieces`` cut the call's nodes by population, as ``PopulationIndex.pieces`` does, after the
    values were applied to the stores."""
    if not isinstance(params, dict):
        return params
    return {key: _refer(key, value, pieces) for key, value in params.items()}


def _refer(key: str, value: Any, pieces: Sequence[Piece]) -> Any:
    per_node = isinstance(value, (list, tuple)) or (isinstance(value, numpy.ndarray) and value.ndim == 1)
    if not per_node or not any(p.population is not None and p.population.holds(key) for p in pieces):
        return value
    segments: list = []
    for piece in pieces:
        if piece.population is not None and piece.population.holds(key):
            segments.append((piece.population, key, _compact(piece.positions)))
        else:
            segments.append(numpy.array(value[piece.offset:piece.offset + len(piece.positions)]))
    return StoredValues(segments)


def _compact(positions: range | numpy.ndarray) -> range | numpy.ndarray:
    """Positions as a range where they are evenly spaced (a Create, a slice), so that a reference costs
    no memory per node; else an own copy."""
    if isinstance(positions, range) or len(positions) == 0:
        return range(0) if len(positions) == 0 else positions
    first, step = int(positions[0]), int(positions[1] - positions[0]) if len(positions) > 1 else 1
    if step > 0 and (len(positions) == 1 or bool((numpy.diff(positions) == step).all())):
        return range(first, int(positions[-1]) + 1, step)
    return numpy.array(positions, dtype=numpy.int64)


def read_back(value: Any) -> Any:
    """``value`` with every ``StoredValues`` (also inside dicts, lists and tuples) read back."""
    if isinstance(value, StoredValues):
        return value.values()
    if isinstance(value, dict):
        return {k: read_back(v) for k, v in value.items()}
    if isinstance(value, list):
        return [read_back(v) for v in value]
    if isinstance(value, tuple):
        return tuple(read_back(v) for v in value)
    return value


def snapshot(value: Any) -> Any:
    """A copy of containers the user may mutate after the call; other objects are kept as they are."""
    if isinstance(value, dict):
        return {k: snapshot(v) for k, v in value.items()}
    if isinstance(value, list):
        return [snapshot(v) for v in value]
    if isinstance(value, tuple):
        return tuple(snapshot(v) for v in value)
    if isinstance(value, numpy.ndarray):
        return value.copy()
    return value


class Entry:
    """One recorded call. ``execute`` performs it on the real kernel and keeps the result."""

    def __init__(self, site: CallSite) -> None:
        self.site = site
        self.result: Any = None

    def execute(self, tr: Translation) -> None:
        raise NotImplementedError

    def describe(self) -> str:
        return type(self).__name__


class RequirementEntry(Entry):
    """Carries new NESTML requirements only: a model, or a twin of one, named but not yet used."""

    def __init__(self, site: CallSite, named: str) -> None:
        super().__init__(site)
        self.named = named

    def execute(self, tr: Translation) -> None:
        return None

    def describe(self) -> str:
        return f"the use of {self.named!r}"


class CreateEntry(Entry):
    def __init__(self, site: CallSite, model: str, n: int | None, params: Any, positions: Any,
                 ids: NodeIds) -> None:
        super().__init__(site)
        self.model, self.n, self.params, self.positions = model, n, snapshot(params), positions
        self.ids = ids

    def execute(self, tr: Translation) -> None:
        kwargs: dict[str, Any] = {}
        if self.params is not None:
            kwargs["params"] = tr.real(read_back(self.params))
        if self.positions is not None:
            kwargs["positions"] = self.positions
        args = (tr.node_model(self.model),) if self.n is None else (tr.node_model(self.model), self.n)
        result = REAL.Create(*args, **kwargs)
        if len(result) and len(self.ids) and result[0].global_id != self.ids.runs[0].first:
            raise RuntimeError(f"jitnest internal error: replayed Create gave first ID {result[0].global_id}, "
                               f"recorded {self.ids.runs[0].first}")
        self.result = result

    def describe(self) -> str:
        return f"Create({self.model!r}, {self.n})"


class ConnectEntry(Entry):
    def __init__(self, site: CallSite, pre: Any, post: Any, post_ids: NodeIds, conn_spec: Any,
                 syn_spec: Any, return_synapsecollection: bool) -> None:
        super().__init__(site)
        self.pre, self.post, self.post_ids = pre, post, post_ids
        self.conn_spec, self.syn_spec = snapshot(conn_spec), snapshot(syn_spec)
        self.return_synapsecollection = return_synapsecollection

    def execute(self, tr: Translation) -> None:
        pre, post = tr.real(self.pre), tr.real(self.post)
        conn_spec, syn_spec = tr.real(self.conn_spec), tr.real(self.syn_spec)
        groups = tr.target_groups(self.syn_spec, self.post_ids)
        if not groups:
            self.result = REAL.Connect(pre, post, conn_spec, tr.syn_spec(syn_spec, self.post_ids),
                                       return_synapsecollection=self.return_synapsecollection)
            return
        # The synapse is one NEST model per postsynaptic NESTML model: one Connect per target model,
        # as the manual workflow must write it (the rule allows it, see naming.SPLITTABLE_RULES).
        one_to_one = connection_rule(conn_spec) == "one_to_one"
        results = []
        for positions in groups:
            results.append(REAL.Connect(pre[positions] if one_to_one else pre, post[positions], conn_spec,
                                        tr.syn_spec(_rows(syn_spec, positions), self.post_ids[positions]),
                                        return_synapsecollection=self.return_synapsecollection))
        self.result = joined(results) if self.return_synapsecollection else None

    def describe(self) -> str:
        models = self.syn_spec.get("synapse_model") if isinstance(self.syn_spec, dict) else self.syn_spec
        return f"Connect(..., synapse_model={models!r})" if models else "Connect(...)"


def connection_rule(conn_spec: Any) -> str | None:
    """The rule of a ``Connect`` conn_spec (NEST's default is all_to_all); None if it names none."""
    if conn_spec is None:
        return "all_to_all"
    if isinstance(conn_spec, str):
        return conn_spec
    if isinstance(conn_spec, dict):
        return conn_spec.get("rule", "all_to_all")
    return None


def _rows(syn_spec: Any, positions: list[int]) -> Any:
    """``syn_spec`` for the targets at ``positions``: per-connection arrays are indexed by target
    first in NEST (one_to_one: one value per pair; all_to_all and fixed_indegree: one row per target)."""
    if isinstance(syn_spec, dict):
        return {key: numpy.asarray(value)[positions] if isinstance(value, (list, tuple, numpy.ndarray)) else value
                for key, value in syn_spec.items()}
    if isinstance(syn_spec, REAL.CollocatedSynapses):
        return REAL.CollocatedSynapses(*[_rows(spec, positions) for spec in syn_spec.syn_specs])
    return syn_spec


def joined(collections: list[Any]) -> Any:
    """One SynapseCollection holding the connections of ``collections``, in their order (a
    SynapseCollection is a list of NEST's connection handles, and its constructor takes one)."""
    handles = [handle for collection in collections for handle in (collection._datum or [])]
    return REAL.SynapseCollection(handles or None)


class CopyModelEntry(Entry):
    def __init__(self, site: CallSite, existing: str, new: str, params: Any) -> None:
        super().__init__(site)
        self.existing, self.new, self.params = existing, new, snapshot(params)

    def execute(self, tr: Translation) -> None:
        for real_existing, real_new in tr.copy_variants(self.existing, self.new):
            REAL.CopyModel(real_existing, real_new, tr.real(self.params))

    def describe(self) -> str:
        return f"CopyModel({self.existing!r}, {self.new!r})"


class SetDefaultsEntry(Entry):
    def __init__(self, site: CallSite, model: str, params: Any, val: Any) -> None:
        super().__init__(site)
        self.model, self.params, self.val = model, snapshot(params), snapshot(val)

    def execute(self, tr: Translation) -> None:
        for name in tr.model_variants(self.model):
            REAL.SetDefaults(name, tr.real(self.params), tr.real(self.val))

    def describe(self) -> str:
        return f"SetDefaults({self.model!r}, ...)"


class QueryEntry(Entry):
    """A GetConnections. Replayed, it runs again at its place, so that the SynapseCollection the
    user holds refers to the connections that existed when they asked (as in NEST), not to those
    of the whole replayed journal. It holds the proxy weakly: once the user drops the collection,
    the entry does nothing and keeps nothing alive.
    """

    def __init__(self, site: CallSite, collection: Any) -> None:
        super().__init__(site)
        self.collection = weakref.ref(collection)

    def execute(self, tr: Translation) -> None:
        collection = self.collection()
        if collection is not None:
            collection._self_rebind(tr.generation)

    def describe(self) -> str:
        return "GetConnections(...)"


class CallEntry(Entry):
    """Any other state-changing call: ``function(*args, **kwargs)`` with proxies resolved."""

    def __init__(self, site: CallSite, function: Callable[..., Any], args: tuple = (),
                 kwargs: dict | None = None) -> None:
        super().__init__(site)
        self.function = function
        self.args = snapshot(tuple(args))
        self.kwargs = snapshot(dict(kwargs or {}))

    def execute(self, tr: Translation) -> None:
        self.result = self.function(*tr.real(read_back(self.args)), **tr.real(read_back(self.kwargs)))

    def describe(self) -> str:
        return f"{getattr(self.function, '__name__', 'call')}(...)"


def clone_error(error: BaseException, site: CallSite) -> BaseException:
    """``error`` of the same class, its message extended by the user's call site."""
    message = f"{error}\n  (recorded in your code at {site})"
    try:
        clone = copy.copy(error)
        clone.args = (message,)
        return clone
    except Exception:  # noqa: BLE001 -- some extension exceptions cannot be copied
        return RuntimeError(message)
