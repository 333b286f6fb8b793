"""Node IDs of a NodeCollection that may not exist in the kernel yet.

NEST assigns node IDs consecutively from 1 in the order of ``Create`` calls, so the IDs of a
recorded (not yet built) population are known exactly. ``NodeIds`` mirrors the parts of
NEST's ``NodeCollection`` semantics that a user reaches without a kernel: length, indexing,
slicing, joining, membership, iteration and ``repr`` in NEST's format.

Contract: for every operation implemented here, the resulting IDs equal those NEST computes
on the real collection. Operations that NEST rejects (joining overlapping collections) raise
the same kind of error. The ``repr`` matches NEST for primitive collections and for
composites of primitives; for composites sliced with a step NEST's format has quirks that are
not copied (the IDs are still right).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import numpy

_REPR_INDENT = " " * len("NodeCollection(")


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

    def describe(self) -> str:
        text = f"model={self.model}, size={len(self)}, first={self.first}"
        if len(self) > 1:
            text += f", last={self.last}"
            if self.step != 1:
                text += f", step={self.step}"
        return text


class NodeIds:
    """An immutable, sorted set of node IDs, grouped into runs of one model each."""

    __slots__ = ("runs", "spatial", "_size")

    def __init__(self, runs: Iterable[Run] = (), spatial: bool = False) -> None:
        self.runs: tuple[Run, ...] = tuple(runs)
        self.spatial = spatial
        self._size = sum(len(r) for r in self.runs)

    @classmethod
    def primitive(cls, model: str, first: int, size: int, spatial: bool = False) -> NodeIds:
        if size == 0:
            return cls()
        return cls([Run(model, first, first + size - 1)], spatial=spatial)

    @classmethod
    def from_sorted_ids(cls, ids: Iterable[int], model_of: dict[int, str] | None = None,
                        source: NodeIds | None = None) -> NodeIds:
        """Group sorted IDs into runs of consecutive IDs of the same model."""
        runs: list[Run] = []
        lookup = model_of if model_of is not None else (source.model_map() if source else {})
        for node_id in ids:
            model = lookup[node_id]
            if runs and runs[-1].model == model and runs[-1].last + 1 == node_id and runs[-1].step == 1:
                runs[-1] = Run(model, runs[-1].first, node_id)
            else:
                runs.append(Run(model, node_id, node_id))
        return cls(runs)

    def model_map(self) -> dict[int, str]:
        return {node_id: run.model for run in self.runs for node_id in run.ids()}

    # --- sequence protocol --------------------------------------------------------------

    def __len__(self) -> int:
        return self._size

    def __iter__(self) -> Iterator[int]:
        for run in self.runs:
            yield from run.ids()

    def tolist(self) -> list[int]:
        return list(iter(self))

    def __contains__(self, node_id: object) -> bool:
        return any(isinstance(node_id, (int, numpy.integer)) and node_id in run.ids() for run in self.runs)

    def index(self, node_id: int) -> int:
        offset = 0
        for run in self.runs:
            if node_id in run.ids():
                return offset + run.ids().index(node_id)
            offset += len(run)
        raise ValueError(f"{node_id} is not in NodeCollection")

    def models(self) -> list[str]:
        """Distinct model names, in ID order."""
        seen: dict[str, None] = {}
        for run in self.runs:
            seen.setdefault(run.model, None)
        return list(seen)

    def model_at(self, position: int) -> str:
        for run in self.runs:
            if position < len(run):
                return run.model
            position -= len(run)
        raise IndexError("index value outside of the NodeCollection")

    def positions_by_run(self) -> Iterator[tuple[Run, int]]:
        """Each run with the position of its first node in this collection."""
        offset = 0
        for run in self.runs:
            yield run, offset
            offset += len(run)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, NodeIds) and self.runs == other.runs

    def __hash__(self) -> int:
        return hash(self.runs)

    # --- NodeCollection operations ------------------------------------------------------

    def __add__(self, other: NodeIds) -> NodeIds:
        if not self.runs:
            return other
        if not other.runs:
            return self
        mine, theirs = set(self), set(other)
        if mine & theirs:
            raise ValueError("Cannot join overlapping NodeCollections.")
        if len(self.runs) == 1 == len(other.runs):
            a, b = sorted((self.runs[0], other.runs[0]), key=lambda r: r.first)
            if a.model == b.model and a.step == b.step == 1 and a.last + 1 == b.first:
                return NodeIds([Run(a.model, a.first, b.last)])
        runs = sorted(self.runs + other.runs, key=lambda r: r.first)
        return NodeIds(runs)

    def __getitem__(self, key: object) -> NodeIds:
        size = len(self)
        if isinstance(key, slice):
            start, stop, step = self._nest_slice_bounds(key)
            positions = range(start, stop, step)
            if len(self.runs) == 1:
                run = self.runs[0]
                if len(positions) == 0:
                    return NodeIds()
                first = run.first + positions[0] * run.step
                last = run.first + positions[-1] * run.step
                new_step = run.step * step if len(positions) > 1 else 1
                return NodeIds([Run(run.model, first, last, new_step)], spatial=self.spatial)
            return self._take(positions)
        if isinstance(key, (int, numpy.integer)) and not isinstance(key, bool):
            index = int(key)
            if abs(index + (index >= 0)) > size:
                raise IndexError("index value outside of the NodeCollection")
            if index < 0:
                index += size
            return self[index:index + 1]
        if isinstance(key, (list, tuple, numpy.ndarray)):
            array = numpy.asarray(key)
            if array.size == 0:
                return NodeIds()
            if array.dtype == bool:
                if len(array) != size:
                    raise IndexError("Bool index array must be the same length as NodeCollection")
                return self._take(numpy.flatnonzero(array))
            if not numpy.issubdtype(array.dtype, numpy.integer):
                raise TypeError("Indices must be integers or bools")
            if len(numpy.unique(array)) != len(array):
                raise ValueError("All node IDs in a NodeCollection have to be unique")
            return self._take(sorted(int(i) for i in array))
        raise IndexError("only integers, slices, lists, tuples, and numpy arrays are valid indices")

    def _nest_slice_bounds(self, key: slice) -> tuple[int, int, int]:
        """Start, stop and step as positions, with NEST's range checks (not Python's clipping)."""
        size = len(self)
        step = 1 if key.step is None else key.step
        if step < 1:
            raise IndexError("slicing step for NodeCollection must be strictly positive")
        start = 0 if key.start is None else key.start
        if key.start is not None and abs(start + 1 if start >= 0 else start) > size:
            raise IndexError("slice start value outside of the NodeCollection")
        stop = size if key.stop is None else key.stop
        if key.stop is not None and abs(stop if stop > 0 else stop - 1) > size:
            raise IndexError("slice stop value outside of the NodeCollection")
        if start < 0:
            start += size
        if stop < 0:
            stop += size
        return start, stop, step

    def _take(self, positions: Iterable[int]) -> NodeIds:
        ids = self.tolist()
        chosen = []
        for position in positions:
            if not 0 <= position < len(ids):
                raise IndexError("index value outside of the NodeCollection")
            chosen.append(ids[position])
        return NodeIds.from_sorted_ids(sorted(chosen), source=self)

    # --- text ---------------------------------------------------------------------------

    def __repr__(self) -> str:
        if not self.runs:
            return "NodeCollection(<empty>)"
        metadata = "spatial" if self.spatial else "None"
        if len(self.runs) == 1 and (self.runs[0].step == 1 or len(self.runs[0]) == 1):
            return f"NodeCollection(metadata={metadata}, {self.runs[0].describe()})"
        parts = f";\n{_REPR_INDENT}".join(run.describe() for run in self.runs)
        return f"NodeCollection(metadata={metadata},\n{_REPR_INDENT}{parts})"
