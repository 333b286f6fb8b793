"""After a build, the values answered before it are compared with what NEST reports (issue 12, item 9)."""

from __future__ import annotations

import pytest
from conftest import MODELS

import jitnest as nest
from jitnest.record.session import SESSION
from jitnest.record.verify import PreBuildValueMismatch, answered_before_build

pytestmark = pytest.mark.slow


@pytest.fixture(autouse=True)
def fresh_kernel():
    nest.add_model_file(MODELS / "tiny_neuron.nestml")
    nest.ResetKernel()
    yield
    nest.ResetKernel()


def test_values_answered_before_the_build_are_checked_against_nest() -> None:
    neurons = nest.Create("tiny_neuron", 3, params={"I_e": 500.0})
    neurons[1:].set(V_th=-50.0)
    (population,) = SESSION.populations.populations
    answered = answered_before_build(population)
    assert answered["I_e"] == 500.0 and answered["V_m"] == -70.0 and "tau_m" in answered
    nest.Simulate(10.0)  # the check runs at this build and passes: the store answered what NEST reports
    assert neurons.get("V_th") == (-55.0, -50.0, -50.0)


def test_a_wrong_answer_before_the_build_fails_loudly_naming_model_and_key() -> None:
    neurons = nest.Create("tiny_neuron", 2)
    (population,) = SESSION.populations.populations
    population.defaults["tau_m"] = 11.0  # as if the evaluator had mirrored NESTML's printers wrongly
    assert neurons.get("tau_m") == (11.0, 11.0)
    with pytest.raises(PreBuildValueMismatch, match=r"tau_m=11\.0 for model tiny_neuron .* reports 10\.0"):
        nest.Simulate(10.0)


def test_the_check_leaves_pairings_nothing_read_alone(monkeypatch) -> None:
    """What a pairing adds to a neuron was never answered if nothing read it before the build, so the
    check does not ask for it (on a cold cache that is a NESTML request of a second or more)."""
    from jitnest.models import model_info

    asked = []
    real = model_info.load_paired
    monkeypatch.setattr(model_info, "load_paired", lambda *args, **kwargs: asked.append(args) or real(*args, **kwargs))
    neurons = nest.Create("iaf_psc_exp_neuron", 4)
    nest.Connect(neurons, neurons, syn_spec={"synapse_model": "stdp_synapse_nestml"})
    nest.Simulate(1.0)
    assert asked == []
    assert "post_trace__for_stdp_synapse_nestml" in neurons.get()  # (asked for now: NEST answers, built)
