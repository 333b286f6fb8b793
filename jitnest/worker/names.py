"""Names that NESTML models and variables have in NEST.

Generated models are the source model's name plus :data:`SUFFIX` (a paired model also gets
``__with_<other model>``); variables are spelled as NESTML's NEST target prints them
(:func:`nest_name`).
"""

from __future__ import annotations

SUFFIX = "_nestml"
"""NESTML's convention: generated models are renamed ``<model>_nestml`` (avoids clashes with NEST's
built-in models, e.g. both have ``stdp_synapse``)."""


def nest_name(name: str) -> str:
    """The name NEST uses for a NESTML variable.

    NESTML's ``IllegalVariableNameTransformer`` appends ``_`` to C++ keywords (``delete`` ->
    ``delete_``) and its C++ printer spells ``x'`` as ``x__d`` and ``g$`` as ``g__DOLLAR``.
    """
    from pynestml.codegeneration.printers.cpp_variable_printer import CppVariablePrinter

    base = name.rstrip("'")
    while base in _cpp_forbidden_names():
        base += "_"
    return CppVariablePrinter._print_cpp_name(base + name[len(name.rstrip("'")):])


_FORBIDDEN: list[frozenset[str]] = []


def _cpp_forbidden_names() -> frozenset[str]:
    """The variable names NESTML's NEST target rewrites (C++ keywords), taken from NESTML itself."""
    if not _FORBIDDEN:
        from pynestml.frontend import pynestml_frontend as frontend
        from pynestml.transformers.illegal_variable_name_transformer import IllegalVariableNameTransformer

        transformers, _ = frontend.transformers_from_target_name("NEST", options={})
        names: set[str] = set()
        for transformer in transformers:
            if isinstance(transformer, IllegalVariableNameTransformer):
                names.update(transformer.get_option("forbidden_names"))
        _FORBIDDEN.append(frozenset(names))
    return _FORBIDDEN[0]


def _source_model_name(generated: str) -> str:
    """``stdp_synapse_nestml__with_iaf_psc_exp_neuron_nestml`` -> ``stdp_synapse``."""
    base = generated.split("__with_")[0]
    return base[: -len(SUFFIX)] if base.endswith(SUFFIX) else base
