"""Every neuron model of NESTML's library: parameters and state read before the build must equal
those read after ``nest.Prepare()``. Prints one JSON object per model, then a summary line.

Each model gets two nodes, one with a parameter set by ``Create(params=...)`` so that stored
values (not only declared defaults) are compared too. Models NESTML cannot generate here fail
their build; the script then reports the build error instead of values.
"""

import json
import math
import sys
import warnings
from pathlib import Path

import jitnest as nest
from jitnest.errors import BuildError, JitnestError
from jitnest.record.session import SESSION

warnings.simplefilter("ignore")


def library_neurons() -> list[str]:
    folder = Path(sys.prefix) / "models" / "neurons"
    return sorted(p.stem for p in folder.glob("*.nestml"))


def same(a, b) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return a == b or (math.isnan(a) and math.isnan(b))
    if isinstance(a, (tuple, list)) and isinstance(b, (tuple, list)):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    return a == b and type(a) is type(b)


def walk(models: list[str]) -> list[dict]:
    nest.ResetKernel()
    populations, before, results = {}, {}, []
    for model in models:
        try:
            defaults = SESSION.defaults_of(model)
            first_float = next((k for k, t in defaults.types.items() if t is float and k not in defaults.unknown
                                and k not in defaults.vectors), None)
            params = {first_float: defaults.values[first_float] + 1.0} if first_float else {}
            population = nest.Create(model, 2, params=params)
        except JitnestError as error:
            results.append({"model": model, "status": "rejected", "reason": str(error).splitlines()[0]})
            continue
        keys = [k for k in defaults.types if k not in defaults.unknown and k not in defaults.vectors]
        populations[model] = (population, keys, sorted(defaults.unknown | defaults.vectors))
        before[model] = {k: population.get(k) for k in keys}
    assert SESSION.pending, "reading parameters must not build the network"
    build_error = None
    try:
        nest.Prepare()
    except BuildError as error:
        build_error = error
    if build_error is not None:
        # Build the models one by one to find which cannot be generated or compiled here.
        return results + walk_individually(list(populations))
    for model, (population, keys, unknown) in populations.items():
        after = {k: population.get(k) for k in keys}
        mismatches = {k: [before[model][k], after[k]] for k in keys if not same(before[model][k], after[k])}
        results.append({"model": model, "status": "equal" if not mismatches else "different",
                        "compared": len(keys), "not_known_before_build": unknown, "mismatches": mismatches})
    nest.Cleanup()
    return results


def walk_individually(models: list[str]) -> list[dict]:
    results = []
    for model in models:
        try:
            results.extend(walk([model]))
        except BuildError as error:
            results.append({"model": model, "status": "build failed", "reason": str(error).splitlines()[0],
                            "log": error.log_path})
    return results


def main() -> None:
    models = sys.argv[1:] or library_neurons()
    results = walk(models)
    for result in results:
        print(json.dumps(result))
    counts = {}
    for result in results:
        counts[result["status"]] = counts.get(result["status"], 0) + 1
    print(json.dumps({"summary": counts, "models": len(models)}))


if __name__ == "__main__":
    main()
