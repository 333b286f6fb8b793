"""NESTML's own integration tests and its third-factor tutorial, by plain name (issue 11).

Each network of tests/networks/nestml_ports.py runs twice in fresh processes: with modules built by the
manual NESTML workflow (benchmarks/manual_workflow.py with the codegen_opts a user writes by hand, mangled
names, nest.Install) and through ``import jitnest as nest`` with plain names and no generation code. Spikes,
weights and recorded values must be identical.

The manual modules group several models and pairs (two modules for all networks) so that the suite
compiles few distinct modules; jitnest builds one module per unit into the session's shared cache.
"""

from __future__ import annotations

import json

import pytest
from conftest import MODELS, NETWORKS, ROOT, last_json, run_python

pytestmark = pytest.mark.slow

FEATURES = MODELS / "features"
WEIGHTS = {s: "w" for s in ("stdp_synapse", "neuromodulated_stdp_synapse", "stdp_triplet_synapse", "noisy_synapse",
                            "tsodyks_synapse")}
MANUAL_SPECS = {
    "portslibrarymodule": {
        "files": ["neurons/iaf_psc_exp_neuron", "neurons/iaf_psc_delta_fixed_timestep_neuron",
                  "synapses/neuromodulated_stdp_synapse", "synapses/stdp_synapse", "synapses/stdp_triplet_synapse",
                  "synapses/noisy_synapse", "synapses/tsodyks_synapse"],
        "codegen_opts": {
            # (the pair with vt_ports first: NESTML 9 looks up a neuron's vt ports in its first pair)
            "neuron_synapse_pairs": [
                {"neuron": "iaf_psc_exp_neuron", "synapses": {"neuromodulated_stdp_synapse": {
                    "post_ports": ["post_spikes"], "vt_ports": ["mod_spikes"]}}},
                {"neuron": "iaf_psc_exp_neuron", "synapses": {"stdp_synapse": {"post_ports": ["post_spikes"]}}},
                {"neuron": "iaf_psc_delta_fixed_timestep_neuron",
                 "synapses": {"stdp_triplet_synapse": {"post_ports": ["post_spikes"]}}}],
            "weight_variable": WEIGHTS}},
    "portsownmodule": {
        "files": [str(FEATURES / "gated_stdp.nestml"), str(FEATURES / "vector_port_neuron.nestml")],
        "codegen_opts": {
            "neuron_synapse_pairs": [{"neuron": "dendritic_neuron", "synapses": {"gated_stdp_synapse": {
                "post_ports": ["post_spikes", ["I_post_dend", "I_dAP"]]}}}],
            "weight_variable": {"gated_stdp_synapse": "w"}}},
}
PORTS = ["stdp_synapse_test", "stdp_triplet_synapse_test", "stdp_neuromod_test", "noisy_synapse_test",
         "test_tsodyks_synapse", "test_multisynapse", "third_factor_tutorial"]


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
    run_python(NETWORKS / "nestml_ports.py", "manual", str(out / "manual.json"), ",".join(manual_modules), *PORTS,
               timeout=1800)
    run_python(NETWORKS / "nestml_ports.py", "jitnest", str(out / "jitnest.json"), "-", *PORTS, timeout=3600)
    return {mode: json.loads((out / f"{mode}.json").read_text()) for mode in ("manual", "jitnest")}


@pytest.mark.parametrize("network", PORTS)
def test_port_equals_manual_workflow(results, network):
    manual, jit = results["manual"][network], results["jitnest"][network]
    assert "error" not in manual, manual.get("error")
    assert "error" not in jit, jit.get("error")
    assert jit == manual
