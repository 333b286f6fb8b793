"""A NESTML model's defaults before its build (jitnest/models/model_defaults.py) and NEST's own synapse
keys (jitnest/models/nest_keys.py), from hand-made model descriptions: no NESTML, no compiler. The synapse
keys come from the real NEST (``static_synapse``), as in use."""

from __future__ import annotations

import json

import pytest

from jitnest.models import model_defaults, nest_keys
from jitnest.models.model_defaults import ModelDefaults, NeedsKernel
from jitnest.models.model_info import ModelInfo, PairedVariables
from jitnest.pynest import REAL, NESTErrors


def neuron_info(**extra) -> ModelInfo:
    return ModelInfo(
        name="tiny_neuron", file="tiny.nestml", line=1, kind="neuron",
        parameters=({"name": "tau_m", "type": "ms"}, {"name": "n_steps", "type": "integer"},
                    {"name": "adapt", "type": "boolean"}, {"name": "w_vec", "type": "real", "vector_size": 2}),
        state=({"name": "V_m", "type": "mV"}, {"name": "g", "type": "nS"}),
        defaults={"tau_m": 10, "n_steps": 3.0, "adapt": 1, "V_m": -70.0},  # g: the worker could not evaluate it
        recordables=("V_m",), **extra)


def synapse_info(**extra) -> ModelInfo:
    return ModelInfo(name="plastic_synapse", file="s.nestml", line=1, kind="synapse",
                     parameters=({"name": "d", "type": "ms"}, {"name": "tau", "type": "ms"}),
                     state=({"name": "w", "type": "real"}, {"name": "trace", "type": "real"}),
                     defaults={"d": 1.5, "tau": 20.0, "w": 2.0, "trace": 0.0},
                     weight_variable="w", delay_variable="d", moved_to_neuron=("trace",), **extra)


def test_neuron_values_with_the_declared_types() -> None:
    defaults = ModelDefaults.from_info("tiny_neuron", neuron_info())
    assert defaults.values["tau_m"] == 10.0 and type(defaults.values["tau_m"]) is float
    assert defaults.values["n_steps"] == 3 and type(defaults.values["n_steps"]) is int
    assert defaults.values["adapt"] is True
    assert {"g", "w_vec"} <= defaults.unknown and "w_vec" in defaults.vectors
    # NEST's node base keys (NEST 3.10's values)
    assert defaults.values["tau_minus"] == 20.0 and defaults.values["frozen"] is False
    assert "receptor_types" not in defaults.types  # (the model reports none)


def test_neuron_reads_need_the_kernel_where_only_nest_knows() -> None:
    defaults = ModelDefaults.from_info("tiny_neuron", neuron_info())
    assert defaults.status(["tau_m", "V_m", "model", "element_type"]) == {
        "tau_m": 10.0, "V_m": -70.0, "model": "tiny_neuron", "element_type": "neuron"}
    with pytest.raises(NeedsKernel):
        defaults.status(["g"])
    with pytest.raises(NeedsKernel):
        defaults.status()  # (all keys: g among them)
    with pytest.raises(KeyError):
        defaults.status(["no_such_key"])


def test_neuron_update_and_unknown_keys() -> None:
    defaults = ModelDefaults.from_info("tiny_neuron", neuron_info())
    defaults.update({"g": 3, "n_steps": 5.0}, None)
    assert defaults.values["g"] == 3.0 and "g" not in defaults.unknown and type(defaults.values["n_steps"]) is int
    with pytest.raises(NESTErrors.UnaccessedDictionaryEntry, match="tau_mm"):
        defaults.update({"tau_mm": 1.0}, None)
    assert "tau_mm" not in defaults.values
    with pytest.raises(NESTErrors.UnaccessedDictionaryEntry, match="__for_"):
        defaults.check_keys(["x__for_stdp_synapse_nestml"], None)  # (no pairing known)


def test_neuron_receptor_types_are_read_only() -> None:
    defaults = ModelDefaults.from_info("tiny_neuron", neuron_info(receptor_types={"AMPA": 1, "NMDA": 2}))
    assert defaults.status(["receptor_types"]) == {"receptor_types": {"AMPA": 1, "NMDA": 2}}
    with pytest.raises(NESTErrors.UnaccessedDictionaryEntry):
        defaults.update({"receptor_types": {}}, None)


def test_pairing_adds_the_moved_variables_once_a_connect_pairs() -> None:
    added = PairedVariables(state=({"name": "trace__for_plastic_synapse_nestml", "type": "real"},),
                            defaults={"trace__for_plastic_synapse_nestml": 0.5},
                            recordables=("trace__for_plastic_synapse_nestml",))
    pairs: list = []
    defaults = ModelDefaults.from_info("tiny_neuron", neuron_info())
    defaults.pairing = lambda: pairs
    assert not defaults.readable("trace__for_plastic_synapse_nestml")
    pairs.append(("plastic_synapse", added))
    assert defaults.status(["trace__for_plastic_synapse_nestml"]) == {"trace__for_plastic_synapse_nestml": 0.5}
    assert defaults.recordables() == ["V_m", "trace__for_plastic_synapse_nestml"]


def test_speculative_keys_are_provisional_until_paired() -> None:
    added = PairedVariables(parameters=({"name": "tau__for_plastic_synapse_nestml", "type": "ms"},),
                            defaults={"tau__for_plastic_synapse_nestml": 20.0})
    defaults = ModelDefaults.from_info("tiny_neuron", neuron_info())
    defaults.speculate = lambda synapse: added if synapse == "plastic_synapse" else None
    defaults.update({"tau__for_plastic_synapse_nestml": 33.0}, None)  # (before the Connect, as NESTML's tests do)
    assert defaults.is_provisional("tau__for_plastic_synapse_nestml")
    with pytest.raises(NeedsKernel):
        defaults.status(["tau__for_plastic_synapse_nestml"])
    with pytest.raises(NESTErrors.UnaccessedDictionaryEntry):
        defaults.update({"tau__for_other_synapse_nestml": 1.0}, None)


def test_synapse_has_nests_keys_with_weight_and_delay_of_its_variables() -> None:
    defaults = ModelDefaults.from_info("plastic_synapse_nestml", synapse_info())
    base = REAL.GetDefaults("static_synapse")
    assert set(base) <= set(defaults.types)
    assert "trace" not in defaults.types  # moved into the paired neuron
    assert defaults.values["weight"] == 2.0 and defaults.values["delay"] == 1.5
    assert defaults.values["synapse_model"] == "plastic_synapse_nestml"
    assert defaults.values["receptor_type"] == base["receptor_type"]
    for key in model_defaults.SYNAPSE_KERNEL_KEYS:
        with pytest.raises(NeedsKernel):
            defaults.status([key])
    assert model_defaults.VOLUME_TRANSMITTER not in defaults.types  # (no vt ports)


def test_synapse_weight_and_its_variable_are_one_value() -> None:
    defaults = ModelDefaults.from_info("plastic_synapse_nestml", synapse_info())
    defaults.update({"weight": 4}, None)
    assert defaults.values["w"] == 4.0 and defaults.values["weight"] == 4.0
    defaults.update({"d": 2.5}, None)
    assert defaults.values["delay"] == 2.5
    with pytest.raises(NESTErrors.BadProperty, match="either 'weight' or 'w'"):
        defaults.update({"weight": 1.0, "w": 1.0}, None)
    for read_only in ("num_connections", "synapse_modelid", "sizeof"):
        with pytest.raises(NESTErrors.UnaccessedDictionaryEntry):
            defaults.update({read_only: 1}, None)


def test_synapse_copy_is_independent() -> None:
    defaults = ModelDefaults.from_info("plastic_synapse_nestml", synapse_info())
    copied = defaults.copy("my_synapse")
    copied.update({"tau": 5.0}, None)
    assert copied.values["synapse_model"] == "my_synapse"
    assert defaults.values["synapse_model"] == "plastic_synapse_nestml"
    assert defaults.values["tau"] == 20.0


def test_volume_transmitter_of_a_vt_synapse_is_write_only() -> None:
    defaults = ModelDefaults.from_info("plastic_synapse_nestml", synapse_info(vt_ports=("mod_spikes",)))
    defaults.update({"volume_transmitter": "a node collection"}, None)
    assert not defaults.readable("volume_transmitter")
    assert "volume_transmitter" not in defaults.status(["weight", "delay", "receptor_type", "weight_recorder",
                                                        "w", "tau", "d"])


def test_nest_keys_are_static_synapses() -> None:
    keys = nest_keys.synapse_keys()
    assert keys.defaults == dict(REAL.GetDefaults("static_synapse"))
    assert {"weight", "delay", "receptor_type", "weight_recorder"} <= keys.writable
    assert not keys.writable & {"num_connections", "sizeof", "synapse_modelid", "synapse_model"}
    assert keys.writable <= set(keys.defaults)


def test_nest_keys_probe_is_kept_on_disk_per_key_list(tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(nest_keys, "cache_root", lambda: tmp_path)
    names = sorted(REAL.GetDefaults("static_synapse"))
    probed = nest_keys._writable(names)  # (a NEST process probes SetDefaults)
    assert {"delay", "weight", "receptor_type", "weight_recorder"} <= set(probed)
    assert "num_connections" not in probed
    [cache_file] = (tmp_path / "nest").glob("synapse-keys-*.json")
    assert json.loads(cache_file.read_text()) == {"keys": names, "writable": probed}
    # the kept answer is used for the same keys (no probe: a marker value shows it)...
    cache_file.write_text(json.dumps({"keys": names, "writable": ["kept"]}))
    assert nest_keys._writable(names) == ["kept"]
    # ... and NEST is asked again when its keys differ
    assert nest_keys._writable([*names, "new_key"]) == probed


def test_synapse_weight_is_unknown_where_its_variable_is() -> None:
    """A weight variable whose default the worker could not evaluate: NEST's ``weight`` needs the kernel too."""
    info = synapse_info()
    unevaluated = ModelInfo(**{**info.__dict__, "defaults": {k: v for k, v in info.defaults.items() if k != "w"}})
    defaults = ModelDefaults.from_info("plastic_synapse_nestml", unevaluated)
    for key in ("w", "weight"):
        with pytest.raises(NeedsKernel):
            defaults.status([key])
    assert defaults.status(["delay"]) == {"delay": 1.5}
