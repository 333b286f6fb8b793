"""Networks of NESTML's own integration tests (NESTML 9, tests/nest_tests) and of its third-factor
tutorial, rewritten as a user of jitnest writes them: plain model names, no generation code.

``python nestml_ports.py manual OUT.json MODULE.so[,MODULE.so...] NETWORK [NETWORK ...]``: plain PyNEST,
modules built by the manual NESTML workflow, NESTML's mangled names (``MANUAL_NAMES``).
``python nestml_ports.py jitnest OUT.json - NETWORK [NETWORK ...]``: ``import jitnest as nest``, plain names.

Each network runs in its own kernel (ResetKernel) and returns spikes, weights and recorded values as
JSON; a network that raises reports ``{"error": ...}`` instead, so that one failure does not hide
the others. The differential tests compare both modes' outputs for equality.
"""

from __future__ import annotations

import json
import sys
import traceback
from pathlib import Path

import numpy as np

MODELS = Path(__file__).resolve().parents[1] / "models" / "features"

# plain name -> the name the manual workflow's module gives the model in that network
MANUAL_NAMES: dict[str, dict[str, str]] = {
    "stdp_synapse_test": {
        "iaf_psc_exp_neuron": "iaf_psc_exp_neuron_nestml__with_stdp_synapse_nestml",
        "stdp_synapse_nestml": "stdp_synapse_nestml__with_iaf_psc_exp_neuron_nestml"},
    "stdp_triplet_synapse_test": {
        "iaf_psc_delta_fixed_timestep_neuron":
            "iaf_psc_delta_fixed_timestep_neuron_nestml__with_stdp_triplet_synapse_nestml",
        "stdp_triplet_synapse_nestml": "stdp_triplet_synapse_nestml__with_iaf_psc_delta_fixed_timestep_neuron_nestml"},
    "stdp_neuromod_test": {
        "iaf_psc_exp_neuron": "iaf_psc_exp_neuron_nestml__with_neuromodulated_stdp_synapse_nestml",
        "neuromodulated_stdp_synapse": "neuromodulated_stdp_synapse_nestml__with_iaf_psc_exp_neuron_nestml"},
    "noisy_synapse_test": {"noisy_synapse": "noisy_synapse_nestml"},
    "test_tsodyks_synapse": {"iaf_psc_exp_neuron": "iaf_psc_exp_neuron_nestml",
                             "tsodyks_synapse_nestml": "tsodyks_synapse_nestml"},
    "test_multisynapse": {"vector_port_neuron": "vector_port_neuron_nestml"},
    "third_factor_tutorial": {
        "dendritic_neuron": "dendritic_neuron_nestml__with_gated_stdp_synapse_nestml",
        "gated_stdp_synapse": "gated_stdp_synapse_nestml__with_dendritic_neuron_nestml"},
}


_MODULES: list[str] = []  # manual mode: the modules to install after each ResetKernel (which unloads them)


def reset(nest) -> None:
    nest.ResetKernel()
    for module in _MODULES:
        nest.Install(module)


def events(nest, recorder, keys) -> dict:
    got = nest.GetStatus(recorder, "events")[0]
    return {k: [float(v) for v in got[k]] for k in keys}


def stdp_protocol(nest, m, neuron: str, synapse: str, *, resolution: float, delay: float, pre, post,
                  record=(), neuron_status=None, vt_times=None) -> dict:
    """The protocol of NESTML's STDP tests (stdp_synapse_test.py, stdp_neuromod_test.py, ...): a
    parrot neuron driven by pre spike times, a postsynaptic neuron forced to spike at post times, the
    synapse copied with a weight recorder; the weight is read after every time step."""
    reset(nest)
    nest.resolution = resolution
    params = {"w": 1., "delay": delay, "receptor_type": 0}
    if vt_times is not None:
        vt_sg = nest.Create("spike_generator", params={"spike_times": vt_times, "allow_offgrid_times": True})
        vt = nest.Create("volume_transmitter")
        vt_parrot = nest.Create("parrot_neuron")
        nest.Connect(vt_sg, vt_parrot)
        nest.Connect(vt_parrot, vt, syn_spec={"synapse_model": "static_synapse", "weight": 1., "delay": 1.})
        params["volume_transmitter"] = vt
    wr = nest.Create("weight_recorder")
    nest.CopyModel(m(synapse), "syn_rec", {"weight_recorder": wr[0], **params})
    pre_sg = nest.Create("spike_generator", params={"spike_times": pre, "allow_offgrid_times": True})
    post_sg = nest.Create("spike_generator", params={"spike_times": post, "allow_offgrid_times": True})
    pre_neuron = nest.Create("parrot_neuron")
    post_neuron = nest.Create(m(neuron))
    for key, value in (neuron_status or {}).items():
        nest.SetStatus(post_neuron, key, value)
    spikes = nest.Create("spike_recorder")
    mm = nest.Create("multimeter", params={"record_from": ["V_m", *record]})
    nest.Connect(pre_sg, pre_neuron, "one_to_one", syn_spec={"delay": 1.})
    nest.Connect(post_sg, post_neuron, "one_to_one", syn_spec={"delay": 1., "weight": 9999.})
    nest.Connect(pre_neuron, post_neuron, "all_to_all", syn_spec={"synapse_model": "syn_rec"})
    nest.Connect(mm, post_neuron)
    nest.Connect(pre_neuron + post_neuron, spikes)
    syn = nest.GetConnections(source=pre_neuron, synapse_model="syn_rec")
    sim_time = max(max(pre), max(post), max(vt_times or [0.])) + 5 * delay
    t, w = 0., []
    while t <= sim_time:
        nest.Simulate(resolution)
        t += resolution
        w.append(float(nest.GetStatus(syn)[0]["w"]))
    assert len(set(w)) > 1, "no change in the weight"
    return {"w": w, "spikes": events(nest, spikes, ["times", "senders"]),
            "mm": events(nest, mm, ["times", "V_m", *record]),
            "wr": events(nest, wr, ["times", "weights"])}


def stdp_synapse_test(nest, m) -> dict:
    """tests/nest_tests/stdp_synapse_test.py: CopyModel with weight_recorder and receptor_type, a
    multimeter recording the moved post_trace__for_stdp_synapse_nestml (items 1, 3)."""
    pre = [1, 5, 6, 7, 9, 11, 12, 13, 14.5, 16.1]
    post = [2, 3, 4, 8, 9, 10, 12, 13.2, 15.1, 16.4]
    return stdp_protocol(nest, m, "iaf_psc_exp_neuron", "stdp_synapse_nestml", resolution=.1, delay=1.5,
                         pre=pre, post=post, record=["post_trace__for_stdp_synapse_nestml"],
                         neuron_status={"tau_syn_exc": .2})


def stdp_triplet_synapse_test(nest, m) -> dict:
    """tests/nest_tests/stdp_triplet_synapse_test.py: SetDefaults of the neuron names the variables NESTML
    moves into it (tau_minus__for_..., before any Connect), the weight recorder (item 3)."""
    reset(nest)
    nest.resolution = .1
    neuron, synapse = m("iaf_psc_delta_fixed_timestep_neuron"), m("stdp_triplet_synapse_nestml")
    nest.SetDefaults(neuron, {"tau_minus__for_stdp_triplet_synapse_nestml": 33.7,
                              "tau_y__for_stdp_triplet_synapse_nestml": 125.})
    neurons = nest.Create(neuron, 2)
    rng = np.random.default_rng(123)
    pre = np.sort(np.unique(np.round(1 + 200 * rng.random(40), 1)))
    post = np.sort(np.unique(np.round(2 + 200 * rng.random(40), 1)))
    pre = np.hstack((pre, [260.]))
    inputs = nest.Create("spike_generator", params={"spike_times": pre})
    inputs1 = nest.Create("spike_generator", params={"spike_times": post})
    spikes = nest.Create("spike_recorder")
    wr = nest.Create("weight_recorder")
    nest.CopyModel("static_synapse", "excitatory_noise", {"weight": 9999., "delay": 1.})
    nest.CopyModel(synapse, "triplet_rec", {"weight_recorder": wr})
    nest.SetDefaults("triplet_rec", {"delay": 2., "tau_plus": 16.8, "tau_x": 101., "A2_plus": 7.5e-10,
                                     "A3_plus": 9.3e-3, "A2_minus": 7e-3, "A3_minus": 2.3e-4, "Wmax": 50.,
                                     "Wmin": 0., "w": 1.})
    nest.Connect(neurons[0], neurons[1], syn_spec={"synapse_model": "triplet_rec"})
    nest.Connect(inputs, neurons[0], syn_spec="excitatory_noise")
    nest.Connect(inputs1, neurons[1], syn_spec="excitatory_noise")
    nest.Connect(neurons, spikes)
    mm = nest.Create("multimeter", params={"record_from": ["V_m", "tr_o1__for_stdp_triplet_synapse_nestml"]})
    nest.Connect(mm, neurons[1])
    before = neurons[1].get("tau_minus__for_stdp_triplet_synapse_nestml")
    nest.Simulate(270.)
    return {"spikes": events(nest, spikes, ["times", "senders"]), "wr": events(nest, wr, ["times", "weights"]),
            "mm": events(nest, mm, ["times", "V_m", "tr_o1__for_stdp_triplet_synapse_nestml"]),
            "tau_minus": before, "recordables": list(neurons[1].get("recordables"))}


def stdp_neuromod_test(nest, m) -> dict:
    """tests/nest_tests/stdp_neuromod_test.py: neuromodulated_stdp_synapse with its vt port fed by a
    volume_transmitter (items 5, 1)."""
    return stdp_protocol(nest, m, "iaf_psc_exp_neuron", "neuromodulated_stdp_synapse", resolution=.1, delay=1.,
                         pre=[1., 11., 21.], post=[6., 16., 26.], vt_times=[14., 23.],
                         record=["post_tr__for_neuromodulated_stdp_synapse_nestml"])


def noisy_synapse_test(nest, m) -> dict:
    """tests/nest_tests/noisy_synapse_test.py: emit_spike(w_) of a local expression (item 6)."""
    reset(nest)
    nest.resolution = .1
    nest.rng_seed = 42
    wr = nest.Create("weight_recorder")
    nest.CopyModel(m("noisy_synapse"), "noisy_rec", {"weight_recorder": wr[0], "w": 1., "delay": 1.,
                                                       "receptor_type": 0})
    pre_sg = nest.Create("spike_generator", params={"spike_times": np.linspace(1., 100., 10)})
    pre_neuron = nest.Create("parrot_neuron")
    post_neuron = nest.Create("iaf_psc_delta", {"tau_m": 2.})
    mm = nest.Create("multimeter", params={"record_from": ["V_m"]})
    nest.Connect(pre_sg, pre_neuron, "one_to_one", syn_spec={"delay": 1.})
    nest.Connect(pre_neuron, post_neuron, "all_to_all", syn_spec={"synapse_model": "noisy_rec"})
    nest.Connect(mm, post_neuron)
    nest.Simulate(106.)
    return {"mm": events(nest, mm, ["times", "V_m"]), "wr": events(nest, wr, ["times", "weights"])}


def test_tsodyks_synapse(nest, m) -> dict:
    """tests/nest_tests/test_tsodyks_synapse.py: emit_spike(delta_y_tsp * w) (item 6)."""
    reset(nest)
    nest.resolution = .5
    wr = nest.Create("weight_recorder")
    nest.CopyModel(m("tsodyks_synapse_nestml"), "tsodyks_rec", {"weight_recorder": wr[0], "w": 1., "delay": 1.,
                                                                "receptor_type": 0})
    pre_sg = nest.Create("spike_generator", params={"spike_times": [1., 11., 21.]})
    post_sg = nest.Create("spike_generator", params={"spike_times": [6., 16., 26.], "allow_offgrid_times": True})
    pre_neuron = nest.Create("parrot_neuron")
    post_neuron = nest.Create(m("iaf_psc_exp_neuron"))
    mm = nest.Create("multimeter", params={"record_from": ["V_m"]})
    nest.Connect(pre_sg, pre_neuron, "one_to_one", syn_spec={"delay": 1.})
    nest.Connect(post_sg, post_neuron, "one_to_one", syn_spec={"delay": 1., "weight": 9999.})
    nest.Connect(pre_neuron, post_neuron, "all_to_all", syn_spec={"synapse_model": "tsodyks_rec"})
    nest.Connect(mm, post_neuron)
    syn = nest.GetConnections(source=pre_neuron, synapse_model="tsodyks_rec")
    hist: dict[str, list] = {"x": [], "y": [], "u": []}
    for _ in range(64):
        nest.Simulate(.5)
        for key in hist:
            hist[key].append(float(nest.GetStatus(syn)[0][key]))
    return {**hist, "mm": events(nest, mm, ["times", "V_m"]), "wr": events(nest, wr, ["times", "weights"]),
            "weight": float(syn.get("weight"))}


def test_multisynapse(nest, m) -> dict:
    """tests/nest_tests/test_multisynapse.py (vector input ports): receptor_types SPIKES_<i> and the
    recordables I_kernel__X__spikes__VEC_IDX__<i>, read before the build (items 2, 4)."""
    reset(nest)
    nest.resolution = .1
    neuron = nest.Create(m("vector_port_neuron"))
    receptor_types = nest.GetStatus(neuron, "receptor_types")[0]
    recordables = list(neuron.get("recordables"))
    sg = nest.Create("spike_generator", params={"spike_times": [20., 80.]})
    nest.Connect(sg, neuron, syn_spec={"receptor_type": receptor_types["SPIKES_0"], "weight": 1000., "delay": .1})
    sg2 = nest.Create("spike_generator", params={"spike_times": [40., 60.]})
    nest.Connect(sg2, neuron, syn_spec={"receptor_type": receptor_types["SPIKES_1"], "weight": -1000., "delay": .1})
    record = ["K_fast__X__spikes__VEC_IDX__0", "K_slow__X__spikes__VEC_IDX__1"]
    mm = nest.Create("multimeter", params={"record_from": ["V_m", *record], "interval": .1})
    nest.Connect(mm, neuron)
    nest.Simulate(125.)
    return {"receptor_types": receptor_types, "recordables": recordables, "mm": events(nest, mm, ["V_m", *record])}


def third_factor_tutorial(nest, m) -> dict:
    """doc/tutorials/stdp_third_factor_active_dendrite: the synapse's continuous post port I_post_dend reads
    the neuron's I_dAP; receptor_types read before the build; the weight gated by the third factor
    (items 7, 2, 1)."""
    results = {}
    for stepwise_values, delay in (([0., 100., 0.], 1.), ([0., 100., 0.], 10.)):
        reset(nest)
        nest.resolution = .1
        wr = nest.Create("weight_recorder")
        nest.CopyModel(m("gated_stdp_synapse"), "gated_rec", {"weight_recorder": wr[0], "w": 1., "delay": delay,
                                                              "receptor_type": 0, "lambda": 1e-2})
        pre_sg = nest.Create("spike_generator", params={"spike_times": [15., 65., 165.]})
        post_sg = nest.Create("spike_generator", params={"spike_times": [60.], "allow_offgrid_times": True})
        pre_neuron = nest.Create("parrot_neuron")
        post_neuron = nest.Create(m("dendritic_neuron"))
        post_neuron.I_th = 1500.
        post_neuron.I_dAP_peak = 10.
        receptor_types = nest.GetStatus(post_neuron, "receptor_types")[0]
        record = ["V_m", "I_dAP", "post_trace__for_gated_stdp_synapse_nestml"]
        mm = nest.Create("multimeter", params={"record_from": record})
        spikes = nest.Create("spike_recorder")
        nest.Connect(pre_sg, pre_neuron, "one_to_one", syn_spec={"delay": 1.})
        nest.Connect(post_sg, post_neuron, "one_to_one",
                     syn_spec={"delay": 1., "weight": 1., "receptor_type": receptor_types["FORCING_SPIKES"]})
        nest.Connect(pre_neuron, post_neuron, "all_to_all",
                     syn_spec={"synapse_model": "gated_rec", "receptor_type": receptor_types["SYNAPTIC_SPIKES"]})
        nest.Connect(mm, post_neuron)
        nest.Connect(pre_neuron + post_neuron, spikes)
        syn = nest.GetConnections(source=pre_neuron, synapse_model="gated_rec")
        t, w, state = 0., [], 0
        for _ in range(1800):
            if state < 2 and t >= [0., 59., 63.][state + 1]:
                state += 1
            nest.SetStatus(post_neuron, {"I_dAP": stepwise_values[state], "dAP_timer": 1.})
            nest.Simulate(.1)
            t += .1
            w.append(float(nest.GetStatus(syn)[0]["w"]))
        results[f"delay={delay}"] = {"w": w, "receptor_types": receptor_types,
                                     "mm": events(nest, mm, record),
                                     "spikes": events(nest, spikes, ["times", "senders"])}
    return results


NETWORKS = {f.__name__: f for f in (stdp_synapse_test, stdp_triplet_synapse_test, stdp_neuromod_test,
                                    noisy_synapse_test, test_tsodyks_synapse, test_multisynapse,
                                    third_factor_tutorial)}


def jitnest_setup(nest) -> None:
    """What a jitnest user writes instead of generating code: the model files and the one option
    jitnest cannot infer (which neuron variable the continuous post port reads)."""
    nest.add_model_file(MODELS / "gated_stdp.nestml",
                        options={"gated_stdp_synapse": {"post_port_variables": {"I_post_dend": "I_dAP"}}})
    nest.add_model_file(MODELS / "vector_port_neuron.nestml")


def main() -> None:
    mode, out, modules, *names = sys.argv[1:]
    if mode == "manual":
        import nest

        _MODULES.extend(modules.split(","))
    else:
        import jitnest as nest

        jitnest_setup(nest)
    results = {}
    for name in names:
        table = MANUAL_NAMES.get(name, {}) if mode == "manual" else {}

        def m(plain: str, table: dict = table) -> str:
            return table.get(plain, plain)

        try:
            results[name] = NETWORKS[name](nest, m)
        except Exception:  # noqa: BLE001 -- reported per network, compared by the test
            results[name] = {"error": traceback.format_exc()[-3000:]}
    Path(out).write_text(json.dumps(results))


if __name__ == "__main__":
    main()
