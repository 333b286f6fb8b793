"""Op ``describe_pair``: what a neuron gains when NESTML pairs it with synapses (no code generation).

NESTML moves the state variables a synapse updates only on postsynaptic events (STDP's
``post_trace``) into the paired neuron as ``<var>__for_<synapse>_nestml``, and copies the parameters
their dynamics need (``tau_tr_post__for_stdp_synapse_nestml``); the paired neuron reports and
accepts them, and records the moved state variables. Which variables move depends on the pair's
options (post ports, weight/delay variable, strictly synaptic variables), so instead of mirroring
the rules this op runs NESTML's own transformers up to and including the pairing
(``SynapsePostNeuronTransformer``) on the parsed models and describes the paired neuron the way
op ``parse`` describes a model (:func:`.describe.describe_model`).

Request: ``{"op": "describe_pair", "files": [...], "neuron": name, "synapses": {name: {"post_ports":
[...], "vt_ports": [...]}}, "weight_variable": {...}, "delay_variable": {...},
"strictly_synaptic_vars": {...}}`` (as in op ``generate``). Response ``{"ok": true, "neuron": MODEL,
"seconds"}``: MODEL describes the paired neuron under NEST's names (the model named
``<neuron>_nestml__with_...``, variables with their ``__for_<synapse>_nestml`` suffix).
"""

from __future__ import annotations

import os
import tempfile
import time
from typing import Any

from .describe import describe_model
from .generation import _normalise_pairs, _string_map
from .messages import RequestError, _error_response, _exception_error, _input_files, _optimise
from .names import SUFFIX, _source_model_name
from .validation import _configure_nestml, _logged_errors, _parse_and_validate


def op_describe_pair(request: dict[str, Any]) -> dict[str, Any]:
    """Pair the request's neuron with its synapses as NESTML's NEST pipeline does; describe the result."""
    started = time.perf_counter()
    files = _input_files(request)
    neuron = request.get("neuron")
    synapses = request.get("synapses")
    if not isinstance(neuron, str) or not isinstance(synapses, dict) or not synapses:
        raise RequestError("'neuron' must be a model name and 'synapses' a non-empty {name: options} object")
    strictly = request.get("strictly_synaptic_vars") or {}
    if not isinstance(strictly, dict):
        raise RequestError("'strictly_synaptic_vars' must map synapse names to lists of variables")

    from pynestml.frontend import pynestml_frontend as frontend
    from pynestml.transformers.synapse_post_neuron_transformer import SynapsePostNeuronTransformer
    from pynestml.utils.logger import Logger

    with tempfile.TemporaryDirectory(prefix="jitnest_pair_") as scratch:
        _configure_nestml(files, os.path.join(scratch, "target"), optimise=_optimise(request))
        models, errors = _parse_and_validate(files)
        if errors:
            return _error_response(errors)
        by_source = {_source_model_name(m.get_name()): m for _, m in models}
        pairs = _normalise_pairs([{"neuron": neuron, "synapses": synapses}], by_source)
        options = {"neuron_synapse_pairs": pairs, "weight_variable": _string_map(request, "weight_variable"),
                   "delay_variable": _string_map(request, "delay_variable"), "strictly_synaptic_vars": strictly}
        first = Logger.curr_message or 0
        transformers, _ = frontend.transformers_from_target_name("NEST", options=options)
        transformed: list[Any] = [m for _, m in models]
        metadata: dict[str, dict[str, Any]] = {}
        try:
            for transformer in transformers:
                transformed = list(transformer.transform(transformed, metadata))
                if isinstance(transformer, SynapsePostNeuronTransformer):
                    break
        except Exception as exc:  # noqa: BLE001 -- NESTML's pairing raises plain exceptions and asserts
            return _error_response(_logged_errors(first, {}, None) or [_exception_error(None, exc)])
        paired_name = f"{neuron}{SUFFIX}__with_"
        paired = next((m for m in transformed if m.get_name().startswith(paired_name)), None)
        if paired is None:
            return _error_response(_logged_errors(first, {}, None) or [_exception_error(
                None, RuntimeError(f"NESTML did not pair {neuron} with {', '.join(synapses)}"))])
        path = next(p for p, m in models if _source_model_name(m.get_name()) == neuron)
        described = describe_model(paired, path, "neuron")
    return {"ok": True, "neuron": described, "seconds": round(time.perf_counter() - started, 3)}
