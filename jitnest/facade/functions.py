"""PyNEST's network functions, as jitnest offers them: Create, Connect, parameters, models.

Functions that create or change the network are recorded (see ``record.calls`` for each call's
policy); functions that only need the kernel build the network first if it is behind the
recording, then call PyNEST. Kernel-level functions are in ``facade.kernel``.

Contract: with built-in models only, every function here returns what PyNEST returns and raises
what PyNEST raises, apart from NodeCollections and SynapseCollections being proxies
(``isinstance`` still holds).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy

from ..call_site import capture
from ..errors import ConnectionModelError, ModelProblem, NestmlModelError
from ..models.naming import synapse_models_of
from ..models.node_ids import NodeIds
from ..models.parameters import NeedsKernel, Piece, Population
from ..pynest import REAL, NodeCollection
from ..record.calls import COPY_OF_BUILTIN, executes_while_pending
from ..record.journal import (
    ConnectEntry,
    CopyModelEntry,
    CreateEntry,
    RequirementEntry,
    SetDefaultsEntry,
    connection_rule,
    joined,
    refer_to_store,
)
from ..record.proxies import NodeCollectionProxy, SynapseCollectionProxy, ids_of
from ..record.session import SESSION


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
    if isinstance(n, dict):  # PyNEST's backward-compatible Create(model, params), with its check
        if not (params is None and positions is None):
            raise ValueError("A parameter dictionary can be passed as second argument only of Create() is called "
                             "with two arguments.")
        n, params = None, n
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
    population = _population_for(model, ids, params, site) if ref.is_nestml_neuron else None
    # per-node values stay in the population's store only (the journal refers to them there)
    recorded = refer_to_store(params, [Piece(population, range(size), 0)]) if population is not None else params
    entry = CreateEntry(site, model, n, recorded, positions, ids)
    try:
        SESSION.submit(entry, requirements)
    except Exception:
        _account_for_failed_create(model, n, positions, ids, site)
        raise
    if population is not None and SESSION.pending:
        SESSION.populations.add(population)
    _remember_record_from(ids, params)
    SESSION.node_count += size
    return NodeCollectionProxy(SESSION, ids, lambda generation: entry.result, entry.result)


def _population_for(model: str, ids: NodeIds, params: Any, site: Any) -> Population:
    """The parameter store of new NESTML nodes, with ``params`` validated and applied."""
    population = Population(model, ids.runs[0].first if ids.runs else 0, len(ids), SESSION.defaults_of(model, site))
    positions = numpy.arange(len(ids))
    if isinstance(params, dict):
        population.set(positions, params, site)
    elif isinstance(params, (list, tuple)):
        population.set_each(positions, params, site)
    return population


def _remember_record_from(ids: NodeIds, params: Any) -> None:
    """Keep a recording device's ``record_from`` so that Connect can check it against unbuilt models."""
    if isinstance(params, dict) and "record_from" in params and len(ids):
        SESSION.record_from[ids.runs[0].first] = list(params["record_from"])


def _check_recordables(pre: Any, post_ids: NodeIds, site: Any) -> None:
    """A multimeter asking unbuilt NESTML nodes for something they do not record: NEST's error, early."""
    if not isinstance(pre, NodeCollectionProxy) or len(pre) != 1 or not pre._self_ids.runs:
        return
    record_from = SESSION.record_from.get(pre._self_ids.runs[0].first)
    if not record_from:
        return
    for model in post_ids.models():
        ref = SESSION.names.resolve(model, site)
        if ref.is_nestml_neuron:
            recordables = SESSION.defaults_of(model, site).recordables()  # with what pairings add
            unknown = [r for r in record_from if r not in recordables]
            if unknown:
                raise ConnectionModelError(
                    f"Creation of connection is not possible because:\nCannot connect with unknown recordable "
                    f"{unknown[0]} (model {model} records: {', '.join(recordables)})", site)


def _account_for_failed_create(model: str, n: Any, positions: Any, ids: NodeIds, site: Any) -> None:
    """NEST creates the nodes before it rejects bad parameters, so a failed Create still uses IDs.

    Mirror that: count the nodes and journal a Create without the parameters, so that a replay
    gives later nodes the same IDs as plain NEST (for scripts that catch the error and go on).
    """
    if SESSION.pending or REAL.network_size != SESSION.node_count + len(ids):
        return
    SESSION.node_count += len(ids)
    if SESSION.journal is not None:
        SESSION.journal.append(CreateEntry(site, model, n, None, positions, ids))


def _split_rule(conn_spec: Any) -> str | None:
    """The connection rule, for deciding whether a Connect may be done as one Connect per target
    model; spatial connections (masks over positions) are never split."""
    return None if isinstance(conn_spec, dict) and "mask" in conn_spec else connection_rule(conn_spec)


def Connect(pre: Any, post: Any, conn_spec: Any = None, syn_spec: Any = None,
            return_synapsecollection: bool = False) -> Any:
    """``nest.Connect``: infers which NESTML synapse must be generated with which neuron."""
    site = capture()
    post_ids = ids_of(post) if isinstance(post, NodeCollection) else NodeIds()
    requirements = None
    for model in synapse_models_of(syn_spec):
        ref = SESSION.names.resolve(model, site)
        if ref.is_nestml_synapse:
            _check_weight_variable(ref.info, site)
            SESSION.note_site(ref.root, site)
            neurons = SESSION.names.post_neuron(ref, post_ids, site, _split_rule(conn_spec))
            _check_post_port_variables(ref.info, neurons, site)
            requirements = requirements or SESSION.requirements.copy()
            requirements.add_synapse(ref.info, neurons)
            _check_unit_options(requirements, ref.info, site)
    _check_recordables(pre, post_ids, site)
    entry = ConnectEntry(site, pre, post, post_ids, conn_spec, syn_spec, return_synapsecollection)
    SESSION.submit(entry, requirements)
    if not return_synapsecollection:
        return None
    SESSION.materialize()
    return SynapseCollectionProxy(SESSION, lambda generation: entry.result, entry.result)


def _check_weight_variable(synapse: Any, site: Any) -> None:
    """NESTML must know which variable is the weight: the one the model passes to emit_spike(), the
    one its argument is computed from (``w`` in ``emit_spike(u * w)``), or the user's option."""
    if synapse.weight_variable:
        return
    lines = Path(synapse.file).read_text().splitlines()
    line = next((i for i, text in enumerate(lines, 1) if "emit_spike(" in text), synapse.line)
    raise NestmlModelError(synapse.name, [ModelProblem(
        synapse.file, line, "no weight variable: emit_spike(...) must be given a state or parameter variable "
        "(e.g. emit_spike(w)), or an expression of one named w or weight, so that NEST can read and set the "
        f"synapse's weight; or name it: jitnest.set_model_options({synapse.name!r}, weight_variable=...)")], site)


def _check_post_port_variables(synapse: Any, neurons: list, site: Any) -> None:
    """A continuous post port reads a variable of the paired neuron (by default of the port's name):
    the neuron must have it, or NESTML fails at the build."""
    for neuron in neurons:
        for port in synapse.continuous_post_ports:
            variable = synapse.post_port_variable(port)
            if variable not in neuron.variables:
                raise ConnectionModelError(
                    f"synapse '{synapse.name}' reads its continuous port '{port}' from the variable '{variable}' of "
                    f"its postsynaptic neuron, which '{neuron.name}' does not have (state variables and inline "
                    f"expressions: {', '.join(neuron.variables)}); name the variable with "
                    f"jitnest.set_model_options({synapse.name!r}, post_port_variables={{{port!r}: ...}})", site)


def _check_unit_options(requirements: Any, synapse: Any, site: Any) -> None:
    """Models generated together (one module) must not set one NESTML option differently."""
    for unit in requirements.plan().units:
        if synapse in unit.synapses:
            try:
                unit.check_options()
            except ValueError as error:
                raise ConnectionModelError(str(error), site) from None


def Disconnect(*args: Any, **kwargs: Any) -> None:
    """``nest.Disconnect``, recorded."""
    SESSION.record_call(REAL.Disconnect, args, kwargs)


def CopyModel(existing: str, new: str, params: Any = None) -> None:
    """``nest.CopyModel``; a copy of a NESTML model is generated lazily like the model itself."""
    site = capture()
    ref = SESSION.names.resolve(existing, site)
    defaults = SESSION.defaults_of(existing, site)
    copied = defaults.copy(new) if defaults is not None else None
    if copied is not None and params:
        copied.update(params, site)
    policy = COPY_OF_BUILTIN if ref.info is None else "CopyModel"
    SESSION.submit(CopyModelEntry(site, existing, new, params), execute_while_pending=executes_while_pending(policy))
    SESSION.names.add_alias(new, existing)
    SESSION.names.forget_builtins()
    if copied is not None:
        SESSION.model_defaults[new] = copied


def SetDefaults(model: str, params: Any, val: Any = None) -> None:
    """``nest.SetDefaults``, recorded; reaches every generated variant of a NESTML model."""
    site = capture()
    defaults = SESSION.defaults_of(model, site)
    if defaults is not None:
        defaults.update({params: val} if isinstance(params, str) else params, site)
    SESSION.submit(SetDefaultsEntry(site, model, params, val))


def GetDefaults(model: str, keys: Any = None, output: str = "") -> Any:
    """``nest.GetDefaults`` in the user's model names; NESTML models answer before they are built."""
    site = capture()
    ref = SESSION.names.resolve(model, site)
    if ref.is_nestml and not output and not _is_built(model):
        try:
            wanted = None if keys is None else [keys] if isinstance(keys, str) else list(keys)
            status = SESSION.defaults_of(model, site).status(wanted)
            name_key = "synapse_model" if ref.is_nestml_synapse else "model"
            if name_key in status:
                status[name_key] = model  # NEST answers the name asked
            if keys is None:
                return status
            if isinstance(keys, str):
                return status[keys]
            return [status[k] for k in keys]
        except NeedsKernel:
            pass
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
        SESSION.submit(RequirementEntry(site, model), requirements)
        SESSION.materialize()
        variants = SESSION.names.model_variants(model) or [model]
    return SESSION.names.to_user(REAL.GetDefaults(variants[0], keys, output))


def _is_built(model: str) -> bool:
    """Whether the live kernel has ``model``'s generated variant (then NEST answers)."""
    return not SESSION.pending and bool(SESSION.names.model_variants(model))


def SetStatus(nodes: Any, params: Any, val: Any = None) -> None:
    """``nest.SetStatus``, recorded; values for unbuilt NESTML nodes are validated at once."""
    if isinstance(nodes, NodeCollectionProxy):
        SESSION.set_node_status(nodes, {params: val} if isinstance(params, str) else params, {})
    else:
        SESSION.record_call(REAL.SetStatus, (nodes, params, val))


def GetStatus(nodes: Any, keys: Any = None, output: str = "") -> Any:
    """``nest.GetStatus`` in the user's model names; unbuilt NESTML nodes answer from the store."""
    if isinstance(nodes, NodeCollectionProxy) and SESSION.pending and not output and len(nodes):
        answer = _status_from_store(nodes, keys)
        if answer is not None:
            return answer
    SESSION.materialize()
    return SESSION.names.to_user(REAL.GetStatus(SESSION.real(nodes), keys, output))


def _status_from_store(nodes: NodeCollectionProxy, keys: Any) -> Any:
    """GetStatus's shapes: a tuple over nodes of dicts (no keys), values (one key) or tuples (keys)."""
    as_list = [keys] if isinstance(keys, str) else keys
    columns = SESSION.answer_from_store(nodes, (as_list,) if as_list is not None else (), {})
    if columns is None:
        return None
    size = len(nodes)

    def at(values: Any, i: int) -> Any:
        return values[i] if size > 1 else values

    if keys is None:
        return tuple({k: at(v, i) for k, v in columns.items()} for i in range(size))
    if isinstance(keys, str):
        return tuple(at(columns[keys], i) for i in range(size))
    return tuple(tuple(at(columns[k], i) for k in keys) for i in range(size))


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
        if not models:
            return REAL.GetConnections(SESSION.real(source), SESSION.real(target), "static_synapse", -1)[0:0]
        found = [REAL.GetConnections(SESSION.real(source), SESSION.real(target), model, synapse_label)
                 for model in models]
        # a plastic NESTML synapse onto two NESTML neuron models is two NEST models (one per pair)
        return found[0] if len(found) == 1 else joined(found)

    collection = SynapseCollectionProxy(SESSION, lambda generation: query(), query())
    SESSION.record_query(collection, site)  # a rebuild asks again at this place of the journal
    return collection


OWN_FUNCTIONS: dict[str, Callable] = {
    f.__name__: f for f in (Create, Connect, Disconnect, CopyModel, SetDefaults, GetDefaults, SetStatus,
                            GetStatus, GetConnections)
}
