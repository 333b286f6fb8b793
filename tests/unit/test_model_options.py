"""Per-model options (jitnest/models/options.py): what ``set_model_options`` accepts, how options reach
NESTML's code-generator options of a unit (and its cache key), and what a worker description depends on.
In-process, no NEST kernel, no NESTML."""

from __future__ import annotations

import pytest

from jitnest.models import options
from jitnest.models.model_info import ModelInfo
from jitnest.models.options import ModelOptions, check_kind, description_options, unit_codegen_options, validate
from jitnest.plan.combinations import Unit


@pytest.mark.parametrize("bad, message", [
    ({"weight_varable": "w"}, "unknown model option 'weight_varable'"),
    ({"weight_variable": 1}, "must be a str, not int"),
    ({"post_ports": "post_spikes"}, "must be a list, not str"),
    ({"post_ports": ["post_spikes", 3]}, "must be a list of names"),
    ({"vt_ports": [["mod_spikes"]]}, "must be a list of names"),
    ({"post_port_variables": {"I_post": 1}}, "must map port names to variable names"),
    ({"gap_junctions": True}, "must be a dict"),
    ({"codegen_opts": {"neuron_synapse_pairs": []}}, "must not set neuron_synapse_pairs"),
    ({"codegen_opts": {"gap_junctions": {}, "weight_variable": {}}}, "must not set gap_junctions, weight_variable"),
    ({"codegen_opts": {"neuron_parent_class": object()}}, "must be plain data"),
])
def test_validate_refuses(bad: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message.replace("(", r"\(")):
        validate("some_model", bad)


def test_validate_normalises_to_sorted_plain_data() -> None:
    checked = validate("stdsp_synapse", {"post_port_variables": {"dAP_trace": "I_syn_exc"}, "weight_variable": "w",
                                         "codegen_opts": {"z": (1, 2), "a": 1}})
    assert checked == {"codegen_opts": {"a": 1, "z": [1, 2]}, "post_port_variables": {"dAP_trace": "I_syn_exc"},
                       "weight_variable": "w"}
    assert list(checked) == sorted(checked)  # (the order must not change a cache key)
    assert list(checked["codegen_opts"]) == ["a", "z"]


@pytest.mark.parametrize("key, value", [(k, v) for k, v in [
    ("weight_variable", "w"), ("delay_variable", "d"), ("post_ports", ["post_spikes"]), ("vt_ports", ["mod_spikes"]),
    ("post_port_variables", {"p": "v"}), ("strictly_synaptic_vars", ["x"])]])
def test_synapse_options_are_refused_on_neurons(key: str, value: object) -> None:
    check_kind("stdp_synapse", {key: value}, is_synapse=True)
    with pytest.raises(ValueError, match=f"model option '{key}' applies to synapses; iaf_psc_exp_neuron is a neuron"):
        check_kind("iaf_psc_exp_neuron", {key: value}, is_synapse=False)


def test_kinds_of_the_other_options() -> None:
    check_kind("aeif_cond_exp_neuron", {"gap_junctions": {}}, is_synapse=False)
    with pytest.raises(ValueError, match="applies to neurons"):
        check_kind("stdp_synapse", {"gap_junctions": {}}, is_synapse=True)
    for is_synapse in (True, False):  # (both kinds)
        check_kind("m", {"continuous_state_buffering_method": "post_spike_based", "codegen_opts": {}}, is_synapse)


def test_description_options_are_those_the_worker_uses() -> None:
    every = {"weight_variable": "w", "delay_variable": "d", "post_ports": ["p"], "vt_ports": ["v"],
             "strictly_synaptic_vars": ["x"], "post_port_variables": {"p": "v"}, "codegen_opts": {"a": 1},
             "continuous_state_buffering_method": "post_spike_based"}
    assert description_options(every) == {k: every[k] for k in options.DESCRIPTION_KEYS}
    assert set(options.DESCRIPTION_KEYS) == {"weight_variable", "delay_variable", "post_ports", "vt_ports",
                                             "strictly_synaptic_vars"}


def test_unit_codegen_options() -> None:
    assert unit_codegen_options({"weight_variable": "w", "post_ports": ["post_spikes"]}) == {}
    assert unit_codegen_options({"gap_junctions": {"gap_current_port": "I_stim", "membrane_potential_variable": "V_m"},
                                 "continuous_state_buffering_method": "post_spike_based",
                                 "codegen_opts": {"neuron_parent_class": "StructuralPlasticityNode"}}) == {
        "gap_junctions": {"enable": True, "gap_current_port": "I_stim", "membrane_potential_variable": "V_m"},
        "continuous_state_buffering_method": "post_spike_based", "neuron_parent_class": "StructuralPlasticityNode"}
    # (a user's explicit enable wins over the implied one)
    assert unit_codegen_options({"gap_junctions": {"enable": False}})["gap_junctions"] == {"enable": False}


def test_model_options_set_replace_remove() -> None:
    store = ModelOptions()
    assert store.get("stdp_synapse") == {}
    store.set("stdp_synapse", {"delay_variable": "d"})
    store.set("stdp_synapse", {"weight_variable": "w"})  # replaces, does not merge
    assert store.get("stdp_synapse") == {"weight_variable": "w"}
    store.get("stdp_synapse")["weight_variable"] = "changed"  # a copy
    assert store.get("stdp_synapse") == {"weight_variable": "w"}
    with pytest.raises(ValueError):
        store.set("stdp_synapse", {"nonsense": 1})
    assert store.get("stdp_synapse") == {"weight_variable": "w"}  # (a refused set changes nothing)
    store.set("stdp_synapse", {})
    assert store.get("stdp_synapse") == {}


def _info(name: str, kind: str, **model_options) -> ModelInfo:
    synapse = kind == "synapse"
    return ModelInfo(name=name, file=f"{name}.nestml", line=1, kind=kind,
                     post_ports=("post_spikes",) if synapse else (), weight_variable="w" if synapse else None,
                     delay_variable=model_options.get("delay_variable"), source_sha256=name,
                     options=validate(name, model_options))


def test_unit_merges_its_models_options_and_refuses_conflicts() -> None:
    neuron = _info("n", "neuron", gap_junctions={"gap_current_port": "I_stim", "membrane_potential_variable": "V_m"})
    synapse = _info("s", "synapse", continuous_state_buffering_method="post_spike_based",
                    strictly_synaptic_vars=["x"])
    unit = Unit(neuron, (synapse,))
    unit.check_options()
    assert unit.codegen_options() == {
        "gap_junctions": {"enable": True, "gap_current_port": "I_stim", "membrane_potential_variable": "V_m"},
        "continuous_state_buffering_method": "post_spike_based", "strictly_synaptic_vars": {"s": ["x"]}}
    other = _info("s2", "synapse", continuous_state_buffering_method="continuous_time_buffer")
    with pytest.raises(ValueError, match="'continuous_state_buffering_method' differently"):
        Unit(neuron, (synapse, other)).check_options()


def test_options_change_a_units_description_so_its_cache_key() -> None:
    plain = Unit(_info("n", "neuron"), (_info("s", "synapse"),)).describe()
    with_option = Unit(_info("n", "neuron"), (_info("s", "synapse", delay_variable="d"),)).describe()
    assert "options" not in plain  # (keys of units without options stay as they were)
    assert with_option["options"] == {"s": {"delay_variable": "d"}} and with_option != plain


def test_unit_refuses_synapses_with_and_without_a_delay_variable() -> None:
    """NESTML 9 fails with a KeyError on a synapse without delay_variable generated beside one with it."""
    neuron = _info("n", "neuron")
    with_delay = _info("s", "synapse", delay_variable="d")
    Unit(neuron, (with_delay, _info("s2", "synapse", delay_variable="d"))).check_options()
    Unit(neuron, (_info("s1", "synapse"), _info("s2", "synapse"))).check_options()
    with pytest.raises(ValueError, match=r"s \(with a delay_variable\) and s2 \(without\).*set_model_options\('s2'"):
        Unit(neuron, (with_delay, _info("s2", "synapse"))).check_options()
