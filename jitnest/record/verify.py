"""After a build: the values jitnest answered before it must be what NEST reports now.

Values read before the build come from the model's declarations, evaluated by the NESTML worker
in the way NESTML's printers write the C++ (models.parameters). A change in NESTML's code
generation, or a model whose generated code reads memory it has not initialised, would make those
answers silently wrong. So, right after a replay, for the first node of every population that
this process holds (under MPI each rank holds only its own nodes; NEST reports nothing else for
the others), every value the store can answer is compared with what NEST reports; any difference raises
``PreBuildValueMismatch`` naming the model, the key and both values (never a tolerance: the
evaluator mirrors the C++ exactly, and the library walk holds it to equality).

Cost: one ``get`` of one node per population (and, under MPI, of which of the first
few nodes are local), at each build.
"""

from __future__ import annotations

import math
from typing import Any

import numpy

from ..errors import JitnestError
from ..models.parameters import NeedsKernel, Population
from ..pynest import REAL


class PreBuildValueMismatch(JitnestError):
    """A value jitnest answered before the build differs from what the built model reports."""


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, (list, tuple, numpy.ndarray)) or isinstance(b, (list, tuple, numpy.ndarray)):
        a, b = list(numpy.ravel(a)), list(numpy.ravel(b))
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    return bool(a == b)


def answered_before_build(population: Population, index: int = 0) -> dict[str, Any]:
    """The values the store would answer for the population's node at ``index`` (keys only NEST
    can tell are left out)."""
    at = numpy.array([index], dtype=numpy.int64)
    values = {}
    # Only keys known so far: a pairing nothing has read before the build was never answered, and
    # asking NESTML for it now would cost every first build a second or more.
    for key in population.keys(sync_pairing=False):
        try:
            values[key] = population.values(key, at)[0]
        except (NeedsKernel, KeyError):
            continue
    return values


def first_local_index(population: Population) -> int | None:
    """The index in ``population`` of its first node held by this process, or None if it holds none.

    NEST deals nodes out to the virtual processes in turn, so the first ``total_num_virtual_procs``
    nodes include one of each process's, if the population has any.
    """
    if REAL.NumProcesses() == 1:
        return 0 if population.size else None
    candidates = min(population.size, REAL.total_num_virtual_procs)
    ids = list(range(population.first_id, population.first_id + candidates))
    local = REAL.NodeCollection(ids).get("local")
    flags = local if isinstance(local, (list, tuple)) else [local]
    return next((index for index, flag in enumerate(flags) if flag), None)


def check_populations(populations: list[Population]) -> None:
    """Compare each population's first local node with NEST; raise ``PreBuildValueMismatch`` on a
    difference."""
    for population in populations:
        if not population.size or not population.keys(sync_pairing=False):
            continue
        index = first_local_index(population)
        if index is None:
            continue
        expected = answered_before_build(population, index)
        if not expected:
            continue
        keys = sorted(expected)
        node = population.first_id + index
        reported = REAL.NodeCollection([node]).get(keys)
        for key in keys:
            value = reported[key]
            if not _same(expected[key], value):
                raise PreBuildValueMismatch(
                    f"jitnest answered {key}={expected[key]!r} for model {population.model} (node "
                    f"{node}) before the build, but the built model reports {value!r}. "
                    "Results read before the build were wrong; please report this with the model file "
                    "(set JITNEST_VERIFY=0 to go on without this check).")
