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

NN_PAIRED = ("stdp_nn_symm_synapse_nestml_and_stdp_nn_restr_symm_synapse_nestml_and_stdp_nn_pre_centered_synapse_nestml"
             "_and_stdsp_synapse_nestml")
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
    # (NESTML 9 names the synapses of a neuron paired with several after the neuron's paired name)
    "nearest_neighbour_stdp": {
        **{synapse: f"{synapse}__with_iaf_psc_exp_neuron_nestml__with_{NN_PAIRED}"
           for synapse in NN_PAIRED.split("_and_")},
        "iaf_psc_exp_neuron": f"iaf_psc_exp_neuron_nestml__with_{NN_PAIRED}"},
    "stdp_synapse_gsl_neuron": {
        "aeif_cond_alpha_neuron": "aeif_cond_alpha_neuron_nestml__with_stdp_synapse_nestml",
        "stdp_synapse_nestml": "stdp_synapse_nestml__with_aeif_cond_alpha_neuron_nestml"},
    "test_static_synapse": {"iaf_psc_exp_neuron": "iaf_psc_exp_neuron_nestml"},
    "test_delay_variable_specified": {s: f"{s}_nestml" for s in ("delay_test_synapse", "delay_test_plastic_synapse")},
    "test_gap_junction": {"aeif_cond_exp_neuron": "aeif_cond_exp_neuron_nestml"},
    "test_traub_cond_multisyn": {"traub_cond_multisyn_neuron": "traub_cond_multisyn_neuron_nestml"},
    "test_synapse_numeric_solver": {"iaf_psc_exp_neuron": "iaf_psc_exp_neuron_nestml",
                                    "non_linear_synapse": "non_linear_synapse_nestml"},
    "test_continuous_third_factor_in_modulatory_spikes_handler": {
        "third_factor_handler_neuron": "third_factor_handler_neuron_nestml__with_third_factor_handler_synapse_nestml",
        "third_factor_handler_synapse": "third_factor_handler_synapse_nestml__with_third_factor_handler_neuron_nestml"},
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
    setup = stdp_setup(nest, m, neuron, synapse, "syn_rec", delay=delay, pre=pre, post=post, record=record,
                       neuron_status=neuron_status, vt_times=vt_times)
    return stdp_run(nest, [setup], resolution, max(max(pre), max(post), max(vt_times or [0.])) + 5 * delay)[0]


def stdp_setup(nest, m, neuron: str, synapse: str, label: str, *, delay: float, pre, post, record=(),
               neuron_status=None, vt_times=None, synapse_params=None, read=("w",)) -> dict:
    """One instance of the STDP protocol in the current kernel (several can share one kernel, so
    that synapses of several ports are paired with one neuron model in one module); ``label`` names
    its copy of the synapse model, ``read`` the synapse's keys read after every step."""
    params = {"w": 1., "delay": delay, "receptor_type": 0, **(synapse_params or {})}
    if vt_times is not None:
        vt_sg = nest.Create("spike_generator", params={"spike_times": vt_times, "allow_offgrid_times": True})
        vt = nest.Create("volume_transmitter")
        vt_parrot = nest.Create("parrot_neuron")
        nest.Connect(vt_sg, vt_parrot)
        nest.Connect(vt_parrot, vt, syn_spec={"synapse_model": "static_synapse", "weight": 1., "delay": 1.})
        params["volume_transmitter"] = vt
    wr = nest.Create("weight_recorder")
    nest.CopyModel(m(synapse), label, {"weight_recorder": wr[0], **params})
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
    nest.Connect(pre_neuron, post_neuron, "all_to_all", syn_spec={"synapse_model": label})
    nest.Connect(mm, post_neuron)
    nest.Connect(pre_neuron + post_neuron, spikes)
    return {"pre": pre_neuron, "label": label, "read": read, "spikes": spikes, "mm": mm, "record": record, "wr": wr}


def stdp_run(nest, setups: list[dict], resolution: float, sim_time: float) -> list[dict]:
    """Simulate ``setups`` (of ``stdp_setup``) step by step, reading their synapses after every step.

    (The synapses are looked up once all setups are connected: under jitnest a GetConnections builds the
    network recorded so far, and a later Connect that pairs one more synapse would build again.)"""
    synapses = [nest.GetConnections(source=s["pre"], synapse_model=s["label"]) for s in setups]
    t, history = 0., [{key: [] for key in s["read"]} for s in setups]
    while t <= sim_time:
        nest.Simulate(resolution)
        t += resolution
        for setup, syn, hist in zip(setups, synapses, history):
            status = nest.GetStatus(syn)[0]
            for key in setup["read"]:
                hist[key].append(float(status[key]))
    results = []
    for setup, hist in zip(setups, history):
        assert len(set(hist["w"])) > 1, "no change in the weight"
        results.append({**hist, "spikes": events(nest, setup["spikes"], ["times", "senders"]),
                        "mm": events(nest, setup["mm"], ["times", "V_m", *setup["record"]]),
                        "wr": events(nest, setup["wr"], ["times", "weights"])})
    return results


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


# tests/nest_tests/stdp_nn_synapse_test.py (and its _pre_centered, _restr_symm twins): the same spike trains
NN_PRE = [2., 4., 7., 8., 12., 13., 19., 23., 24., 28., 29., 30., 33., 34., 35., 36., 38., 40., 42., 46., 51., 53., 54.,
          55., 56., 59., 63., 64., 65., 66., 68., 72., 73., 76., 79., 80., 83., 84., 86., 87., 90., 95., 99., 100.,
          103., 104., 105., 111., 112., 126., 131., 133., 134., 139., 147., 150., 152., 155., 172., 175., 176., 181.,
          196., 197., 199., 202., 213., 215., 217., 265.]
NN_POST = [4., 5., 6., 7., 10., 11., 12., 16., 17., 18., 19., 20., 22., 23., 25., 27., 29., 30., 31., 32., 34., 36.,
           37., 38., 39., 42., 44., 46., 48., 49., 50., 54., 56., 57., 59., 60., 61., 62., 67., 74., 76., 79., 80., 81.,
           83., 88., 93., 94., 97., 99., 100., 105., 111., 113., 114., 115., 116., 119., 123., 130., 132., 134., 135.,
           145., 152., 155., 158., 166., 172., 174., 188., 194., 202., 245., 249., 289., 454.]
# port -> the synapse it runs; all four are paired with iaf_psc_exp_neuron in one kernel (one module). (By
# their _nestml names: NEST has built-in stdp_nn_symm_synapse and stdp_nn_pre_centered_synapse.)
NN_PORTS = {"stdp_nn_synapse_test": "stdp_nn_symm_synapse_nestml",
            "stdp_nn_restr_symm_test": "stdp_nn_restr_symm_synapse_nestml",
            "stdp_nn_pre_centered_test": "stdp_nn_pre_centered_synapse_nestml", "stdsp_synapse": "stdsp_synapse_nestml"}


def nearest_neighbour_stdp(nest, m) -> dict:
    """tests/nest_tests/stdp_nn_synapse_test.py, stdp_nn_restr_symm_test.py, stdp_nn_pre_centered_test.py (the
    protocol of stdp_synapse_test at resolution 1 ms, each recording its post_trace__for_<synapse>_nestml),
    and stdsp_synapse (NESTML's sequence-learning tutorial synapse; no NESTML test uses it) with its
    continuous post port dAP_trace read from the library neuron's I_syn_exc: one kernel, so that the four
    synapses are paired with iaf_psc_exp_neuron in one module. Returns one result per port."""
    reset(nest)
    nest.resolution = 1.
    setups = []
    for port, synapse in NN_PORTS.items():
        if synapse == "stdsp_synapse_nestml":
            setups.append(stdp_setup(nest, m, "iaf_psc_exp_neuron", synapse, "stdsp_rec", delay=1., pre=NN_PRE[:40],
                                     post=NN_POST[:40], synapse_params={"permanence": 50., "lambda_minus": .01,
                                                                        "lambda_h": 1e-4, "dt_min": 1.},
                                     read=("w", "permanence")))
        else:
            setups.append(stdp_setup(nest, m, "iaf_psc_exp_neuron", synapse, f"{port}_rec", delay=1., pre=NN_PRE,
                                     post=NN_POST, record=[f"post_trace__for_{synapse}"]))
    runs = stdp_run(nest, setups, 1., max(NN_PRE + NN_POST) + 5.)
    return dict(zip(NN_PORTS, runs))


def stdp_synapse_gsl_neuron(nest, m) -> dict:
    """stdp_synapse_test's protocol with a GSL neuron (aeif_cond_alpha_neuron, integrated by GSL's solver)
    as the postsynaptic neuron: NESTML moves the synapse's post trace into a neuron whose update runs
    the solver."""
    pre = [1, 5, 6, 7, 9, 11, 12, 13, 14.5, 16.1]
    post = [2, 3, 4, 8, 9, 10, 12, 13.2, 15.1, 16.4]
    return stdp_protocol(nest, m, "aeif_cond_alpha_neuron", "stdp_synapse_nestml", resolution=.1, delay=1.5,
                         pre=pre, post=post, record=["post_trace__for_stdp_synapse_nestml", "w"])  # w: adaptation


def test_static_synapse(nest, m) -> dict:
    """tests/nest_tests/test_static_synapse.py: NESTML's static_synapse and noisy_synapse (by their _nestml
    names, NEST has a static_synapse) onto the library's iaf_psc_exp_neuron, with a weight recorder."""
    results = {}
    for synapse in ("static_synapse_nestml", "noisy_synapse_nestml"):
        reset(nest)
        nest.resolution = .1
        pre_sg = nest.Create("spike_generator", params={"spike_times": 10. * (1 + np.arange(50.))})
        wr = nest.Create("weight_recorder")
        nest.CopyModel(m(synapse), "syn_nestml_rec", {"weight_recorder": wr[0]})
        pre_neuron = nest.Create("parrot_neuron")
        post_neuron = nest.Create(m("iaf_psc_exp_neuron"))
        mm = nest.Create("multimeter", params={"record_from": ["V_m", "I_syn_exc"]})
        nest.Connect(pre_sg, pre_neuron, "one_to_one")
        nest.Connect(pre_neuron, post_neuron, "all_to_all", syn_spec={"synapse_model": "syn_nestml_rec"})
        nest.Connect(mm, post_neuron)
        v_before = float(post_neuron.V_m)
        syn = nest.GetConnections(source=pre_neuron, synapse_model="syn_nestml_rec")
        weight = float(syn.weight)
        nest.Simulate(50.)
        assert post_neuron.V_m > v_before
        results[synapse] = {"weight": weight, "V_m": float(post_neuron.V_m), "mm": events(nest, mm, ["times", "V_m",
                            "I_syn_exc"]), "wr": events(nest, wr, ["times", "weights"])}
    return results


def test_delay_variable_specified(nest, m) -> dict:
    """tests/nest_tests/test_delay_variable_specified.py (test_synapse_delay): NEST's "delay" of a synapse is
    its NESTML variable d (delay_variable), which the synapse copies into x; set per connection, read back
    after simulating."""
    results = {}
    for synapse in ("delay_test_synapse", "delay_test_plastic_synapse"):
        reset(nest)
        nrn = nest.Create("iaf_psc_exp")
        nrn.I_e = 1000.  # the neuron spikes, so the synapse is updated
        nest.Connect(nrn, nrn, syn_spec={"synapse_model": m(synapse)})
        syn = nest.GetConnections(nrn, nrn)
        syn[0].delay = 42.
        syn = nest.GetConnections(nrn, nrn)
        nest.Simulate(100.)
        first = {"delay": float(syn[0].get("delay")), "x": float(syn[0].get("x")), "d": float(syn[0].get("d"))}
        syn.delay = 21.
        nest.Simulate(100.)
        second = {"delay": float(syn[0].get("delay")), "x": float(syn[0].get("x")), "d": float(syn[0].get("d"))}
        assert first["x"] == 42. and second["x"] == 21., (first, second)
        results[synapse] = {"first": first, "second": second}
    return results


def test_gap_junction(nest, m) -> dict:
    """tests/nest_tests/test_gap_junction.py with aeif_cond_exp_neuron, generated with NESTML's gap_junctions
    option (gap current port I_stim, membrane potential V_m): two neurons joined by a symmetric
    gap_junction, for waveform-relaxation interpolation orders 0, 1, 3; then the DC solution."""
    results = {}
    for order in (0, 1, 3):
        reset(nest)
        nest.resolution = .1
        nest.wfr_comm_interval = 2.
        nest.wfr_interpolation_order = order
        pre_neuron = nest.Create(m("aeif_cond_exp_neuron"))
        post_neuron = nest.Create(m("aeif_cond_exp_neuron"))
        pre_sg = nest.Create("spike_generator", params={"spike_times": [1., 16., 31.]})
        pre_parrot = nest.Create("parrot_neuron")
        nest.Connect(pre_sg, pre_parrot)
        nest.Connect(pre_parrot, pre_neuron, syn_spec={"weight": 999.})
        nest.Connect(pre_neuron, post_neuron, conn_spec={"rule": "one_to_one", "make_symmetric": True},
                     syn_spec={"synapse_model": "gap_junction"})
        mm_pre = nest.Create("multimeter", params={"record_from": ["V_m"]})
        mm_post = nest.Create("multimeter", params={"record_from": ["V_m"]})
        nest.Connect(mm_pre, pre_neuron)
        nest.Connect(mm_post, post_neuron)
        nest.Simulate(100.)
        pre_events, post_events = events(nest, mm_pre, ["times", "V_m"]), events(nest, mm_post, ["times", "V_m"])
        # (NESTML's check: the gap current brings the unstimulated neuron at least 0.5% closer to threshold)
        assert max(post_events["V_m"]) > .995 * post_neuron.E_L + .005 * post_neuron.V_th
        pre_neuron.E_L, post_neuron.E_L = -70., -80.
        for neuron in (pre_neuron, post_neuron):
            neuron.a, neuron.Delta_T = 0., 1e-99
        nest.Simulate(1000.)  # (NESTML's test: 100 s, to check the DC solution to 1e-7)
        results[f"order={order}"] = {"pre": pre_events, "post": post_events,
                                     "V_m": [float(pre_neuron.V_m), float(post_neuron.V_m)]}
    return results


def test_traub_cond_multisyn(nest, m) -> dict:
    """tests/nest_tests/test_traub_cond_multisyn.py: traub_cond_multisyn_neuron (four receptors AMPA, NMDA,
    GABA_A, GABA_B named in receptor_types before the build), one neuron driving another through all four."""
    reset(nest)
    dt = .01
    nest.resolution = dt
    neuron1 = nest.Create(m("traub_cond_multisyn_neuron"))
    nest.SetStatus(neuron1, {"I_e": 100.})
    neuron2 = nest.Create(m("traub_cond_multisyn_neuron"))
    nest.SetStatus(neuron2, {"tau_AMPA_1": .1, "tau_AMPA_2": 2.4, "AMPA_g_peak": .1})
    multimeter = nest.Create("multimeter", 2)
    nest.SetStatus(multimeter[0], {"record_from": ["V_m"], "interval": dt})
    record = ["V_m", "I_syn_ampa", "I_syn_nmda", "I_syn_gaba_a", "I_syn_gaba_b"]
    nest.SetStatus(multimeter[1], {"record_from": record, "interval": .1})  # (NESTML: dt; 0.1 keeps the JSON small)
    receptor_types = nest.GetStatus(neuron2, "receptor_types")[0]
    for receptor in ("AMPA", "NMDA", "GABA_A", "GABA_B"):
        nest.Connect(neuron1, neuron2, syn_spec={"receptor_type": receptor_types[receptor]})
    nest.Connect(multimeter[0], neuron1, "one_to_one")
    nest.Connect(multimeter[1], neuron2)
    spikes = nest.Create("spike_recorder")
    nest.Connect(neuron1 + neuron2, spikes)
    nest.Simulate(1000.)
    got = events(nest, spikes, ["times", "senders"])
    rate = sum(1 for s in got["senders"] if s == neuron1.global_id)
    assert 35 < rate < 45, rate  # NESTML's check: 40 Hz +- 5
    return {"receptor_types": dict(receptor_types), "spikes": got, "mm0": events(nest, multimeter[0], ["V_m"]),
            "mm1": events(nest, multimeter[1], ["times", *record])}


def test_continuous_third_factor_in_modulatory_spikes_handler(nest, m) -> dict:
    """tests/nest_tests/test_continuous_third_factor_in_modulatory_spikes_handler.py (NESTML generates it with
    continuous_state_buffering_method = post_spike_based): the synapse reads its continuous post port
    e_trace_d (the neuron's e_trace_dend) in the handlers of its pre port and of its vt port mod_spikes."""
    reset(nest)
    vt_sg = nest.Create("poisson_generator", params={"rate": 20.})
    vt = nest.Create("volume_transmitter")
    vt_parrot = nest.Create("parrot_neuron")
    nest.Connect(vt_sg, vt_parrot)
    sr = nest.Create("spike_recorder")
    nest.Connect(vt_parrot, sr)
    nest.Connect(vt_parrot, vt, syn_spec={"synapse_model": "static_synapse", "weight": 1., "delay": 1.})
    neuron1 = nest.Create("parrot_neuron")
    neuron2 = nest.Create(m("third_factor_handler_neuron"))
    nest.CopyModel(m("third_factor_handler_synapse"), "my_nestml_synapse", {"volume_transmitter": vt})
    nest.Connect(neuron1, neuron2, syn_spec={"synapse_model": "my_nestml_synapse", "weight": 1., "delay": 1.})
    sg = nest.Create("spike_generator", params={"spike_times": [20., 50., 80.]})
    nest.Connect(sg, neuron1, syn_spec={"synapse_model": "static_synapse", "weight": 1., "delay": 1.})
    mm = nest.Create("multimeter", params={"record_from": ["V_m"]})
    nest.Connect(mm, neuron2)
    sd_pre, sd_post = nest.Create("spike_recorder"), nest.Create("spike_recorder")
    nest.Connect(neuron1, sd_pre)
    nest.Connect(neuron2, sd_post)
    nest.Simulate(100.)
    syn = nest.GetConnections(neuron1, neuron2)[0]
    read, mod = float(syn.e_trace_d_read), float(syn.e_trace_d_mod)
    assert read == 42. and mod == 42., (read, mod)  # NESTML's check
    return {"read": read, "mod": mod, "vt_spikes": events(nest, sr, ["times"]),
            "mm": events(nest, mm, ["times", "V_m"]),
            "pre": events(nest, sd_pre, ["times"]), "post": events(nest, sd_post, ["times"]),
            "w": float(syn.get("w"))}


def test_synapse_numeric_solver(nest, m) -> dict:
    """tests/nest_tests/test_synapse_numeric_solver.py (test_non_linear_synapse): a synapse integrating
    non-linear ODEs with GSL (its solver tolerances set at Connect), generated with strictly_synaptic_vars
    x and y; its state read after every 1 ms. (NESTML's test pairs it with iaf_psc_exp_neuron without
    post ports; here the synapse alone is generated, onto the library neuron.)"""
    reset(nest)
    nest.resolution = .1
    neuron = nest.Create(m("iaf_psc_exp_neuron"))
    sg = nest.Create("spike_generator", params={"spike_times": [3., 5., 9., 11., 22., 28.]})
    synapse = m("non_linear_synapse")
    nest.Connect(sg, neuron, syn_spec={"synapse_model": synapse, "gsl_abs_error_tol": 1e-8, "gsl_rel_error_tol": 1e-8})
    connections = nest.GetConnections(source=sg, synapse_model=synapse)
    x, y, w = [float(connections.get("x"))], [float(connections.get("y"))], []
    for _ in range(30):
        nest.Simulate(1.)
        status = connections.get()
        x.append(float(status["x"]))
        y.append(float(status["y"]))
        w.append(float(status["w"]))
    assert len(set(x)) > 3, x  # (the ODEs are integrated, at each presynaptic spike)
    return {"x": x, "y": y, "w": w, "V_m": float(neuron.V_m)}


NETWORKS = {f.__name__: f for f in (stdp_synapse_test, stdp_triplet_synapse_test, stdp_neuromod_test,
                                    noisy_synapse_test, test_tsodyks_synapse, test_multisynapse,
                                    third_factor_tutorial, nearest_neighbour_stdp, stdp_synapse_gsl_neuron,
                                    test_static_synapse, test_delay_variable_specified, test_gap_junction,
                                    test_traub_cond_multisyn,
                                    test_continuous_third_factor_in_modulatory_spikes_handler,
                                    test_synapse_numeric_solver)}
# networks that run several ports in one kernel: their result holds one entry per port
GROUPS = {"nearest_neighbour_stdp": list(NN_PORTS)}


def jitnest_setup(nest) -> None:
    """What a jitnest user writes instead of generating code: the model files and the options jitnest
    cannot infer (which neuron variable a continuous post port reads, the delay variable, NESTML's
    gap-junction and buffering options)."""
    nest.add_model_file(MODELS / "gated_stdp.nestml",
                        options={"gated_stdp_synapse": {"post_port_variables": {"I_post_dend": "I_dAP"}}})
    nest.add_model_file(MODELS / "vector_port_neuron.nestml")
    nest.add_model_file(MODELS / "delay_test_synapses.nestml",
                        options={"delay_test_synapse": {"delay_variable": "d"},
                                 "delay_test_plastic_synapse": {"delay_variable": "d"}})
    gap_junctions = {"gap_current_port": "I_stim", "membrane_potential_variable": "V_m"}
    nest.add_model_file(MODELS / "third_factor_handler.nestml", options={
        "third_factor_handler_synapse": {"post_port_variables": {"e_trace_d": "e_trace_dend"}, "delay_variable": "d",
                                         "continuous_state_buffering_method": "post_spike_based"},
        # (the manual module enables gap junctions for every neuron it generates; so does this)
        "third_factor_handler_neuron": {"gap_junctions": gap_junctions}})
    nest.set_model_options("aeif_cond_exp_neuron", gap_junctions=gap_junctions)
    nest.add_model_file(MODELS / "non_linear_synapse.nestml", options={"non_linear_synapse": {
        "strictly_synaptic_vars": ["x", "y"], "delay_variable": "d"}})
    nest.set_model_options("stdsp_synapse", post_port_variables={"dAP_trace": "I_syn_exc"})


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
            result = NETWORKS[name](nest, m)
            results.update(result if name in GROUPS else {name: result})
        except Exception:  # noqa: BLE001 -- reported per network, compared by the test
            error = {"error": traceback.format_exc()[-3000:]}
            results.update({port: error for port in GROUPS.get(name, [name])})
    Path(out).write_text(json.dumps(results))


if __name__ == "__main__":
    main()
