"""The session: the recorded network, the real kernel, and how the two are kept in step.

States (per kernel epoch, i.e. since the last ResetKernel; how each PyNEST call behaves in each
state is declared once, in ``record.calls``):

* **live**: the real kernel holds everything recorded. Calls execute at once (exactly as
  with plain PyNEST) and are also journaled, so that a later rebuild can replay them.
* **pending**: a call needed a NESTML model or combination that is not installed. NEST
  cannot install modules once nodes exist, so from here calls are only recorded; the real
  kernel is left behind. ``materialize()`` (at Simulate, GetConnections, a read of a built-in
  node's status, ...) builds the modules, resets the kernel, installs them, replays the
  journal and moves every proxy to the new real objects: the session is live again.

After simulation time has passed nothing can be replayed (the journal is dropped to free
memory); a call that would need a new module then raises ``NetworkFrozenError`` at once.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..cache.store import ModuleCache
from ..call_site import CallSite, capture
from ..compile import toolchain
from ..compile.builder import UnitBuilder
from ..config import settings
from ..errors import JitnestError, NetworkFrozenError
from ..models import model_info
from ..models.model_info import ModelInfo, PairedVariables
from ..models.model_path import NESTML_SUFFIX, ModelPath, strip_suffix
from ..models.naming import ModelRef
from ..models.node_ids import NodeIds
from ..models.parameters import ModelDefaults, NeedsKernel, Piece, PopulationIndex, shape_like_nest
from ..plan.combinations import Requirements
from ..pynest import REAL
from .calls import executes_while_pending
from .journal import CallEntry, Entry, QueryEntry, RequirementEntry, clone_error, refer_to_store
from .names import Naming
from .proxies import NodeCollectionProxy, SynapseCollectionProxy, unwrap
from .verify import check_populations


class Session:
    """One per process: what the user recorded and what the kernel holds."""

    def __init__(self) -> None:
        self.model_path = ModelPath()
        self.names = Naming(self.model_path, on_twin=self._require_twin)
        self.epoch = 0
        self.generation = 0
        self._cache: ModuleCache | None = None
        self._builder: UnitBuilder | None = None
        self.last_build: dict = {}
        self.built_in_background: set[str] = set()  # module keys this process built between cells
        self._materializing = False
        self._start_epoch()

    def _start_epoch(self) -> None:
        self.epoch += 1
        self.generation += 1
        self.journal: list[Entry] | None = []
        self.requirements = Requirements()
        self.pending = False
        self.time_passed = False
        self.node_count = 0
        self.sites_of: dict[str, list[CallSite]] = {}
        self.last_build = {}  # ResetKernel unloads the modules' models
        self.model_defaults: dict[str, ModelDefaults] = {}
        self.record_from: dict[int, list[str]] = {}  # recording device's first ID -> record_from
        self.populations = PopulationIndex()
        self.names.reset()

    # --- infrastructure -----------------------------------------------------------------

    @property
    def cache(self) -> ModuleCache:
        if self._cache is None:
            self._cache = ModuleCache()
        return self._cache

    @property
    def builder(self) -> UnitBuilder:
        if self._builder is None:
            self._builder = UnitBuilder(toolchain.detect(), self.cache)
        return self._builder

    # --- translation protocol used by journal entries -----------------------------------

    def real(self, value: Any) -> Any:
        return unwrap(value, self.generation)

    def node_model(self, name: str) -> str:
        return self.names.node_model(name)

    def syn_spec(self, spec: Any, post: NodeIds) -> Any:
        return self.names.syn_spec(spec, post)

    def target_groups(self, spec: Any, post: NodeIds) -> list[list[int]]:
        return self.names.target_groups(spec, post)

    def model_variants(self, name: str) -> list[str]:
        return self.names.model_variants(name)

    def copy_variants(self, existing: str, new: str) -> list[tuple[str, str]]:
        return self.names.copy_variants(existing, new)

    # --- recording ----------------------------------------------------------------------

    def _require_twin(self, twin: ModelRef, site: CallSite | None) -> None:
        """``<synapse>_hpc``/``_lbl`` was named: modules compile only the twins a network names."""
        assert twin.info is not None
        requirements = self.requirements.copy()
        requirements.add_twin(twin.info, twin.twin)
        self.submit(RequirementEntry(site or capture(), twin.name), requirements)

    def note_site(self, model: str, site: CallSite) -> None:
        self.sites_of.setdefault(model, []).append(site)

    def submit(self, entry: Entry, requirements: Requirements | None = None,
               execute_while_pending: bool = False) -> None:
        """Record ``entry``; execute it now unless the kernel is (or must fall) behind.

        ``requirements`` are the NESTML requirements *after* this call, when it adds any. If
        they need modules that are not installed, the session becomes pending (or, once time
        has passed, raises NetworkFrozenError before anything is recorded).
        """
        if requirements is not None:
            if requirements.plan() != self.names.plan:
                if self.time_passed:
                    missing = sorted(u.label + "".join(f" (with the {x} twin of {s})" for s, x in u.twins)
                                     for u in requirements.plan().units - self.names.plan.units)
                    raise NetworkFrozenError(
                        f"{entry.describe()} needs {', '.join(missing)}, which the running network was not built "
                        "with, and NEST cannot load modules after simulation time has passed. "
                        "Create and connect all NESTML models before the first Simulate, or call "
                        "nest.ResetKernel() and build the network again.", entry.site)
                self.pending = True
            self.requirements = requirements
        if self.journal is not None:
            self.journal.append(entry)
        if not self.pending or execute_while_pending:
            try:
                entry.execute(self)
            except BaseException:
                if self.journal is not None and self.journal and self.journal[-1] is entry:
                    self.journal.pop()
                raise

    def record_call(self, function: Any, args: tuple = (), kwargs: dict | None = None,
                    site: CallSite | None = None, call: str | None = None) -> Any:
        """Record ``function(*args, **kwargs)``, executed as the policy of ``call`` (default: the
        function's name) in ``record.calls`` says."""
        entry = CallEntry(site or capture(), function, args, kwargs)
        self.submit(entry, execute_while_pending=executes_while_pending(call or function.__name__))
        return entry.result

    def record_query(self, collection: SynapseCollectionProxy, site: CallSite | None = None) -> None:
        """A GetConnections' collection: a rebuild queries it again at this place (``QueryEntry``)."""
        if self.journal is not None:
            self.journal.append(QueryEntry(site or capture(), collection))

    def passed_time(self) -> None:
        """Simulation time has passed: no replay is possible any more, so drop the journal."""
        self.time_passed = True
        self.journal = None

    # --- building -----------------------------------------------------------------------

    def materialize(self) -> None:
        """Build what the recording needs, reset the kernel, install, replay. No-op when live.

        Not re-entrant, by construction: replayed entries resolve proxies with ``real`` (the
        generation being built), never through ``_self_real``, which would materialize. A call
        while materializing is jitnest's bug and raises ``InternalReplayError`` loudly, before
        anything is reset.

        A recorded call that fails in the replay failed where plain NEST would have failed at the
        user's line: exactly that entry is dropped (so that a corrected script or notebook cell can go
        on) and its error raised with the user's call site; the journal is otherwise left as recorded,
        and the session stays pending (the kernel is half-built).
        """
        if self._materializing:
            raise InternalReplayError(
                "jitnest internal error: the network was asked to rebuild itself while it was being rebuilt "
                "(a replayed call needed the kernel). Nothing was dropped from the recording; please report "
                "this with the script.")
        if not self.pending:
            return
        assert self.journal is not None, "a pending session always has its journal"
        self._materializing = True
        try:
            self._build_and_replay(self.journal)
        finally:
            self._materializing = False
        self.pending = False

    def _build_and_replay(self, journal: list[Entry]) -> None:
        plan = self.requirements.plan()
        built = self.builder.build_plan(plan, self.sites_of)
        REAL.ResetKernel()
        for built_unit in sorted(built.values(), key=lambda b: b.unit.label):
            REAL.Install(str(built_unit.module_path))
        self.names.set_built(plan, built)
        self.generation += 1
        self.last_build = {unit.label: {"module": str(b.module_path),
                                        "built_here": b.built_here or b.entry.key in self.built_in_background}
                           for unit, b in built.items()}
        for entry in list(journal):
            try:
                entry.execute(self)
            except InternalReplayError:
                raise
            except Exception as error:
                journal.pop(next(i for i, e in enumerate(journal) if e is entry))
                raise clone_error(error, entry.site) from error
        if settings().verify:
            check_populations(self.populations.populations)
        # NEST holds the values now and answers reads. The stores stay only as far as the journal refers
        # to them (values of recorded calls, for a later rebuild), until simulation time passes.
        self.populations.clear()

    # --- parameters ---------------------------------------------------------------------

    def defaults_of(self, name: str, site: CallSite | None = None) -> ModelDefaults | None:
        """The declared defaults of NESTML model ``name`` (None for built-ins), shared by every
        name that means the same generated model."""
        ref = self.names.resolve(name, site)
        if ref.info is None:
            return None
        key = name if ref.is_alias else ref.root
        if key not in self.model_defaults:
            shown = name if ref.is_alias else self.names.user_names.get(ref.root, name)  # as the user wrote it
            defaults = ModelDefaults.from_info(shown, ref.info)
            if not ref.info.is_synapse:
                defaults.pairing = self._pairing_of(ref.info, site)
                defaults.speculate = self._speculation_of(ref.info, site)
            self.model_defaults[key] = defaults
        return self.model_defaults[key]

    def _pairing_of(self, neuron: ModelInfo, site: CallSite | None) -> Callable[[], list[tuple[str, PairedVariables]]]:
        """What the synapses the recording pairs ``neuron`` with add to it (see ModelDefaults.sync_pairing);
        asked when a question needs it, from the requirements of that moment."""
        epoch = self.epoch

        def pairing() -> list[tuple[str, PairedVariables]]:
            if epoch != self.epoch:
                return []
            synapses = self.requirements.paired.get(neuron.name, {})
            return [(name, model_info.load_paired(neuron, synapse, site)) for name, synapse in sorted(synapses.items())]

        return pairing

    def _speculation_of(self, neuron: ModelInfo, site: CallSite | None) -> Callable[[str], PairedVariables | None]:
        """What pairing ``neuron`` with the NESTML synapse of a source name would add (None if that
        is no NESTML synapse that NESTML pairs)."""
        def speculate(synapse: str) -> PairedVariables | None:
            try:
                ref = self.names.resolve(synapse + NESTML_SUFFIX, site)
            except JitnestError:
                return None
            if ref.info is None or not ref.info.reads_postsynaptic_state:
                return None
            return model_info.load_paired(neuron, ref.info, site)

        return speculate

    def set_model_options(self, model: str, options: dict) -> None:
        """``jitnest.set_model_options``: options of a NESTML model (``models.options``), before its use."""
        name = strip_suffix(model) or model
        used = {*self.requirements.neurons, *self.requirements.lone_synapses,
                *(s for synapses in self.requirements.paired.values() for s in synapses)}
        if name in used:
            raise JitnestError(f"{model} is already used by the recorded network; set its options before the first "
                               "Create or Connect that names it (or call nest.ResetKernel() first)", capture())
        self.model_path.options.set(name, options)
        self.names.reset_model_refs([name])
        for key in [k for k, d in self.model_defaults.items() if d.info.name == name]:
            del self.model_defaults[key]

    def get_node_status(self, nodes: NodeCollectionProxy, params: tuple, kwargs: dict) -> Any:
        answer = self._answer_without_kernel(nodes, params, kwargs)
        if answer is _NO_ANSWER:
            answer = self.answer_from_store(nodes, params, kwargs)
        if answer is not _NO_ANSWER and answer is not None:
            return answer
        return self.names.to_user(nodes._self_real().get(*params, **kwargs))

    def _answer_without_kernel(self, nodes: NodeCollectionProxy, params: tuple, kwargs: dict) -> Any:
        """``global_id`` and ``model`` are known from the recording; anything else needs the kernel."""
        if kwargs or len(params) != 1 or params[0] not in ("global_id", "model"):
            return _NO_ANSWER
        values = self._column(nodes, [], params[0])  # these two columns need no population
        return values[0] if len(values) == 1 else tuple(values)

    def answer_from_store(self, nodes: NodeCollectionProxy, params: tuple, kwargs: dict) -> Any:
        """Parameters of unbuilt NESTML nodes, from their declarations and the values set so far;
        None where only NEST can answer (built-in or already built nodes, values NEST draws)."""
        if not self.pending or kwargs or nodes._self_epoch != self.epoch or not len(nodes):
            return None
        pieces = self.populations.pieces(nodes._self_ids)
        populations = {id(p.population): p.population for p in pieces}
        if any(p is None for p in populations.values()) or len({p.model for p in populations.values()}) != 1:
            return None
        single, keys = _requested_keys(params)
        wanted = [single] if single is not None else keys or ["global_id", "model", "element_type",
                                                              "recordables", *pieces[0].population.keys()]
        try:
            columns = {key: self._column(nodes, pieces, key) for key in wanted}
        except NeedsKernel:
            return None
        return shape_like_nest(columns, wanted if single is None else None, single, len(nodes))

    def _column(self, nodes: NodeCollectionProxy, pieces: list[Piece], key: str) -> list:
        if key == "global_id":
            return nodes._self_ids.tolist()
        if key == "model":
            return [run.model for run in nodes._self_ids.runs for _ in range(len(run))]
        info = pieces[0].population.model_defaults.info
        if key == "element_type":
            return ["synapse" if info.is_synapse else "neuron"] * len(nodes)
        if key == "recordables":
            return [pieces[0].population.model_defaults.recordables()] * len(nodes)
        values: list = []
        for piece in pieces:
            values.extend(piece.population.values(key, piece.positions))
        return values

    def set_node_status(self, nodes: NodeCollectionProxy, params: Any, kwargs: dict) -> None:
        nodes._self_check_epoch()
        site = capture()
        if self.pending:
            pieces = self.apply_to_store(nodes._self_ids, params, kwargs, site)
            # per-node values the stores now hold are recorded as references to them, not copied again
            params, kwargs = refer_to_store(params, pieces), refer_to_store(kwargs, pieces)
        self.record_call(_set_status, (nodes, params), kwargs, site=site, call="SetStatus")

    def apply_to_store(self, ids: NodeIds, params: Any, kwargs: dict, site: CallSite | None) -> list[Piece]:
        """Validate and keep values set on unbuilt NESTML nodes (NEST validates the rest at build).
        Returns ``ids`` cut by population (``PopulationIndex.pieces``)."""
        pieces = self.populations.pieces(ids)
        if isinstance(params, dict) or params is None:
            merged = {**(params or {}), **kwargs}
            for piece in pieces:
                if piece.population is None:
                    continue
                count = len(piece.positions)
                local = {k: (v[piece.offset:piece.offset + count] if _per_node(v) else v)
                         for k, v in merged.items()}
                piece.population.set(piece.positions, local, site)
        elif isinstance(params, (list, tuple)):
            if len(params) != len(ids):
                raise REAL.NESTErrors.BadParameterValue(f"{len(params)} dicts given for {len(ids)} nodes")
            for piece in pieces:
                if piece.population is not None:
                    piece.population.set_each(piece.positions,
                                              params[piece.offset:piece.offset + len(piece.positions)], site)
        return pieces

    def set_connection_status(self, connections: SynapseCollectionProxy, params: Any, kwargs: dict) -> None:
        self.record_call(_set_status, (connections, params), kwargs, call="SetStatus")


def _per_node(value: Any) -> bool:
    return isinstance(value, (list, tuple)) or (hasattr(value, "shape") and getattr(value, "ndim", 0) == 1)


def _requested_keys(params: tuple) -> tuple[str | None, list[str] | None]:
    """PyNEST's get(*params) forms: () all, ("k",) one, (["a", "b"],) or ("a", "b") several."""
    if not params:
        return None, None
    if len(params) == 1 and isinstance(params[0], str):
        return params[0], None
    if len(params) == 1 and isinstance(params[0], (list, tuple)):
        return None, list(params[0])
    return None, list(params)


def _set_status(collection: Any, params: Any, **kwargs: Any) -> None:  # noqa: D401
    """NodeCollection/SynapseCollection ``set`` on the real object (a module-level function so
    that journal entries hold no bound methods of objects that a rebuild replaces)."""
    collection.set(params, **kwargs)


_NO_ANSWER = object()


class InternalReplayError(RuntimeError):
    """jitnest asked for the kernel while rebuilding it: a bug in jitnest, never the user's call."""

SESSION = Session()

__all__ = ["SESSION", "Session", "JitnestError", "InternalReplayError"]
