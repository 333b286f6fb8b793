"""Which NEST modules a recorded network needs.

NESTML generates a synapse that reads postsynaptic state (it has post ports, e.g. STDP's
``post_spikes``, or third-factor ``vt_ports``, which NESTML takes only in a pair) together with its
postsynaptic neuron. From the recorded ``Create`` and
``Connect`` calls jitnest derives *units*, each one generated and compiled as one module:

* a NESTML neuron reached by such synapses, with all of them (one combination);
* every other NESTML neuron, alone;
* every NESTML synapse that does not read postsynaptic state, alone.

NEST knows every synapse model also as ``<model>_hpc`` and ``<model>_lbl`` (its *twins*). Each twin
is a further instantiation of NEST's connection templates, most of a module's compile time, so a
unit compiles only the twins the network names (``Unit.twins``).

Contract: ``Requirements.plan()`` is a pure function of what was recorded; two recordings that
need the same models give equal plans, so equal cache keys.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..generate.registration import TWIN_SUFFIXES  # noqa: F401 -- NEST's twins X_hpc, X_lbl (PyNN uses X_lbl)
from ..models.model_info import ModelInfo, pair_spec


@dataclass(frozen=True)
class Unit:
    """One module's worth of models: a neuron alone, a synapse alone, or a neuron with its synapses."""

    neuron: ModelInfo | None
    synapses: tuple[ModelInfo, ...] = ()
    twins: tuple[tuple[str, str], ...] = ()  # sorted (synapse name, "_hpc"/"_lbl") the network names

    def __post_init__(self) -> None:
        if self.neuron is None and len(self.synapses) != 1:
            raise ValueError("a unit without a neuron holds exactly one synapse")

    @property
    def is_combination(self) -> bool:
        return self.neuron is not None and bool(self.synapses)

    @property
    def models(self) -> tuple[ModelInfo, ...]:
        return ((self.neuron,) if self.neuron else ()) + self.synapses

    @property
    def label(self) -> str:
        return " + ".join(m.name for m in self.models)

    def twins_of(self, synapse: str) -> tuple[str, ...]:
        """The twin suffixes of ``synapse`` this unit's module registers."""
        return tuple(suffix for name, suffix in self.twins if name == synapse)

    def describe(self) -> dict:
        """Everything about the unit that changes its module (part of its cache key, and shown in
        the build's manifest): models, sources, the pairing and every NESTML option."""
        pairs, _, _ = self.nestml_pairs()
        described = {
            "neuron": self.neuron.name if self.neuron else None,
            "synapses": [
                {"name": s.name, "post_ports": list(s.post_ports), "weight_variable": s.weight_variable,
                 "delay_variable": s.delay_variable}
                for s in self.synapses
            ],
            "sources": {m.name: m.source_sha256 for m in self.models},
        }
        # (only where they are used, so that keys of units without them stay as they were)
        if any(s.vt_ports or s.continuous_post_ports for s in self.synapses):
            described["pairs"] = pairs
        options = {m.name: m.options for m in self.models if m.options}
        if options:
            described["options"] = options
            described["codegen_opts"] = self.codegen_options()
        if self.twins:
            described["twins"] = [list(twin) for twin in self.twins]
        return described

    def nestml_pairs(self) -> tuple[list[dict], dict[str, str], dict[str, str]]:
        """NESTML's code-generation options for this unit: (neuron_synapse_pairs, weight_variable,
        delay_variable). A continuous post port is given as ``[port, neuron variable]``."""
        pairs: list[dict] = []
        if self.is_combination:
            assert self.neuron is not None
            pairs = [{"neuron": self.neuron.name, "synapses": {s.name: pair_spec(s) for s in self.synapses}}]
        weights = {s.name: s.weight_variable for s in self.synapses if s.weight_variable}
        delays = {s.name: s.delay_variable for s in self.synapses if s.delay_variable}
        return pairs, weights, delays

    def codegen_options(self) -> dict:
        """The unit's further NESTML options: its models' (``ModelInfo.codegen_options``, merged;
        see ``check_options``) and the synapses' strictly synaptic variables."""
        merged: dict = {}
        for model in self.models:
            merged.update(model.codegen_options())
        strictly = {s.name: list(s.options["strictly_synaptic_vars"])
                    for s in self.synapses if s.options.get("strictly_synaptic_vars")}
        if strictly:
            merged["strictly_synaptic_vars"] = strictly
        return merged

    def check_options(self) -> None:
        """Raise ValueError if two models of the unit set one NESTML option to different values
        (NESTML takes one value per generation, and the unit is one generation), or if some of its
        synapses have a delay variable and others not (NESTML 9's code generator then fails with a
        KeyError on those without)."""
        with_delay = [s.name for s in self.synapses if s.delay_variable]
        without_delay = [s.name for s in self.synapses if not s.delay_variable]
        if with_delay and without_delay and self.neuron is not None:
            raise ValueError(f"{', '.join(with_delay)} (with a delay_variable) and {', '.join(without_delay)} "
                             f"(without) are generated together, paired with {self.neuron.name} in one NEST module; "
                             "NESTML 9 then needs a delay variable for every synapse of the module: set one with "
                             f"jitnest.set_model_options({without_delay[0]!r}, delay_variable=...), or connect them "
                             "to different neuron models")
        seen: dict[str, tuple[str, object]] = {}
        for model in self.models:
            for key, value in model.codegen_options().items():
                if key in seen and seen[key][1] != value:
                    raise ValueError(f"{seen[key][0]} and {model.name} are generated together (one NEST module) "
                                     f"but set the NESTML option {key!r} differently ({seen[key][1]!r} and "
                                     f"{value!r})")
                seen[key] = (model.name, value)

    def without_twins(self) -> Unit:
        """The same models; what NESTML generates does not depend on the twins."""
        return Unit(self.neuron, self.synapses) if self.twins else self


@dataclass(frozen=True)
class Plan:
    """The set of units a network needs."""

    units: frozenset[Unit] = frozenset()

    def unit_of_neuron(self, neuron: str) -> Unit | None:
        return next((u for u in self.units if u.neuron is not None and u.neuron.name == neuron), None)

    def unit_of_synapse(self, synapse: str, post_neuron: str | None) -> Unit | None:
        for unit in self.units:
            if any(s.name == synapse for s in unit.synapses):
                if unit.neuron is None or (post_neuron is not None and unit.neuron.name == post_neuron):
                    return unit
        return None

    def sorted_units(self) -> list[Unit]:
        return sorted(self.units, key=lambda u: u.label)


@dataclass
class Requirements:
    """NESTML models a network uses, accumulated call by call since the last ResetKernel."""

    neurons: dict[str, ModelInfo] = field(default_factory=dict)
    lone_synapses: dict[str, ModelInfo] = field(default_factory=dict)
    # postsynaptic neuron name -> {synapse name -> synapse}
    paired: dict[str, dict[str, ModelInfo]] = field(default_factory=dict)
    twins: frozenset[tuple[str, str]] = frozenset()  # (synapse name, suffix) named by the network

    def add_neuron(self, neuron: ModelInfo) -> None:
        self.neurons[neuron.name] = neuron

    def add_synapse(self, synapse: ModelInfo, post_neurons: list[ModelInfo]) -> None:
        if not synapse.reads_postsynaptic_state:
            self.lone_synapses[synapse.name] = synapse
            return
        for neuron in post_neurons:
            self.neurons[neuron.name] = neuron
            self.paired.setdefault(neuron.name, {})[synapse.name] = synapse

    def add_twin(self, synapse: ModelInfo, suffix: str) -> None:
        """The network names ``<synapse>_hpc`` or ``<synapse>_lbl``: compile that twin too."""
        self.twins = self.twins | {(synapse.name, suffix)}

    def copy(self) -> Requirements:
        return Requirements(dict(self.neurons), dict(self.lone_synapses),
                            {k: dict(v) for k, v in self.paired.items()}, self.twins)

    def plan(self) -> Plan:
        units = set()
        for name, neuron in self.neurons.items():
            synapses = tuple(sorted(self.paired.get(name, {}).values(), key=lambda s: s.name))
            units.add(Unit(neuron, synapses, self._twins_of(synapses)))
        for synapse in self.lone_synapses.values():
            units.add(Unit(None, (synapse,), self._twins_of((synapse,))))
        return Plan(frozenset(units))

    def _twins_of(self, synapses: tuple[ModelInfo, ...]) -> tuple[tuple[str, str], ...]:
        names = {s.name for s in synapses}
        return tuple(sorted(twin for twin in self.twins if twin[0] in names))
