"""A network of NEST built-ins that touches much of PyNEST's API; run as ``nest`` or as ``jitnest``.

``python builtin_network.py nest|jitnest OUT.json`` writes everything observable as JSON; the
drop-in test requires both runs to write the same thing.
"""

import json
import sys


def run(nest) -> dict:
    out: dict = {}
    nest.ResetKernel()
    nest.set_verbosity("M_ERROR")
    nest.resolution = 0.1
    nest.rng_seed = 4321
    nest.local_num_threads = 2
    out["kernel"] = {k: nest.GetKernelStatus(k) for k in ("resolution", "rng_seed", "local_num_threads")}
    out["attrs"] = [nest.resolution, nest.rng_seed, nest.total_num_virtual_procs]
    nest.CopyModel("iaf_psc_alpha", "exc_neuron", {"tau_m": 15.0})
    nest.SetDefaults("exc_neuron", {"V_th": -54.0})
    out["defaults"] = {k: nest.GetDefaults("exc_neuron")[k] for k in ("tau_m", "V_th", "C_m")}
    exc = nest.Create("exc_neuron", 20, params={"V_m": nest.random.uniform(-70.0, -55.0)})
    inh = nest.Create("iaf_psc_exp", 5, params={"I_e": 200.0})
    layer = nest.Create("iaf_psc_alpha", positions=nest.spatial.grid(shape=[3, 3], extent=[1.0, 1.0]))
    noise = nest.Create("poisson_generator", params={"rate": 12000.0})
    mm = nest.Create("multimeter", params={"record_from": ["V_m"], "interval": 1.0})
    sr = nest.Create("spike_recorder")
    out["reprs"] = [repr(exc), repr(exc + inh), repr(layer), repr(exc[3:9:2]), str(inh[0])]
    out["ids"] = [exc.tolist(), (exc + inh)[18:23].tolist(), layer.tolist()]
    out["initial_vm"] = list(exc.get("V_m"))
    inh.set(V_m=-60.0)
    exc[0:5].tau_m = 11.0
    nest.SetStatus(inh[0:2], {"I_e": 250.0})
    nest.Connect(noise, exc + inh, syn_spec={"weight": 8.0})
    nest.Connect(exc, inh, {"rule": "fixed_indegree", "indegree": 4},
                 {"synapse_model": "stdp_synapse", "weight": nest.random.uniform(5.0, 15.0), "delay": 1.0})
    nest.Connect(inh, exc, {"rule": "pairwise_bernoulli", "p": 0.3}, {"weight": -20.0})
    nest.Connect(layer, layer, {"rule": "pairwise_bernoulli", "p": 0.5,
                                "mask": {"circular": {"radius": 0.4}}})
    nest.Connect(mm, exc[0:3])
    nest.Connect(exc + inh, sr)
    conns = nest.GetConnections(exc, inh)
    out["n_conns"] = [len(conns), nest.num_connections]
    conns.set(weight=12.0)
    nest.Simulate(100.0)
    out["mid_events"] = sr.get("n_events")
    nest.Simulate(50.0)
    events = sr.get("events")
    out["senders"] = [int(s) for s in events["senders"]]
    out["times"] = [float(t) for t in events["times"]]
    out["vm"] = [float(v) for v in mm.get("events")["V_m"]][:200]
    # Sorted: with two threads GetConnections' order varies between runs even in plain NEST.
    status = nest.GetConnections(exc, inh).get(["source", "target", "weight"])
    out["weights"] = sorted(zip(status["source"], status["target"], status["weight"]))
    out["positions"] = [list(p) for p in nest.GetPosition(layer)]
    out["status_keys"] = sorted(nest.GetStatus(exc[0])[0].keys())
    out["model"] = [exc[0].get("model"), conns[0].get("synapse_model")]
    out["biological_time"] = nest.biological_time
    try:
        nest.Create("no_such_model_anywhere")
    except nest.NESTErrors.UnknownModelName:
        out["unknown_model_error"] = "UnknownModelName"
    out["isinstance"] = [isinstance(exc, nest.NodeCollection), isinstance(conns, nest.SynapseCollection)]
    out["submodules"] = [m for m in ("random", "spatial", "math", "logic", "raster_plot", "voltage_trace")
                         if getattr(nest, m, None) is not None]
    nest.ResetKernel()
    out["after_reset"] = [nest.network_size, nest.resolution]
    return out


if __name__ == "__main__":
    mode, path = sys.argv[1:3]
    if mode == "nest":
        import nest
    else:
        import jitnest as nest
    with open(path, "w") as handle:
        json.dump(run(nest), handle, sort_keys=True)
