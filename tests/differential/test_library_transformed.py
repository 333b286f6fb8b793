"""jitnest's code transformations leave every neuron of NESTML's library bit-identical.

The same network (tests/networks/library_inputs.py: every library neuron driven by spikes of either
sign, spikes of weight ±0.0, or spikes into each receptor, and a step current, over two Simulate calls)
runs on NESTML's code as generated (``JITNEST_TRANSFORM=0``) and on jitnest's transformed code: every
model's spikes and every recordable at every step must be identical, floats compared as their bits.
The transformed modules are the ones the library walk (test_library_parameters.py) builds, when the
session has built them; the untransformed ones are about a minute and a half of compilation.
"""

from __future__ import annotations

import json

import pytest
from conftest import NETWORKS, run_python

pytestmark = pytest.mark.slow


def _run(tmp_path, name: str, env: dict[str, str]) -> dict:
    out = tmp_path / f"{name}.json"
    run_python(NETWORKS / "library_inputs.py", str(out), env=env, timeout=2400)
    return json.loads(out.read_text())


def test_every_library_neuron_transformed_equals_nestmls_code(tmp_path, cache_dir):
    nestml = _run(tmp_path, "nestml", {"JITNEST_TRANSFORM": "0"})
    transformed = _run(tmp_path, "transformed", {"JITNEST_TRANSFORM": "1"})

    assert sorted(transformed) == sorted(nestml) and len(nestml) == 30
    assert all(result["transformations"] == [] for result in nestml.values())
    # the comparison means something only where the code was transformed and the neurons were active
    with_buffer = [m for m, result in transformed.items() if "input_buffer" in result["transformations"]]
    assert len(with_buffer) >= 25, with_buffer
    assert all(result["transformations"] for result in transformed.values())
    assert sum(len(result["senders"]) > 0 for result in nestml.values()) >= 25
    for model, expected in nestml.items():
        got = transformed[model]
        assert len(expected["recorded"]["times"]) == 4 * 1998, model  # four nodes, every step after the first
        assert (got["senders"], got["times"]) == (expected["senders"], expected["times"]), model
        for key, values in expected["recorded"].items():
            assert got["recorded"][key] == values, (model, key)
