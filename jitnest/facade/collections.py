"""``nest.NodeCollection(ids)`` as a proxy, and PyNEST methods that must accept proxies.

PyNN makes a NodeCollection per cell right after ``Create``, before anything is built: the
facade's ``NodeCollection`` returns a proxy for recorded nodes, which survives rebuilds like the
proxies ``Create`` returns. NEST's compiled layer checks the exact type of NodeCollections it is
given, so the one PyNEST method that hands one over outside the ``nest`` functions
(``Parameter.apply``) gets proxies replaced by their real objects.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import numpy

from ..models.node_ids import NodeIds
from ..pynest import REAL, NodeCollection
from ..record.journal import CreateEntry
from ..record.proxies import NodeCollectionProxy, SynapseCollectionProxy, ids_of
from ..record.session import SESSION


def _node_ids_of_recorded(id_list: list[int]) -> NodeIds:
    """NodeIds (in the user's model names) of nodes that recorded Creates made; NEST's errors otherwise."""
    if any(b <= a for a, b in zip(id_list, id_list[1:])):
        duplicate = any(b == a for a, b in zip(id_list, id_list[1:]))
        raise REAL.NESTErrors.BadProperty("All node IDs in a NodeCollection have to be unique" if duplicate
                                          else "Indices must be sorted in ascending order")
    runs = sorted((run for e in SESSION.journal or () if isinstance(e, CreateEntry) for run in e.ids.runs),
                  key=lambda run: run.first)
    firsts = numpy.array([run.first for run in runs], dtype=numpy.int64)
    model_of: dict[int, str] = {}
    for node_id in id_list:
        at = int(numpy.searchsorted(firsts, node_id, side="right")) - 1
        if at < 0 or node_id not in runs[at].ids():
            raise REAL.NESTErrors.UnknownNode(f"Node with id {node_id} does not exist.")
        model_of[node_id] = runs[at].model
    return NodeIds.from_sorted_ids(id_list, model_of=model_of)


class _NodeCollectionType(type):
    """``isinstance``/``issubclass`` with ``nest.NodeCollection`` mean PyNEST's NodeCollection."""

    def __instancecheck__(cls, instance: Any) -> bool:
        return isinstance(instance, NodeCollection)

    def __subclasscheck__(cls, subclass: type) -> bool:
        return issubclass(subclass, NodeCollection)


class NodeCollectionFacade(NodeCollection, metaclass=_NodeCollectionType):
    """``nest.NodeCollection(node_ids)``: a proxy, so that it works for nodes not built yet (PyNN makes
    one per cell right after Create) and survives rebuilds, like the proxies ``Create`` returns."""

    def __new__(cls, data: Any = None) -> Any:
        id_list = [] if data is None else [int(i) for i in data]  # data may be a generator
        if not id_list:
            return REAL.NodeCollection(id_list)  # holds no node: valid in every kernel, as in NEST
        real = None if SESSION.pending else REAL.NodeCollection(id_list)  # NEST's own checks and errors first
        try:
            ids = _node_ids_of_recorded(id_list)
        except REAL.NESTErrors.UnknownNode:
            if real is None:
                raise
            # Not in the journal (dropped once simulation time passed): the live kernel knows the models.
            ids = NodeIds.from_sorted_ids(id_list, model_of={i: SESSION.names.to_user(m)
                                                             for i, m in ids_of(real).model_map().items()})
        return NodeCollectionProxy(SESSION, ids, lambda generation: REAL.NodeCollection(id_list), real)


NodeCollectionFacade.__name__ = NodeCollectionFacade.__qualname__ = "NodeCollection"

def _accepting_proxies(method: Callable) -> Callable:
    """A method of a PyNEST class, made to take proxies: NEST's compiled layer checks the exact type
    of NodeCollections it is given, so proxies are replaced by their real objects (built first).
    Real NodeCollections pass through unchanged, so plain PyNEST use is unaffected."""
    if getattr(method, "__jitnest_accepts_proxies__", False):
        return method

    @functools.wraps(method)
    def call(self: Any, *args: Any, **kwargs: Any) -> Any:
        if any(isinstance(a, (NodeCollectionProxy, SynapseCollectionProxy)) for a in (*args, *kwargs.values())):
            SESSION.materialize()
            args, kwargs = SESSION.real(args), SESSION.real(kwargs)
        return method(self, *args, **kwargs)

    call.__jitnest_accepts_proxies__ = True
    return call


# nest.spatial.pos.x.apply(layer) and the like: the one PyNEST method that hands a NodeCollection
# to the compiled layer without going through a function of the nest module.
REAL.Parameter.apply = _accepting_proxies(REAL.Parameter.apply)
