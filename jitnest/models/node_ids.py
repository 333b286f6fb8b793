"""Node IDs of a NodeCollection that may not exist in the kernel yet.

NEST assigns node IDs consecutively from 1 in the order of ``Create`` calls, so the IDs of a
recorded (not yet built) population are known exactly. ``NodeIds`` mirrors what a user reaches of
NEST's ``NodeCollection`` without a kernel: length, indexing, slicing, joining, membership,
``index``, equality, iteration and ``repr``.

Contract: for every operation, the result is what NEST 3.10 computes on the real collection: the
same IDs in the same order, the same ``repr``, the same equality, and NEST's own error (class and
message) where NEST refuses. That includes NEST's quirks, because after the build the real
collection is NEST's and the two must agree: equality of composites compares sizes and parts only;
a slice with a step, or any slice of a composite that spans parts, is a *sliced composite* that can
be neither joined on the left nor sliced again to more than one node; joining a primitive with a
sliced composite on the right takes that composite's parts whole (its slicing is ignored); and a
primitive joined with one that strictly contains it is not refused (the result holds some IDs twice).

Representation: IDs as *runs* (``first, first+step, ..., last`` of one model), so that every
operation costs O(number of runs), never O(number of nodes): joining two populations of 10^7
nodes is as cheap as joining two of 10^3. Models are the names the user wrote.

The module is longer than 400 lines because it mirrors one NEST class whose rules (joins, slices,
lookups, text) all depend on the same internal state (kind, parts, step); split, each part would
reach into the other's internals.
"""

from __future__ import annotations

import bisect
import numbers
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy

_REPR_INDENT = " " * len("NodeCollection(")

# What NEST holds: a primitive (one run of consecutive IDs), a composite (sorted parts, each a
# primitive) or a sliced composite (parts with a start, a stop and a step over their positions).
PRIMITIVE, COMPOSITE, SLICED = "primitive", "composite", "sliced composite"


def _nest_error(name: str, message: str) -> Exception:
    from ..pynest import NESTErrors  # only when raising: importing this module must not need NEST

    return getattr(NESTErrors, name)(message)


@dataclass(frozen=True)
class Run:
    """IDs ``first, first+step, ..., last`` of nodes of one model (the name the user wrote)."""

    model: str
    first: int
    last: int
    step: int = 1

    def __len__(self) -> int:
        return (self.last - self.first) // self.step + 1

    def ids(self) -> range:
        return range(self.first, self.last + 1, self.step)

    def position_of(self, node_id: int) -> int | None:
        """The position of ``node_id`` in this run, or None."""
        if self.first <= node_id <= self.last and (node_id - self.first) % self.step == 0:
            return (node_id - self.first) // self.step
        return None

    def select(self, start: int, count: int, step: int) -> Run:
        """The run of ``count`` IDs at positions ``start, start+step, ...`` of this run."""
        first = self.first + start * self.step
        if count == 1:
            return Run(self.model, first, first)
        return Run(self.model, first, first + (count - 1) * self.step * step, self.step * step)

    def describe(self) -> str:
        """NEST's text of a primitive."""
        text = f"model={self.model}, size={len(self)}, first={self.first}"
        return text + (f", last={self.last}" if len(self) > 1 else "")


class NodeIds:
    """An immutable NodeCollection's IDs as NEST holds them (see the module docstring).

    ``runs`` are the IDs in collection order. ``kind`` is PRIMITIVE (one run of step 1, or none),
    COMPOSITE (the runs are NEST's parts) or SLICED (``parts`` are the composite's parts, ``step``
    its step; each run is the selection from one part). ``metadata`` identifies a spatial Create.
    """

    __slots__ = ("runs", "kind", "parts", "step", "metadata", "_offsets")

    def __init__(self, runs: Iterable[Run] = (), kind: str | None = None, parts: tuple[Run, ...] | None = None,
                 step: int = 1, metadata: Any = None) -> None:
        self.runs: tuple[Run, ...] = tuple(runs)
        self.kind = kind or (PRIMITIVE if len(self.runs) <= 1 else COMPOSITE)
        self.parts = parts if self.kind == SLICED else None
        self.step = step
        self.metadata = metadata
        offsets = [0]
        for run in self.runs:
            offsets.append(offsets[-1] + len(run))
        self._offsets = offsets  # position of each run's first node; the last entry is the size

    @classmethod
    def primitive(cls, model: str, first: int, size: int, spatial: bool = False) -> NodeIds:
        """What ``Create`` returns: ``size`` nodes from ``first`` (spatial ones carry their own metadata)."""
        if size == 0:
            return cls()
        return cls([Run(model, first, first + size - 1)], metadata=("spatial", first) if spatial else None)

    @classmethod
    def from_sorted_ids(cls, ids: Iterable[int], model_of: dict[int, str]) -> NodeIds:
        """What NEST makes of a list of node IDs: one part per stretch of consecutive IDs of one model."""
        runs: list[Run] = []
        for node_id in ids:
            model = model_of[node_id]
            if runs and runs[-1].model == model and runs[-1].last + 1 == node_id:
                runs[-1] = Run(model, runs[-1].first, node_id)
            else:
                runs.append(Run(model, node_id, node_id))
        return cls(runs)

    @property
    def spatial(self) -> bool:
        return self.metadata is not None

    def model_map(self) -> dict[int, str]:
        return {node_id: run.model for run in self.runs for node_id in run.ids()}

    def _nest_parts(self) -> tuple[Run, ...]:
        return self.parts if self.kind == SLICED else self.runs

    # --- sequence protocol --------------------------------------------------------------

    def __len__(self) -> int:
        return self._offsets[-1]

    def __iter__(self) -> Iterator[int]:
        for run in self.runs:
            yield from run.ids()

    def tolist(self) -> list[int]:
        return list(iter(self))

    def __contains__(self, node_id: object) -> bool:
        return self._find(_node_id(node_id)) is not None

    def index(self, node_id: Any) -> int:
        position = self._find(_node_id(node_id))
        if position is None:
            raise ValueError(f"{node_id} is not in NodeCollection")
        return position

    def _find(self, node_id: int) -> int | None:
        """The position of ``node_id``, found as NEST finds it: outside the first and last IDs of the
        collection it is absent, else a bisection over the runs. Exact for the runs NEST keeps sorted;
        for the unordered ones of its unrefused overlapping joins it gives NEST's (partial) answers."""
        if not self.runs or not self.runs[0].first <= node_id <= self.runs[-1].last:
            return None
        lower, upper = 0, len(self.runs) - 1
        while lower <= upper:
            middle = (lower + upper) // 2
            run = self.runs[middle]
            if run.last < node_id:
                lower = middle + 1
            elif node_id < run.first:
                upper = middle - 1
            else:
                position = run.position_of(node_id)
                return None if position is None else self._offsets[middle] + position
        return None

    def models(self) -> list[str]:
        """Distinct model names, in ID order."""
        seen: dict[str, None] = {}
        for run in self.runs:
            seen.setdefault(run.model, None)
        return list(seen)

    def model_at(self, position: int) -> str:
        if not 0 <= position < len(self):
            raise IndexError("index value outside of the NodeCollection")
        return self.runs[bisect.bisect_right(self._offsets, position) - 1].model

    def positions_by_run(self) -> Iterator[tuple[Run, int]]:
        """Each run with the position of its first node in this collection."""
        yield from zip(self.runs, self._offsets)

    def __eq__(self, other: object) -> bool:
        """NEST's equality: primitives by their IDs, model and metadata; composites (sliced or not) by
        size and parts only, so ``a[0:3:2] == a[1:4:2]`` as in NEST; a primitive never equals a composite."""
        if not isinstance(other, NodeIds):
            return False
        if (self.kind == PRIMITIVE) != (other.kind == PRIMITIVE):
            return False
        if self.kind == PRIMITIVE:
            return self.runs == other.runs and self.metadata == other.metadata
        return len(self) == len(other) and self._nest_parts() == other._nest_parts()

    def __hash__(self) -> int:
        return hash((self.kind == PRIMITIVE, len(self), self._nest_parts()))

    # --- joining ------------------------------------------------------------------------

    def __add__(self, other: NodeIds) -> NodeIds:
        """NEST's ``+``: parts sorted, adjacent parts of one model merged, overlaps refused."""
        if not other.runs:
            return self
        if not self.runs:
            return other
        if self.kind == PRIMITIVE:
            if (self.metadata is not None or other.metadata is not None) and self.metadata != other.metadata:
                raise _nest_error("BadProperty", "Can only join NodeCollections with same metadata.")
            if other.kind == PRIMITIVE:
                return _join_primitives(self.runs[0], other.runs[0], self.metadata)
            return other._plus_primitive(self.runs[0])  # NEST: the composite's whole parts
        if self.metadata is not None and self.metadata != other.metadata:
            raise _nest_error("BadProperty", "can only join NodeCollections with the same metadata")
        if self.kind == SLICED or other.kind == SLICED:
            raise _nest_error("BadProperty", "Cannot add NodeCollection to a sliced composite.")
        if other.kind == PRIMITIVE:
            return self._plus_primitive(other.runs[0])
        if _intersect(self.runs, other.runs):
            raise _nest_error("BadProperty", "Cannot join overlapping NodeCollections.")
        return _from_parts(self.runs + other.runs, self.metadata)

    def _plus_primitive(self, primitive: Run) -> NodeIds:
        """A composite's parts plus a primitive, with NEST's test for overlap (a part containing the
        primitive's first or last ID)."""
        parts = self._nest_parts()
        if any(_overlapping(part, primitive) for part in parts):
            raise _nest_error("BadProperty", "Cannot join overlapping NodeCollections.")
        return _from_parts(parts + (primitive,), self.metadata)

    # --- indexing and slicing -----------------------------------------------------------

    def __getitem__(self, key: object) -> NodeIds:
        """PyNEST's ``NodeCollection.__getitem__``, its checks and NEST's in the same order."""
        size = len(self)
        if isinstance(key, slice):
            start, stop, step = self._nest_slice_bounds(key)
            return self._slice(start, stop, step)
        if isinstance(key, (int, numpy.integer)):  # bool too, as in PyNEST
            index = int(key)
            if abs(index + (index >= 0)) > size:
                raise IndexError("index value outside of the NodeCollection")
            return self[index:index + 1:1]
        if isinstance(key, (list, tuple)):
            if not key:
                return NodeIds()
            if all(isinstance(x, bool) for x in key):
                if len(key) != size:
                    raise IndexError("Bool index array must be the same length as NodeCollection")
                return self._take(numpy.flatnonzero(numpy.array(key, dtype=bool)))
            if all(isinstance(x, (int, numpy.integer)) and not isinstance(x, bool) for x in key):
                array = numpy.array(key, dtype=numpy.uint64)  # numpy's OverflowError for negative indices
                if len(numpy.unique(array)) != len(array):
                    raise ValueError("All node IDs in a NodeCollection have to be unique")
                return self._take(array.astype(numpy.int64))
            raise TypeError("Indices must be integers or bools")
        if isinstance(key, numpy.ndarray):
            if len(key) == 0:
                return NodeIds()
            if len(key.shape) != 1:
                raise TypeError("NumPy indices must one-dimensional")
            is_bool = numpy.issubdtype(key.dtype, numpy.dtype(bool).type)
            if not (is_bool or numpy.issubdtype(key.dtype, numpy.integer)):
                raise TypeError("NumPy indices must be an array of integers or bools")
            if is_bool:
                if len(key) != size:
                    raise IndexError("Bool index array must be the same length as NodeCollection")
                return self._take(numpy.flatnonzero(key))
            if len(numpy.unique(key)) != len(key):
                raise ValueError("All node IDs in a NodeCollection have to be unique")
            if (key < 0).any():
                raise _nest_error("UnknownNode", "Node with id 0 does not exist.")  # what NEST answers
            return self._take(key.astype(numpy.int64))
        raise IndexError("only integers, slices, lists, tuples, and numpy arrays are valid indices")

    def _nest_slice_bounds(self, key: slice) -> tuple[int, int, int]:
        """0-based start and stop and the step, as PyNEST checks and converts them and NEST then reads
        them (``a[0:0]`` is all of ``a`` in NEST, since PyNEST takes a stop of 0 for "to the end")."""
        size = len(self)
        if key.start is None:
            start = 1
        else:
            start = key.start + 1 if key.start >= 0 else key.start
            if abs(start) > size:
                raise IndexError("slice start value outside of the NodeCollection")
        if key.stop is None:
            stop = size
        else:
            stop = key.stop if key.stop > 0 else key.stop - 1
            if abs(stop) > size:
                raise IndexError("slice stop value outside of the NodeCollection")
        step = 1 if key.step is None else key.step
        if step < 1:
            raise IndexError("slicing step for NodeCollection must be strictly positive")
        start = start - 1 if start >= 0 else start + size  # 1-based (or from the end) -> 0-based
        stop = stop if stop >= 0 else stop + size + 1
        if not start < stop:
            raise _nest_error("BadParameter", "start < stop required.")
        return start, stop, step

    def _slice(self, start: int, stop: int, step: int) -> NodeIds:
        """NEST's ``slice(start, stop, step)`` (0-based positions, stop exclusive)."""
        if self.kind == PRIMITIVE:
            run = self.runs[0]
            count = len(range(start, stop, step))
            if step == 1 and self.metadata is None:
                return NodeIds([run.select(start, count, 1)])
            return NodeIds([run.select(start, count, step)], SLICED, (run,), step, self.metadata)
        if self.kind == SLICED:
            if len(range(start, stop, step)) > 1:
                raise _nest_error("BadProperty", "Cannot slice a sliced composite NodeCollection.")
            (_, run), = self._select(start, start + 1, 1)
            part = next(p for p in self.parts if p.first <= run.first <= p.last)
            return self._one_part_slice(run, part, step)
        selected = self._select(start, stop, step)
        if step == 1 and len(selected) == 1:
            at, run = selected[0]
            return self._one_part_slice(run, self.runs[at], step)
        return NodeIds([run for _, run in selected], SLICED, self.runs, step, self.metadata)

    def _one_part_slice(self, run: Run, part: Run, step: int) -> NodeIds:
        """A slice of a composite whose nodes (``run``) lie in one ``part``: NEST slices that part, a
        primitive, unless a step (then the composite stays sliced) or metadata (a spatial part sliced is
        a sliced composite) keep it a composite."""
        if step > 1:
            return NodeIds([run], SLICED, self._nest_parts(), step, self.metadata)
        if self.metadata is not None:
            return NodeIds([run], SLICED, (part,), 1, self.metadata)
        return NodeIds([run])

    def _select(self, start: int, stop: int, step: int) -> list[tuple[int, Run]]:
        """Positions ``start, start+step, ... < stop``, as (run number, selected run) per run they meet."""
        selected = []
        first_run = bisect.bisect_right(self._offsets, start) - 1
        for at in range(first_run, len(self.runs)):
            offset, run = self._offsets[at], self.runs[at]
            if offset >= stop:
                break
            low = max(start, offset)
            low += (start - low) % step  # the first selected position at or after the run's start
            high = min(stop, offset + len(run))
            if low < high:
                selected.append((at, run.select(low - offset, len(range(low, high, step)), step)))
        return selected

    def _take(self, positions: numpy.ndarray) -> NodeIds:
        """NEST's ``take_array_index``: the IDs at ``positions`` (ascending), made into a new
        collection as NEST makes one from a list of IDs."""
        if not len(positions):
            return NodeIds()
        outside = positions[(positions < 0) | (positions >= len(self))]
        if len(outside):
            raise IndexError(f"pos {int(outside[0])} points outside of the NodeCollection")
        offsets = numpy.asarray(self._offsets[:-1], dtype=numpy.int64)
        at = numpy.searchsorted(offsets, positions, side="right") - 1
        firsts = numpy.fromiter((run.first for run in self.runs), dtype=numpy.int64, count=len(self.runs))
        steps = numpy.fromiter((run.step for run in self.runs), dtype=numpy.int64, count=len(self.runs))
        ids = firsts[at] + (positions - offsets[at]) * steps[at]
        gaps = numpy.diff(ids)
        if (gaps < 0).any():
            raise _nest_error("BadProperty", "Indices must be sorted in ascending order")
        if (gaps == 0).any():
            raise _nest_error("BadProperty", "All node IDs in a NodeCollection have to be unique")
        codes: dict[str, int] = {}
        model_codes = numpy.fromiter((codes.setdefault(run.model, len(codes)) for run in self.runs),
                                     dtype=numpy.int64, count=len(self.runs))[at]
        breaks = numpy.flatnonzero((gaps != 1) | (numpy.diff(model_codes) != 0)) + 1
        starts, ends = numpy.concatenate(([0], breaks)), numpy.concatenate((breaks, [len(ids)])) - 1
        models = {code: model for model, code in codes.items()}
        return NodeIds([Run(models[int(model_codes[s])], int(ids[s]), int(ids[e])) for s, e in zip(starts, ends)])

    # --- text ---------------------------------------------------------------------------

    def __repr__(self) -> str:
        """NEST's text, quirks included: a sliced composite shows one line per part it meets, with
        ``;`` between them only where a step or a single node is shown."""
        if not self.runs:
            return "NodeCollection(<empty>)"
        metadata = "spatial" if self.metadata is not None else "None"
        if self.kind == PRIMITIVE:
            return f"NodeCollection(metadata={metadata}, {self.runs[0].describe()})"
        if self.kind == COMPOSITE:
            parts = f";\n{_REPR_INDENT}".join(run.describe() for run in self.runs)
            return f"NodeCollection(metadata={metadata},\n{_REPR_INDENT}{parts})"
        lines = []
        for number, run in enumerate(self.runs):
            text = f"model={run.model}, size={len(run)}, first={run.first}, last={run.last}"
            if len(run) > 1 and self.step > 1:
                text += f", step={self.step}"
            if number < len(self.runs) - 1 and (len(run) == 1 or self.step > 1):
                text += ";"
            lines.append(text)
        return f"NodeCollection(metadata={metadata}," + "".join(f"\n{_REPR_INDENT}{line}" for line in lines) + ")"


def _node_id(value: object) -> int:
    """A node ID as NEST reads one: any real number, truncated; anything else is refused."""
    if isinstance(value, numbers.Real):
        return int(value)
    raise TypeError("an integer is required")


def _overlapping(part: Run, other: Run) -> bool:
    """NEST's test (``NodeCollectionPrimitive::overlapping``): ``other`` begins or ends inside ``part``;
    one that strictly contains ``part`` is not caught, as in NEST."""
    return part.first <= other.first <= part.last or part.first <= other.last <= part.last


def _intersect(left: tuple[Run, ...], right: tuple[Run, ...]) -> bool:
    """Whether unsliced parts of two composites share an ID (NEST checks every ID; intervals suffice)."""
    events = sorted([(run.first, run.last, 0) for run in left] + [(run.first, run.last, 1) for run in right])
    reach = [-1, -1]  # the furthest last ID seen so far on each side
    for first, last, side in events:
        if reach[1 - side] >= first:
            return True
        reach[side] = max(reach[side], last)
    return False


def _join_primitives(left: Run, right: Run, metadata: Any) -> NodeIds:
    if _overlapping(left, right):
        raise _nest_error("BadProperty", "Cannot join overlapping NodeCollections.")
    if left.model == right.model and (left.last + 1 == right.first or right.last + 1 == left.first):
        first, last = min(left.first, right.first), max(left.last, right.last)
        return NodeIds([Run(left.model, first, last)], metadata=metadata)
    return NodeIds(sorted((left, right), key=lambda run: run.first), COMPOSITE, metadata=metadata)


def _from_parts(parts: Iterable[Run], metadata: Any) -> NodeIds:
    """A composite of ``parts``, sorted by first ID, parts of one model that follow each other merged
    (NEST's ``merge_parts``); a primitive if one part is left."""
    merged: list[Run] = []
    for part in sorted(parts, key=lambda run: run.first):
        if merged and merged[-1].model == part.model and merged[-1].last + 1 == part.first:
            merged[-1] = Run(part.model, merged[-1].first, part.last)
        else:
            merged.append(part)
    return NodeIds(merged, PRIMITIVE if len(merged) == 1 else COMPOSITE, metadata=metadata)
