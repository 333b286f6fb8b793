"""A corpus of broken NESTML models (tests/models/bad/): each gives a jitnest error at the user's
line that names the model file and the offending line, and carries no NESTML traceback.

Each file's first line says what is expected: ``# expect: <line> <regular expression>``.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from conftest import MODELS

import jitnest as nest
from jitnest.errors import NestmlModelError
from jitnest.models.model_path import models_in_file

BAD = MODELS / "bad"
CORPUS = sorted(BAD.glob("*.nestml"))


def _expectation(path: Path) -> tuple[int, str]:
    match = re.match(r"# expect: (\d+) (.*)", path.read_text().splitlines()[0])
    assert match, f"{path.name} lacks its '# expect:' line"
    return int(match.group(1)), match.group(2)


@pytest.mark.parametrize("path", CORPUS, ids=[p.stem for p in CORPUS])
def test_broken_model_is_reported_at_its_line(path):
    line, pattern = _expectation(path)
    (model,) = models_in_file(path)
    nest.ResetKernel()
    nest.add_model_file(path)
    with pytest.raises(NestmlModelError) as caught:
        if model.endswith("synapse"):
            nodes = nest.Create("iaf_psc_alpha", 2)
            nest.Connect(nodes, nodes, syn_spec={"synapse_model": model})
        else:
            nest.Create(model, 2)
    error = caught.value
    assert any(p.line == line and re.search(pattern, p.message) for p in error.problems), error.problems
    text = str(error)
    assert f"{path}:{line}" in text
    assert __file__ in text  # the user's line
    assert "Traceback" not in text and "pynestml" not in text
    assert error.__cause__ is None or "pynestml" not in repr(error.__cause__)
    nest.ResetKernel()


def test_corpus_covers_the_kinds_of_mistakes():
    names = {p.stem for p in CORPUS}
    assert {"syntax_error_neuron", "unknown_variable_neuron", "undefined_function_neuron",
            "assigned_parameter_neuron", "unit_mismatch_neuron", "no_weight_synapse"} <= names
