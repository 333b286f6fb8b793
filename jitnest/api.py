"""PyNEST's functions, as jitnest offers them.

Functions that create or change the network are recorded (see session); functions that only
need the kernel build the network first if it is behind the recording, then call PyNEST.
Everything else in PyNEST (classes, submodules, constants) is PyNEST's own object.

Contract: with built-in models only, every function here returns what PyNEST returns and raises
what PyNEST raises, apart from NodeCollections and SynapseCollections being proxies
(``isinstance`` still holds).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from typing import Any

from .call_site import capture
from .journal import ConnectEntry, CopyModelEntry, CreateEntry, Entry, SetDefaultsEntry
from .node_ids import NodeIds
from .proxies import NodeCollectionProxy, SynapseCollectionProxy, ids_of
from .pynest import REAL, CollocatedSynapses, NodeCollection, SynapseCollection
from .session import SESSION


def _count_nodes(n: Any, positions: Any) -> int:
    if positions is None:
        return 1 if n is None else int(n)
    shape = getattr(positions, "shape", None)
    if shape is not None and type(positions).__name__ == "grid":
        return math.prod(shape)
    pos = getattr(positions, "pos", None)
    if isinstance(pos, (list, tuple)) or hasattr(pos, "__len__"):
        return len(pos)
    return 1 if n is None else int(n)


def Create(model: str, n: int | None = None, params: Any = None, positions: Any = None) -> NodeCollectionProxy:
    """``nest.Create``: NESTML models are named like built-ins; their build waits until needed."""
    site = capture()
    ref = SESSION.names.resolve(model, site)
    requirements = None
    if ref.is_nestml_neuron:
        SESSION.note_site(ref.root, site)
        requirements = SESSION.requirements.copy()
        requirements.add_neuron(ref.info)
    elif ref.is_nestml_synapse:
        raise REAL.NESTErrors.UnknownModelName(f"{model} is a synapse model; Create takes node models")
    size = _count_nodes(n, positions)
    ids = NodeIds.primitive(model, SESSION.node_count + 1, size, spatial=positions is not None)
    entry = CreateEntry(site, model, n, params, positions, ids)
    SESSION.submit(entry, requirements)
    SESSION.node_count += size
    real = entry.result if entry.result is not None else None
    return NodeCollectionProxy(SESSION, ids, lambda generation: entry.result, real)


def _synapse_models(syn_spec: Any) -> list[str]:
    if syn_spec is None:
        return []
    if isinstance(syn_spec, str):
        return [syn_spec]
    if isinstance(syn_spec, dict):
        model = syn_spec.get("synapse_model")
        return [model] if isinstance(model, str) else []
    if isinstance(syn_spec, CollocatedSynapses):
        return [m for spec in syn_spec.syn_specs for m in _synapse_models(spec)]
    return []


def Connect(pre: Any, post: Any, conn_spec: Any = None, syn_spec: Any = None,
            return_synapsecollection: bool = False) -> Any:
    """``nest.Connect``: infers which NESTML synapse must be generated with which neuron."""
    site = capture()
    post_ids = ids_of(post) if isinstance(post, NodeCollection) else NodeIds()
    requirements = None
    for model in _synapse_models(syn_spec):
        ref = SESSION.names.resolve(model, site)
        if ref.is_nestml_synapse:
            SESSION.note_site(ref.root, site)
            neurons = SESSION.names.post_neuron(ref, post_ids, site)
            requirements = requirements or SESSION.requirements.copy()
            requirements.add_synapse(ref.info, neurons)
    entry = ConnectEntry(site, pre, post, post_ids, conn_spec, syn_spec, return_synapsecollection)
    SESSION.submit(entry, requirements)
    if not return_synapsecollection:
        return None
    SESSION.materialize()
    return SynapseCollectionProxy(SESSION, lambda: entry.result, entry.result)


def Disconnect(*args: Any, **kwargs: Any) -> None:
    """``nest.Disconnect``, recorded."""
    SESSION.record_call(REAL.Disconnect, args, kwargs)


def CopyModel(existing: str, new: str, params: Any = None) -> None:
    """``nest.CopyModel``; a copy of a NESTML model is generated lazily like the model itself."""
    site = capture()
    ref = SESSION.names.resolve(existing, site)
    SESSION.submit(CopyModelEntry(site, existing, new, params), execute_while_pending=ref.info is None)
    SESSION.names.add_alias(new, existing)
    SESSION.names.forget_builtins()


def SetDefaults(model: str, params: Any, val: Any = None) -> None:
    """``nest.SetDefaults``, recorded; reaches every generated variant of a NESTML model."""
    site = capture()
    SESSION.names.resolve(model, site)
    SESSION.submit(SetDefaultsEntry(site, model, params, val))


def GetDefaults(model: str, keys: Any = None, output: str = "") -> Any:
    """``nest.GetDefaults`` in the user's model names."""
    site = capture()
    ref = SESSION.names.resolve(model, site)
    if ref.is_nestml or SESSION.pending:
        SESSION.materialize()
    variants = SESSION.names.model_variants(model) if ref.is_nestml else [model]
    if not variants:
        # Named but not used by the network: build it alone to answer from the compiled model.
        requirements = SESSION.requirements.copy()
        if ref.is_nestml_neuron:
            requirements.add_neuron(ref.info)
        else:
            requirements.add_synapse(ref.info, [])
        SESSION.submit(_NoOp(site), requirements)
        SESSION.materialize()
        variants = SESSION.names.model_variants(model) or [model]
    return SESSION.names.to_user(REAL.GetDefaults(variants[0], keys, output))


class _NoOp(Entry):
    """A journal entry that only carries new requirements (a model named but not yet used)."""

    def execute(self, tr: Any) -> None:
        return None


def SetStatus(nodes: Any, params: Any, val: Any = None) -> None:
    """``nest.SetStatus``, recorded."""
    SESSION.record_call(REAL.SetStatus, (nodes, params, val))


def GetStatus(nodes: Any, keys: Any = None, output: str = "") -> Any:
    """``nest.GetStatus`` in the user's model names."""
    SESSION.materialize()
    return SESSION.names.to_user(REAL.GetStatus(SESSION.real(nodes), keys, output))


def GetConnections(source: Any = None, target: Any = None, synapse_model: str | None = None,
                   synapse_label: int | None = None) -> SynapseCollectionProxy:
    """``nest.GetConnections``; ``synapse_model`` may name a NESTML synapse as the user wrote it."""
    site = capture()
    ref = SESSION.names.resolve(synapse_model, site) if synapse_model is not None else None
    SESSION.materialize()

    def query() -> Any:
        models: list[str | None] = [None]
        if ref is not None:
            models = SESSION.names.model_variants(synapse_model) if ref.is_nestml else [synapse_model]
        if len(models) > 1:
            raise NotImplementedError(
                f"'{synapse_model}' is generated once per postsynaptic NESTML model ({', '.join(models)}); "
                "NEST cannot join their SynapseCollections. Pass target= to select one.")
        if not models:
            return REAL.GetConnections(SESSION.real(source), SESSION.real(target), "static_synapse", -1)[0:0]
        return REAL.GetConnections(SESSION.real(source), SESSION.real(target), models[0], synapse_label)

    return SynapseCollectionProxy(SESSION, query, query())


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
    result = SESSION.record_call(REAL.Install, (module_name,), execute_while_pending=False)
    SESSION.names.forget_builtins()
    return result


def SetKernelStatus(params: dict) -> None:
    """``nest.SetKernelStatus``, applied at once and recorded for replays."""
    SESSION.record_call(REAL.SetKernelStatus, (params,), execute_while_pending=True)


def GetKernelStatus(keys: Any = None) -> Any:
    SESSION.materialize()
    return REAL.GetKernelStatus(keys)


def set_kernel_attribute(name: str, value: Any) -> None:
    """``nest.<attribute> = value``: applied at once and recorded for replays."""
    SESSION.record_call(setattr, (REAL, name, value), execute_while_pending=True)


_KNOWN_WITHOUT_BUILD = {"network_size": lambda: SESSION.node_count}
_NEED_BUILD = {"kernel_status", "num_connections", "local_spike_counter", "node_models", "synapse_models"}


def get_kernel_attribute(name: str) -> Any:
    if SESSION.pending:
        if name in _KNOWN_WITHOUT_BUILD:
            return _KNOWN_WITHOUT_BUILD[name]()
        if name in _NEED_BUILD:
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
    f.__name__: f for f in (Create, Connect, Disconnect, CopyModel, SetDefaults, GetDefaults, SetStatus,
                            GetStatus, GetConnections, Prepare, Cleanup, ResetKernel, Install,
                            SetKernelStatus, GetKernelStatus)
}
OWN_FUNCTIONS.update(Simulate=Simulate, Run=Run, RunManager=RunManager)

__all__ = ["OWN_FUNCTIONS", "needs_kernel", "set_kernel_attribute", "get_kernel_attribute",
           "NodeCollection", "SynapseCollection"]
