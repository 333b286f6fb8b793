"""A recorded NodeCollection behaves like NEST's before anything is built, and never builds for
``repr``, ``len``, ``isinstance``, indexing, slicing, joining, ``tolist`` or ``global_id``.

The NESTML model here is only parsed (cached); if any operation below built the network, the
session would stop being pending, which every test checks.
"""

from __future__ import annotations

import copy
import pickle

import numpy
import pytest

import jitnest as nest
from jitnest.record.session import SESSION


@pytest.fixture()
def recorded():
    """Built-in nodes, then NESTML nodes (pending), then more built-in nodes."""
    nest.ResetKernel()
    before = nest.Create("iaf_psc_alpha", 3)
    nestml = nest.Create("iaf_psc_exp_neuron", 5, params={"tau_m": 12.0})
    after = nest.Create("spike_recorder")
    assert SESSION.pending
    yield before, nestml, after
    assert SESSION.pending, "an operation built the network"
    nest.ResetKernel()


def test_ids_are_those_nest_assigns(recorded):
    # NEST numbers nodes consecutively from 1 in Create order; the differential test checks the
    # same against a real run of the manual workflow.
    before, nestml, after = recorded
    assert (before.tolist(), nestml.tolist(), after.tolist()) == ([1, 2, 3], [4, 5, 6, 7, 8], [9])
    assert nest.network_size == 9


def test_repr_len_isinstance_never_build(recorded):
    _, nestml, after = recorded
    assert repr(nestml) == "NodeCollection(metadata=None, model=iaf_psc_exp_neuron, size=5, first=4, last=8)"
    assert str(nestml) == repr(nestml) and f"{nestml}" == repr(nestml)
    assert len(nestml) == 5 and bool(nestml)
    assert isinstance(nestml, nest.NodeCollection)
    assert "model=spike_recorder" in repr(nestml + after)


def test_indexing_slicing_joining_iterating(recorded):
    before, nestml, after = recorded
    assert nestml[0].global_id == 4 and nestml[-1].global_id == 8
    assert nestml[1:3].tolist() == [5, 6]
    assert nestml[::2].tolist() == [4, 6, 8]
    assert nestml[[0, 4]].tolist() == [4, 8]
    assert (before + nestml).tolist() == list(range(1, 9))
    assert (after + nestml).tolist() == [4, 5, 6, 7, 8, 9]
    assert sum([nestml, after]).tolist() == [4, 5, 6, 7, 8, 9]
    assert [n.global_id for n in nestml] == [4, 5, 6, 7, 8]
    assert 6 in nestml and 2 not in nestml
    assert nestml.index(7) == 3
    assert numpy.array_equal(numpy.array(nestml), numpy.arange(4, 9))
    assert nestml.global_id == (4, 5, 6, 7, 8)
    assert nestml.get("model") == ("iaf_psc_exp_neuron",) * 5
    assert nestml[1:3] == nestml[1:3] and nestml[1:3] != nestml[2:4]
    with pytest.raises(IndexError):
        nestml[5]


def test_parameters_read_without_build(recorded):
    _, nestml, _ = recorded
    assert nestml.get("tau_m") == (12.0,) * 5
    assert nestml[0].get(["tau_m", "C_m"]) == {"tau_m": 12.0, "C_m": 250.0}
    nestml[1:3].set(I_e=50.0)
    nestml.V_m = [-70.0, -69.0, -68.0, -67.0, -66.0]
    assert nestml.I_e == (0.0, 50.0, 50.0, 0.0, 0.0)
    assert nestml[4].V_m == -66.0
    assert nest.GetStatus(nestml[0:2], "I_e") == (0.0, 50.0)
    assert nest.GetDefaults("iaf_psc_exp_neuron", "V_th") == -55.0


def test_copy_returns_the_same_handle_and_pickle_is_refused(recorded):
    _, nestml, _ = recorded
    assert copy.copy(nestml) is nestml and copy.deepcopy(nestml) is nestml
    with pytest.raises(TypeError, match="pickle"):
        pickle.dumps(nestml)


@pytest.mark.slow
def test_after_the_build_nest_answers_in_the_users_names():
    nest.ResetKernel()
    nodes = nest.Create("iaf_psc_exp_neuron", 5, params={"tau_m": 12.0})
    # The same combination as the differential test, so the session cache builds it once.
    nest.Connect(nodes, nodes, syn_spec={"synapse_model": "stdp_synapse_nestml"})
    before = nodes.get(["tau_m", "V_m", "C_m"])
    nest.Prepare()
    assert not SESSION.pending
    assert nodes.get(["tau_m", "V_m", "C_m"]) == before  # now answered by NEST itself
    assert repr(nodes) == "NodeCollection(metadata=None, model=iaf_psc_exp_neuron, size=5, first=1, last=5)"
    assert nodes.get("model") == ("iaf_psc_exp_neuron",) * 5
    assert nest.GetConnections(synapse_model="stdp_synapse_nestml").get("synapse_model")[0] == "stdp_synapse_nestml"
    nest.Cleanup()
    nest.ResetKernel()
