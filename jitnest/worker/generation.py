"""Op ``generate``: NEST C++ code for NESTML models (no build).

:func:`op_generate` validates the request, configures, parses and validates like op ``parse``,
turns the request into NESTML's code generator options (:func:`_codegen_options`), runs the code
generation (:mod:`.pipeline`) and answers with what is in the target directory (:mod:`.output`).
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Sequence
from typing import Any

from .messages import RequestError, _error_response, _exception_error, _input_files, _optimise, _string_list
from .names import _source_model_name
from .output import _generated_models, _neutralise_timestamps, _write_log
from .pipeline import _run_code_generation
from .validation import _configure_nestml, _logged_errors, _parse_and_validate, _sorted_unique


def op_generate(request: dict[str, Any]) -> dict[str, Any]:
    """Generate NEST C++ code for the request's files into ``target_dir`` (no build).

    Response ``{"ok": true, "target_dir", "files": [relative names, sorted], "log_file": relative
    name of NESTML's JSON message log, "nest_version", "models": [...], "seconds"}``. Each model:
    ``{"name", "kind", "source_model", "paired", "header", "source", "register_call",
    "recordables"}``; ``register_call`` is the statement of NESTML's module template (from the
    generated ``<module_name>.cpp``) that registers the model. NESTML also emits the unpaired
    neuron of every pair (unless ``paired_only``, which only the optimised path honours): it is
    listed with ``"paired": false``. The
    timestamp that NESTML writes into every file is removed, so the output depends only on the
    inputs (given ``PYTHONHASHSEED=0``).

    ``models`` (optional, source model names) restricts the generation to those models of the
    files: a file may define models the module does not need, and NESTML's code generator checks
    every model it is given against the run's options (given a ``delay_variable`` for one synapse,
    NESTML 9 fails with a KeyError on every other synapse of the run). All models of the files
    are still parsed and validated.
    """
    started = time.perf_counter()
    files = _input_files(request)
    target_dir = _target_dir(request)
    module_name = request.get("module_name")
    if not isinstance(module_name, str) or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*module", module_name):
        raise RequestError("'module_name' must be a C identifier ending in 'module'")
    nest_version = request.get("nest_version") or installed_nest_version()
    if not isinstance(nest_version, str):
        raise RequestError("'nest_version' must be a string such as 'v3.10.0'")
    optimise = _optimise(request)
    paired_only = _flag(request, "paired_only") and optimise

    from pynestml.frontend.frontend_configuration import FrontendConfiguration
    from pynestml.utils.logger import Logger

    _configure_nestml(files, target_dir, module_name=module_name, optimise=optimise)
    models, errors = _parse_and_validate(files)
    if errors:
        return _error_response(errors)
    models = _requested_models(request, models)

    codegen_opts = _codegen_options(request, nest_version, [m for _, m in models])
    FrontendConfiguration.set_codegen_opts(codegen_opts)
    first = Logger.curr_message or 0
    file_of_artifact = {os.path.basename(f): f for f in files}
    branch_errors: list[dict[str, Any]] = []
    try:
        branch_errors = _run_code_generation([m for _, m in models], codegen_opts, paired_only, file_of_artifact,
                                             optimise)
        crash: BaseException | None = None
    except (Exception, SystemExit) as exc:  # noqa: BLE001 -- report NESTML failures as errors
        crash = exc
    log_file = _write_log(target_dir)
    errors = _sorted_unique(_logged_errors(first, file_of_artifact, None) + branch_errors)
    if crash is not None and not errors:  # else it is NESTML's "Error(s) occurred during code generation"
        errors.append(_exception_error(None, crash))
    if errors:
        return _error_response(errors)

    written = _neutralise_timestamps(target_dir)
    return {
        "ok": True,
        "target_dir": target_dir,
        "files": [f for f in written if f != log_file],
        "log_file": log_file,
        "nest_version": nest_version,
        "models": _generated_models(target_dir, module_name),
        "seconds": round(time.perf_counter() - started, 3),
    }


def _requested_models(request: dict[str, Any], models: list[tuple[str, Any]]) -> list[tuple[str, Any]]:
    """The parsed ``(file, model)`` pairs the request's ``models`` names (all if it names none)."""
    wanted = _string_list(request, "models", required=False)
    if not wanted:
        return models
    names = {_source_model_name(m.get_name()) for _, m in models}
    missing = sorted(set(wanted) - names)
    if missing:
        raise RequestError(f"'models' names {', '.join(missing)}, which the files do not define")
    return [(path, m) for path, m in models if _source_model_name(m.get_name()) in wanted]


def _target_dir(request: dict[str, Any]) -> str:
    """The absolute target directory, created (with parents) if missing.

    It must be empty: the response lists every file in it, so stale files from another run must
    not be mistaken for generated ones.
    """
    target_dir = request.get("target_dir")
    if not isinstance(target_dir, str) or not os.path.isabs(target_dir):
        raise RequestError("'target_dir' must be an absolute path")
    os.makedirs(target_dir, exist_ok=True)
    if os.listdir(target_dir):
        raise RequestError(f"'target_dir' must be empty or not exist: {target_dir}")
    return os.path.normpath(target_dir)


def installed_nest_version() -> str:
    """NEST's version in NESTML's format ("v3.10.0"), read from package metadata.

    ``NESTTools.detect_nest_version`` gets the same string by starting a Python process that imports
    ``nest`` (~0.5 s, and the NEST banner); reading the wheel's metadata is instant. Like NESTML, a
    development version (``post0.dev`` pre-release) maps to "main".
    """
    from importlib import metadata

    for dist in ("nest-simulator", "nest_simulator"):
        try:
            version = metadata.version(dist)
            break
        except metadata.PackageNotFoundError:
            continue
    else:
        raise RequestError("'nest_version' not given and no installed NEST (nest-simulator) found")
    return "main" if "post0.dev" in version else "v" + version


def _codegen_options(request: dict[str, Any], nest_version: str, models: Sequence[Any]) -> dict[str, Any]:
    """NESTML's NEST code generator options for the request.

    ``nest_version`` is always set: without it ``NESTCodeGenerator`` starts a process to detect it.
    Continuous post ports given by bare name become ``[name, name]`` (NESTML wants the pair
    ``(synapse port, neuron state variable)``; by default the neuron variable has the same name).
    """
    pairs = request.get("neuron_synapse_pairs", [])
    if not isinstance(pairs, list) or not all(isinstance(p, dict) and "neuron" in p for p in pairs):
        raise RequestError("'neuron_synapse_pairs' must be a list of {'neuron': ..., 'synapses': {...}}")
    extra = request.get("codegen_opts") or {}
    if not isinstance(extra, dict):
        raise RequestError("'codegen_opts' must be an object")
    options: dict[str, Any] = dict(extra)
    options.update({
        "nest_version": nest_version,
        "neuron_synapse_pairs": _normalise_pairs(pairs, {_source_model_name(m.get_name()): m for m in models}),
        "weight_variable": _string_map(request, "weight_variable"),
        "delay_variable": _string_map(request, "delay_variable"),
    })
    synapse_models = _string_list(request, "synapse_models", required=False)
    if synapse_models:
        options["synapse_models"] = synapse_models
    return options


def _string_map(request: dict[str, Any], key: str) -> dict[str, str]:
    """``request[key]`` as a {model name: variable name} dict (``{}`` if absent)."""
    value = request.get(key) or {}
    if not isinstance(value, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in value.items()):
        raise RequestError(f"{key!r} must map synapse model names to variable names")
    return dict(value)


def _normalise_pairs(pairs: list[dict[str, Any]], models: dict[str, Any]) -> list[dict[str, Any]]:
    """Copy of ``pairs`` with continuous post ports written as ``[port, port]``.

    ``models`` maps source model names (without the suffix NESTML appended while parsing) to ASTs.
    """
    normalised = []
    for pair in pairs:
        synapses = {}
        for syn_name, spec in (pair.get("synapses") or {}).items():
            spec = dict(spec or {})
            model = models.get(syn_name)
            continuous = set(model.get_continuous_input_port_names()) if model is not None else set()
            spec["post_ports"] = [[p, p] if isinstance(p, str) and p in continuous else p
                                  for p in spec.get("post_ports", [])]
            synapses[syn_name] = spec
        normalised.append({**pair, "synapses": synapses})
    return normalised


def _flag(request: dict[str, Any], key: str) -> bool:
    value = request.get(key, False)
    if not isinstance(value, bool):
        raise RequestError(f"{key!r} must be true or false")
    return value
