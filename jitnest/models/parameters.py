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

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy

from .._core import ParameterStore
from ..call_site import CallSite
from ..errors import UnknownParameterError
from ..pynest import REAL, NESTErrors
from .model_info import ModelInfo
from .node_ids import NodeIds

# Status keys that NEST's node base classes write after the model's own values: a NESTML
# declaration of the same name (hill_tononi_neuron's parameter t_spike) is shadowed by NEST's
# value (the last spike time), so only NEST can answer for it.
_NEST_OWNED_KEYS = frozenset({"t_spike"})
_INTEGER_TYPES = {"integer", "int"}
_BOOLEAN_TYPES = {"boolean", "bool"}

# Every NESTML neuron is a NEST ArchivingNode. These keys of NEST's node base classes (Node,
# StructuralPlasticityNode, ArchivingNode) are in its status and accepted by SetStatus/SetDefaults;
# NEST 3.10's defaults (tests check them against a built-in neuron). PyNN, for one, sets tau_minus.
NODE_BASE_PARAMETERS: dict[str, Any] = {
    "Ca": 0.0, "beta_Ca": 0.001, "tau_Ca": 10000.0, "tau_minus": 20.0, "tau_minus_triplet": 110.0,
    "frozen": False, "ignore_and_spike": False, "ignore_and_spike_interval": 100.0, "ignore_and_spike_offset": 1.0,
}
# Read-only keys of a node's status that only the kernel can tell.
NODE_KERNEL_KEYS = frozenset({"archiver_length", "local", "model_id", "node_uses_wfr", "post_trace",
                              "synaptic_elements", "t_spike", "thread", "thread_local_id", "vp"})
# A synapse model's weight and delay, as NEST reports them besides the model's own variables.
SYNAPSE_DEFAULT_DELAY = 1.0
SYNAPSE_DEFAULT_WEIGHT = 1.0


class NeedsKernel(Exception):
    """The answer depends on something only NEST knows (e.g. a value drawn from nest.random)."""


def _declared_type(declaration: dict) -> type:
    text = str(declaration.get("type", "")).strip()
    if text in _INTEGER_TYPES:
        return int
    if text in _BOOLEAN_TYPES:
        return bool
    return float


def _is_random(value: Any) -> bool:
    return type(value).__name__ == "Parameter" and hasattr(value, "GetValue")


@dataclass
class ModelDefaults:
    """A NESTML model's declared parameters and state variables, with current default values."""

    model: str
    info: ModelInfo
    values: dict[str, Any]
    types: dict[str, type]
    unknown: set[str] = field(default_factory=set)  # defaults that only the built model can tell
    vectors: set[str] = field(default_factory=set)  # vector-valued declarations (answered by NEST)

    @classmethod
    def from_info(cls, model: str, info: ModelInfo) -> ModelDefaults:
        types: dict[str, type] = {}
        vectors: set[str] = set()
        moved = set(info.moved_to_neuron)  # NESTML moves these into the paired neuron
        for declaration in (*info.parameters, *info.state):
            name = declaration.get("nest_name") or declaration["name"]  # NEST's key (x' is x__d, ...)
            if declaration["name"] in moved:
                continue
            types[name] = _declared_type(declaration)
            if declaration.get("vector_size") is not None:
                vectors.add(name)
        values = {name: types[name](info.defaults[name]) for name in types
                  if name in info.defaults and name not in vectors
                  and not isinstance(info.defaults[name], (list, dict))}
        unknown = {name for name in types if name not in values or name in _NEST_OWNED_KEYS}
        for name in unknown:
            values.pop(name, None)
        if info.is_synapse:
            # NEST's ``weight``/``delay`` are the model's weight/delay variables where it has them.
            for key, variable, default in (("weight", info.weight_variable, SYNAPSE_DEFAULT_WEIGHT),
                                           ("delay", info.delay_variable, SYNAPSE_DEFAULT_DELAY)):
                if key not in types:
                    types[key] = float
                    if variable in unknown:
                        unknown.add(key)
                    else:
                        values[key] = float(values.get(variable, default))
        else:
            for key, default in NODE_BASE_PARAMETERS.items():
                if key not in types:
                    types[key] = type(default)
                    values[key] = default
        return cls(model, info, values, types, unknown, vectors)

    def _twin_of(self, key: str) -> str | None:
        """For a synapse: ``weight`` <-> its weight variable, ``delay`` <-> its delay variable."""
        if not self.info.is_synapse:
            return None
        pairs = {"weight": self.info.weight_variable, "delay": self.info.delay_variable}
        pairs.update({v: k for k, v in list(pairs.items()) if v})
        twin = pairs.get(key)
        return twin if twin and twin != key else None

    def copy(self, model: str) -> ModelDefaults:
        return ModelDefaults(model, self.info, dict(self.values), dict(self.types), set(self.unknown),
                             set(self.vectors))

    def check_keys(self, keys: Iterable[str], site: CallSite | None) -> None:
        unknown = sorted(k for k in keys if k not in self.types)
        if unknown:
            raise UnknownParameterError(
                f"Unaccessed elements in params: {', '.join(unknown)} (model {self.model} declares no such "
                f"parameter or state variable; it has: {', '.join(sorted(self.types))})", site)

    def update(self, params: dict, site: CallSite | None) -> None:
        self.check_keys(params, site)
        if self.info.is_synapse and self.info.weight_variable not in (None, "weight") \
                and "weight" in params and self.info.weight_variable in params:
            raise NESTErrors.BadProperty(f"To prevent inconsistencies, please set either 'weight' or "
                                         f"'{self.info.weight_variable}' variable; not both at the same time.")
        for key, value in params.items():
            keys = [key] + ([twin] if (twin := self._twin_of(key)) is not None else [])
            for k in keys:
                if _is_random(value) or key in self.vectors:
                    self.unknown.add(k)
                    self.values.pop(k, None)
                else:
                    self.values[k] = self.types[k](value)
                    self.unknown.discard(k)

    def status(self) -> dict[str, Any]:
        """What ``GetDefaults`` answers before the build (declared keys plus a few NEST keys)."""
        if self.unknown:
            raise NeedsKernel(sorted(self.unknown))
        status = dict(self.values)
        if self.info.is_synapse:
            # NEST's synapse defaults name the model under "synapse_model" and have no "model".
            status.update(synapse_model=self.model, element_type="synapse", has_delay=True, receptor_type=0,
                          requires_symmetric=False)
        else:
            status.update(model=self.model, element_type="neuron")
            status["recordables"] = tuple(sorted(self.info.recordables))
        return status


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
            if _is_random(value) or key in self.model_defaults.vectors:
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
                if key in self.unknown and len(positions) < self.size:
                    self._flag(key, numpy.arange(self.size), True)  # the other nodes keep NEST's default
                self.store.set_uniform(key, kind(self.defaults.get(key, kind())))
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

    def values(self, key: str, positions: numpy.ndarray) -> list:
        """The values of ``key`` at ``positions``; NeedsKernel if NEST must draw or compute them."""
        if key not in self.model_defaults.types:
            if key == "local" and REAL.NumProcesses() == 1:
                return [True] * len(positions)  # one process holds every node
            if key in NODE_KERNEL_KEYS:
                raise NeedsKernel(key)
            raise KeyError(key)
        flags = self.kernel_only.get(key)
        if flags is not None and flags[positions].any():
            raise NeedsKernel(key)
        if key in self.store:
            return self.store.get_at(key, positions).tolist()
        if key in self.unknown or key not in self.defaults:
            raise NeedsKernel(key)
        return [self.defaults[key]] * len(positions)

    def keys(self) -> list[str]:
        return list(self.model_defaults.types)

    def holds(self, key: str) -> bool:
        """Whether the store keeps numbers for ``key`` (not for a vector, which only NEST holds)."""
        return key in self.store and key not in self.model_defaults.vectors

    def stored(self, key: str, positions: numpy.ndarray) -> numpy.ndarray:
        """A new array of the stored values of ``key`` at ``positions`` (see ``holds``)."""
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
