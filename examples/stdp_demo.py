"""jitnest demo: an STDP network on NESTML models, written like a plain PyNEST script.

The only change from a PyNEST script is the import. ``iaf_psc_exp_neuron`` and
``stdp_synapse_nestml`` are NESTML models: jitnest sees that the STDP synapse reads the
postsynaptic neuron's spikes, generates the neuron and synapse together, compiles them, caches
the module and installs it — at the first Simulate. Run it twice: the second run is instant.
"""

import time

import jitnest as nest

started = time.monotonic()
nest.ResetKernel()
nest.resolution = 0.1
nest.rng_seed = 1234

pre = nest.Create("iaf_psc_exp_neuron", 40)  # a NESTML model, named like a built-in
post = nest.Create("iaf_psc_exp_neuron", 30, params={"tau_m": 12.0})
pg = nest.Create("poisson_generator", params={"rate": 9000.0})
nest.Connect(pg, pre + post, syn_spec={"weight": 40.0})
nest.Connect(pre, post, {"rule": "fixed_indegree", "indegree": 8},
             {"synapse_model": "stdp_synapse_nestml", "weight": 12.0, "delay": 1.5})
sr = nest.Create("spike_recorder")
nest.Connect(pre + post, sr)
print(f"recorded network: {pre}")  # nothing is built yet: repr and len never build
print(f"  post tau_m before any build: {post[0].get('tau_m')} ms")

nest.Simulate(400.0)  # generation, compilation, installation happen here, once

events = sr.get("events")
conns = nest.GetConnections(synapse_model="stdp_synapse_nestml")
weights = conns.get("weight")
print(f"\nsimulated 400 ms in {time.monotonic() - started:.1f} s (including any build)")
print(f"  spikes: {len(events['senders'])} from {len(set(events['senders']))} neurons "
      f"(mean rate {len(events['senders']) / 70 / 0.4:.1f} spikes/s)")
print(f"  {len(conns)} {conns[0].get('synapse_model')} connections: weights 12.0 -> "
      f"min {min(weights):.2f}, mean {sum(weights) / len(weights):.2f}, max {max(weights):.2f}")
print(f"  neuron model as NEST reports it: {pre[0].get('model')}")
print("\nbuild:")
for unit, info in nest.build_report().items():
    how = "compiled now" if info["built_here"] else "loaded from cache"
    print(f"  {unit}: {how}\n    {info['module']}")
