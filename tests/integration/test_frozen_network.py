"""Once simulation time has passed, NEST loads no module: what needs one is refused at the user's line."""

from __future__ import annotations

import pytest
from conftest import caller_line

import jitnest as nest
from jitnest.errors import NetworkFrozenError

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("fresh_kernel")]



def test_after_simulate_a_twin_not_named_before_is_refused_at_the_users_line():
    """Modules compile only the _hpc/_lbl twins a network names; NEST loads nothing once time passed."""
    neurons = nest.Create("iaf_psc_exp_neuron", 2)
    nest.Connect(neurons, neurons, syn_spec={"synapse_model": "stdp_synapse_nestml"})
    assert nest.GetDefaults("stdp_synapse_nestml_lbl", "synapse_model") == "stdp_synapse_nestml_lbl"
    nest.Simulate(1.0)
    assert nest.GetDefaults("stdp_synapse_nestml_lbl", "synapse_model") == "stdp_synapse_nestml_lbl"
    with pytest.raises(NetworkFrozenError) as caught:
        line = caller_line() + 1
        nest.GetDefaults("stdp_synapse_nestml_hpc")
    message = str(caught.value)
    assert "'stdp_synapse_nestml_hpc'" in message and "_hpc twin of stdp_synapse" in message
    assert f"line {line}" in message
