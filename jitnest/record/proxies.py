"""Proxies that stand in for NEST's NodeCollection and SynapseCollection.

A ``NodeCollectionProxy`` is what ``Create`` returns. It knows its node IDs from the start
(``NodeIds``), so ``len``, indexing, slicing, ``+``, iteration, membership, ``tolist()``,
``global_id`` and ``repr`` work before anything is built, and ``isinstance(p, NodeCollection)``
is true. Reading parameters or passing it to a PyNEST function that needs the kernel binds it
to the real NodeCollection, building the network first if needed.

Binding is lazy and versioned: the session's ``generation`` changes whenever the kernel is
rebuilt (reset, install, replay); a proxy re-derives its real object from its *recipe* (the
recorded Create, or the slice/join it came from) the first time it is used in a new generation.
A proxy from before a ``ResetKernel`` (an older *epoch*) refuses use, like NEST's own.

The proxy's own state lives in ``_self_*`` attributes (wrapt's convention). Pickling is refused
(as for NEST's NodeCollection); ``copy.copy``/``deepcopy`` return the proxy itself, since a
NodeCollection is an immutable handle.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

import numpy
import wrapt

from ..models.node_ids import NodeIds
from ..pynest import REAL, NodeCollection, SynapseCollection


class Session(Protocol):
    """What a proxy needs of the session (``record.session.Session`` is one)."""

    epoch: int  # changes at ResetKernel: proxies of an older epoch refuse use
    generation: int  # changes at every rebuild: proxies re-derive their real object
    pending: bool  # the kernel is behind the recording

    @property
    def names(self) -> Any: ...  # to_user / to_user_text: NEST's answers in the user's model names
    def materialize(self) -> None: ...
    def get_node_status(self, nodes: Any, params: tuple, kwargs: dict) -> Any: ...
    def set_node_status(self, nodes: Any, params: Any, kwargs: dict) -> None: ...
    def set_connection_status(self, connections: Any, params: Any, kwargs: dict) -> None: ...


class _NotBuilt:
    """Placeholder wrapped by a proxy whose real object does not exist yet."""

    def __repr__(self) -> str:
        return "<not built yet>"


_NOT_BUILT = _NotBuilt()


class StaleProxyError(RuntimeError):
    """The proxy belongs to a network discarded by ResetKernel."""


class _CollectionProxy(wrapt.ObjectProxy):
    """What both proxies share: the ``_self_*`` state convention, text formatting, no hashing and
    no pickling (like NEST's collections), and attribute writes that mean ``set()``."""

    __hash__ = None  # like NEST's collections, which define __eq__ and no __hash__
    _PICKLE_REFUSAL = "cannot be pickled"

    def __format__(self, spec: str) -> str:
        return format(str(self), spec)

    def __reduce_ex__(self, protocol: Any) -> Any:
        raise TypeError(self._PICKLE_REFUSAL)

    def __setattr__(self, name: str, value: Any) -> None:
        if name.startswith("_self_") or name == "__wrapped__":
            super().__setattr__(name, value)
        else:
            self.set({name: value})

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_self_") or _is_dunder(name):
            raise AttributeError(name)  # wrapt probes some dunders; they must never build
        return self._self_attribute(name)

    def _self_attribute(self, name: str) -> Any:
        """A non-dunder attribute: NEST's own member, or a model parameter read through ``get``."""
        raise NotImplementedError


class NodeCollectionProxy(_CollectionProxy):
    """A NodeCollection that may not exist in the kernel yet (see module docstring)."""

    _PICKLE_REFUSAL = ("a NodeCollection cannot be pickled (it refers to nodes of one running kernel); "
                       "pickle its tolist() instead")

    def __init__(self, session: Session, ids: NodeIds, recipe: Callable[[int], Any],
                 real: Any = None) -> None:
        super().__init__(_NOT_BUILT if real is None else real)
        self._self_session = session
        self._self_ids = ids
        self._self_recipe = recipe
        self._self_epoch = session.epoch
        self._self_generation = session.generation if real is not None else -1

    # --- binding ------------------------------------------------------------------------

    @property
    def __class__(self) -> type:
        return NodeCollection

    def _self_check_epoch(self) -> None:
        if self._self_epoch != self._self_session.epoch:
            raise StaleProxyError("this NodeCollection belongs to a network that ResetKernel discarded")

    def _self_resolve(self, generation: int) -> Any:
        """The real NodeCollection of ``generation`` (no build is triggered here)."""
        if self._self_generation != generation:
            self.__wrapped__ = self._self_recipe(generation)
            self._self_generation = generation
        return self.__wrapped__

    def _self_is_stale(self) -> bool:
        return self._self_epoch != self._self_session.epoch

    def _self_real(self) -> Any:
        """The real NodeCollection, building the network first if it is behind the recording.

        A proxy from before a ResetKernel hands over its old real object, so that NEST itself
        answers (it raises InvalidNodeCollection, as for any NodeCollection of a reset kernel).
        """
        if self._self_is_stale() and self.__wrapped__ is not _NOT_BUILT:
            return self.__wrapped__
        self._self_check_epoch()
        session = self._self_session
        if session.pending:
            session.materialize()
        return self._self_resolve(session.generation)

    def _self_is_live(self) -> bool:
        session = self._self_session
        return (not session.pending and self._self_epoch == session.epoch
                and self._self_generation == session.generation)

    def _self_derive(self, ids: NodeIds, recipe: Callable[[int], Any], real: Any = None) -> NodeCollectionProxy:
        """A proxy whose real object is ``recipe(generation)``; ``real`` is its result on the live
        kernel, if computed. A recipe resolves proxies only with ``_self_resolve(generation)``, so that
        it works on the kernel being rebuilt and never builds (see ``Session.materialize``)."""
        return NodeCollectionProxy(self._self_session, ids, recipe, real)

    # --- what works without a kernel ----------------------------------------------------

    def __len__(self) -> int:
        return len(self._self_ids)

    def __bool__(self) -> bool:
        return len(self._self_ids) > 0

    def __iter__(self):
        return (self[i] for i in range(len(self)))

    def __contains__(self, node_id: object) -> bool:
        return node_id in self._self_ids

    def __getitem__(self, key: Any) -> NodeCollectionProxy:
        if self._self_is_stale():
            return self._self_real()[key]
        real = self.__wrapped__[key] if self._self_is_live() else None  # NEST's own checks and errors first
        return self._self_derive(self._self_ids[key], lambda generation: self._self_resolve(generation)[key], real)

    def __add__(self, other: Any) -> NodeCollectionProxy:
        if isinstance(other, int) and other == 0:
            return self
        if self._self_is_stale() or (isinstance(other, NodeCollectionProxy) and other._self_is_stale()):
            return self._self_real() + _real_now(other)  # NEST's own error for a reset kernel's nodes
        other_ids = ids_of(other)
        real = None
        if self._self_is_live() and (not isinstance(other, NodeCollectionProxy) or other._self_is_live()):
            real = self.__wrapped__ + _real_now(other)  # NEST's own checks and errors come first
        ids = self._self_ids + other_ids

        def join(generation: int) -> Any:
            return self._self_resolve(generation) + (other._self_resolve(generation)
                                                     if isinstance(other, NodeCollectionProxy) else other)

        return self._self_derive(ids, join, real)

    def __radd__(self, other: Any) -> NodeCollectionProxy:
        return self + other

    def __iadd__(self, other: Any) -> NodeCollectionProxy:
        return self + other  # NodeCollections are immutable: ``a += b`` rebinds ``a``, as in NEST

    def __eq__(self, other: object) -> bool:
        if isinstance(other, NodeCollectionProxy):
            return self._self_ids == other._self_ids
        if isinstance(other, NodeCollection):
            if self._self_is_live():
                return self.__wrapped__ == other  # NEST's own equality (a real collection may be sliced)
            return self._self_ids == ids_of(other)
        raise NotImplementedError(f"Cannot compare NodeCollection to {type(other).__name__}")

    def __ne__(self, other: object) -> bool:
        return not self == other

    def tolist(self) -> list[int]:
        return self._self_ids.tolist()

    def index(self, node_id: int) -> int:
        return self._self_ids.index(node_id)

    def __array__(self, dtype: Any = None, copy: Any = None) -> numpy.ndarray:
        return numpy.array(self._self_ids.tolist(), dtype=dtype)

    def __repr__(self) -> str:
        if self._self_is_live():
            return self._self_session.names.to_user_text(repr(self.__wrapped__))
        return repr(self._self_ids)

    __str__ = __repr__

    def __copy__(self) -> NodeCollectionProxy:
        return self

    def __deepcopy__(self, memo: dict) -> NodeCollectionProxy:
        return self

    # --- parameters ---------------------------------------------------------------------

    def get(self, *params: Any, **kwargs: Any) -> Any:
        return self._self_session.get_node_status(self, params, kwargs)

    def set(self, params: Any = None, **kwargs: Any) -> None:
        self._self_session.set_node_status(self, params, kwargs)

    def _self_attribute(self, name: str) -> Any:
        if name.startswith("__array_") or name == "_ipython_canary_method_should_not_exist_":
            return getattr(NodeCollection, name) if hasattr(NodeCollection, name) else _raise_attr(name)
        if name.startswith("_") or name == "spatial" or hasattr(NodeCollection, name):
            return getattr(self._self_real(), name)
        if not self:
            raise AttributeError("Cannot get attribute of empty NodeCollection")
        return self.get(name)

    def __dir__(self) -> list[str]:
        return dir(NodeCollection)


def _is_dunder(name: str) -> bool:
    return name.startswith("__") and name.endswith("__")


def _raise_attr(name: str) -> Any:
    raise AttributeError(name)


def _real_now(value: Any) -> Any:
    return value._self_real() if isinstance(value, NodeCollectionProxy) else value


def ids_of(collection: Any) -> NodeIds:
    """The NodeIds of a proxy, or of a real NodeCollection (asks the kernel)."""
    if isinstance(collection, NodeCollectionProxy):
        return collection._self_ids
    if isinstance(collection, NodeCollection):
        if len(collection) == 0:
            return NodeIds()
        ids = collection.tolist()
        models = collection.get("model")
        models = [models] if isinstance(models, str) else list(models)
        return NodeIds.from_sorted_ids(ids, model_of=dict(zip(ids, models)))
    raise TypeError(f"expected a NodeCollection, got {type(collection).__name__}")


class SynapseCollectionProxy(_CollectionProxy):
    """A SynapseCollection that survives transparent rebuilds and speaks the user's model names.

    Its recipe gives the real SynapseCollection of a generation: the result of the recorded Connect
    (``return_synapsecollection``), a slice of its parent proxy, or the query of a GetConnections,
    which the rebuild runs again at its place in the journal (``_self_rebind``), so that the collection
    holds the connections that existed when the user asked, as in NEST, not those of the whole journal.
    """

    _PICKLE_REFUSAL = "a SynapseCollection cannot be pickled"

    def __init__(self, session: Session, recipe: Callable[[int], Any], real: Any) -> None:
        super().__init__(real)
        self._self_session = session
        self._self_recipe = recipe
        self._self_epoch = session.epoch
        self._self_generation = session.generation

    @property
    def __class__(self) -> type:
        return SynapseCollection

    def _self_real(self) -> Any:
        session = self._self_session
        if self._self_epoch != session.epoch:
            return self.__wrapped__  # from before a ResetKernel: NEST's own object answers, as in NEST
        if session.pending:
            session.materialize()
        return self._self_resolve(session.generation)

    def _self_resolve(self, generation: int) -> Any:
        """The real SynapseCollection of ``generation`` (no build is triggered here)."""
        if self._self_generation != generation:
            self.__wrapped__ = self._self_recipe(generation)
            self._self_generation = generation
        return self.__wrapped__

    def _self_rebind(self, generation: int) -> None:
        """Re-derive the real object now, on the kernel being rebuilt (a replayed GetConnections)."""
        self._self_generation = -1
        self._self_resolve(generation)

    def get(self, keys: Any = None, output: str = "") -> Any:
        return self._self_session.names.to_user(self._self_real().get(keys, output))

    def set(self, params: Any = None, **kwargs: Any) -> None:
        self._self_session.set_connection_status(self, params, kwargs)

    def __len__(self) -> int:
        return len(self._self_real())

    def __iter__(self):
        return (self[i] for i in range(len(self)))

    def __getitem__(self, key: Any) -> SynapseCollectionProxy:
        # The recipe resolves the parent in the generation asked for: during a rebuild that is the
        # kernel being rebuilt, where _self_real() would start another rebuild.
        return SynapseCollectionProxy(self._self_session, lambda generation: self._self_resolve(generation)[key],
                                      self._self_real()[key])

    def __eq__(self, other: object) -> bool:
        return self._self_real() == (other._self_real() if isinstance(other, SynapseCollectionProxy) else other)

    def __str__(self) -> str:
        return self._self_session.names.to_user_text(str(self._self_real()))

    __repr__ = __str__

    def _self_attribute(self, name: str) -> Any:
        if name.startswith("_") or name == "distance" or hasattr(SynapseCollection, name):
            return getattr(self._self_real(), name)  # NEST computes distance itself, not via get()
        return self.get(name)


def unwrap(value: Any, generation: int) -> Any:
    """``value`` with every proxy (also inside lists, tuples and dicts) replaced by its real object."""
    if isinstance(value, _CollectionProxy):
        return value._self_resolve(generation)
    if isinstance(value, dict):
        return {k: unwrap(v, generation) for k, v in value.items()}
    if isinstance(value, list):
        return [unwrap(v, generation) for v in value]
    if isinstance(value, tuple):
        return tuple(unwrap(v, generation) for v in value)
    return value


__all__ = ["NodeCollectionProxy", "SynapseCollectionProxy", "StaleProxyError", "ids_of", "unwrap", "REAL"]
