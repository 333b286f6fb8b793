"""Networks for the differential tests of jitnest's code transformations, run in a fresh process.

``python speed_network.py manual MODULE.so OUT.json VARIANT``: plain PyNEST with a module built by the
manual NESTML workflow (NESTML's unedited code), mangled names.
``python speed_network.py jitnest - OUT.json VARIANT``: ``import jitnest as nest`` (transformed code,
unless JITNEST_TRANSFORM=0).

VARIANT:
* ``homogeneous``: the STDP network of the core issue, every synapse with the model's parameters;
* ``heterogeneous``: per-connection parameters drawn at Connect (tau_tr_pre, lambda, alpha, Wmax), then,
  after a first Simulate, a per-connection set on every third connection and a second Simulate;
* ``builtin``: as homogeneous, plus NEST's built-in ``stdp_synapse`` from the same sources onto the same
  NESTML neurons (it reads the neuron's ArchivingNode archive, not NESTML's own: in NESTML's code that
  archive stays empty, so the built-in synapse sees no postsynaptic spike); between the two Simulate
  calls, ArchivingNode's parameters are set on some neurons and ``clear`` on others, and its status
  (``t_spike``, ``tau_minus``, ...) is read at the end.

Writes spikes, final weights (and the per-connection parameters), what a multimeter recorded from the
postsynaptic neurons (V_m and the synaptic currents) and the bytes of one connection of NESTML's and of
NEST's built-in STDP synapse (``sizeof``) as JSON.
"""

import json
import sys

NESTML = {"manual": ("iaf_psc_exp_neuron_nestml__with_stdp_synapse_nestml",
                     "stdp_synapse_nestml__with_iaf_psc_exp_neuron_nestml"),
          "jitnest": ("iaf_psc_exp_neuron", "stdp_synapse_nestml")}
# (Not the postsynaptic trace: jitnest checks record_from against the unpaired neuron's recordables
# before the build; the weights depend on the trace at every pre-synaptic spike.)
RECORDED = ["V_m", "I_syn_exc", "I_syn_inh"]
PARAMETERS = ["tau_tr_pre", "lambda", "alpha", "Wmax", "mu_plus"]


def spikes_and_recordings(spike_recorder, multimeter, recorded_keys: list[str]) -> dict:
    """What the recorders saw, in an order that does not depend on NEST's delivery order: spikes
    sorted by (time, sender); the multimeter's ``recorded_keys`` (and times and senders) sorted alike."""
    events = spike_recorder.get("events")
    spikes = sorted(zip((float(t) for t in events["times"]), (int(s) for s in events["senders"])))
    recorded = multimeter.get("events")
    order = sorted(range(len(recorded["times"])), key=lambda i: (recorded["times"][i], recorded["senders"][i]))
    return {
        "senders": [s for _, s in spikes], "times": [t for t, _ in spikes],
        "recorded": {key: [float(recorded[key][i]) for i in order] for key in recorded_keys + ["times", "senders"]},
    }


def run(nest, neuron: str, synapse: str, module: str | None, variant: str) -> dict:
    nest.ResetKernel()
    if module:
        nest.Install(module)
    nest.resolution = 0.1
    nest.rng_seed = 4321
    pre = nest.Create(neuron, 40)
    post = nest.Create(neuron, 30, params={"tau_m": 12.0})
    pg = nest.Create("poisson_generator", params={"rate": 9000.0})
    nest.Connect(pg, pre + post, syn_spec={"weight": 40.0})
    syn_spec = {"synapse_model": synapse, "weight": 12.0, "delay": 1.5}
    if variant == "heterogeneous":
        syn_spec.update({"tau_tr_pre": nest.random.uniform(10.0, 30.0), "lambda": nest.random.uniform(0.005, 0.05),
                         "alpha": nest.random.uniform(0.5, 1.5), "Wmax": nest.random.uniform(20.0, 60.0)})
    nest.Connect(pre, post, {"rule": "fixed_indegree", "indegree": 8}, syn_spec)
    if variant == "builtin":
        nest.Connect(pre, post, {"rule": "fixed_indegree", "indegree": 4},
                     {"synapse_model": "stdp_synapse", "weight": 10.0, "delay": 1.0, "lambda": 0.05})
    sr = nest.Create("spike_recorder")
    nest.Connect(pre + post, sr)
    mm = nest.Create("multimeter", params={"record_from": RECORDED, "interval": 0.1})
    nest.Connect(mm, post[:10])
    nest.Simulate(200.0)
    if variant == "heterogeneous":
        conns = nest.GetConnections(synapse_model=synapse)
        chosen = conns[::3]
        chosen.set({"tau_tr_pre": 5.0, "mu_plus": 0.5, "lambda": [0.02 + 0.001 * i for i in range(len(chosen))]})
    if variant == "builtin":
        post[:5].set({"tau_minus": 15.0, "tau_minus_triplet": 90.0})
        post[5:8].set({"clear": True})
        try:
            post[0].set({"tau_minus": -1.0})
            refused = None
        except Exception as error:  # the kernel's BadProperty, through PyNEST
            refused = type(error).__name__
    nest.Simulate(200.0)

    result = {
        **spikes_and_recordings(sr, mm, RECORDED),
        "sizeof": {label: nest.GetDefaults(model)["sizeof"] for label, model in (("nestml", synapse),
                                                                                   ("builtin", "stdp_synapse"))},
    }
    for label, model in (("nestml", synapse), ("builtin", "stdp_synapse")):
        conns = nest.GetConnections(synapse_model=model)
        if not len(conns):
            continue
        keys = ["source", "target", "weight"] + (PARAMETERS if label == "nestml" else [])
        status = conns.get(keys)
        rows = sorted(zip(*(status[k] for k in keys)))
        result[label] = {k: [row[i] for row in rows] for i, k in enumerate(keys)}
    if variant == "builtin":
        result["archiving"] = {"status": post.get(["t_spike", "tau_minus", "tau_minus_triplet", "post_trace"]),
                               "refused": refused}
    return result


def main() -> None:
    mode, module, out, variant = sys.argv[1:5]
    if mode == "manual":
        import nest
    else:
        import jitnest as nest
    neuron, synapse = NESTML[mode]
    result = run(nest, neuron, synapse, module if mode == "manual" else None, variant)
    with open(out, "w") as handle:
        json.dump(result, handle)


if __name__ == "__main__":
    main()
