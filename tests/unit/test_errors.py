"""Bad input fails early, at the user's line, naming the model file and line."""

from __future__ import annotations

import pytest
from conftest import MODELS as TEST_MODELS
from conftest import caller_line

import jitnest as nest
from jitnest.errors import ConnectionModelError, NestmlModelError, UnknownModelError

MODELS = TEST_MODELS / "bad"
pytestmark = pytest.mark.usefixtures("fresh_kernel")



def test_unknown_model_names_user_line_and_suggests():
    with pytest.raises(UnknownModelError) as caught:
        line = caller_line() + 1
        nest.Create("iaf_psc_exp_neurn", 3)
    message = str(caught.value)
    assert f"{__file__}\", line {line}" in message
    assert "iaf_psc_exp_neuron" in message  # a close match is suggested
    assert isinstance(caught.value, nest.NESTErrors.UnknownModelName)  # drop-in: NEST's class too


def test_unknown_synapse_model_in_connect():
    pre = nest.Create("iaf_psc_alpha", 2)
    with pytest.raises(nest.NESTErrors.UnknownModelName) as caught:
        line = caller_line() + 1
        nest.Connect(pre, pre, syn_spec={"synapse_model": "stdp_synapse_nestmll"})
    assert f"line {line}" in str(caught.value)


def test_nestml_syntax_error_names_model_file_line_and_user_line():
    nest.add_model_file(MODELS / "syntax_error_neuron.nestml")
    with pytest.raises(NestmlModelError) as caught:
        line = caller_line() + 1
        nest.Create("syntax_error_neuron", 2)
    message = str(caught.value)
    assert "syntax_error_neuron.nestml:6" in message
    assert "missing ':'" in message
    assert f"line {line}" in message
    assert caught.value.problems[0].line == 6


def test_nestml_unknown_variable_names_its_line():
    nest.add_model_file(MODELS / "unknown_variable_neuron.nestml")
    with pytest.raises(NestmlModelError) as caught:
        nest.Create("unknown_variable_neuron")
    assert any(p.line == 10 and "E_rest" in p.message for p in caught.value.problems)
    assert "unknown_variable_neuron.nestml:10" in str(caught.value)


def test_plastic_nestml_synapse_onto_builtin_neuron_is_refused_at_connect():
    pre = nest.Create("iaf_psc_exp_neuron", 2)
    post = nest.Create("iaf_psc_alpha", 2)
    with pytest.raises(ConnectionModelError) as caught:
        line = caller_line() + 1
        nest.Connect(pre, post, syn_spec={"synapse_model": "stdp_synapse_nestml"})
    assert "post_spikes" in str(caught.value) and "iaf_psc_alpha" in str(caught.value)
    assert f"line {line}" in str(caught.value)
    assert isinstance(caught.value, nest.NESTErrors.IllegalConnection)


def test_nestml_synapse_is_not_a_node_model():
    with pytest.raises(nest.NESTErrors.UnknownModelName):
        nest.Create("stdp_synapse_nestml")


def test_naming_rule_builtin_first_suffix_means_nestml():
    from jitnest.record.session import SESSION

    assert SESSION.names.resolve("stdp_synapse").info is None  # NEST's built-in wins for a bare name
    assert SESSION.names.resolve("stdp_synapse_nestml").info.name == "stdp_synapse"
    assert SESSION.names.resolve("iaf_psc_exp_neuron").info.name == "iaf_psc_exp_neuron"  # no such built-in
    with pytest.raises(UnknownModelError):
        nest.Create("iaf_psc_alpha_nestml")  # the suffix never falls back to NEST's iaf_psc_alpha
    nodes = nest.Create("iaf_psc_exp_neuron_nestml", 2)
    assert nodes.get("model") == ("iaf_psc_exp_neuron_nestml", "iaf_psc_exp_neuron_nestml")
