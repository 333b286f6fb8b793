"""Kernels and recordables: the state variables NESTML adds or removes for kernels, and what a
NEST multimeter can record from a generated neuron.

Computed from the parsed model the way NESTML's NEST code generator and templates do it (see
:func:`kernel_state_variables` and :func:`recordables`), so that they are known without generating
code.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .names import nest_name


def _kernel_variables(model: Any) -> set[str]:
    """State variables that belong to kernels defined by ODEs (``kernel g' = ...``).

    NESTML's code generator removes their declarations (``ASTUtils.remove_initial_values_for_kernels``)
    and replaces them by one state variable per convolution.
    """
    names = set()
    for block in model.get_equations_blocks():
        for kernel in block.get_kernels():
            for var in kernel.get_variables():
                names.update(var.get_name() + "'" * order for order in range(var.get_differential_order()))
    return names


def kernel_state_variables(model: Any, notes: list[str]) -> list[str]:
    """State variables NESTML adds for the convolutions of the model, in convolve() order.

    For every ``convolve(K, port)`` with a non-delta kernel ``K`` and every kernel variable ``k`` of
    ``K``: ``ASTUtils.construct_kernel_X_spike_buf_name(k, port, i)`` for each order ``i`` below
    the kernel's ODE order. For a kernel defined by an ODE the order is the written one
    (``g'' = ...`` gives 2); for a kernel written as a function of ``t`` it is the order of the
    linear homogeneous ODE that ODE-toolbox finds for it (``Shape.from_function``: exponential 1,
    alpha and beta functions 2), computed here with ODE-toolbox itself.
    """
    from pynestml.utils.ast_utils import ASTUtils

    names: list[str] = []
    orders: dict[int, list[tuple[str, int]]] = {}
    for kernel, port in _kernel_buffers(model):
        if ASTUtils.is_delta_kernel(kernel):
            continue
        if id(kernel) not in orders:
            orders[id(kernel)] = _kernel_orders(kernel, notes)
        for var_name, order in orders[id(kernel)]:
            for i in range(order):
                name = ASTUtils.construct_kernel_X_spike_buf_name(var_name, port, i)
                if name not in names:
                    names.append(name)
    return names


def _kernel_buffers(model: Any) -> list[tuple[Any, Any]]:
    """``(kernel, port variable)`` for every distinct convolve() call, in source order.

    Mirrors ``ConvolutionsToBuffersTransformer.generate_kernel_buffers`` (including its acceptance
    of ``convolve(port, kernel)``), but keeps the order deterministic.
    """
    from pynestml.utils.ast_utils import ASTUtils

    buffers: list[tuple[Any, str]] = []
    for block in model.get_equations_blocks():
        for call in ASTUtils.get_convolve_function_calls(block):
            first, second = call.get_args()[0], call.get_args()[1]
            kernel = model.get_kernel_by_name(first.get_variable().get_name())
            port = second
            if kernel is None:
                kernel, port = model.get_kernel_by_name(second.get_variable().get_name()), first
            if kernel is None:
                continue
            # the port as written (a vector port's element ``spikes[1]`` keeps its index, which
            # NESTML appends to the buffer's name as ``__VEC_IDX__1``)
            entry = (kernel, port.get_variable())
            name = ASTUtils.construct_kernel_X_spike_buf_name("", entry[1], 0)
            if not any(k is kernel and ASTUtils.construct_kernel_X_spike_buf_name("", p, 0) == name
                       for k, p in buffers):
                buffers.append(entry)
    return buffers


def _kernel_orders(kernel: Any, notes: list[str]) -> list[tuple[str, int]]:
    """``[(kernel variable name, ODE order)]`` for one kernel declaration."""
    result = []
    for var, expr in zip(kernel.get_variables(), kernel.get_expressions()):
        order = var.get_differential_order()
        if order == 0:
            order = _function_kernel_order(var.get_name(), str(expr), notes)
        result.append((var.get_name(), order))
    return result


def _function_kernel_order(name: str, definition: str, notes: list[str]) -> int:
    """Order of the ODE that ODE-toolbox derives for a kernel given as a function of ``t``."""
    from odetoolbox.shapes import Shape

    try:
        return int(Shape.from_function(name, definition).order)
    except Exception as exc:  # noqa: BLE001 -- ODE-toolbox raises plain Exception
        notes.append(f"kernel {name}: ODE-toolbox could not derive an ODE ({exc}); assumed order 1")
        return 1


def recordables(model: Any, kernel_state: Sequence[str], values: dict[str, Any]) -> list[str]:
    """Names a NEST multimeter can record from the generated (unpaired) neuron.

    Mirrors NESTML's NEST templates (``NeuronClass.jinja2``, ``recordable_state_variables`` in
    ``NESTCodeGenerator``): every state variable of type real, integer or a physical unit (not
    boolean, not removed kernel variables) in declaration order, then the state variables added for
    convolutions, then inline expressions declared ``recordable``. If the model has vector state
    variables the template switches to a dynamic map: non-vector integer variables are then left
    out and a vector ``x`` of size n appears as ``X_0`` ... ``X_<n-1>`` (upper case).
    A neuron paired with a synapse additionally records the synapse's postsynaptic variables
    (``<var>__for_<synapse>_nestml``); ``generate`` reports the recordables of each generated model.
    """
    from pynestml.symbols.boolean_type_symbol import BooleanTypeSymbol
    from pynestml.symbols.string_type_symbol import StringTypeSymbol
    from pynestml.symbols.symbol import SymbolKind

    removed = _kernel_variables(model)
    has_vectors = model.has_state_vectors()
    names: list[str] = []
    for var in model.get_state_variables():  # declaration order, as in the generated map
        name = var.get_complete_name()
        symbol = var.get_scope().resolve_to_symbol(name, SymbolKind.VARIABLE)
        if name in removed or isinstance(symbol.get_type_symbol(), (BooleanTypeSymbol, StringTypeSymbol)):
            continue
        if symbol.has_vector_parameter():
            size = values.get(nest_name(name))
            count = len(size) if isinstance(size, list) else 0
            names.extend(f"{nest_name(name).upper()}_{i}" for i in range(count))
        elif not (has_vectors and _is_integer(symbol)):
            names.append(nest_name(name))
    names.extend(kernel_state)
    for symbol in model.get_inline_expression_symbols():
        if symbol.is_recordable and not isinstance(symbol.get_type_symbol(), (BooleanTypeSymbol, StringTypeSymbol)):
            names.append(symbol.get_symbol_name())
    return names


def _is_integer(symbol: Any) -> bool:
    from pynestml.symbols.integer_type_symbol import IntegerTypeSymbol

    return isinstance(symbol.get_type_symbol(), IntegerTypeSymbol)
