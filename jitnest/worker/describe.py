"""Op ``parse``: parse and validate model files and describe every model for jitnest.

:func:`op_parse` answers the request; :func:`describe_model` is the MODEL dict of its response
(see there for the keys), with default values from :mod:`.defaults` and recordables from
:mod:`.recordables`; :func:`describe_synapse` adds what a neuron-synapse pair needs, inferred from
the synapse's source.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable, Sequence
from typing import Any

from .defaults import _vector_size_expression, evaluate_defaults
from .messages import RequestError, _error_response, _input_files, _optimise, _string_list
from .names import nest_name
from .recordables import recordables
from .validation import _configure_nestml, _parse_and_validate


def op_parse(request: dict[str, Any]) -> dict[str, Any]:
    """Parse and validate the request's files; describe every model (see :func:`describe_model`)."""
    import tempfile

    started = time.perf_counter()
    files = _input_files(request)
    synapse_models = _string_list(request, "synapse_models", required=False)
    options = model_options(request)
    # NESTML insists on a target path (and creates it); nothing is written there by a parse.
    with tempfile.TemporaryDirectory(prefix="jitnest_parse_") as scratch:
        _configure_nestml(files, os.path.join(scratch, "target"), suffix="", optimise=_optimise(request))
        models, errors = _parse_and_validate(files)
        if errors:
            return _error_response(errors)
        kinds = _model_kinds([m for _, m in models], synapse_models)
        described = [describe_model(m, path, kinds[m.get_name()], options.get(m.get_name(), {})) for path, m in models]
    return {"ok": True, "models": described, "seconds": round(time.perf_counter() - started, 3)}


# The options of a model that change its description (see describe_synapse), with their types.
DESCRIPTION_OPTIONS = {"weight_variable": str, "delay_variable": str, "post_ports": list, "vt_ports": list,
                       "strictly_synaptic_vars": list}


def model_options(request: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The request's ``model_options``: ``{model name: {option: value}}`` (see DESCRIPTION_OPTIONS)."""
    value = request.get("model_options") or {}
    if not isinstance(value, dict) or not all(isinstance(v, dict) for v in value.values()):
        raise RequestError("'model_options' must map model names to objects")
    for name, options in value.items():
        for key, option in options.items():
            kind = DESCRIPTION_OPTIONS.get(key)
            if kind is None or not isinstance(option, kind) or (
                    kind is list and not all(isinstance(v, str) for v in option)):
                raise RequestError(f"model_options of {name!r}: bad option {key!r}")
    return value


def _model_kinds(models: Sequence[Any], synapse_models: Sequence[str]) -> dict[str, str]:
    """Classify models with NESTML's own rule (``CodeGeneratorUtils.get_model_types_from_names``).

    NESTML 9 has no syntax for the kind: a model is a synapse if its name (minus the suffix and any
    ``__with_...`` part) ends in ``synapse`` or is listed in the ``synapse_models`` option; every
    other model is a neuron.
    """
    from pynestml.codegeneration.code_generator_utils import CodeGeneratorUtils

    neurons, synapses = CodeGeneratorUtils.get_model_types_from_names(models, synapse_models=list(synapse_models))
    kinds = {m.get_name(): "neuron" for m in neurons}
    kinds.update({m.get_name(): "synapse" for m in synapses})
    return kinds


def describe_model(model: Any, path: str, kind: str, options: dict[str, Any] | None = None) -> dict[str, Any]:
    """The MODEL dict of a parsed, valid model.

    Keys: ``name``, ``file``, ``line`` (of the ``model`` keyword), ``kind`` ("neuron"/"synapse"),
    ``input_ports`` (``{"name", "kind": "spike"|"continuous", "line"}``), ``parameters``,
    ``state``, ``internals`` (``{"name", "nest_name", "type", "expression", "line", "vector_size"}``
    in declaration order; ``type`` and ``expression`` are NESTML source text, ``nest_name`` is the
    name in NEST, which differs for ``x'`` and ``g$``), ``value_nest_units`` (parameters and state
    variables by NEST name, see :func:`evaluate_defaults`), ``internal_values`` (the
    model's own internals, which GetStatus shows too; NESTML-added internals such as ``__h`` and
    propagators depend on the resolution and are not listed), ``unevaluated``
    (``[{"name", "reason"}]``, parameters and state variables only), ``recordables``
    (see :func:`recordables`), ``notes`` (caveats found while describing, normally empty), and for
    neurons ``receptor_types`` and ``continuous_inputs`` (see :func:`receptor_types`) and
    ``inline_expressions`` (names; a continuous post port of a paired synapse may read one).

    Synapses additionally have ``weight_variable``, ``delay_variable``, ``weight_variable_guess``,
    ``post_ports`` and ``vt_ports`` (see :func:`describe_synapse`). Their values describe the
    source model: in a generated neuron-synapse pair, NEST shows the weight variable also as
    ``weight``, and variables NESTML moves into the neuron (e.g. stdp_synapse's ``post_trace``)
    appear in the neuron's status as ``<var>__for_<synapse>_nestml`` instead of the connection's.
    """
    notes: list[str] = []
    defaults = evaluate_defaults(model, kind, notes)
    info: dict[str, Any] = {
        "name": model.get_name(),
        "file": path,
        "line": model.get_source_position().get_start_line(),
        "kind": kind,
        "input_ports": input_ports(model),
        "parameters": declarations(model.get_parameters_blocks()),
        "state": declarations(model.get_state_blocks()),
        "internals": declarations(model.get_internals_blocks()),
        "value_nest_units": defaults.values,
        "internal_values": defaults.internal_values,
        "unevaluated": defaults.unevaluated,
        "recordables": recordables(model, defaults.kernel_state, defaults.values) if kind == "neuron" else [],
        "notes": notes,
    }
    if kind == "synapse":
        info.update(describe_synapse(model, options or {}))
    else:
        info.update(receptor_types(model))
        info["inline_expressions"] = [s.get_symbol_name() for s in model.get_inline_expression_symbols()]
    return info


def receptor_types(model: Any) -> dict[str, Any]:
    """``receptor_types`` and ``continuous_inputs`` as the generated neuron reports them (None where it
    reports no such key).

    Mirrors NESTML's ``NeuronHeader.jinja2`` (get_status): ``receptor_types`` exists when the model has
    more than one spike port that is both excitatory and inhibitory, or a vector spike port; it maps
    each port (upper case; a vector port of size n as ``PORT_0`` ... ``PORT_<n-1>``) to its rport + 1,
    numbered by ``ASTUtils.get_spike_input_ports_in_pairs``. ``continuous_inputs`` exists when the
    model has more than one continuous port and maps each (upper case) to its index.
    """
    from pynestml.utils.ast_utils import ASTUtils

    receptors = None
    if len(model.get_multiple_receptors()) > 1 or model.is_multisynapse_spikes():
        receptors = {}
        for rport, ports in ASTUtils.get_spike_input_ports_in_pairs(model).items():
            for port in ports:
                if not port.has_vector_parameter():
                    receptors[port.get_symbol_name().upper()] = rport + 1
                else:
                    for i in range(ASTUtils.get_numeric_vector_size(port)):
                        receptors[f"{port.get_symbol_name().upper()}_{i}"] = rport + i + 1
    continuous = None
    ports = model.get_continuous_input_ports()
    if len(ports) > 1:
        continuous = {port.get_symbol_name().upper(): index for index, port in enumerate(ports)}
    return {"receptor_types": receptors, "continuous_inputs": continuous}


def input_ports(model: Any) -> list[dict[str, Any]]:
    """The model's input ports in declaration order."""
    ports = []
    for block in model.get_input_blocks():
        for port in block.get_input_ports():
            kind = "spike" if port.is_spike() else "continuous"
            ports.append({"name": port.get_name(), "kind": kind, "line": port.get_source_position().get_start_line()})
    return ports


def declarations(blocks: Iterable[Any]) -> list[dict[str, Any]]:
    """One entry per declared variable of the given blocks, in declaration order."""
    from pynestml.codegeneration.printers.nestml_printer import NESTMLPrinter

    printer = NESTMLPrinter()
    entries = []
    for block in blocks:
        for decl in block.get_declarations():
            for var in decl.get_variables():
                size = _vector_size_expression(decl, var)
                entries.append({
                    "name": var.get_complete_name(),
                    "nest_name": nest_name(var.get_complete_name()),
                    "type": printer.print(decl.get_data_type()),
                    "expression": printer.print(decl.get_expression()) if decl.has_expression() else None,
                    "line": decl.get_source_position().get_start_line(),
                    "vector_size": printer.print(size) if size is not None else None,
                })
    return entries


# ---------------------------------------------------------------------------------------------
#   Synapse-specific inference: weight/delay variable, post ports, volume-transmitter ports
# ---------------------------------------------------------------------------------------------


def describe_synapse(model: Any, options: dict[str, Any] | None = None) -> dict[str, Any]:
    """Infer what NESTML needs listed by hand for a neuron-synapse pair.

    ``options`` (the user's, see ``DESCRIPTION_OPTIONS``) replace what is inferred: a
    ``weight_variable``/``delay_variable``, the ``post_ports``/``vt_ports`` lists, and
    ``strictly_synaptic_vars`` (kept in the synapse when it is paired).

    * ``weight_variable`` / ``delay_variable``: the first / second argument of ``emit_spike(...)``
      in the ``onReceive`` blocks, if it is a plain variable declared in ``state`` or
      ``parameters`` (and the same in every call); else null.
    * ``weight_variable_guess``: ``weight_variable`` if set; otherwise, among the state/parameter
      variables the first argument depends on (following local declarations of the block, e.g.
      ``w_ real = w + noise``), the one named ``w`` or ``weight``, or the only one; else null.
      (``tsodyks_synapse`` emits ``delta_y_tsp * w``, ``noisy_synapse`` emits a local ``w_``.)
    * ``weight_variable_source``: "option", "emit_spike", "guess" or null: where the variable
      jitnest uses as NEST's ``weight`` (``weight_variable or weight_variable_guess``) comes from.
    * ``post_ports``: ports that carry signals from the postsynaptic neuron: every spike input port
      whose name contains ``post`` (e.g. ``post_spikes``), plus every continuous input port (in NEST
      a synapse can receive a continuous signal only from its postsynaptic neuron). For a paired
      generation, NESTML wants a continuous post port as ``[synapse_port, neuron_variable]``;
      ``generate`` turns a bare name into ``[name, name]``.
    * ``vt_ports``: spike ports that are neither post ports nor the presynaptic port (the port whose
      ``onReceive`` calls ``emit_spike``), e.g. ``mod_spikes`` of ``neuromodulated_stdp_synapse``:
      NESTML's ``vt_ports`` (third-factor spikes delivered by a NEST ``volume_transmitter``).
    * ``continuous_post_ports``: the continuous ones among ``post_ports`` (NESTML reads each from a
      variable of the paired neuron).
    * ``moved_to_neuron``: see :func:`_moved_to_neuron`.
    """
    options = options or {}
    declared = {s.get_symbol_name() for s in model.get_parameter_symbols() + model.get_state_symbols()}
    calls = _emit_spike_calls(model)
    pre_ports = {port for port, _, _ in calls}
    weight = _plain_argument(calls, 0, declared)
    delay = options.get("delay_variable") or _plain_argument(calls, 1, declared)
    guess = weight or _guess_weight(calls, declared)
    source = "option" if options.get("weight_variable") else "emit_spike" if weight else "guess" if guess else None
    weight = options.get("weight_variable") or weight
    post, vt = [], []
    continuous = set()
    for block in model.get_input_blocks():
        for port in block.get_input_ports():
            name = port.get_name()
            if port.is_continuous():
                continuous.add(name)
            if port.is_continuous() or "post" in name.lower():
                post.append(name)
            elif pre_ports and name not in pre_ports:  # without emit_spike in onReceive: no guess
                vt.append(name)
    post = list(options.get("post_ports", post))
    vt = list(options.get("vt_ports", [p for p in vt if p not in post]))
    kept = [v for v in (weight or guess, delay) if v] + list(options.get("strictly_synaptic_vars", []))
    return {
        "weight_variable": weight,
        "delay_variable": delay,
        "weight_variable_guess": weight or guess,
        "weight_variable_source": source,
        "post_ports": post,
        "continuous_post_ports": [p for p in post if p in continuous],
        "vt_ports": vt,
        "moved_to_neuron": _moved_to_neuron(model, post, kept),
    }


def _moved_to_neuron(model: Any, post_ports: list[str], kept: list[str]) -> list[str]:
    """State variables NESTML moves from the synapse into the paired neuron (e.g. STDP's
    ``post_trace``): they are no synapse parameters once paired. Same computation as NESTML's
    synapse_post_neuron_transformer (predefined variables, weight, delay and the strictly synaptic
    variables stay in the synapse)."""
    if not post_ports:
        return []
    from pynestml.symbols.predefined_variables import PredefinedVariables
    from pynestml.utils.ast_utils import ASTUtils

    strictly_synaptic = set(PredefinedVariables.get_variables()) | set(kept)
    _, moved = ASTUtils.collect_variables_affected_by_ports(model, post_ports, strictly_synaptic)
    return sorted(str(v) for v in moved)


def _emit_spike_calls(model: Any) -> list[tuple[str, Any, dict[str, Any]]]:
    """``(port name, emit_spike call, {local variable: its expression})`` for each call in onReceive blocks."""
    from pynestml.meta_model.ast_declaration import ASTDeclaration
    from pynestml.meta_model.ast_function_call import ASTFunctionCall
    from pynestml.visitors.ast_higher_order_visitor import ASTHigherOrderVisitor

    found = []
    for block in model.get_on_receive_blocks():
        calls: list[Any] = []
        local: dict[str, Any] = {}

        def visit(node: Any, calls: list[Any] = calls, local: dict[str, Any] = local) -> None:
            if isinstance(node, ASTFunctionCall) and node.get_name() == "emit_spike":
                calls.append(node)
            elif isinstance(node, ASTDeclaration) and node.has_expression():
                for var in node.get_variables():
                    local[var.get_complete_name()] = node.get_expression()

        block.accept(ASTHigherOrderVisitor(visit_funcs=visit))
        found.extend((block.get_port_name(), call, local) for call in calls)
    return found


def _plain_argument(calls: Sequence[tuple[str, Any, dict]], index: int, declared: set[str]) -> str | None:
    """The declared variable passed as argument ``index`` to every emit_spike call, else None."""
    names = set()
    for _, call, _ in calls:
        args = call.get_args()
        if len(args) <= index:
            return None
        arg = args[index]
        is_variable = getattr(arg, "is_variable", lambda: False)() and not getattr(arg, "is_numeric_literal", bool)()
        if not is_variable or arg.get_variable().get_complete_name() not in declared:
            return None
        names.add(arg.get_variable().get_complete_name())
    return names.pop() if len(names) == 1 else None


def _guess_weight(calls: Sequence[tuple[str, Any, dict]], declared: set[str]) -> str | None:
    """See ``weight_variable_guess`` in :func:`describe_synapse`."""
    candidates: list[str] = []
    for _, call, local in calls:
        if call.get_args():
            for name in _referenced_names(call.get_args()[0], local):
                if name in declared and name not in candidates:
                    candidates.append(name)
    for preferred in ("w", "weight"):
        if preferred in candidates:
            return preferred
    return candidates[0] if len(candidates) == 1 else None


def _referenced_names(expr: Any, local: dict[str, Any], seen: set[str] | None = None) -> list[str]:
    """Variable names used by ``expr``, expanding local variables through their declarations."""
    from pynestml.meta_model.ast_variable import ASTVariable
    from pynestml.visitors.ast_higher_order_visitor import ASTHigherOrderVisitor

    seen = set() if seen is None else seen
    direct: list[str] = []
    expr.accept(ASTHigherOrderVisitor(
        visit_funcs=lambda n: direct.append(n.get_complete_name()) if isinstance(n, ASTVariable) else None))
    names: list[str] = []
    for name in direct:
        if name in seen:
            continue
        seen.add(name)
        names.append(name)
        if name in local:
            names.extend(_referenced_names(local[name], local, seen))
    return names
