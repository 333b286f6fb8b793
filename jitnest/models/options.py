"""Per-model options: what NESTML needs to be told about a model that jitnest cannot infer.

By hand, a user passes NESTML ``codegen_opts`` per generation run: which variable is a synapse's
weight, which ports carry postsynaptic signals, which neuron variable a continuous post port
reads, gap junctions, the buffering method, ... jitnest infers most of this from the models and
the network; where it cannot, the user says it once per model::

    jitnest.set_model_options("noisy_synapse", weight_variable="w")
    jitnest.set_model_options("third_factor_synapse", post_port_variables={"I_post_dend": "I_dAP"})
    jitnest.set_model_options("iaf_psc_exp_neuron", gap_junctions={"membrane_potential_variable": "V_m",
                                                                   "gap_current_port": "I_gap"})
    jitnest.set_model_options("my_synapse", codegen_opts={"continuous_state_buffering_method": "post_spike_based"})

Options are part of the model's identity: they change its description, the units it is generated
in, their cache keys (``Unit.describe``) and the build's manifest.

Contract: ``ModelOptions.validate`` raises ``ValueError`` for unknown options and wrong types, at
the user's call; what NESTML itself rejects (an unknown ``codegen_opts`` entry, a variable the model
lacks) is reported by the build with the line that named the model.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

# option -> (kind of model it applies to, type, meaning)
OPTIONS: dict[str, tuple[str, type, str]] = {
    "weight_variable": ("synapse", str, "the variable NEST shows as the synapse's 'weight' (NESTML's weight_variable)"),
    "delay_variable": ("synapse", str, "the variable NEST shows as the synapse's 'delay' (NESTML's delay_variable)"),
    "post_ports": ("synapse", list, "input ports that carry the postsynaptic neuron's spikes or variables "
                                    "(default: spike ports named *post*, and every continuous port)"),
    "vt_ports": ("synapse", list, "spike ports fed by a NEST volume_transmitter (default: every spike port that "
                                  "is neither presynaptic nor a post port)"),
    "post_port_variables": ("synapse", dict, "continuous post port -> the neuron variable it reads "
                                             "(default: the variable of the port's name)"),
    "strictly_synaptic_vars": ("synapse", list, "state variables NESTML must keep in the synapse when paired"),
    "continuous_state_buffering_method": ("any", str, "NESTML's continuous_state_buffering_method for the "
                                                      "units the model is generated in"),
    "gap_junctions": ("neuron", dict, "NESTML's gap_junctions option (enable is implied)"),
    "codegen_opts": ("any", dict, "any other entry of NESTML's NEST code-generator options, for the units "
                                  "the model is generated in"),
}
# What jitnest derives itself (or sets per model above): not accepted inside codegen_opts.
_RESERVED_CODEGEN = frozenset({"neuron_synapse_pairs", "weight_variable", "delay_variable", "strictly_synaptic_vars",
                               "nest_version", "synapse_models", "gap_junctions", "continuous_state_buffering_method"})
# Options the NESTML worker needs to describe a model (they change its parse answer).
DESCRIPTION_KEYS = ("weight_variable", "delay_variable", "post_ports", "vt_ports", "strictly_synaptic_vars")


def validate(model: str, options: Mapping[str, Any]) -> dict[str, Any]:
    """``options`` checked and normalised (JSON-compatible, sorted); raises ValueError."""
    checked: dict[str, Any] = {}
    for key, value in options.items():
        if key not in OPTIONS:
            raise ValueError(f"unknown model option {key!r} for {model}; jitnest knows: {', '.join(sorted(OPTIONS))}")
        _, kind, _ = OPTIONS[key]
        if not isinstance(value, kind):
            raise ValueError(f"model option {key!r} of {model} must be a {kind.__name__}, not {type(value).__name__}")
        if kind is list and not all(isinstance(v, str) for v in value):
            raise ValueError(f"model option {key!r} of {model} must be a list of names")
        if key == "post_port_variables" and not all(isinstance(v, str) for v in value.values()):
            raise ValueError(f"model option 'post_port_variables' of {model} must map port names to variable names")
        if key == "codegen_opts":
            reserved = sorted(set(value) & _RESERVED_CODEGEN)
            if reserved:
                raise ValueError(f"codegen_opts of {model} must not set {', '.join(reserved)}: jitnest derives "
                                 "them from the network, or takes them as model options of their own")
        try:
            json.dumps(value)
        except TypeError:
            raise ValueError(f"model option {key!r} of {model} must be plain data (JSON)") from None
        checked[key] = value
    return json.loads(json.dumps(checked, sort_keys=True))


def check_kind(model: str, options: Mapping[str, Any], is_synapse: bool) -> None:
    """Raise ValueError for an option of the other kind of model (e.g. weight_variable on a neuron)."""
    for key in options:
        applies_to = OPTIONS[key][0]
        if applies_to != "any" and applies_to != ("synapse" if is_synapse else "neuron"):
            raise ValueError(f"model option {key!r} applies to {applies_to}s; {model} is a "
                             f"{'synapse' if is_synapse else 'neuron'}")


def description_options(options: Mapping[str, Any]) -> dict[str, Any]:
    """The options the NESTML worker's description of the model depends on."""
    return {k: options[k] for k in DESCRIPTION_KEYS if k in options}


def unit_codegen_options(options: Mapping[str, Any]) -> dict[str, Any]:
    """A model's contribution to the NESTML options of every unit it is generated in."""
    result = dict(options.get("codegen_opts", {}))
    if "continuous_state_buffering_method" in options:
        result["continuous_state_buffering_method"] = options["continuous_state_buffering_method"]
    if "gap_junctions" in options:
        result["gap_junctions"] = {"enable": True, **options["gap_junctions"]}
    return result


class ModelOptions:
    """The options set per model name (source model name, without the ``_nestml`` suffix)."""

    def __init__(self) -> None:
        self._options: dict[str, dict[str, Any]] = {}

    def set(self, model: str, options: Mapping[str, Any]) -> None:
        """Replace ``model``'s options (an empty mapping removes them)."""
        checked = validate(model, options)
        if checked:
            self._options[model] = checked
        else:
            self._options.pop(model, None)

    def get(self, model: str) -> dict[str, Any]:
        return dict(self._options.get(model, {}))
