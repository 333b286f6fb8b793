"""Replaying the journal: a failing recorded call is the only entry dropped, nothing rebuilds the
network while it is being rebuilt, and per-node values the journal refers to in the parameter store
reach NEST at every build.

In-process (the journal is inspected); builds iaf_psc_exp_neuron with stdp_synapse_nestml, the pair
other slow tests build, once per session.
"""

from __future__ import annotations

import numpy
import pytest

import jitnest as nest
from jitnest.record.journal import CallEntry
from jitnest.record.session import SESSION

pytestmark = pytest.mark.slow


def _pending_network_with_sliced_sets():
    """Live built-ins with SynapseCollection slices set, then NESTML models: pending."""
    nest.ResetKernel()
    pre = nest.Create("iaf_psc_alpha", 4)
    nest.Connect(pre, pre, "one_to_one", {"weight": 1.0})
    connections = nest.GetConnections()
    connections[0:2].set(weight=2.0)
    connections[::3][1:].set(delay=3.0)
    neurons = nest.Create("iaf_psc_exp_neuron", 3)
    assert SESSION.pending
    nest.Connect(pre[:3], neurons, "one_to_one", {"synapse_model": "stdp_synapse_nestml", "weight": 4.0})
    return pre, neurons


def test_a_failing_replayed_call_is_the_only_entry_dropped():
    pre, neurons = _pending_network_with_sliced_sets()
    nest.SetStatus(pre, {"no_such_parameter": 1.0})  # while pending only recorded: NEST refuses it at the replay
    nest.Connect(pre, neurons, "all_to_all", {"weight": 5.0})
    recorded = list(SESSION.journal)
    failing = [e for e in recorded if isinstance(e, CallEntry) and "no_such_parameter" in str(e.args[1:])]
    assert len(failing) == 1

    with pytest.raises(Exception, match="no_such_parameter") as raised:
        nest.Simulate(1.0)
    assert "recorded in your code at" in str(raised.value)
    assert SESSION.pending, "the kernel is half-built: still pending"
    assert [id(e) for e in SESSION.journal] == [id(e) for e in recorded if e is not failing[0]]

    nest.Simulate(1.0)  # the rest replays, in order, once
    assert nest.GetConnections(source=pre, target=pre).get("weight") == [2.0, 2.0, 1.0, 1.0]
    assert nest.GetConnections(source=pre, target=pre).get("delay") == [1.0, 1.0, 1.0, 3.0]
    assert nest.GetConnections(synapse_model="stdp_synapse_nestml").get("weight") == [4.0] * 3
    assert len(nest.GetConnections(target=neurons)) == 3 + 4 * 3
    nest.ResetKernel()


def test_asking_for_the_kernel_during_a_replay_is_an_internal_error():
    _pending_network_with_sliced_sets()
    SESSION.record_call(SESSION.materialize)  # stands for any replayed call that would need the kernel
    recorded = list(SESSION.journal)

    with pytest.raises(RuntimeError, match="internal error") as raised:
        nest.Simulate(1.0)
    assert not isinstance(raised.value, RecursionError)
    assert [id(e) for e in SESSION.journal] == [id(e) for e in recorded], "jitnest's fault: nothing dropped"
    nest.ResetKernel()


def test_values_held_by_the_store_reach_nest_at_every_build():
    nest.ResetKernel()
    v_m, i_e, tau_m = numpy.linspace(-75.0, -60.0, 50), numpy.arange(25.0), list(numpy.linspace(5.0, 30.0, 52))
    pre = nest.Create("iaf_psc_alpha", 2)
    nodes = nest.Create("iaf_psc_exp_neuron", 50, params={"V_m": v_m})
    nodes[::2].set(I_e=i_e)
    nest.SetStatus(pre + nodes, {"tau_m": tau_m})  # a built-in population and a NESTML one in one call
    nodes[0:10].set(V_m=numpy.arange(-80.0, -70.0))  # later values for some of the same nodes
    expected = {"V_m": list(numpy.arange(-80.0, -70.0)) + list(v_m[10:]), "I_e": [0.0] * 50, "tau_m": list(tau_m)}
    expected["I_e"][::2] = list(i_e)
    v_m[:], i_e[:], tau_m[:] = 0.0, 0.0, [0.0] * 52  # the user's own arrays change: nothing may leak in

    def in_nest() -> dict:
        assert not SESSION.pending
        return {"V_m": list(nodes.get("V_m")), "I_e": list(nodes.get("I_e")), "tau_m": list((pre + nodes).get("tau_m"))}

    nest.GetConnections()  # builds the neuron alone
    assert in_nest() == expected
    nodes[5].set(V_m=-50.0)  # live: executed, and recorded for a rebuild
    expected["V_m"][5] = -50.0
    nest.Connect(nodes[:10], nodes[10:20], "one_to_one", {"synapse_model": "stdp_synapse_nestml"})
    assert SESSION.pending  # a new combination: the next build replays everything
    nest.GetConnections()
    assert in_nest() == expected
    nest.ResetKernel()
