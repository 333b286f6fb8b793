"""Parameters and state of NESTML nodes that are not built yet.

Users read and set parameters right after ``Create`` (and PyNN reads a model's defaults when a
cell type is defined), but a NESTML model only exists in NEST once it is compiled and the
network built. jitnest answers from the model's declarations instead:

* ``ModelDefaults``: a model's parameters and state variables with their default values as the
  compiled model reports them (evaluated by the NESTML worker: expressions, functions and units
  converted to NEST's units), updated by ``SetDefaults`` and ``CopyModel``.
* ``Population``: one ``Create`` call's nodes. Values set by ``Create(params=...)``, ``set``
  and ``SetStatus`` live in a columnar C++ store (``jitnest._core.ParameterStore``): one value
  per parameter while all nodes share it, one dense array once they differ. There is no Python
  object per node.

Contract:

* A read returns exactly what NEST returns after the build, in the same shapes: a scalar for
  one node, a tuple over nodes for several, a dict for several keys.
* A value NEST draws from ``nest.random`` cannot be known before NEST draws it. Reading such a
  parameter before the build therefore builds the network first (``NeedsKernel``), so the
  value read is NEST's own draw, bit-identical to plain NEST; it is never guessed.
* Unknown keys raise NEST's own error class (``UnaccessedDictionaryEntry`` for writes,
  ``KeyError`` for reads), at the user's line.
* Once the network is built, populations are released and reads go to NEST.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy

from .._core import ParameterStore
from ..call_site import CallSite
from ..pynest import REAL, NESTErrors
from .model_defaults import (  # noqa: F401 -- NODE_BASE_PARAMETERS, ModelDefaults: re-exported
    NODE_BASE_PARAMETERS,
    NODE_KERNEL_KEYS,
    ModelDefaults,
    NeedsKernel,
    is_random,
)
from .node_ids import NodeIds


class Population:
    """The nodes of one ``Create`` of a NESTML model, and the values set on them so far."""

    def __init__(self, model: str, first_id: int, size: int, defaults: ModelDefaults) -> None:
        self.model = model
        self.first_id = first_id
        self.size = size
        self.defaults = defaults.values.copy()  # defaults at creation time (later SetDefaults don't apply)
        self.model_defaults = defaults
        self.unknown = set(defaults.unknown)
        self.store = ParameterStore(size)
        # key -> per-node flags: True where only NEST can tell the value (drawn from nest.random, or a
        # default the worker could not evaluate). Created only for keys that need it.
        self.kernel_only: dict[str, numpy.ndarray] = {}

    def __contains__(self, node_id: int) -> bool:
        return self.first_id <= node_id < self.first_id + self.size

    # --- writes -------------------------------------------------------------------------

    def set(self, positions: numpy.ndarray, params: dict, site: CallSite | None) -> None:
        """Set ``params`` (scalars, per-node sequences or nest.random values) at ``positions``."""
        self.model_defaults.check_keys(params, site)
        for key, value in params.items():
            kind = self.model_defaults.types[key]
            if is_random(value) or key in self.model_defaults.vectors:
                self._flag(key, positions, True)  # NEST draws or holds it; only NEST can answer
                continue
            if isinstance(value, (list, tuple, numpy.ndarray)):
                array = numpy.asarray(value)
                if array.shape != (len(positions),):
                    raise NESTErrors.BadParameterValue(
                        f"'{key}': {len(array)} values given for {len(positions)} nodes")
                value = array
            elif not isinstance(value, (int, float, bool, numpy.number, numpy.bool_)):
                raise NESTErrors.TypeMismatch(f"'{key}' expects a number, got {type(value).__name__}")
            if key not in self.store:
                known, default = self._default(key)
                if not known and len(positions) < self.size:
                    self._flag(key, numpy.arange(self.size), True)  # the other nodes keep NEST's default
                self.store.set_uniform(key, kind(default if known else kind()))
            if isinstance(value, numpy.ndarray):
                self.store.set_at(key, positions, value)
            else:
                self.store.set_at(key, positions, kind(value))
            self._flag(key, positions, False)

    def set_each(self, positions: numpy.ndarray, per_node: Sequence[dict], site: CallSite | None) -> None:
        """``set`` with one dict per node (PyNEST's list-of-dicts form)."""
        if len(per_node) != len(positions):
            raise NESTErrors.BadParameterValue(f"{len(per_node)} dicts given for {len(positions)} nodes")
        for position, params in zip(positions, per_node):
            self.set(numpy.array([position]), params, site)

    def _flag(self, key: str, positions: numpy.ndarray, kernel_only: bool) -> None:
        flags = self.kernel_only.get(key)
        if flags is None:
            if not kernel_only:
                return
            flags = self.kernel_only[key] = numpy.zeros(self.size, dtype=bool)
        flags[positions] = kernel_only
        if not flags.any():
            del self.kernel_only[key]

    # --- reads --------------------------------------------------------------------------

    def _default(self, key: str) -> tuple[bool, Any]:
        """``(known, value)``: the model's default of ``key`` when these nodes were created; for a
        variable that a pairing recorded later adds, the default NESTML declares for it."""
        if key in self.defaults:
            return key not in self.unknown, self.defaults[key]
        found, value = self.model_defaults.paired_default(key)
        return found and key not in self.model_defaults.unknown, value

    def values(self, key: str, positions: numpy.ndarray) -> list:
        """The values of ``key`` at ``positions``; NeedsKernel if NEST must draw or compute them."""
        if key not in self.model_defaults.types or not self.model_defaults.readable(key):
            if key == "local" and REAL.NumProcesses() == 1:
                return [True] * len(positions)  # one process holds every node
            if key in NODE_KERNEL_KEYS:
                raise NeedsKernel(key)
            if not self.model_defaults.readable(key) or key not in self.model_defaults.types:
                raise KeyError(key)
        flags = self.kernel_only.get(key)
        if flags is not None and flags[positions].any():
            raise NeedsKernel(key)
        if self.model_defaults.is_provisional(key):
            raise NeedsKernel(key)
        if key in self.store:
            return self.store.get_at(key, positions).tolist()
        known, value = self._default(key)
        if not known:
            raise NeedsKernel(key)
        return [value] * len(positions)

    def keys(self, sync_pairing: bool = True) -> list[str]:
        """The keys ``get()`` answers for these nodes (with those the network's pairings add).
        ``sync_pairing=False``: only those known so far, without asking NESTML what pairings that
        nothing has read yet add (a request of a second or more)."""
        if sync_pairing:
            self.model_defaults.sync_pairing()
        return [k for k in self.model_defaults.types if k not in self.model_defaults.write_only]

    def holds(self, key: str) -> bool:
        """Whether the store keeps numbers for ``key`` (not for a vector, which only NEST holds)."""
        return key in self.store and key not in self.model_defaults.vectors

    def stored(self, key: str, positions: range | numpy.ndarray) -> numpy.ndarray:
        """A new array of the stored values of ``key`` at ``positions`` (see ``holds``)."""
        if isinstance(positions, range) and positions == range(self.size):
            # The whole population (a replayed Create): the column itself, without first building an
            # index array as large as the column.
            column = self.store.get(key)
            return column if isinstance(column, numpy.ndarray) else numpy.full(self.size, column, self.store.dtype(key))
        if isinstance(positions, range):
            positions = numpy.arange(positions.start, positions.stop, positions.step, dtype=numpy.int64)
        return self.store.get_at(key, positions)

    def nbytes(self) -> int:
        return self.store.nbytes() + sum(f.nbytes for f in self.kernel_only.values())


@dataclass
class Piece:
    """Part of a NodeCollection inside one population: positions there, offset in the collection."""

    population: Population | None
    positions: numpy.ndarray
    offset: int


def _runs_by_population(ids: range, populations: list[Population]) -> list[numpy.ndarray]:
    """Cut sorted IDs where population boundaries fall."""
    array = numpy.asarray(ids, dtype=numpy.int64)
    cuts = sorted({p.first_id for p in populations} | {p.first_id + p.size for p in populations})
    indices = sorted({int(i) for i in numpy.searchsorted(array, cuts) if 0 < i < len(array)})
    return [part for part in numpy.split(array, indices) if len(part)]


class PopulationIndex:
    """Populations of unbuilt NESTML nodes, by node ID."""

    def __init__(self) -> None:
        self.populations: list[Population] = []

    def add(self, population: Population) -> None:
        self.populations.append(population)

    def clear(self) -> None:
        self.populations = []

    def pieces(self, ids: NodeIds) -> list[Piece]:
        """``ids`` cut into pieces of one population each (``population`` None where there is none),
        in collection order, with each piece's offset in the collection."""
        pieces: list[Piece] = []
        offset = 0
        for run in ids.runs:
            for node_ids in _runs_by_population(run.ids(), self.populations):
                population = next((p for p in self.populations if int(node_ids[0]) in p), None)
                first = population.first_id if population is not None else 0
                positions = numpy.asarray(node_ids, dtype=numpy.int64) - first
                pieces.append(Piece(population, positions, offset))
                offset += len(node_ids)
        return pieces

    def nbytes(self) -> int:
        return sum(p.nbytes() for p in self.populations)


def shape_like_nest(columns: dict[str, list], keys: Sequence[str] | None, single_key: str | None,
                    size: int) -> Any:
    """Package per-node value lists the way ``NodeCollection.get`` does."""
    def one(values: list) -> Any:
        return values[0] if size == 1 else tuple(values)

    if single_key is not None:
        return one(columns[single_key])
    return {key: one(columns[key]) for key in (keys if keys is not None else columns)}
