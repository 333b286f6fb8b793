"""The table of call policies (record.calls) is the one place that decides how a PyNEST call behaves."""

from __future__ import annotations

import pytest

import jitnest as nest
from jitnest.pynest import REAL
from jitnest.record import calls
from jitnest.record.session import SESSION

_NOT_FUNCTIONS = {calls.KERNEL_ATTRIBUTE_ASSIGNMENT, calls.COPY_OF_BUILTIN}


@pytest.mark.parametrize("name", sorted(set(calls.POLICIES) - _NOT_FUNCTIONS))
def test_every_name_in_the_table_is_a_pynest_function(name: str) -> None:
    assert callable(getattr(REAL, name, None)), f"{name} is not a PyNEST function: a typo in record.calls?"


def test_unknown_functions_read_the_kernel() -> None:
    assert calls.policy_of("GetLocalNodeCollection") is calls.Policy.NEEDS_KERNEL


def test_policies_decide_what_runs_while_pending() -> None:
    nest.ResetKernel()
    nest.Create("iaf_psc_exp_neuron", 2)  # a NESTML model: the session is pending now
    assert SESSION.pending
    assert nest.Rank() == 0 and nest.NumProcesses() == 1  # pass through: nothing is built
    nest.set_verbosity("M_ERROR")  # applied and recorded: runs at once, still pending
    nest.resolution = 0.2  # a kernel attribute: applied at once, recorded
    nest.CopyModel("iaf_psc_alpha", "my_alpha")  # a copy of a built-in exists at once
    assert SESSION.pending and REAL.resolution == 0.2 and "my_alpha" in REAL.node_models
    recorded = [entry.describe() for entry in SESSION.journal]
    assert any("set_verbosity" in r for r in recorded) and any("CopyModel" in r for r in recorded)
    nest.ResetKernel()
