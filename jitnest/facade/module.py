"""Module objects that answer like PyNEST's ``nest`` module.

Both the ``jitnest`` package itself (for ``import jitnest as nest``) and the stand-in that the
import hook puts at ``sys.modules["nest"]`` are ``FacadeModule`` instances. An attribute is
looked up in this order: jitnest's own functions (recording Create, Connect, ...), kernel
attributes (forwarded to the kernel on every access, never copied: ``nest.resolution = 0.1``
reaches the kernel and is recorded for replays), then PyNEST's own object, where functions that
read the kernel are wrapped to build the network first if it is behind the recording.
"""

from __future__ import annotations

import types
from typing import Any

from ..pynest import REAL, kernel_attribute_names
from ..record.calls import Policy, policy_of
from . import collections, functions, kernel

KERNEL_ATTRIBUTES = kernel_attribute_names()

_resolved: dict[str, Any] = {}


def _applied_and_recorded(function: Any, name: str) -> Any:
    def call(*args: Any, **kwargs: Any) -> Any:
        return functions.SESSION.record_call(function, args, kwargs, call=name)

    call.__name__ = function.__name__
    call.__doc__ = function.__doc__
    return call


def resolve_attribute(name: str) -> Any:
    """What ``nest.<name>`` is, for names jitnest does not define itself."""
    if name in KERNEL_ATTRIBUTES:
        return kernel.get_kernel_attribute(name)
    if name in _resolved:
        return _resolved[name]
    value = getattr(REAL, name)
    if isinstance(value, types.FunctionType):
        policy = policy_of(name)
        if policy is Policy.APPLIED_AND_RECORDED:
            value = _applied_and_recorded(value, name)
        elif policy is not Policy.PASS_THROUGH:
            value = kernel.needs_kernel(value)
    _resolved[name] = value
    return value


def kernel_set(**kwargs: Any) -> None:
    """``nest.set(**kwargs)``: set kernel attributes (recorded)."""
    kernel.SetKernelStatus(kwargs)


def kernel_get(*args: Any) -> Any:
    """``nest.get(*names)``: read kernel attributes."""
    if not args:
        return kernel.GetKernelStatus()
    if len(args) == 1:
        return kernel.GetKernelStatus(args[0])
    return kernel.GetKernelStatus(args)


class _FacadeModuleType(type):
    """``type(nest).<name>`` gives what PyNEST's module type holds, e.g. a ``KernelAttribute`` with its
    ``_default`` (instances never look here: ``nest.<name>`` goes through ``FacadeModule.__getattr__``)."""

    def __getattr__(cls, name: str) -> Any:
        if name.startswith("__") and name.endswith("__"):
            raise AttributeError(name)
        try:
            return getattr(type(REAL), name)
        except AttributeError:
            raise AttributeError(f"type object '{cls.__name__}' has no attribute '{name}'") from None


class FacadeModule(types.ModuleType, metaclass=_FacadeModuleType):
    """A module whose missing attributes and kernel attributes behave as PyNEST's do."""

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__") and name.endswith("__") and name not in ("__version__",):
            raise AttributeError(name)
        try:
            return resolve_attribute(name)
        except AttributeError:
            raise AttributeError(f"module 'nest' has no attribute '{name}'") from None

    def __setattr__(self, name: str, value: Any) -> None:
        if name in KERNEL_ATTRIBUTES:
            kernel.set_kernel_attribute(name, value)
        elif isinstance(value, types.ModuleType) or (name.startswith("__") and name.endswith("__")):
            super().__setattr__(name, value)  # the import machinery setting submodules (PyNEST allows it too)
        else:  # like PyNEST's frozen module: a typo such as ``nest.resolutoin = 0.1`` must not pass silently
            raise AttributeError(f"Cannot set attribute '{name}' on module 'nest'")

    def __dir__(self) -> list[str]:
        return sorted(set(super().__dir__()) | set(dir(REAL)))


def public_api() -> dict[str, Any]:
    """The names jitnest defines for the ``nest`` namespace (copied into the hook's stand-in)."""
    names = {**functions.OWN_FUNCTIONS, **kernel.OWN_FUNCTIONS, "NodeCollection": collections.NodeCollectionFacade}
    names.update(set=kernel_set, get=kernel_get)
    return names
