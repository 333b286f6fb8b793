"""Default values of a model's parameters, state variables and internals, as NEST reports them.

:func:`evaluate_defaults` (see there for the rules) computes them with :mod:`.evaluator` in the
order the generated C++ code initialises them, with the initial values of ODE state variables
taken through ODE-toolbox as NESTML does; what needs a run goes to ``unevaluated`` with a reason.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from .evaluator import Unevaluable, _coerce, _evaluate_expression, _py_name, _user_functions, _value_printer
from .names import nest_name
from .recordables import _kernel_variables, kernel_state_variables

_NEST_NODE_STATUS_KEYS = frozenset({
    # Written into GetStatus by NEST 3.10's Node/ArchivingNode/StructuralPlasticityNode *after* the
    # NESTML model's own entries (the generated get_status() ends with ArchivingNode::get_status),
    # so a parameter or state variable of the same name shows NEST's value, e.g. hill_tononi's
    # ``t_spike`` shows the last spike time (-1.0). Observed on the NEST 3.10 wheel.
    "Ca", "archiver_length", "beta_Ca", "element_type", "frozen", "global_id", "ignore_and_spike",
    "ignore_and_spike_interval", "ignore_and_spike_offset", "local", "model", "model_id",
    "node_uses_wfr", "post_trace", "recordables", "synaptic_elements", "t_spike", "tau_Ca",
    "tau_minus", "tau_minus_triplet", "thread", "thread_local_id", "vp",
})


class Defaults:
    """Result of :func:`evaluate_defaults` (all names as NEST spells them, see :func:`nest_name`)."""

    def __init__(self) -> None:
        self.values: dict[str, Any] = {}
        self.internal_values: dict[str, Any] = {}
        self.unevaluated: list[dict[str, str]] = []
        self.kernel_state: list[str] = []


def evaluate_defaults(model: Any, kind: str, notes: list[str]) -> Defaults:
    """Default values of parameters, state variables and internals as NEST reports them (GetStatus).

    The generated C++ initialises parameters (declaration order), then internals, then state
    variables, each from its NESTML expression printed by NESTML's own printers: a literal with a
    unit becomes ``factor * literal`` with the factor of ``NESTUnitConverter`` (to ms, mV, pA, pF,
    nS, GOhm; other named units keep their number, e.g. ``10 Hz`` stays 10; compound units are
    converted base by base), and implicit conversion factors are
    applied on top (so NESTML 9 converts ``tau ms = 0.02 s`` twice, to 20000: see ``notes``).
    State variables defined by ODEs take their initial value through ODE-toolbox, as in the
    generated code (see :func:`_ode_initial_values`). This function prints each
    expression with NESTML's Python printers configured the same way and evaluates the result
    with C semantics (integer division truncates unless dividing by a literal, like the C++
    printer; ``round`` rounds half away from zero); user-defined functions made of declarations,
    assignments and a return are evaluated too.

    Values are ``float`` for real/physical types, ``int`` for ``integer``, ``bool`` for
    ``boolean``, and lists for vectors. What needs a run (random functions, ``resolution()``,
    ``steps()``, a parameter that reads a state variable before the C++ initialises it, ...) goes
    to ``unevaluated`` with a reason, as do neuron variables whose name NEST's node classes
    overwrite in GetStatus (:data:`_NEST_NODE_STATUS_KEYS`). State variables of kernels defined by
    ODEs are left out (NESTML's code generator removes them); the state variables it adds for
    convolutions (``<kernel>__X__<port>[__d...]``, initial value 0) are included.
    """
    printer = _value_printer()
    env: dict[str, Any] = {}
    functions = _user_functions(model, printer, env)
    result = Defaults()
    removed = _kernel_variables(model)
    origin = _declaration_origins(model)
    ode_initial_values = _ode_initial_values(model, removed)
    for block_kind, blocks in (("parameters", model.get_parameters_blocks()),
                               ("internals", model.get_internals_blocks()),
                               ("state", model.get_state_blocks())):
        for block in blocks:
            for decl in block.get_declarations():
                for var in decl.get_variables():
                    name = var.get_complete_name()
                    if block_kind == "state" and name in removed:
                        continue
                    target = result.internal_values if block_kind == "internals" else result.values
                    try:
                        if block_kind == "state" and name in ode_initial_values:
                            value = _evaluate_ode_initial_value(
                                ode_initial_values[name], decl, printer, env, functions, origin)
                        else:
                            value = _evaluate_declaration(decl, var, printer, env, functions, origin)
                    except Unevaluable as exc:
                        if block_kind != "internals":
                            result.unevaluated.append({"name": nest_name(name), "reason": str(exc)})
                        origin[_py_name(name)] = f"{name!r}, which cannot be evaluated: {exc}"
                        continue
                    env[_py_name(name)] = value
                    target[nest_name(name)] = value
                    if name not in ode_initial_values and _converts_literal_twice(decl.get_expression()):
                        notes.append(f"{name}: NESTML 9 converts a literal with a unit in '{decl.get_expression()}' "
                                     f"to NEST units and then also scales it by an implicit conversion factor; "
                                     f"NEST reports {value!r}")
    result.kernel_state = kernel_state_variables(model, notes)
    result.values.update((name, 0.0) for name in result.kernel_state)
    if kind == "neuron":
        _drop_overwritten_status_keys(result)
    return result


_SYMPY_FUNCTIONS: dict[str, Callable[..., Any]] = {"log": math.log, "sqrt": math.sqrt}
"""Functions sympy may write into ODE-toolbox results that the C++ code then calls."""


def _ode_initial_values(model: Any, kernel_variables: set[str]) -> dict[str, Any]:
    """Initial-value expressions of ODE state variables as the generated code gets them.

    NESTML hands the initial values of variables defined by ODEs to ODE-toolbox (printed with its
    ODE-toolbox printer), which parses them with sympy and returns ``str(expr)``; NESTML parses
    that text back and prints it into the C++ code (``ASTUtils.update_initial_values_for_odes``).
    That route treats units differently from the direct one (it drops the unit of a literal and
    applies the implicit conversion factor once), so ``V_m mV = -0.07 V`` initialises to -70
    while a parameter ``E_L mV = -0.07 V`` gets -70000 in NESTML 9. This function takes the same
    route (with ODE-toolbox's own parser) and returns ``{state variable: re-parsed expression}``.
    """
    from pynestml.utils.ast_utils import ASTUtils

    variables = [v for v in model.get_state_variables()
                 if v.get_complete_name() not in kernel_variables and ASTUtils.is_ode_variable(v.get_name(), model)]
    if not variables:
        return {}
    from odetoolbox.shapes import Shape
    from odetoolbox.sympy_helpers import _sympy_parse_real
    from pynestml.transformers.ode_toolbox_transformer import ODEToolboxTransformer
    from pynestml.utils.model_parser import ModelParser
    from pynestml.visitors.ast_higher_order_visitor import ASTHigherOrderVisitor

    ode_printer = ODEToolboxTransformer()._ode_toolbox_printer  # configured as NESTML's pipeline uses it
    result = {}
    for var in variables:
        expr = model.get_initial_value(var.get_complete_name())
        if expr is None:
            continue
        try:
            text = str(_sympy_parse_real(ode_printer.print(expr), global_dict=Shape._sympy_globals))
            parsed = ModelParser.parse_expression(text)
        except Exception as exc:  # noqa: BLE001 -- sympy/ODE-toolbox raise many kinds
            result[var.get_complete_name()] = Unevaluable(f"ODE-toolbox cannot process the initial value: {exc}")
            continue
        scope = var.get_scope()
        parsed.accept(ASTHigherOrderVisitor(visit_funcs=lambda node, scope=scope: node.update_scope(scope)))
        result[var.get_complete_name()] = parsed
    return result


def _evaluate_ode_initial_value(
    expr: Any, decl: Any, printer: Any, env: dict[str, Any], functions: dict, origin: dict[str, str]
) -> Any:
    """Value of an ODE state variable from its ODE-toolbox initial value (see :func:`_ode_initial_values`)."""
    if isinstance(expr, Unevaluable):
        raise expr
    if decl.get_variables()[0].get_vector_parameter() is not None:
        raise Unevaluable("vector variable defined by an ODE")
    value = _evaluate_expression(expr, printer, env, {**_SYMPY_FUNCTIONS, **functions}, origin)
    return _coerce(value, decl.get_data_type())


def _converts_literal_twice(expr: Any) -> bool:
    """Whether NESTML's printers convert a literal of ``expr`` to NEST units twice.

    The C++ printer always prints a literal with a unit in NEST units (``0.02 s`` -> ``20.``), and
    also applies the implicit conversion factor that NESTML attaches to a (sub)expression whose unit
    differs from the declared one (s -> ms: 1000): ``tau ms = 0.02 s`` becomes ``1000.0 * (20.)``.
    """
    from pynestml.meta_model.ast_simple_expression import ASTSimpleExpression
    from pynestml.visitors.ast_higher_order_visitor import ASTHigherOrderVisitor

    found = []

    def literals_below(node: Any) -> bool:
        hits: list[Any] = []
        node.accept(ASTHigherOrderVisitor(visit_funcs=lambda n: hits.append(n) if (
            isinstance(n, ASTSimpleExpression) and n.is_numeric_literal_with_unit()) else None))
        return bool(hits)

    def visit(node: Any) -> None:
        factor = getattr(node, "get_implicit_conversion_factor", lambda: None)()
        if factor not in (None, 1, 1.0) and literals_below(node):
            found.append(node)

    expr.accept(ASTHigherOrderVisitor(visit_funcs=visit))
    return bool(found)


def _declaration_origins(model: Any) -> dict[str, str]:
    """For each declared variable (by :func:`_py_name`), why it may lack a value when referenced."""
    origins = {}
    for variable in model.get_parameter_variables():
        origins[_py_name(variable.get_complete_name())] = (
            f"parameter {variable.get_complete_name()!r}, which is declared (initialised) later")
    for block in model.get_internals_blocks():
        for decl in block.get_declarations():
            for variable in decl.get_variables():
                origins[_py_name(variable.get_complete_name())] = (
                    f"internal {variable.get_complete_name()!r}, which is declared (initialised) later")
    for variable in model.get_state_variables():
        origins[_py_name(variable.get_complete_name())] = (
            f"state variable {variable.get_complete_name()!r}, which the generated code initialises only "
            "after parameters and internals (NEST shows a value computed from uninitialised memory)")
    return origins


def _drop_overwritten_status_keys(result: Defaults) -> None:
    """Move variables whose GetStatus entry NEST's node classes overwrite to ``unevaluated``."""
    for name in [n for n in result.values if n in _NEST_NODE_STATUS_KEYS]:
        del result.values[name]
        result.unevaluated.append({"name": name, "reason": (
            f"GetStatus shows NEST's own {name!r} (written by its node base classes after the model's entries)")})


def _evaluate_declaration(
    decl: Any, var: Any, printer: Any, env: dict[str, Any], functions: dict, origin: dict[str, str]
) -> Any:
    """Value of one declared variable (a list for a vector), cast like the C++ member."""
    if not decl.has_expression():
        raise Unevaluable("declared without a default value")
    value = _evaluate_expression(decl.get_expression(), printer, env, functions, origin)
    scalar = _coerce(value, decl.get_data_type())
    size_expr = _vector_size_expression(decl, var)
    if size_expr is None:
        return scalar
    size = _evaluate_expression(size_expr, printer, env, functions, origin)
    if not isinstance(size, (int, float)) or size != int(size) or size < 0:
        raise Unevaluable(f"vector size {size!r} is not a non-negative integer")
    return [scalar] * int(size)


def _vector_size_expression(decl: Any, var: Any) -> Any:
    """The size expression of a vector declaration (``x[N] real = ...``), else None."""
    if var.get_vector_parameter() is not None:
        return var.get_vector_parameter()
    return decl.get_size_parameter() if decl.has_size_parameter() else None
