"""PyNEST's kernel functions, as jitnest offers them: simulation, kernel status and attributes.

``Simulate``/``Run``/``RunManager`` build the network first and then drop the journal (no replay
is possible once simulation time has passed); kernel settings are applied at once and recorded
for replays; every other PyNEST function that reads the kernel is wrapped by ``needs_kernel``.
See ``record.calls`` for the policy of each call.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from ..pynest import REAL
from ..record.calls import (
    KERNEL_ATTRIBUTE_ASSIGNMENT,
    KERNEL_ATTRIBUTES_FROM_RECORDING,
    KERNEL_ATTRIBUTES_NEEDING_BUILD,
)
from ..record.session import SESSION


def _simulating(function: Callable) -> Callable:
    @functools.wraps(function)
    def run(*args: Any, **kwargs: Any) -> Any:
        SESSION.materialize()
        result = function(*SESSION.real(args), **SESSION.real(kwargs))
        SESSION.passed_time()
        return result

    return run


Simulate = _simulating(REAL.Simulate)
Run = _simulating(REAL.Run)
RunManager = _simulating(REAL.RunManager)


def Prepare() -> None:
    """``nest.Prepare``: builds the network first if needed."""
    SESSION.materialize()
    SESSION.record_call(REAL.Prepare)


def Cleanup() -> None:
    SESSION.materialize()
    SESSION.record_call(REAL.Cleanup)


def ResetKernel() -> None:
    """``nest.ResetKernel``: a fresh kernel and a fresh recording; built modules stay cached."""
    REAL.ResetKernel()
    SESSION._start_epoch()


def Install(module_name: str) -> Any:
    """``nest.Install`` of the user's own module, recorded so that rebuilds install it again."""
    result = SESSION.record_call(REAL.Install, (module_name,))
    SESSION.names.forget_builtins()
    return result


def SetKernelStatus(params: dict) -> None:
    """``nest.SetKernelStatus``, applied at once and recorded for replays."""
    SESSION.record_call(REAL.SetKernelStatus, (params,))


def GetKernelStatus(keys: Any = None) -> Any:
    SESSION.materialize()
    return REAL.GetKernelStatus(keys)


def set_kernel_attribute(name: str, value: Any) -> None:
    """``nest.<attribute> = value``: applied at once and recorded for replays."""
    SESSION.record_call(setattr, (REAL, name, value), call=KERNEL_ATTRIBUTE_ASSIGNMENT)


def _from_recording(name: str) -> Any:
    assert name == "network_size", name
    return SESSION.node_count


def get_kernel_attribute(name: str) -> Any:
    if SESSION.pending:
        if name in KERNEL_ATTRIBUTES_FROM_RECORDING:
            return _from_recording(name)
        if name in KERNEL_ATTRIBUTES_NEEDING_BUILD:
            SESSION.materialize()
    return getattr(REAL, name)


def needs_kernel(function: Callable) -> Callable:
    """Wrap a PyNEST function that reads the kernel: build the network first if it is behind."""

    @functools.wraps(function)
    def call(*args: Any, **kwargs: Any) -> Any:
        SESSION.materialize()
        result = function(*SESSION.real(args), **SESSION.real(kwargs))
        return SESSION.names.to_user(result) if isinstance(result, (dict, list, tuple, str)) else result

    return call


OWN_FUNCTIONS: dict[str, Callable] = {
    f.__name__: f for f in (Prepare, Cleanup, ResetKernel, Install, SetKernelStatus, GetKernelStatus)
}
OWN_FUNCTIONS.update(Simulate=Simulate, Run=Run, RunManager=RunManager)
