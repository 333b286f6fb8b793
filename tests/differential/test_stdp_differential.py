"""The core promise: the STDP network of the core issue gives identical results through the
manual NESTML workflow and through ``import jitnest as nest``.

Both run in fresh processes. The manual side uses benchmarks/manual_workflow.py (the conftest fixture), which shares
no code with jitnest (NESTML by hand, g++ by hand, nest.Install, mangled names).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import NETWORKS, run_python

pytestmark = pytest.mark.slow


def _run(mode: str, module: str, out: Path, threads: int, twin: str = "") -> dict:
    run_python(NETWORKS / "stdp_network.py", mode, module, str(out), str(threads), twin)
    return json.loads(out.read_text())


@pytest.mark.parametrize("threads", [1, 2])
def test_jitnest_equals_manual_workflow(manual_stdp_module, tmp_path, threads):
    manual = _run("manual", str(manual_stdp_module), tmp_path / "manual.json", threads)
    jit = _run("jitnest", "-", tmp_path / "jitnest.json", threads)

    assert len(manual["senders"]) > 1000, "the network must be active for the comparison to mean anything"
    assert jit["ids"] == manual["ids"]
    assert jit["senders"] == manual["senders"]
    assert jit["times"] == manual["times"]
    assert (jit["sources"], jit["targets"]) == (manual["sources"], manual["targets"])
    assert jit["weights"] == manual["weights"]
    assert len(set(jit["weights"])) > 10, "STDP must have changed the weights"
    assert jit["tau_m_post"] == manual["tau_m_post"] == 12.0
    # The user sees the names they wrote; the manual workflow sees NESTML's mangled names.
    assert manual["neuron_model"] == "iaf_psc_exp_neuron_nestml__with_stdp_synapse_nestml"
    assert manual["synapse_model"] == "stdp_synapse_nestml__with_iaf_psc_exp_neuron_nestml"
    assert jit["neuron_model"] == "iaf_psc_exp_neuron"
    assert jit["synapse_model"] == "stdp_synapse_nestml"
    # NEST's _hpc/_lbl twins of the synapse are compiled only when the network names them.
    assert jit["real_synapse_models"] == ["stdp_synapse_nestml__with_iaf_psc_exp_neuron_nestml"]


@pytest.mark.parametrize("twin", ["_hpc", "_lbl"])
def test_twin_named_by_the_network_equals_nests_own_twin(manual_stdp_module, tmp_path, twin):
    """jitnest registers a twin itself (module.cpp.jinja); NESTML's module registers it through NEST."""
    manual = _run("manual", str(manual_stdp_module), tmp_path / "manual.json", 1, twin)
    jit = _run("jitnest", "-", tmp_path / "jitnest.json", 1, twin)

    assert len(manual["senders"]) > 1000
    for key in ("ids", "senders", "times", "sources", "targets", "weights"):
        assert jit[key] == manual[key], key
    assert len(set(jit["weights"])) > 10, "STDP must have changed the weights"
    assert manual["synapse_model"] == "stdp_synapse_nestml__with_iaf_psc_exp_neuron_nestml" + twin
    assert jit["synapse_model"] == "stdp_synapse_nestml" + twin
    generated = "stdp_synapse_nestml__with_iaf_psc_exp_neuron_nestml"
    assert jit["real_synapse_models"] == [generated, generated + twin]
