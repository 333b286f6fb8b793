"""GetConnections(synapse_model=...) for a plastic NESTML synapse onto two NESTML neuron models.

NESTML generates such a synapse once per postsynaptic neuron model, so NEST holds two synapse
models; the user named one. jitnest answers with one SynapseCollection holding both.
"""

from __future__ import annotations

import pytest
from conftest import last_json, run_python

pytestmark = pytest.mark.slow

SCRIPT = """
import json
import jitnest as nest
nest.ResetKernel()
exp = nest.Create("iaf_psc_exp_neuron", 3)
delta = nest.Create("iaf_psc_delta_neuron", 2)
stdp = {"synapse_model": "stdp_synapse_nestml", "weight": 2.5}
nest.Connect(exp, exp, "all_to_all", stdp)
nest.Connect(exp, delta, "all_to_all", stdp)
nest.Connect(exp[:2], delta, "one_to_one", {"synapse_model": "static_synapse"})
everything = nest.GetConnections(synapse_model="stdp_synapse_nestml")
onto_exp = nest.GetConnections(target=exp, synapse_model="stdp_synapse_nestml")
onto_delta = nest.GetConnections(target=delta, synapse_model="stdp_synapse_nestml")
pairs = lambda c: sorted(zip(c.get("source"), c.get("target")))
print(json.dumps({
    "n": len(everything), "n_exp": len(onto_exp), "n_delta": len(onto_delta),
    "models": sorted(set(everything.get("synapse_model"))),
    "pairs": pairs(everything), "parts": sorted(pairs(onto_exp) + pairs(onto_delta)),
    "weights": sorted(set(everything.get("weight"))),
    "none": len(nest.GetConnections(source=delta, synapse_model="stdp_synapse_nestml")),
}))
"""


def test_one_collection_for_a_synapse_paired_with_two_neuron_models() -> None:
    result = last_json(run_python(SCRIPT))
    assert (result["n"], result["n_exp"], result["n_delta"]) == (15, 9, 6)
    assert result["models"] == ["stdp_synapse_nestml"]  # the user's name, not the two generated ones
    assert result["pairs"] == result["parts"]
    assert result["weights"] == [2.5]
    assert result["none"] == 0


SPLIT_SCRIPT = """
import json
import numpy
import jitnest as nest
from jitnest.errors import ConnectionModelError
nest.ResetKernel()
exp = nest.Create("iaf_psc_exp_neuron", 3)
delta = nest.Create("iaf_psc_delta_neuron", 2)
mixed = exp + delta
weights = numpy.arange(1.0, 16.0).reshape(5, 3)  # NEST's all_to_all layout: one row per target
nest.Connect(exp, mixed, "all_to_all", {"synapse_model": "stdp_synapse_nestml", "weight": weights})
pre = nest.Create("iaf_psc_exp_neuron", 5)
nest.Connect(pre, mixed, "one_to_one", {"synapse_model": "stdp_synapse_nestml", "weight": [21., 22., 23., 24., 25.]})
try:
    nest.Connect(exp, mixed, {"rule": "fixed_outdegree", "outdegree": 2}, {"synapse_model": "stdp_synapse_nestml"})
    refused = ""
except ConnectionModelError as error:
    refused = str(error)
nest.Simulate(5.0)
targets, sources = mixed.tolist(), exp.tolist() + pre.tolist()
found = nest.GetConnections(synapse_model="stdp_synapse_nestml")
print(json.dumps({
    "connections": sorted([sources.index(s), targets.index(t), w]
                          for s, t, w in zip(found.get("source"), found.get("target"), found.get("weight"))),
    "refused": refused,
}))
"""


def test_one_connect_onto_targets_of_two_nestml_models() -> None:
    """Done as one NEST Connect per target model, with per-connection arrays split by target."""
    result = last_json(run_python(SPLIT_SCRIPT))
    all_to_all = [[s, t, float(1 + 3 * t + s)] for s in range(3) for t in range(5)]
    one_to_one = [[3 + i, i, 21.0 + i] for i in range(5)]
    assert result["connections"] == sorted(all_to_all + one_to_one)
    assert "fixed_outdegree" in result["refused"] and "own Connect call" in result["refused"]
