"""Model names: what a name the user wrote means.

The user writes ``iaf_psc_exp_neuron``, ``stdp_synapse_nestml``, a ``CopyModel`` alias or a twin
such as ``stdp_synapse_nestml_lbl``. ``NameResolver`` says what each means (a NEST built-in, or a
NESTML model with its description), parsing a NESTML model the first time it is named, so that
its errors surface at that line. Which *generated* model realises a name is only known once
the modules are built: ``record.names.Naming`` adds that translation.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..call_site import CallSite
from ..errors import ConnectionModelError, UnknownModelError
from ..generate.registration import TWIN_SUFFIXES
from ..pynest import REAL, CollocatedSynapses
from . import model_info
from .model_info import ModelInfo
from .model_path import ModelPath, strip_suffix
from .node_ids import NodeIds

# Rules whose connections onto each target depend on that target only: one Connect onto targets of
# several NESTML models may then be done as one Connect per model (what the manual workflow needs).
SPLITTABLE_RULES = frozenset({"all_to_all", "one_to_one", "fixed_indegree", "pairwise_bernoulli"})


def synapse_models_of(syn_spec: Any) -> list[str]:
    """The synapse model names a ``syn_spec`` of ``Connect`` mentions."""
    if isinstance(syn_spec, str):
        return [syn_spec]
    if isinstance(syn_spec, dict):
        model = syn_spec.get("synapse_model")
        return [model] if isinstance(model, str) else []
    if isinstance(syn_spec, CollocatedSynapses):
        return [m for spec in syn_spec.syn_specs for m in synapse_models_of(spec)]
    return []


@dataclass(frozen=True)
class ModelRef:
    """What a model name means: a NEST built-in, or a NESTML model (``info``), maybe via aliases."""

    name: str
    root: str
    info: ModelInfo | None = None
    is_alias: bool = False  # a name of its own in NEST, with its own defaults (CopyModel, or a twin)
    twin: str = ""  # "_lbl"/"_hpc": NEST's twin of the generated synapse model (then is_alias too)

    @property
    def is_copy(self) -> bool:
        """A ``CopyModel`` alias (NEST knows it by this very name once the copy is replayed)."""
        return self.is_alias and not self.twin

    @property
    def is_nestml(self) -> bool:
        return self.info is not None

    @property
    def is_nestml_neuron(self) -> bool:
        return self.info is not None and not self.info.is_synapse

    @property
    def is_nestml_synapse(self) -> bool:
        return self.info is not None and self.info.is_synapse


class NameResolver:
    """Name resolution for one kernel epoch (reset by ResetKernel)."""

    def __init__(self, model_path: ModelPath,
                 on_twin: Callable[[ModelRef, CallSite | None], None] | None = None) -> None:
        self.model_path = model_path
        # Told of every twin name on its first resolution in an epoch (the twin must be compiled);
        # may raise, and then the name stays unresolved.
        self.on_twin = on_twin
        self.reset()

    def reset(self) -> None:
        self.aliases: dict[str, str] = {}
        self.user_names: dict[str, str] = {}
        self._builtin: frozenset[str] | None = None
        self._refs: dict[str, ModelRef] = {}

    def forget_builtins(self) -> None:
        """Call after anything that adds models to the kernel (Install, CopyModel of built-ins)."""
        self._builtin = None

    def _builtins(self) -> frozenset[str]:
        if self._builtin is None:
            self._builtin = frozenset(REAL.node_models) | frozenset(REAL.synapse_models)
        return self._builtin

    # --- resolution ---------------------------------------------------------------------

    def resolve(self, name: str, site: CallSite | None = None) -> ModelRef:
        """What ``name`` means; raises UnknownModelError or NestmlModelError naming ``site``."""
        if not isinstance(name, str):
            raise TypeError(f"model name must be a string, not {type(name).__name__}")
        ref = self._refs.get(name)
        if ref is not None:
            return ref
        if name in self.aliases:
            base = self.resolve(self.aliases[name], site)
            ref = ModelRef(name, base.root, base.info, is_alias=True)
        else:
            bare = strip_suffix(name)
            source = self.model_path.find(bare) if bare is not None else None
            if source is None and name in self._builtins():
                ref = ModelRef(name, name)
            elif source is None and (twin := self._twin(name, site)) is not None:
                ref = twin
                if self.on_twin is not None:
                    self.on_twin(ref, site)
            else:
                source = source or self.model_path.find(name)
                if source is None:
                    raise self._unknown(name, site)
                info = model_info.load(source, site, self.model_path.options.get(source.name))
                ref = ModelRef(name, info.name, info)
                self.user_names.setdefault(info.name, name)
        self._refs[name] = ref
        return ref

    def _twin(self, name: str, site: CallSite | None) -> ModelRef | None:
        """``X_lbl``/``X_hpc`` for a NESTML synapse ``X`` (not a NESTML model of that very name)."""
        suffix = next((s for s in TWIN_SUFFIXES if name.endswith(s)), None)
        if suffix is None or self.model_path.find(name) is not None:
            return None
        try:
            base = self.resolve(name[:-len(suffix)], site)
        except UnknownModelError:
            return None
        if not base.is_nestml_synapse or base.is_alias:
            return None
        return ModelRef(name, base.root, base.info, is_alias=True, twin=suffix)

    def _unknown(self, name: str, site: CallSite | None) -> UnknownModelError:
        candidates = list(self._builtins()) + self.model_path.all_names()
        close = difflib.get_close_matches(name, candidates, n=3)
        hint = f" Did you mean {', '.join(repr(c) for c in close)}?" if close else ""
        folders = ", ".join(str(f) for f in self.model_path.folders()) or "(none)"
        return UnknownModelError(
            f"{name} is not a known model name: not a NEST built-in and no NESTML model of that name on "
            f"the model path ({folders}).{hint}", site)

    def reset_model_refs(self, names: list[str]) -> None:
        """Forget resolutions of ``names`` (their source changed), with or without suffix."""
        for name in list(self._refs):
            if name in names or strip_suffix(name) in names:
                del self._refs[name]

    def add_alias(self, new: str, existing: str) -> None:
        self.aliases[new] = existing
        self._refs.pop(new, None)

    def post_neuron(self, synapse: ModelRef, post: NodeIds, site: CallSite | None,
                    split_rule: str | None = None) -> list[ModelInfo]:
        """The NESTML neurons a postsynaptic-state-reading synapse targets.

        Such a synapse is a different NEST model per postsynaptic model, so targets of several
        NESTML models need one NEST Connect each: allowed when ``split_rule`` names the
        connection rule and it can be split by target (see ``SPLITTABLE_RULES``).
        """
        if synapse.info is None or not synapse.info.reads_postsynaptic_state:
            return []
        refs = [self.resolve(model, site) for model in post.models()]
        builtin = [r.name for r in refs if not r.is_nestml_neuron]
        if builtin:
            raise ConnectionModelError(
                f"synapse '{synapse.name}' reads postsynaptic state (ports {', '.join(synapse.info.post_ports)}),"
                f" so its targets must be NESTML neurons; these targets are not: {', '.join(builtin)}", site)
        neurons = {r.info.name: r.info for r in refs if r.info is not None}
        if len(neurons) > 1 and split_rule not in SPLITTABLE_RULES:
            raise ConnectionModelError(
                f"synapse '{synapse.name}' is generated together with its postsynaptic neuron model, and this "
                f"Connect targets several NESTML models ({', '.join(sorted(neurons))}) with rule "
                f"'{split_rule}', whose connections depend on all targets at once; connect each target "
                "population in its own Connect call", site)
        return list(neurons.values())

    def target_groups(self, spec: Any, post: NodeIds) -> list[list[int]]:
        """Positions in ``post`` grouped by postsynaptic NESTML neuron model, when ``spec`` holds a
        synapse generated per postsynaptic model and ``post`` has several; otherwise ``[]``."""
        if not any(self._reads_post(name) for name in synapse_models_of(spec)):
            return []
        groups: dict[str, list[int]] = {}
        for run, offset in post.positions_by_run():
            info = self.resolve(run.model).info
            key = info.name if info is not None else run.model
            groups.setdefault(key, []).extend(range(offset, offset + len(run)))
        return list(groups.values()) if len(groups) > 1 else []

    def _reads_post(self, name: str) -> bool:
        info = self.resolve(name).info
        return info is not None and info.reads_postsynaptic_state
