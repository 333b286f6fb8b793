"""After a build: the values jitnest answered before it must be what NEST reports now.

Values read before the build come from the model's declarations, evaluated by the NESTML worker
in the way NESTML's printers write the C++ (models.parameters). A change in NESTML's code
generation, or a model whose generated code reads memory it has not initialised, would make those
answers silently wrong. So, right after a replay, for the first node of every population, every
value the store can answer is compared with what NEST reports; any difference raises
``PreBuildValueMismatch`` naming the model, the key and both values (never a tolerance: the
evaluator mirrors the C++ exactly, and the library walk holds it to equality).

Cost: one ``get`` of one node per population, at each build.
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


def answered_before_build(population: Population) -> dict[str, Any]:
    """The values the store would answer for the population's first node (keys only NEST can tell
    are left out)."""
    first = numpy.zeros(1, dtype=numpy.int64)
    values = {}
    for key in population.keys():
        try:
            values[key] = population.values(key, first)[0]
        except (NeedsKernel, KeyError):
            continue
    return values


def check_populations(populations: list[Population]) -> None:
    """Compare each population's first node with NEST; raise ``PreBuildValueMismatch`` on a difference."""
    for population in populations:
        expected = answered_before_build(population)
        if not expected or not population.size:
            continue
        keys = sorted(expected)
        reported = REAL.NodeCollection([population.first_id]).get(keys)
        for key in keys:
            value = reported[key]
            if not _same(expected[key], value):
                raise PreBuildValueMismatch(
                    f"jitnest answered {key}={expected[key]!r} for model {population.model} (node "
                    f"{population.first_id}) before the build, but the built model reports {value!r}. "
                    "Results read before the build were wrong; please report this with the model file "
                    "(set JITNEST_VERIFY=0 to go on without this check).")
