"""A NESTML model's defaults before it is built: the keys NEST will accept and report, and their values.

``ModelDefaults`` answers ``GetDefaults`` and checks ``SetDefaults``/``CopyModel``/``Create(params)``
for a model that is not built yet, from its description (``ModelInfo``):

* its declared parameters and state variables, under NEST's names, with the values the compiled
  model reports;
* NEST's keys of every model of its kind: for a synapse those of NEST's ``static_synapse`` (see
  ``nest_keys``: ``weight``/``delay`` mean the model's weight/delay variables, ``receptor_type``,
  ``weight_recorder``, and read-only keys), plus ``volume_transmitter`` for a synapse with
  third-factor ports (NESTML's generated synapse reads it, and does not report it); for a neuron
  NEST's node base keys and, where the generated model reports them, ``receptor_types`` and
  ``continuous_inputs`` (read-only);
* for a neuron that the recorded network pairs with a synapse, what NESTML adds to it
  (``<var>__for_<synapse>_nestml``: moved state variables, copied parameters; ``model_info.load_paired``),
  applied when a question needs it (``sync_pairing``), since that costs a NESTML run the first time.

Contract: a key NEST would refuse raises NEST's own error class (``UnaccessedDictionaryEntry`` for
writes, ``KeyError`` for reads); a value only the kernel knows (``num_connections``, values drawn
from ``nest.random``, defaults the worker could not evaluate) raises ``NeedsKernel``, and the
caller builds the network and asks NEST. Answers are never guessed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..call_site import CallSite
from ..errors import UnknownParameterError
from ..pynest import NESTErrors
from . import nest_keys
from .model_info import ModelInfo, PairedVariables
from .model_path import NESTML_SUFFIX

# Status keys that NEST's node base classes write after the model's own values: a NESTML
# declaration of the same name (hill_tononi_neuron's parameter t_spike) is shadowed by NEST's
# value (the last spike time), so only NEST can answer for it.
_NEST_OWNED_KEYS = frozenset({"t_spike"})
_INTEGER_TYPES = {"integer", "int"}
_BOOLEAN_TYPES = {"boolean", "bool"}

# Every NESTML neuron is a NEST ArchivingNode. These keys of NEST's node base classes (Node,
# StructuralPlasticityNode, ArchivingNode) are in its status and accepted by SetStatus/SetDefaults;
# NEST 3.10's defaults (tests check them against a built-in neuron). PyNN, for one, sets tau_minus.
NODE_BASE_PARAMETERS: dict[str, Any] = {
    "Ca": 0.0, "beta_Ca": 0.001, "tau_Ca": 10000.0, "tau_minus": 20.0, "tau_minus_triplet": 110.0,
    "frozen": False, "ignore_and_spike": False, "ignore_and_spike_interval": 100.0, "ignore_and_spike_offset": 1.0,
}
# Read-only keys of a node's status that only the kernel can tell.
NODE_KERNEL_KEYS = frozenset({"archiver_length", "local", "model_id", "node_uses_wfr", "post_trace",
                              "synaptic_elements", "t_spike", "thread", "thread_local_id", "vp"})
# Keys of NEST's synapse defaults whose values depend on the kernel (the network, the model's C++
# size, the order models were registered in): answered by NEST after the build.
SYNAPSE_KERNEL_KEYS = frozenset({"num_connections", "sizeof", "synapse_modelid"})
# What a neuron's GetDefaults reports besides its keys (synapses have these among NEST's keys).
_NEURON_STATUS_KEYS = frozenset({"model", "element_type", "recordables"})
# Read by NESTML's generated synapse when it has vt_ports (NEST's names::volume_transmitter).
VOLUME_TRANSMITTER = "volume_transmitter"
# A synapse model's weight and delay, as NEST reports them besides the model's own variables.
SYNAPSE_DEFAULT_DELAY = 1.0
SYNAPSE_DEFAULT_WEIGHT = 1.0


class NeedsKernel(Exception):
    """The answer depends on something only NEST knows (e.g. a value drawn from nest.random)."""


def declared_type(declaration: dict) -> type:
    text = str(declaration.get("type", "")).strip()
    if text in _INTEGER_TYPES:
        return int
    if text in _BOOLEAN_TYPES:
        return bool
    return float


def as_given(value: Any) -> Any:
    """The converter of keys whose values NEST keeps as objects (a weight recorder's NodeCollection)."""
    return value


def _converter(default: Any) -> Callable[[Any], Any]:
    return type(default) if isinstance(default, (bool, int, float)) else as_given


def is_random(value: Any) -> bool:
    return type(value).__name__ == "Parameter" and hasattr(value, "GetValue")


@dataclass
class ModelDefaults:
    """A NESTML model's keys (``types``: key -> converter) with current default values."""

    model: str
    info: ModelInfo
    values: dict[str, Any]
    types: dict[str, Callable[[Any], Any]]
    unknown: set[str] = field(default_factory=set)  # defaults that only the built model can tell
    vectors: set[str] = field(default_factory=set)  # vector-valued declarations (answered by NEST)
    read_only: set[str] = field(default_factory=set)  # reported by NEST, refused by SetDefaults
    write_only: set[str] = field(default_factory=set)  # accepted by SetDefaults, not reported
    kernel_keys: set[str] = field(default_factory=set)  # reported by NEST with a value only it knows
    # Neurons: the synapses the network pairs it with, and what each adds (see module docstring).
    pairing: Callable[[], Sequence[tuple[str, PairedVariables]]] | None = None
    paired: dict[str, PairedVariables] = field(default_factory=dict)
    # Neurons: what a pairing with a NESTML synapse (source name) would add, None if it adds nothing;
    # lets SetDefaults name such a variable before the Connect that pairs them (NESTML's own tests
    # do); those keys stay ``provisional`` (reads need the kernel) until a Connect pairs them.
    speculate: Callable[[str], PairedVariables | None] | None = None
    provisional: dict[str, set[str]] = field(default_factory=dict)  # synapse -> keys

    @classmethod
    def from_info(cls, model: str, info: ModelInfo) -> ModelDefaults:
        defaults = cls(model, info, {}, {})
        moved = set(info.moved_to_neuron)  # NESTML moves these into the paired neuron
        defaults._declare((d for d in (*info.parameters, *info.state) if d["name"] not in moved), info.defaults)
        if info.is_synapse:
            defaults._add_synapse_keys()
        else:
            for key, default in NODE_BASE_PARAMETERS.items():
                if key not in defaults.types:
                    defaults.types[key] = type(default)
                    defaults.values[key] = default
            for key in ("receptor_types", "continuous_inputs"):
                value = getattr(info, key)
                if value is not None:
                    defaults.types[key] = as_given
                    defaults.values[key] = dict(value)
                    defaults.read_only.add(key)
        return defaults

    def _declare(self, declarations: Iterable[dict], values: dict[str, Any]) -> None:
        """Add declared variables with their default values (as the worker evaluated them)."""
        for declaration in declarations:
            name = declaration.get("nest_name") or declaration["name"]  # NEST's key (x' is x__d, ...)
            kind = declared_type(declaration)
            self.types[name] = kind
            if declaration.get("vector_size") is not None:
                self.vectors.add(name)
            value = values.get(name)
            if name in values and name not in self.vectors and not isinstance(value, (list, dict)) \
                    and name not in _NEST_OWNED_KEYS:
                self.values[name] = kind(value)
            else:
                self.unknown.add(name)

    def _add_synapse_keys(self) -> None:
        """NEST's keys of every synapse (from ``static_synapse``), weight and delay as the model's."""
        info = self.info
        base = nest_keys.synapse_keys()
        for key, default in base.defaults.items():
            if key in self.types:
                continue
            self.types[key] = _converter(default)
            variable = {"weight": info.weight_variable, "delay": info.delay_variable}.get(key)
            if key in ("weight", "delay"):
                self.types[key] = float
                fallback = SYNAPSE_DEFAULT_WEIGHT if key == "weight" else SYNAPSE_DEFAULT_DELAY
                if variable in self.unknown:
                    self.unknown.add(key)
                else:
                    self.values[key] = float(self.values.get(variable, fallback))
            elif key in SYNAPSE_KERNEL_KEYS:
                self.kernel_keys.add(key)
            elif key == "synapse_model":
                self.values[key] = self.model
            else:
                self.values[key] = default
            if key not in base.writable:
                self.read_only.add(key)
        if info.vt_ports:
            self.types[VOLUME_TRANSMITTER] = as_given
            self.write_only.add(VOLUME_TRANSMITTER)

    # --- pairing --------------------------------------------------------------------------

    def sync_pairing(self) -> None:
        """Add what the synapses the network now pairs this neuron with add to it (once each)."""
        if self.pairing is None:
            return
        for synapse, added in self.pairing():
            if synapse in self.paired:
                continue
            self.paired[synapse] = added
            if self.provisional.pop(synapse, None) is None:
                self._declare_paired(added)

    def _declare_paired(self, added: PairedVariables) -> None:
        self._declare((*added.parameters, *added.state), added.defaults)
        self.unknown.update(u["name"] for u in added.unevaluated)

    def _accept_speculatively(self, key: str) -> bool:
        """Whether ``key`` is ``<var>__for_<synapse>_nestml`` of a synapse that, paired with this neuron,
        adds it (then it is declared, provisionally: see ``speculate``)."""
        if self.speculate is None or "__for_" not in key or not key.endswith(NESTML_SUFFIX):
            return False
        synapse = key.rsplit("__for_", 1)[1][: -len(NESTML_SUFFIX)]
        if synapse in self.paired or synapse in self.provisional:
            return False
        added = self.speculate(synapse)
        if added is None or key not in {d.get("nest_name") or d["name"] for d in (*added.parameters, *added.state)}:
            return False
        self._declare_paired(added)
        self.provisional[synapse] = {d.get("nest_name") or d["name"] for d in (*added.parameters, *added.state)}
        return True

    def is_provisional(self, key: str) -> bool:
        """A key accepted for a pairing that no Connect has made yet (only the build can tell)."""
        return any(key in keys for keys in self.provisional.values())

    def paired_default(self, key: str) -> tuple[bool, Any]:
        """``(True, value)`` if ``key`` was added by a pairing with a default NESTML declares."""
        for added in self.paired.values():
            if key in added.defaults:
                return True, added.defaults[key]
        return False, None

    def recordables(self) -> list[str]:
        """What a multimeter can record from the model (with the variables pairing adds)."""
        self.sync_pairing()
        return sorted({*self.info.recordables, *(r for added in self.paired.values() for r in added.recordables)})

    # --- keys and values ------------------------------------------------------------------

    def _twin_of(self, key: str) -> str | None:
        """For a synapse: ``weight`` <-> its weight variable, ``delay`` <-> its delay variable."""
        if not self.info.is_synapse:
            return None
        pairs = {"weight": self.info.weight_variable, "delay": self.info.delay_variable}
        pairs.update({v: k for k, v in list(pairs.items()) if v})
        twin = pairs.get(key)
        return twin if twin and twin != key else None

    def copy(self, model: str) -> ModelDefaults:
        copied = ModelDefaults(model, self.info, dict(self.values), dict(self.types), set(self.unknown),
                               set(self.vectors), set(self.read_only), set(self.write_only), set(self.kernel_keys),
                               self.pairing, dict(self.paired), self.speculate,
                               {k: set(v) for k, v in self.provisional.items()})
        if "synapse_model" in copied.values:
            copied.values["synapse_model"] = model
        return copied

    def readable(self, key: str) -> bool:
        if not self.info.is_synapse and key in _NEURON_STATUS_KEYS:
            return True
        if key not in self.types and not key.startswith("_"):
            self.sync_pairing()  # (a key a pairing adds; nothing to do for a NEST key)
        return key in self.types and key not in self.write_only

    def check_keys(self, keys: Iterable[str], site: CallSite | None) -> None:
        """Raise NEST's UnaccessedDictionaryEntry for keys that SetDefaults/SetStatus would not accept."""
        keys = list(keys)
        if any(k not in self.types for k in keys):
            self.sync_pairing()
            for key in keys:
                if key not in self.types:
                    self._accept_speculatively(key)
        unknown = sorted(k for k in keys if k not in self.types or k in self.read_only)
        if unknown:
            settable = sorted(k for k in self.types if k not in self.read_only)
            raise UnknownParameterError(
                f"Unaccessed elements in params: {', '.join(unknown)} (model {self.model} has no such parameter "
                f"or state variable that can be set{self._pairing_hint(unknown)}; it has: {', '.join(settable)})",
                site)

    def _pairing_hint(self, keys: list[str]) -> str:
        if self.info.is_synapse or not any("__for_" in k for k in keys):
            return ""
        paired = ", ".join(sorted(self.paired)) or "no synapse"
        return (f"; variables <name>__for_<synapse>_nestml exist once a Connect pairs the neuron with that "
                f"synapse; the network so far pairs it with {paired}")

    def update(self, params: dict, site: CallSite | None) -> None:
        self.check_keys(params, site)
        if self.info.is_synapse and self.info.weight_variable not in (None, "weight") \
                and "weight" in params and self.info.weight_variable in params:
            raise NESTErrors.BadProperty(f"To prevent inconsistencies, please set either 'weight' or "
                                         f"'{self.info.weight_variable}' variable; not both at the same time.")
        for key, value in params.items():
            keys = [key] + ([twin] if (twin := self._twin_of(key)) is not None else [])
            for k in keys:
                if is_random(value) or key in self.vectors:
                    self.unknown.add(k)
                    self.values.pop(k, None)
                else:
                    self.values[k] = self.types[k](value)
                    self.unknown.discard(k)

    def status(self, keys: Sequence[str] | None = None) -> dict[str, Any]:
        """What ``GetDefaults`` answers before the build: for ``keys``, or (None) the declared keys
        plus the NEST keys jitnest knows (not the kernel's: ``num_connections``, ...)."""
        if not self.info.is_synapse:
            self.sync_pairing()
        if keys is not None:
            missing = [k for k in keys if not self.readable(k)]
            if missing:
                raise KeyError(missing[0])
            needed = [k for k in keys if k in self.unknown or k in self.kernel_keys or self.is_provisional(k)]
            if needed:
                raise NeedsKernel(needed)
            return {k: self._status_value(k) for k in keys}
        if self.unknown or self.provisional:
            raise NeedsKernel(sorted(self.unknown | {k for keys in self.provisional.values() for k in keys}))
        status = {k: v for k, v in self.values.items() if k not in self.write_only}
        if not self.info.is_synapse:
            status.update(model=self.model, element_type="neuron", recordables=tuple(self.recordables()))
        return status

    def _status_value(self, key: str) -> Any:
        if key == "model" and not self.info.is_synapse:
            return self.model
        if key == "recordables" and not self.info.is_synapse:
            return tuple(self.recordables())
        if key == "element_type" and not self.info.is_synapse:
            return "neuron"
        return self.values[key]
