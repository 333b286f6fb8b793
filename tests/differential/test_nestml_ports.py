"""NESTML's own integration tests and its third-factor tutorial, by plain name (issue 11).

Each network of tests/networks/nestml_ports.py runs twice in fresh processes: with modules built by the
manual NESTML workflow (benchmarks/manual_workflow.py with the codegen_opts a user writes by hand, mangled
names, nest.Install) and through ``import jitnest as nest`` with plain names and no generation code. Spikes,
weights and recorded values must be identical.

The manual modules group several models and pairs (three modules for all networks) so that the suite
compiles few distinct modules: NESTML's library models, the test's own models, and the models whose NESTML
options hold for a whole generation run (gap junctions, buffering method, delay variables). jitnest builds
one module per unit into the session's shared cache; the networks that share a kernel (``GROUPS`` of
nestml_ports.py) pair several synapses with one neuron in one unit.

Together the ports pair every synapse of NESTML 9's model library with a library neuron.
"""

from __future__ import annotations

import json

import pytest
from conftest import MODELS, NETWORKS, ROOT, last_json, run_python

pytestmark = pytest.mark.slow

FEATURES = MODELS / "features"
WEIGHTS = {s: "w" for s in ("stdp_synapse", "neuromodulated_stdp_synapse", "stdp_triplet_synapse", "noisy_synapse",
                            "tsodyks_synapse", "stdp_nn_symm_synapse", "stdp_nn_restr_symm_synapse",
                            "stdp_nn_pre_centered_synapse", "stdsp_synapse", "static_synapse")}
STDP = {"post_ports": ["post_spikes"]}
GAP_JUNCTIONS = {"enable": True, "gap_current_port": "I_stim", "membrane_potential_variable": "V_m"}
MANUAL_SPECS = {
    "portslibrarymodule": {
        "files": ["neurons/iaf_psc_exp_neuron", "neurons/iaf_psc_delta_fixed_timestep_neuron",
                  "neurons/aeif_cond_alpha_neuron", "neurons/traub_cond_multisyn_neuron",
                  *(f"synapses/{s}" for s in WEIGHTS)],
        "codegen_opts": {
            # (the pair with vt_ports first: NESTML 9 looks up a neuron's vt ports in its first pair)
            "neuron_synapse_pairs": [
                {"neuron": "iaf_psc_exp_neuron", "synapses": {"neuromodulated_stdp_synapse": {
                    "post_ports": ["post_spikes"], "vt_ports": ["mod_spikes"]}}},
                {"neuron": "iaf_psc_exp_neuron", "synapses": {"stdp_synapse": STDP}},
                {"neuron": "iaf_psc_delta_fixed_timestep_neuron", "synapses": {"stdp_triplet_synapse": STDP}},
                {"neuron": "iaf_psc_exp_neuron", "synapses": {
                    "stdp_nn_symm_synapse": STDP, "stdp_nn_restr_symm_synapse": STDP,
                    "stdp_nn_pre_centered_synapse": STDP,
                    "stdsp_synapse": {"post_ports": ["post_spikes", ["dAP_trace", "I_syn_exc"]]}}},
                {"neuron": "aeif_cond_alpha_neuron", "synapses": {"stdp_synapse": STDP}}],
            "weight_variable": WEIGHTS}},
    "portsownmodule": {
        "files": [str(FEATURES / "gated_stdp.nestml"), str(FEATURES / "vector_port_neuron.nestml")],
        "codegen_opts": {
            "neuron_synapse_pairs": [{"neuron": "dendritic_neuron", "synapses": {"gated_stdp_synapse": {
                "post_ports": ["post_spikes", ["I_post_dend", "I_dAP"]]}}}],
            "weight_variable": {"gated_stdp_synapse": "w"}}},
    # NESTML options that hold for a whole generation run: gap junctions (for every neuron of the module),
    # the post-spike-based buffering of continuous post ports, delay variables
    "portsoptionsmodule": {
        "files": ["neurons/aeif_cond_exp_neuron", str(FEATURES / "third_factor_handler.nestml"),
                  str(FEATURES / "delay_test_synapses.nestml"), str(FEATURES / "non_linear_synapse.nestml")],
        "codegen_opts": {
            "neuron_synapse_pairs": [{"neuron": "third_factor_handler_neuron", "synapses": {
                "third_factor_handler_synapse": {"post_ports": ["post_spikes", ["e_trace_d", "e_trace_dend"]],
                                                 "vt_ports": ["mod_spikes"]}}}],
            "weight_variable": {"third_factor_handler_synapse": "w", "delay_test_synapse": "w",
                                "delay_test_plastic_synapse": "w", "non_linear_synapse": "w"},
            # (NESTML 9: given for one synapse, a delay_variable is needed for every synapse of the run)
            "delay_variable": {"delay_test_synapse": "d", "delay_test_plastic_synapse": "d",
                               "third_factor_handler_synapse": "d", "non_linear_synapse": "d"},
            "strictly_synaptic_vars": {"non_linear_synapse": ["x", "y"]},
            "continuous_state_buffering_method": "post_spike_based",
            "gap_junctions": GAP_JUNCTIONS}},
}
# networks (tests/networks/nestml_ports.py) -> the ports (NESTML test names) whose results they return
NETWORKS_RUN = ["stdp_synapse_test", "stdp_triplet_synapse_test", "stdp_neuromod_test", "noisy_synapse_test",
                "test_tsodyks_synapse", "test_multisynapse", "third_factor_tutorial", "nearest_neighbour_stdp",
                "stdp_synapse_gsl_neuron", "test_static_synapse", "test_delay_variable_specified", "test_gap_junction",
                "test_traub_cond_multisyn", "test_continuous_third_factor_in_modulatory_spikes_handler",
                "test_synapse_numeric_solver"]
NN_PORTS = ["stdp_nn_synapse_test", "stdp_nn_restr_symm_test", "stdp_nn_pre_centered_test", "stdsp_synapse"]
PORTS = [port for network in NETWORKS_RUN for port in (NN_PORTS if network == "nearest_neighbour_stdp" else [network])]


@pytest.fixture(scope="module")
def manual_modules(tmp_path_factory) -> list[str]:
    modules = []
    for name, spec in MANUAL_SPECS.items():
        out = tmp_path_factory.mktemp(name)
        (out / "spec.json").write_text(json.dumps(spec))
        completed = run_python(ROOT / "benchmarks" / "manual_workflow.py", str(out / "build"), name, "--spec",
                               str(out / "spec.json"), timeout=1800)
        modules.append(last_json(completed)["module"])
    return modules


@pytest.fixture(scope="module")
def results(manual_modules, tmp_path_factory) -> dict[str, dict]:
    out = tmp_path_factory.mktemp("ports")
    run_python(NETWORKS / "nestml_ports.py", "manual", str(out / "manual.json"), ",".join(manual_modules),
               *NETWORKS_RUN, timeout=1800)
    run_python(NETWORKS / "nestml_ports.py", "jitnest", str(out / "jitnest.json"), "-", *NETWORKS_RUN, timeout=3600)
    return {mode: json.loads((out / f"{mode}.json").read_text()) for mode in ("manual", "jitnest")}


@pytest.mark.parametrize("network", PORTS)
def test_port_equals_manual_workflow(results, network):
    manual, jit = results["manual"][network], results["jitnest"][network]
    assert "error" not in manual, manual.get("error")
    assert "error" not in jit, jit.get("error")
    assert jit == manual
