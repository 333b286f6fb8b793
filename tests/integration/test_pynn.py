"""PyNN on jitnest: ``jitnest.hooks.install()`` then ``import pyNN.nest``.

Real PyNN, real NEST, real NESTML. PyNN runs in fresh processes (NEST's kernel is per process):

* PyNN standard models only: plain ``pyNN.nest`` and ``pyNN.nest`` over jitnest give identical
  spikes, traces and weights;
* NESTML models by name (``native_cell_type("iaf_psc_exp_neuron")``,
  ``native_synapse_type("stdp_synapse_nestml")``) give the same spikes, traces and STDP weights as
  plain NEST with a module built by the manual NESTML workflow (benchmarks/manual_workflow.py);
* what PyNN asks before anything is built (defaults of unbuilt NESTML models, ``nest.NodeCollection``
  of unbuilt nodes, the ``_lbl`` twin of a NESTML synapse) is answered without a build.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import NETWORKS, last_json, run_python

pytest.importorskip("pyNN", reason="PyNN is not installed (pip install jitnest[pynn])")

SCRIPT = NETWORKS / "pynn_network.py"


def _run(*args: str, out: Path) -> dict:
    run_python(SCRIPT, *args, str(out))
    return json.loads(out.read_text())


@pytest.mark.slow  # two processes importing PyNN and NEST
def test_standard_models_identical_on_plain_nest_and_jitnest(tmp_path):
    plain = _run("standard", "nest", out=tmp_path / "nest.json")
    jit = _run("standard", "jitnest", out=tmp_path / "jitnest.json")

    assert sum(map(len, plain["exc_spikes"])) > 20 and sum(map(len, plain["cond_spikes"])) > 200
    assert sum(map(len, plain["izh_spikes"])) > 0
    assert len({w for row in plain["stdp_weights"] for w in row if w >= 0}) > 10, "STDP must act"
    for key in plain:
        assert jit[key] == plain[key], key


_UNBUILT = r"""
import json
import jitnest.hooks
jitnest.hooks.install()
import nest
import pyNN.nest as sim
from jitnest.record.session import SESSION

sim.setup(timestep=0.1)
answer = {}
celltype = sim.native_cell_type("iaf_psc_exp_neuron")
syntype = sim.native_synapse_type("stdp_synapse_nestml")
answer["cell_parameters"] = sorted(celltype.default_parameters)
answer["cell_initial"] = sorted(celltype.default_initial_values)
answer["recordable"] = sorted(celltype.recordable)
answer["syn_parameters"] = sorted(syntype.default_parameters)
syn = nest.GetDefaults("stdp_synapse_nestml")
answer["syn_names"] = [syn.get("synapse_model"), "model" in syn, syn["weight"], syn["delay"], syn["element_type"]]
lbl = nest.GetDefaults("stdp_synapse_nestml_lbl")
answer["lbl_name"] = lbl["synapse_model"]
nest.SetDefaults("stdp_synapse_nestml_lbl", {"weight": 3.0})
answer["weight_follows"] = [nest.GetDefaults("stdp_synapse_nestml_lbl", "w"),
                            nest.GetDefaults("stdp_synapse_nestml", "weight")]
try:
    nest.SetDefaults("stdp_synapse_nestml", {"weight": 2.0, "w": 2.0})
    answer["both"] = "accepted"
except nest.NESTErrors.BadProperty:
    answer["both"] = "BadProperty"
cells = sim.Population(4, celltype(tau_m=12.0))
single = nest.NodeCollection([int(cells.all_cells[1])])
answer["node_collection"] = [isinstance(single, nest.NodeCollection), single.tolist() == [int(cells.all_cells[1])],
                             single.get("tau_m"), list(cells.node_collection.local)]
nest.SetStatus(cells.node_collection, {"tau_minus": 33.0})
answer["tau_minus"] = list(nest.GetStatus(cells.node_collection, "tau_minus"))
try:
    nest.NodeCollection([999])
    answer["unknown_node"] = "accepted"
except nest.NESTErrors.UnknownNode:
    answer["unknown_node"] = "UnknownNode"
answer["built"] = [SESSION.pending, jitnest.build_report()]
print(json.dumps(answer))
"""


@pytest.mark.slow  # a process importing PyNN and NEST, parsing NESTML models
def test_pynn_reads_unbuilt_nestml_models_without_a_build():
    answer = last_json(run_python(_UNBUILT))
    assert answer["cell_parameters"] == ["C_m", "E_L", "I_e", "V_reset", "V_th", "beta_Ca", "ignore_and_spike",
                                         "ignore_and_spike_interval", "ignore_and_spike_offset", "refr_T", "tau_Ca",
                                         "tau_m", "tau_syn_exc", "tau_syn_inh"]
    assert answer["cell_initial"] == ["I_syn_exc", "I_syn_inh", "V_m", "refr_t"]
    assert answer["recordable"] == ["I_syn_exc", "I_syn_inh", "V_m", "refr_t", "spikes"]
    assert {"weight", "delay", "w", "tau_tr_pre", "Wmax"} <= set(answer["syn_parameters"])
    assert answer["syn_names"] == ["stdp_synapse_nestml", False, 1.0, 1.0, "synapse"]
    assert answer["lbl_name"] == "stdp_synapse_nestml_lbl"
    assert answer["weight_follows"] == [3.0, 1.0]  # the _lbl twin has defaults of its own, as in NEST
    assert answer["both"] == "BadProperty"
    assert answer["node_collection"] == [True, True, 12.0, [True] * 4]
    assert answer["tau_minus"] == [33.0] * 4
    assert answer["unknown_node"] == "UnknownNode"
    assert answer["built"] == [True, {}], "nothing may be built before the first run"


_BASE_KEYS = r"""
import json
import jitnest
from jitnest.models.parameters import NODE_BASE_PARAMETERS
defaults = jitnest.GetDefaults("iaf_psc_exp")  # a built-in ArchivingNode
print(json.dumps({k: [v, defaults[k]] for k, v in NODE_BASE_PARAMETERS.items()}))
"""


def test_node_base_parameters_are_nests_defaults():
    for key, (ours, nests) in last_json(run_python(_BASE_KEYS)).items():
        assert ours == nests, key


def test_unbuilt_stdp_synapse_defaults_omit_moved_state():
    # NESTML moves STDP's post_trace into the paired neuron; before the build it must not be listed
    # either, or PyNN's SetDefaults of every default would fail at the build.
    answer = last_json(run_python(
        "import json, jitnest\nprint(json.dumps(sorted(jitnest.GetDefaults('stdp_synapse_nestml'))))"))
    assert "post_trace" not in answer


@pytest.mark.slow
def test_nestml_stdp_network_equals_manual_workflow(manual_stdp_module, tmp_path):
    manual = _run("nestml", "manual", str(manual_stdp_module), out=tmp_path / "manual.json")
    jit = _run("nestml", "jitnest", out=tmp_path / "jitnest.json")

    assert sum(map(len, manual["post_spikes"])) > 200, "the network must be active for the comparison to mean anything"
    initial = {w for row in jit["initial_weights"] for w in row}
    final = {w for row in jit["weights"] for w in row}
    assert initial == {0.1} and len(final) > 5 and final != initial, "STDP must have changed the weights"
    for key in ("ids", "pre_spikes", "post_spikes", "post_v", "initial_weights", "weights"):
        assert jit[key] == manual[key], key
    # NEST answers in the names the user wrote; the manual workflow sees NESTML's mangled names.
    assert jit["neuron_model"] == "iaf_psc_exp_neuron"
    assert jit["synapse_model"] == "stdp_synapse_nestml_lbl"
    assert manual["synapse_model"] == "stdp_synapse_nestml__with_iaf_psc_exp_neuron_nestml_lbl"
