"""The module's sources: NESTML's generated files plus jitnest's own registration file.

NESTML writes a registration file for everything it generated; jitnest writes its own instead
(``templates/module.cpp.jinja``), so that a module holds exactly the models of its unit, no two
modules register the same model name, and the generated model sources never depend on the
module's (key-derived) name, so they can be reused from the generated-code cache.

A NESTML synapse registers itself through NEST's ``register_connection_model``, which compiles
the synapse three times (plain, ``_hpc``, ``_lbl``). Where NEST's headers and the synapse's
generated header have the expected form, the registration file redirects that call so that only
the twins the network names are compiled.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

from .._version import __version__ as jitnest_version

TEMPLATE_DIR = Path(__file__).resolve().parent / "templates"
REGISTRATION_TEMPLATE = TEMPLATE_DIR / "module.cpp.jinja"
# Compiles the generated neuron .cpp (whose name NESTML chooses) under a name known in advance.
NEURON_WRAPPER = "jitnest_neuron.cpp"
TWIN_SUFFIXES = ("_hpc", "_lbl")

_environment = None  # jinja2 is imported only when something is built


def generator_files() -> list[Path]:
    """The files of jitnest that write a module's sources (this module and every template): part
    of the key of every module (``compile.builder.generator_identity``)."""
    return [Path(__file__).resolve(), *sorted(p for p in TEMPLATE_DIR.rglob("*") if p.is_file())]


def select_models(generated: list[dict], is_combination: bool) -> list[dict]:
    """The generated models that belong in a unit's module (NESTML also emits unpaired twins)."""
    return [model for model in generated if not (is_combination and not model.get("paired"))]


def has_expected_registration(header_text: str, synapse: str) -> bool:
    """Whether NESTML's header for ``synapse`` defines the class template ``nest::S::S`` and a
    register function that calls ``register_connection_model< S >( name )`` (what the
    redirect in module.cpp.jinja relies on)."""
    name = re.escape(synapse)
    return all(re.search(pattern, header_text) for pattern in (
        rf"\bnamespace\s+{name}\s*\{{",
        rf"\bclass\s+{name}\s*:\s*public\s+Connection\s*<\s*targetidentifierT\s*>",
        rf"[^:\w]register_connection_model\s*<\s*{name}\s*>\s*\(\s*name\s*\)\s*;",
    ))


def variant_registration(twins: list[str]) -> str:
    """The redirect target of NESTML's ``register_connection_model`` for a synapse with ``twins``."""
    return (f"jitnest_connection_variants< {str('_hpc' in twins).lower()}, "
            f"{str('_lbl' in twins).lower()} >::register_model")


def variant_types_of(synapse: str, twins: list[str]) -> list[str]:
    """The complete C++ connection types registered for ``synapse`` and ``twins``."""
    model = f"nest::{synapse}::{synapse}"
    types = [f"{model}< nest::TargetIdentifierPtrRport >"]
    if "_hpc" in twins:
        types.append(f"{model}< nest::TargetIdentifierIndex >")
    if "_lbl" in twins:
        types.append(f"nest::ConnectionLabel< {model}< nest::TargetIdentifierPtrRport > >")
    return types


def _template():
    global _environment
    if _environment is None:
        import jinja2

        _environment = jinja2.Environment(loader=jinja2.FileSystemLoader(str(TEMPLATE_DIR)),
                                          keep_trailing_newline=True, undefined=jinja2.StrictUndefined)
    return _environment.get_template(REGISTRATION_TEMPLATE.name)


def write_module_sources(source_dir: Path, target_dir: Path, module_name: str, label: str, has_neuron: bool,
                         models: list[dict], twins_named: dict[str, tuple[str, ...]],
                         single_variants: bool) -> dict[str, list[str]]:
    """The module's sources in ``target_dir``: the models' generated files (from ``source_dir``),
    the neuron wrapper and the registration file ``<module_name>.cpp``.

    ``twins_named`` maps a synapse's NESTML name to the twin suffixes the network names;
    ``single_variants`` says whether NEST's headers allow registering one variant. Returns the
    twins registered per generated synapse name.
    """
    model_sources = [m["source"] for m in models if m.get("source")]
    for name in [m["header"] for m in models] + model_sources:
        shutil.copy(source_dir / name, target_dir / name)
    if has_neuron:
        if len(model_sources) != 1:
            raise RuntimeError(f"expected one generated neuron source for {label}, got {model_sources}")
        (target_dir / NEURON_WRAPPER).write_text(f'#include "{model_sources[0]}"\n')
    includes, variant_types, twins = [], [], {}
    for model in models:
        include = {"header": model["header"], "redirect": None}
        if model["kind"] == "synapse":
            twins[model["name"]] = list(TWIN_SUFFIXES)
            header_text = (target_dir / model["header"]).read_text()
            if single_variants and has_expected_registration(header_text, model["name"]):
                twins[model["name"]] = list(twins_named.get(model["source_model"], ()))
                include["redirect"] = variant_registration(twins[model["name"]])
                variant_types += variant_types_of(model["name"], twins[model["name"]])
        includes.append(include)
    (target_dir / f"{module_name}.cpp").write_text(_template().render(
        module_name=module_name, jitnest_version=jitnest_version, unit_label=label,
        includes=includes, variant_types=variant_types, register_calls=[m["register_call"] for m in models]))
    return twins
