"""Evaluation of NESTML expressions as the generated C++ code computes them.

An expression is printed with NESTML's own Python printers, configured to print values in NEST
units (:func:`_value_printer`), and the printed text is evaluated by :class:`_CEval` with C++
semantics (integer division, ``%``, ``std::round``, conversions on assignment: :func:`_coerce`);
nothing is ``eval``-ed. Model functions are evaluated too (:func:`_user_functions`). What cannot be
computed without running the model raises :class:`Unevaluable`, whose message says why. Used by
:mod:`.defaults`.
"""

from __future__ import annotations

import ast
import math
from collections.abc import Callable
from typing import Any


class Unevaluable(Exception):
    """A default value cannot be computed without running the model; the message says why."""


_C_FUNCTIONS: dict[str, Callable[..., Any]] = {
    # What NESTML's NEST printer maps these predefined functions to (std::exp, std::log, ...).
    "exp": math.exp, "ln": math.log, "log10": math.log10, "expm1": math.expm1,
    "cos": math.cos, "sin": math.sin, "tan": math.tan, "cosh": math.cosh, "sinh": math.sinh,
    "tanh": math.tanh, "erf": math.erf, "erfc": math.erfc, "pow": lambda a, b: float(a) ** b,
    "max": max, "min": min, "abs": abs, "ceil": lambda x: float(math.ceil(x)),
    "floor": lambda x: float(math.floor(x)),
    "round": lambda x: float(math.floor(abs(x) + 0.5)) * (1 if x >= 0 else -1),  # std::round: half away from 0
    "clip": lambda x, lo, hi: min(max(x, lo), hi),
}

_NEEDS_SIMULATION = {
    "random_normal": "random number drawn at run time", "random_uniform": "random number drawn at run time",
    "random_poisson": "random number drawn at run time", "resolution": "depends on the simulation resolution",
    "timestep": "depends on the simulation resolution", "steps": "depends on the simulation resolution",
}


def _coerce(value: Any, data_type: Any) -> Any:
    """Convert like the C++ assignment to the member (``long``, ``bool`` or ``double``)."""
    if data_type.is_boolean:
        return bool(value)
    if data_type.is_integer:
        if isinstance(value, float) and not math.isfinite(value):
            raise Unevaluable("non-finite value assigned to an integer")
        return int(value)  # C++ conversion truncates towards zero, as int() does
    if data_type.is_string:
        raise Unevaluable("string-typed variable")
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise Unevaluable(f"value {value!r} is not a number")
    return float(value)


def _evaluate_expression(
    expr: Any, printer: Any, env: dict[str, Any], functions: dict, origin: dict[str, str] | None = None
) -> Any:
    """Print ``expr`` with the value printer and evaluate the Python text with C semantics.

    ``origin`` explains names that have no value (yet), for the Unevaluable message.
    """
    _reject_run_time_functions(expr, functions)
    text = printer.print(expr)
    try:
        tree = ast.parse(text, mode="eval")
    except SyntaxError as exc:
        raise Unevaluable(f"cannot evaluate {text!r}") from exc
    return _CEval(env, functions, origin or {}).eval(tree.body)


def _reject_run_time_functions(expr: Any, functions: dict) -> None:
    """Raise Unevaluable if ``expr`` calls a function whose value is only known at run time."""
    from pynestml.meta_model.ast_function_call import ASTFunctionCall
    from pynestml.visitors.ast_higher_order_visitor import ASTHigherOrderVisitor

    calls: list[str] = []
    expr.accept(ASTHigherOrderVisitor(
        visit_funcs=lambda n: calls.append(n.get_name()) if isinstance(n, ASTFunctionCall) else None))
    for name in calls:
        if name in _NEEDS_SIMULATION:
            raise Unevaluable(f"calls {name}(): {_NEEDS_SIMULATION[name]}")
        if name not in _C_FUNCTIONS and name not in functions:
            raise Unevaluable(f"calls {name}(), which is neither a math function nor defined in the model")


def _user_functions(model: Any, printer: Any, env: dict[str, Any]) -> dict[str, Callable[..., Any]]:
    """Callables for the model's ``function`` blocks, evaluated like the C++ member functions.

    Supported bodies: local declarations, plain assignments and a final ``return`` (what the
    library models use); anything else makes a call Unevaluable. The body sees the model's
    variables through ``env`` (the generated functions read ``P_``/``S_`` members too).
    """
    functions: dict[str, Callable[..., Any]] = {}
    for function in model.get_functions():
        functions[function.get_name()] = _make_user_function(function, printer, env, functions)
    return functions


def _make_user_function(function: Any, printer: Any, env: dict[str, Any], functions: dict) -> Callable[..., Any]:
    """A Python callable evaluating one NESTML ``function`` with C semantics (see :func:`_user_functions`)."""
    name = function.get_name()
    params = function.get_parameters()
    depth = [0]

    def call(*args: Any) -> Any:
        if len(args) != len(params):
            raise Unevaluable(f"{name}() called with {len(args)} arguments")
        if depth[0] > 20:
            raise Unevaluable(f"{name}() recurses too deeply")
        local = dict(env)
        local.update({_py_name(p.get_name()): _coerce(a, p.get_data_type()) for p, a in zip(params, args)})
        depth[0] += 1
        try:
            for stmt in function.get_stmts_body().get_stmts():
                small = stmt.small_stmt if stmt.is_small_stmt() else None
                if small is not None and small.is_declaration():
                    decl = small.get_declaration()
                    if not decl.has_expression():
                        raise Unevaluable(f"{name}() declares a variable without a value")
                    value = _coerce(_evaluate_expression(decl.get_expression(), printer, local, functions),
                                    decl.get_data_type())
                    local.update({_py_name(v.get_complete_name()): value for v in decl.get_variables()})
                elif small is not None and small.is_assignment() and small.get_assignment().is_direct_assignment:
                    assignment = small.get_assignment()
                    target = _py_name(assignment.get_variable().get_complete_name())
                    local[target] = _evaluate_expression(assignment.get_expression(), printer, local, functions)
                elif small is not None and small.is_return_stmt() and small.get_return_stmt().has_expression():
                    value = _evaluate_expression(small.get_return_stmt().get_expression(), printer, local, functions)
                    return _coerce(value, function.get_return_type())
                else:
                    raise Unevaluable(f"{name}() has statements other than declarations, assignments and return")
            raise Unevaluable(f"{name}() does not return a value")
        finally:
            depth[0] -= 1

    return call


def _py_name(name: str) -> str:
    """A Python identifier for a NESTML variable name (``g$`` and ``x'`` are legal in NESTML)."""
    return "v_" + name.replace("$", "__DOLLAR").replace("'", "__d")


class _CEval:
    """Evaluate a Python expression tree (as printed by NESTML's Python printers) with C semantics.

    Only the node types those printers emit are accepted; nothing is ``eval``-ed.
    """

    _ARITH: dict[type, Callable[[Any, Any], Any]] = {
        ast.Add: lambda a, b: a + b, ast.Sub: lambda a, b: a - b, ast.Mult: lambda a, b: a * b,
        ast.Pow: lambda a, b: float(a) ** b, ast.BitAnd: lambda a, b: a & b,
        ast.BitOr: lambda a, b: a | b, ast.BitXor: lambda a, b: a ^ b,
        ast.LShift: lambda a, b: a << b, ast.RShift: lambda a, b: a >> b,
    }
    _COMPARE: dict[type, Callable[[Any, Any], bool]] = {
        ast.Lt: lambda a, b: a < b, ast.LtE: lambda a, b: a <= b, ast.Eq: lambda a, b: a == b,
        ast.NotEq: lambda a, b: a != b, ast.Gt: lambda a, b: a > b, ast.GtE: lambda a, b: a >= b,
    }

    def __init__(self, env: dict[str, Any], functions: dict[str, Callable[..., Any]], origin: dict[str, str]) -> None:
        self.env = env
        self.functions = functions
        self.origin = origin

    def eval(self, node: ast.AST) -> Any:
        handler = getattr(self, "_" + type(node).__name__, None)
        if handler is None:
            raise Unevaluable(f"unsupported construct {type(node).__name__}")
        try:
            return handler(node)
        except (ArithmeticError, ValueError, TypeError) as exc:
            raise Unevaluable(f"evaluation failed: {exc}") from exc

    def _Constant(self, node: ast.Constant) -> Any:
        return node.value

    def _Name(self, node: ast.Name) -> Any:
        if node.id in self.env:
            return self.env[node.id]
        if node.id in self.origin:
            raise Unevaluable(f"depends on {self.origin[node.id]}")
        raise Unevaluable(f"unknown name {node.id!r}")

    def _Attribute(self, node: ast.Attribute) -> Any:
        if isinstance(node.value, ast.Name) and node.value.id == "math" and node.attr in ("e", "pi"):
            return getattr(math, node.attr)
        raise Unevaluable(f"unsupported attribute {node.attr!r}")

    def _BinOp(self, node: ast.BinOp) -> Any:
        a, b = self.eval(node.left), self.eval(node.right)
        if isinstance(node.op, ast.Div):
            return _c_div(a, b)
        if isinstance(node.op, ast.Mod):
            return _c_mod(a, b)
        return self._ARITH[type(node.op)](a, b)

    def _UnaryOp(self, node: ast.UnaryOp) -> Any:
        value = self.eval(node.operand)
        ops = {ast.USub: lambda v: -v, ast.UAdd: lambda v: +v, ast.Not: lambda v: not v, ast.Invert: lambda v: ~v}
        return ops[type(node.op)](value)

    def _BoolOp(self, node: ast.BoolOp) -> Any:
        values = [bool(self.eval(v)) for v in node.values]
        return all(values) if isinstance(node.op, ast.And) else any(values)

    def _Compare(self, node: ast.Compare) -> Any:
        left = self.eval(node.left)
        for op, right_node in zip(node.ops, node.comparators):
            right = self.eval(right_node)
            if not self._COMPARE[type(op)](left, right):
                return False
            left = right
        return True

    def _IfExp(self, node: ast.IfExp) -> Any:
        return self.eval(node.body) if self.eval(node.test) else self.eval(node.orelse)

    def _Call(self, node: ast.Call) -> Any:
        if not isinstance(node.func, ast.Name):
            raise Unevaluable("unsupported call")
        if node.func.id == "float" and len(node.args) == 1:  # the printer's float("inf")
            return float(self.eval(node.args[0]))
        function = _C_FUNCTIONS.get(node.func.id) or self.functions.get(node.func.id)
        if function is None:
            raise Unevaluable(f"calls {node.func.id}()")
        return function(*[self.eval(a) for a in node.args])


def _c_div(a: Any, b: Any) -> Any:
    """C++ ``/``: integer division truncates towards zero; division by zero gives inf/nan."""
    if isinstance(a, int) and isinstance(b, int) and not isinstance(a, bool):
        if b == 0:
            raise Unevaluable("integer division by zero")
        q = abs(a) // abs(b)
        return q if (a >= 0) == (b >= 0) else -q
    if b == 0:
        return math.nan if a == 0 or math.isnan(a) else math.copysign(math.inf, a) * math.copysign(1.0, b)
    return a / b


def _c_mod(a: Any, b: Any) -> Any:
    """C++ ``%`` (and ``std::fmod``): the result has the sign of the dividend."""
    if isinstance(a, int) and isinstance(b, int):
        if b == 0:
            raise Unevaluable("integer modulo by zero")
        return a - b * _c_div(a, b)
    return math.fmod(a, b)


def _value_printer() -> Any:
    """NESTML's Python expression printer, set up to print values in NEST units.

    Numbers are printed with NESTML's ``ConstantPrinter`` (as the C++ printer does, so rounding to
    9 significant digits matches the generated code); literals with units and implicit conversion
    factors come from NESTML's printers; variables print as :func:`_py_name` placeholders.
    """
    from pynestml.codegeneration.nest_unit_converter import NESTUnitConverter
    from pynestml.codegeneration.printers.constant_printer import ConstantPrinter
    from pynestml.codegeneration.printers.python_expression_printer import PythonExpressionPrinter
    from pynestml.codegeneration.printers.python_function_call_printer import PythonFunctionCallPrinter
    from pynestml.codegeneration.printers.python_simple_expression_printer import PythonSimpleExpressionPrinter
    from pynestml.codegeneration.printers.python_variable_printer import PythonVariablePrinter
    from pynestml.meta_model.ast_simple_expression import ASTSimpleExpression
    from pynestml.symbols.predefined_units import PredefinedUnits
    from pynestml.symbols.predefined_variables import PredefinedVariables
    from pynestml.symbols.symbol import SymbolKind

    class VariablePrinter(PythonVariablePrinter):
        def print_variable(self, variable: Any) -> str:
            name = variable.get_complete_name()
            if name == PredefinedVariables.E_CONSTANT:
                return "math.e"
            if name == PredefinedVariables.PI_CONSTANT:
                return "math.pi"
            if name == PredefinedVariables.TIME_CONSTANT:
                raise Unevaluable("uses the simulation time t")
            scope = variable.get_scope()
            symbol = scope.resolve_to_symbol(name, SymbolKind.VARIABLE) if scope is not None else None
            if symbol is None and PredefinedUnits.is_unit(name):
                return repr(float(NESTUnitConverter.get_factor(PredefinedUnits.get_unit(name).get_unit())))
            if variable.has_vector_parameter():
                raise Unevaluable(f"indexes the vector {name!r}")
            return _py_name(name)

    class SimpleExpressionPrinter(PythonSimpleExpressionPrinter):
        def print_simple_expression(self, node: Any) -> str:
            if node.is_numeric_literal() and not node.is_numeric_literal_with_unit():
                return self._constant_printer.print_constant(node.get_numeric_literal())
            return super().print_simple_expression(node)

    class ExpressionPrinter(PythonExpressionPrinter):
        def print_arithmetic_operator(self, node: Any) -> str:
            # Like NESTML's C++ printer: division by a number literal is always a floating-point
            # division; otherwise int / int truncates as in C++ (see _c_div).
            rhs = node.get_rhs()
            if (node.get_binary_operator().is_div_op and isinstance(rhs, ASTSimpleExpression)
                    and rhs.is_numeric_literal()):
                return self.print(node.get_lhs()) + " / float(" + self.print(rhs) + ")"
            return super().print_arithmetic_operator(node)

    variable_printer = VariablePrinter(None)
    function_call_printer = PythonFunctionCallPrinter(None)
    printer = ExpressionPrinter(simple_expression_printer=SimpleExpressionPrinter(
        variable_printer=variable_printer, constant_printer=ConstantPrinter(),
        function_call_printer=function_call_printer))
    variable_printer._expression_printer = printer
    function_call_printer._expression_printer = printer
    return printer
