"""Generated names: which model NEST knows for a name the user wrote, and back.

The user writes ``iaf_psc_exp_neuron`` or ``stdp_synapse_nestml``; NEST knows the generated
``iaf_psc_exp_neuron_nestml__with_stdp_synapse_nestml``. ``Naming`` extends the resolver of
``models.naming`` with the built network (plan and published modules): it translates names into
generated names for replays, and answers from NEST back into the user's names.
"""

from __future__ import annotations

import re
from typing import Any

from ..compile.builder import BuiltUnit
from ..generate.registration import TWIN_SUFFIXES
from ..models.model_info import ModelInfo
from ..models.naming import ModelRef, NameResolver
from ..models.node_ids import NodeIds
from ..plan.combinations import Plan, Unit
from ..pynest import CollocatedSynapses

_NAME_KEYS = frozenset({"model", "synapse_model"})


class Naming(NameResolver):
    """Name resolution and translation for one kernel epoch (reset by ResetKernel)."""

    def reset(self) -> None:
        super().reset()
        self.plan = Plan()
        self.built: dict[Unit, BuiltUnit] = {}
        self._reverse: dict[str, str] = {}
        self._reverse_pattern: re.Pattern | None = None

    # --- translation into generated names -----------------------------------------------

    def set_built(self, plan: Plan, built: dict[Unit, BuiltUnit]) -> None:
        self.plan, self.built = plan, built
        reverse: dict[str, str] = {}
        for unit, built_unit in built.items():
            for model in unit.models:
                kind = "synapse" if model.is_synapse else "neuron"
                user = self.user_names.get(model.name, model.name)
                reverse[built_unit.generated_name(model.name, kind)] = user
                if model.is_synapse:
                    for suffix in TWIN_SUFFIXES:
                        reverse[built_unit.generated_name(model.name, kind) + suffix] = user + suffix
        for alias in self.aliases:
            for _, variant in self.copy_variants(self.aliases[alias], alias):
                if variant != alias:
                    reverse[variant] = alias
        self._reverse = reverse
        names = sorted(reverse, key=len, reverse=True)
        self._reverse_pattern = re.compile("|".join(rf"\b{re.escape(n)}\b" for n in names)) if names else None
        self.forget_builtins()

    def _generated(self, info: ModelInfo, post_neuron: str | None = None) -> str:
        if info.is_synapse:
            unit = self.plan.unit_of_synapse(info.name, post_neuron)
        else:
            unit = self.plan.unit_of_neuron(info.name)
        if unit is None or unit not in self.built:
            raise RuntimeError(f"jitnest internal error: no module built for NESTML model {info.name}")
        return self.built[unit].generated_name(info.name, "synapse" if info.is_synapse else "neuron")

    def _real_name(self, ref: ModelRef, post_neuron: str | None = None) -> str:
        """NEST's name for a NESTML model or its twin (not for a CopyModel alias)."""
        return self._generated(ref.info, post_neuron) + ref.twin

    def _paired_neurons(self, synapse: ModelInfo) -> list[str]:
        return sorted(u.neuron.name for u in self.plan.units
                      if u.neuron is not None and any(s.name == synapse.name for s in u.synapses))

    def _variant(self, alias: str, synapse: ModelInfo, neuron: str) -> str:
        return alias if len(self._paired_neurons(synapse)) <= 1 else f"{alias}__for_{neuron}"

    def node_model(self, name: str) -> str:
        ref = self.resolve(name)
        if ref.info is None or ref.is_alias:
            return name
        return self._generated(ref.info)

    def synapse_model(self, name: str, post: NodeIds) -> str:
        ref = self.resolve(name)
        if ref.info is None:
            return name
        neurons = self.post_neuron(ref, post, None)
        neuron = neurons[0].name if neurons else None
        if ref.is_copy:
            return self._variant(name, ref.info, neuron) if neuron else name
        return self._real_name(ref, neuron)

    def syn_spec(self, spec: Any, post: NodeIds) -> Any:
        if isinstance(spec, str):
            return self.synapse_model(spec, post)
        if isinstance(spec, dict) and "synapse_model" in spec:
            return {**spec, "synapse_model": self.synapse_model(spec["synapse_model"], post)}
        if isinstance(spec, CollocatedSynapses):
            return CollocatedSynapses(*[self.syn_spec(s, post) for s in spec.syn_specs])
        return spec

    def copy_variants(self, existing: str, new: str) -> list[tuple[str, str]]:
        """(generated source model, new model name) pairs that realise ``CopyModel(existing, new)``."""
        ref = self.resolve(existing)
        if ref.info is None:
            return [(existing, new)]
        if not ref.info.reads_postsynaptic_state:
            in_plan = (self.plan.unit_of_synapse(ref.info.name, None) if ref.info.is_synapse
                       else self.plan.unit_of_neuron(ref.info.name))
            if in_plan is None:
                return []
            return [(existing if ref.is_copy else self._real_name(ref), new)]
        pairs = []
        for neuron in self._paired_neurons(ref.info):
            source = self._variant(existing, ref.info, neuron) if ref.is_copy else self._real_name(ref, neuron)
            pairs.append((source, self._variant(new, ref.info, neuron)))
        return pairs

    def model_variants(self, name: str) -> list[str]:
        """Every generated/real model that ``SetDefaults(name, ...)`` must reach."""
        ref = self.resolve(name)
        if ref.info is None:
            return [name]
        if ref.info.reads_postsynaptic_state:
            return [new for _, new in self.copy_variants(name, name)] if ref.is_copy else [
                self._real_name(ref, n) for n in self._paired_neurons(ref.info)]
        if ref.is_copy:
            return [name]
        needed = (self.plan.unit_of_synapse(ref.info.name, None) if ref.info.is_synapse
                  else self.plan.unit_of_neuron(ref.info.name))
        return [self._real_name(ref)] if needed is not None else []

    # --- translation back into the user's names -----------------------------------------

    def to_user(self, value: Any) -> Any:
        """``value`` (a NEST answer) with generated model names replaced by the user's names.

        Only strings, the values of ``model``/``synapse_model`` keys and containers of those are
        visited, so large numeric answers are returned untouched, without a Python-level copy.
        """
        if not self._reverse:
            return value
        if isinstance(value, str):
            return self._reverse.get(value, value)
        if isinstance(value, dict):
            return {k: self.to_user(v) if k in _NAME_KEYS or isinstance(v, dict) else v
                    for k, v in value.items()}
        if isinstance(value, (list, tuple)) and value and isinstance(value[0], (str, dict, list, tuple)):
            return type(value)(self.to_user(v) for v in value)
        return value

    def to_user_text(self, text: str) -> str:
        if self._reverse_pattern is None:
            return text
        return self._reverse_pattern.sub(lambda m: self._reverse[m.group(0)], text)
