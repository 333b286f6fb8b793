"""jitnest's code transformations (jitnest/generate/transform) change speed and size, never results.

The same networks run on NESTML's unedited code (the manual workflow's module, the conftest fixture) and
on jitnest's transformed module: spikes, final weights, per-connection parameters and every value a
multimeter recorded must be identical, bit for bit (floats compared as their bits: ``==`` takes -0.0 for
0.0). Three networks (tests/networks/speed_network.py): homogeneous synapse parameters; parameters that
differ per connection, drawn at Connect and set again per connection between two Simulate calls; and
NEST's built-in stdp_synapse targeting the NESTML neuron beside NESTML's. The module is the one the
other STDP tests build (no extra compilation).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from conftest import NETWORKS, run_python

pytestmark = pytest.mark.slow


def _exactly(value: Any) -> Any:
    """``value`` with every float as its bits (``float.hex``): ``==`` does not tell 0.0 from -0.0."""
    if isinstance(value, float):
        return value.hex()
    if isinstance(value, dict):
        return {key: _exactly(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_exactly(item) for item in value]
    return value


def _run(mode: str, module: str, out: Path, variant: str) -> dict:
    run_python(NETWORKS / "speed_network.py", mode, module, str(out), variant)
    return json.loads(out.read_text())


@pytest.mark.parametrize("variant", ["homogeneous", "heterogeneous", "builtin"])
def test_transformed_module_equals_nestmls_code(manual_stdp_module, tmp_path, variant, cache_dir):
    manual = _run("manual", str(manual_stdp_module), tmp_path / "manual.json", variant)
    jit = _run("jitnest", "-", tmp_path / "jitnest.json", variant)

    assert len(manual["senders"]) > 1000, "the network must be active for the comparison to mean anything"
    assert len(set(manual["nestml"]["weight"])) > 10, "STDP must have changed the weights"
    assert len(manual["recorded"]["V_m"]) > 10000
    for key in ("senders", "times"):
        assert _exactly(jit[key]) == _exactly(manual[key]), key
    for key, values in manual["recorded"].items():
        assert _exactly(jit["recorded"][key]) == _exactly(values), key
    assert _exactly(jit["nestml"]) == _exactly(manual["nestml"])
    if variant == "heterogeneous":
        assert len(set(manual["nestml"]["tau_tr_pre"])) > 100 and 5.0 in manual["nestml"]["tau_tr_pre"]
        assert len(set(manual["nestml"]["mu_plus"])) == 2
    if variant == "builtin":
        assert _exactly(jit["builtin"]) == _exactly(manual["builtin"]) and len(manual["builtin"]["weight"]) == 30 * 4
        # ArchivingNode's status and its checks, with archiving_base's replacement for ArchivingNode.
        assert _exactly(jit["archiving"]) == _exactly(manual["archiving"])
        status = manual["archiving"]["status"]
        assert status["tau_minus"][:5] == [15.0] * 5 and status["tau_minus"][5] == 20.0
        assert len(set(status["t_spike"])) > 10 and manual["archiving"]["refused"] == "BadProperty", manual["archiving"]
    # The module compared is the transformed one: its manifest says so.
    applied = [[t["name"] for t in json.loads(m.read_text()).get("transformations") or []]
               for m in (cache_dir / "modules").glob("*/manifest.json")
               if "stdp_synapse" in json.loads(m.read_text())["label"]]
    assert any({"trace_propagators", "synapse_shared_parameters", "update_invariants", "spike_port_table",
                "archiving_base", "spike_history", "slice_origin"} <= set(names) for names in applied), applied
    # ... and it is smaller than NESTML's and NEST's synapse (parameters shared, not copied per connection).
    assert jit["sizeof"]["nestml"] <= jit["sizeof"]["builtin"] < manual["sizeof"]["nestml"], (jit, manual["sizeof"])



@pytest.mark.parametrize("variant", ["plain", "paired", "alpha"])
def test_transformed_neuron_inputs_equal_nestmls_code(manual_stdp_module, tmp_path, variant, cache_dir):
    """Every input a neuron buffers (tests/networks/input_network.py: excitatory and inhibitory spikes,
    delays of several steps, CurrentEvents from three generators, two Simulate calls with parameters changed
    between them), on the unpaired and on the paired neuron, and on a neuron whose spikes only feed kernels
    (an input buffer without marks): the same spikes and recorded values as NESTML's unedited code."""
    def run(mode: str, module: str) -> dict:
        out = tmp_path / f"{mode}.json"
        run_python(NETWORKS / "input_network.py", mode, module, str(out), variant)
        return json.loads(out.read_text())

    manual, jit = run("manual", str(manual_stdp_module)), run("jitnest", "-")
    assert len(manual["senders"]) > 500 and len(set(manual["senders"])) == 40
    currents = ("I_kernel_inh__X__inh_spikes", "I_kernel_exc__X__exc_spikes") if variant == "alpha" else (
        "I_syn_inh", "I_syn_exc")
    assert all(max(manual["recorded"][current]) > 0 for current in currents)  # both ports used
    for key in ("senders", "times"):
        assert _exactly(jit[key]) == _exactly(manual[key]), key
    for key, values in manual["recorded"].items():
        assert _exactly(jit["recorded"][key]) == _exactly(values), key
    if variant == "paired":
        assert _exactly(jit["weights"]) == _exactly(manual["weights"]) and len({w for *_, w in manual["weights"]}) > 10
    labels = {"plain": lambda label: "iaf_psc_exp_neuron" in label and "stdp_synapse" not in label,
              "paired": lambda label: "iaf_psc_exp_neuron" in label and "stdp_synapse" in label,
              "alpha": lambda label: "iaf_psc_alpha_neuron" in label}
    applied = [[t["name"] for t in json.loads(m.read_text()).get("transformations") or []]
               for m in (cache_dir / "modules").glob("*/manifest.json")
               if labels[variant](json.loads(m.read_text())["label"])]
    # spike_sign in both forms: marked channels (onReceive blocks that ask whether a spike arrived) and
    # unmarked ones (iaf_psc_alpha_neuron, whose spikes only feed kernels)
    assert any({"input_buffer", "update_invariants", "spike_port_table", "spike_sign", "slice_origin",
                "slice_origin_cache"} <= set(names) for names in applied), applied
    if variant != "alpha":  # the currents set to -0.0 stayed -0.0 until an excitatory spike arrived
        assert "-0x0.0p+0" in _exactly(manual["recorded"]["I_syn_exc"])


def test_transformed_module_across_kernels_equals_nestmls_code(manual_stdp_module, tmp_path, cache_dir):
    """Two kernels at different resolutions in one process (tests/networks/reset_network.py), the module
    loaded throughout: slice_origin_cache's table, filled in the first kernel, must not serve the second.
    NESTML's unedited code, jitnest (which installs its module again after ResetKernel) and jitnest's
    transformed module run like NESTML's (the library held loaded) record the same values."""
    def run(mode: str, module: str, name: str) -> list[dict]:
        out = tmp_path / f"{name}.json"
        run_python(NETWORKS / "reset_network.py", mode, module, str(out))
        return json.loads(out.read_text())

    manual, jit = run("manual", str(manual_stdp_module), "manual"), run("jitnest", "-", "jitnest")
    manifests = [(path, json.loads(path.read_text())) for path in (cache_dir / "modules").glob("*/manifest.json")]
    modules = [path.parent / manifest["module_file"] for path, manifest in manifests
               if manifest["label"] == "iaf_psc_alpha_neuron"
               and "slice_origin_cache" in {t["name"] for t in manifest.get("transformations") or []}]
    assert len(modules) == 1, modules
    transformed = run("manual", str(modules[0]), "transformed")

    for kernel, (resolution, arrival) in enumerate([(0.1, 0.3), (0.05, 0.2)]):
        # the spike arrives at its time (the kernel's current is first nonzero one step after it)
        current = manual[kernel]["I_kernel_exc__X__exc_spikes"]
        first = manual[kernel]["times"][min(i for i, value in enumerate(current) if value != 0.0)]
        assert first == pytest.approx(arrival + resolution), (kernel, first)
        assert len(set(manual[kernel]["senders"])) == 4
    assert _exactly(jit) == _exactly(manual)
    assert _exactly(transformed) == _exactly(manual)
