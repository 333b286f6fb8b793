"""A corpus of broken NESTML models (tests/models/bad/): each gives a jitnest error at the user's
line that names the model file and the offending line, and carries no NESTML traceback.

Each file's first line says what is expected: ``# expect: <line> <regular expression>``. Besides,
``KINDS`` names the kinds of mistakes the corpus must cover, each with the message that identifies
that kind, independently of the files' own expectations: editing or replacing a file so that it no
longer shows its kind of mistake fails the test.
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


# file stem -> (line, what NESTML or jitnest says about exactly that kind of mistake)
KINDS: dict[str, tuple[int, str]] = {
    "syntax_error_neuron": (6, r"^Error occurred during parsing: missing ':'"),
    "unknown_variable_neuron": (10, r'^Variable "E_rest" not defined'),
    "undefined_function_neuron": (8, r'^Function "frobnicate" is not declared'),
    "assigned_parameter_neuron": (11, r'^Assignment to "tau_m" not allowed'),
    "unit_mismatch_neuron": (8, r"^Operation mV / ms \+/- pA is not defined"),
    "no_weight_synapse": (11, r"^no weight variable: emit_spike\(\.\.\.\) must be given a state or parameter variable"),
}


def _error_of(path: Path) -> NestmlModelError:
    """The error jitnest raises where the user names the model of ``path`` (Create, or Connect
    for a synapse)."""
    (model,) = models_in_file(path)
    nest.ResetKernel()
    nest.add_model_file(path)
    try:
        with pytest.raises(NestmlModelError) as caught:
            if model.endswith("synapse"):
                nodes = nest.Create("iaf_psc_alpha", 2)
                nest.Connect(nodes, nodes, syn_spec={"synapse_model": model})
            else:
                nest.Create(model, 2)
    finally:
        nest.ResetKernel()
    return caught.value


@pytest.mark.parametrize("path", CORPUS, ids=[p.stem for p in CORPUS])
def test_broken_model_is_reported_at_its_line(path):
    line, pattern = _expectation(path)
    error = _error_of(path)
    assert any(p.line == line and re.search(pattern, p.message) for p in error.problems), error.problems
    text = str(error)
    assert f"{path}:{line}" in text
    assert __file__ in text  # the user's line
    assert "Traceback" not in text and "pynestml" not in text
    assert error.__cause__ is None or "pynestml" not in repr(error.__cause__)


def test_every_file_of_the_corpus_is_a_known_kind_of_mistake():
    assert {p.stem for p in CORPUS} == set(KINDS)


@pytest.mark.parametrize("kind", KINDS)
def test_corpus_covers_the_kinds_of_mistakes(kind):
    """Each kind of mistake is reported through jitnest in its file, at its line, as that kind."""
    line, pattern = KINDS[kind]
    path = BAD / f"{kind}.nestml"
    error = _error_of(path)
    assert any(Path(p.file) == path.resolve() and p.line == line and re.search(pattern, p.message)
               for p in error.problems), error.problems
