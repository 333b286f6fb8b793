"""What each PyNEST call does to the session: the one table of call policies.

The session (``record.session``) is *live* while the kernel holds everything recorded, and
*pending* once a call needed a NESTML module that is not installed (then the kernel is left
behind until ``materialize``). How a call behaves in each state is its policy:

========================  =====================================  ==================================
policy                    while live                             while pending
========================  =====================================  ==================================
``PASS_THROUGH``          called as it is                        called as it is
``APPLIED_AND_RECORDED``  executed and journaled                 executed and journaled
``RECORDED``              executed and journaled                 journaled only (replayed at build)
``NEEDS_KERNEL``          called                                 network built first, then called
``SIMULATES``             called; then the journal is dropped    built first; then as when live
========================  =====================================  ==================================

Every PyNEST function gets the policy this table gives it; a function not named here reads the
kernel (``NEEDS_KERNEL``), the safe default. jitnest's own versions of the network-building
functions (``facade.functions``: ``Create``, ``Connect``, ...) follow their policy with the
extra work their names need (resolving NESTML models, parameters before the build).
"""

from __future__ import annotations

import enum

# Calls that are not PyNEST functions of their own, named for this table:
KERNEL_ATTRIBUTE_ASSIGNMENT = "nest.<kernel attribute> = value"  # reads: see KERNEL_ATTRIBUTES_* below
COPY_OF_BUILTIN = "CopyModel of a built-in model"  # adds no NESTML requirement: NEST may have it at once

class Policy(enum.Enum):
    PASS_THROUGH = "neither reads nor changes the network"
    APPLIED_AND_RECORDED = "changes kernel state without touching nodes"
    RECORDED = "changes the network"
    NEEDS_KERNEL = "reads the kernel"
    SIMULATES = "lets simulation time pass: nothing recorded before can be replayed afterwards"


_TABLE: dict[Policy, frozenset[str]] = {
    Policy.PASS_THROUGH: frozenset({
        "CreateParameter", "CreateMask", "serialize_data", "to_json", "help", "message", "get_verbosity",
        "NumProcesses", "Rank", "GetLocalVPs", "SyncProcesses", "Models", "ConnectionRules",
        "set_communicator", "SetAcceptableLatency", "SetMaxBuffered",
    }),
    Policy.APPLIED_AND_RECORDED: frozenset({
        "set_verbosity", "EnableStructuralPlasticity", "DisableStructuralPlasticity", "SetKernelStatus",
        KERNEL_ATTRIBUTE_ASSIGNMENT, COPY_OF_BUILTIN,
    }),
    Policy.RECORDED: frozenset({
        "Create", "Connect", "Disconnect", "CopyModel", "SetDefaults", "SetStatus", "Install",
    }),
    Policy.NEEDS_KERNEL: frozenset({
        "GetStatus", "GetDefaults", "GetConnections", "GetKernelStatus", "Prepare", "Cleanup",
        # GetStatus/GetDefaults of unbuilt NESTML models answer from their declarations instead.
    }),
    Policy.SIMULATES: frozenset({"Simulate", "Run", "RunManager"}),
}

POLICIES: dict[str, Policy] = {name: policy for policy, names in _TABLE.items() for name in names}

# Kernel attributes read while pending: answered from the recording, or only after the build.
KERNEL_ATTRIBUTES_FROM_RECORDING = frozenset({"network_size"})
KERNEL_ATTRIBUTES_NEEDING_BUILD = frozenset({"kernel_status", "num_connections", "local_spike_counter",
                                             "node_models", "synapse_models"})


def policy_of(name: str) -> Policy:
    """The policy of PyNEST function ``name`` (reads the kernel unless the table says otherwise)."""
    return POLICIES.get(name, Policy.NEEDS_KERNEL)


def executes_while_pending(name: str) -> bool:
    """Whether a recorded call ``name`` runs at once even while the kernel is behind."""
    return policy_of(name) in (Policy.PASS_THROUGH, Policy.APPLIED_AND_RECORDED)
