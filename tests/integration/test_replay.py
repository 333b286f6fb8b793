"""Replaying the journal: a failing recorded call is the only entry dropped, and nothing rebuilds the
network while it is being rebuilt.

In-process (the journal is inspected); builds iaf_psc_exp_neuron with stdp_synapse_nestml, the pair
other slow tests build, once per session.
"""

from __future__ import annotations

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
