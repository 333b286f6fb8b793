"""jitnest: PyNEST with NESTML models named like built-ins.

Change one line, ``import nest`` → ``import jitnest as nest``, and name NESTML models in
``Create``/``Connect``. jitnest records the network, and at the first call that needs the real
kernel infers the neuron–synapse combinations, generates them with NESTML, compiles them into
NEST modules (cached by content hash), installs them and builds the real network.

Besides PyNEST's API, this module offers:

* ``add_model_path(folder)``, ``add_model_file(path)``, ``add_model_source(text)``: where NESTML
  models come from (plus ``JITNEST_MODEL_PATH`` and NESTML's own model library);
* ``set_model_options(model, **options)``: what NESTML must be told about a model that jitnest
  cannot infer (weight variable, post-port variables, gap junctions, any ``codegen_opts`` entry;
  see ``jitnest.models.options``);
* ``build()``: build the recorded network now (otherwise the first Simulate does);
* ``build_report()``: which modules the current network uses, and whether they were compiled now;
* ``install_import_hook()``: make ``import nest`` anywhere (e.g. in PyNN) mean jitnest.
* ``provenance()``, ``write_provenance(path)``: what the current network was built from (model
  sources, versions, compiler, module hashes) and the run's context, as a dict or a JSON file.

``jitnest.__version__`` is NEST's version, as for ``nest.__version__``; jitnest's own version is
``jitnest.jitnest_version``.

The package follows the pipeline (each package's docstring states its contract and what it may
import; dependencies point one way, tested by ``tests/unit/test_layout.py``)::

    facade/, hooks/   the ``nest`` namespace: PyNEST's functions as jitnest offers them
    record/           the session: journal of calls, proxies, call policies, build and replay
    models/           names → NESTML models: model path, parsed descriptions, parameters
    plan/             which modules (units) the recorded network needs
    compile/          units → modules: toolchain, CMake, precompiled header, progress
    generate/         NESTML's code for a unit (through the worker) and the registration file
    worker/           the NESTML process (the only code that imports NESTML)
    cache/            content-addressed storage, keys, maintenance

Importing ``jitnest`` (or ``jitnest.cache``, ``jitnest.config``, ``jitnest.worker``) does not
start NEST: NEST is imported at the first use of the ``nest`` namespace (``jitnest.Create``,
``jitnest.resolution``, ...).
"""

from __future__ import annotations

import os
import sys
import types
from typing import Any

from ._version import __version__ as jitnest_version  # noqa: F401 (public)

_facade: types.ModuleType | None = None
# ``from jitnest import cache`` asks this module for ``cache`` before importing the submodule:
# that question must not start NEST.
_SUBMODULES = frozenset(entry.name.removesuffix(".py") for entry in os.scandir(os.path.dirname(__file__))
                        if entry.name.endswith(".py") or os.path.isfile(os.path.join(entry.path, "__init__.py")))


def _load_facade() -> types.ModuleType:
    """The ``nest`` namespace (imports NEST, once); its public functions join this module."""
    global _facade
    if _facade is None:
        from .facade import module
        from .record import prebuild

        sys.modules[__name__].__dict__.update(module.public_api())
        prebuild.enable_in_ipython()  # notebooks: build between cells (see record/prebuild.py)
        _facade = module
    return _facade


def _session() -> Any:
    from .record.session import SESSION

    return SESSION


def add_model_path(folder: str | os.PathLike) -> None:
    """Look for NESTML models (``*.nestml``, recursively) in ``folder`` before other places."""
    _session().model_path.add_folder(folder)


def add_model_file(path: str | os.PathLike, options: dict[str, dict] | None = None) -> list[str]:
    """Make the models in one NESTML file available; returns their names.

    ``options`` maps model names of the file to their options (see ``set_model_options``).
    """
    session = _session()
    names = session.model_path.add_file(path)
    for model, model_options in (options or {}).items():
        if model not in names:
            raise ValueError(f"options given for {model}, which {path} does not define (it defines {', '.join(names)})")
        session.set_model_options(model, model_options)
    _prepare_nestml_for(names)
    return names


def set_model_options(model: str, **options: Any) -> None:
    """Tell NESTML what jitnest cannot infer about a NESTML model, for every later use of it.

    Synapses: ``weight_variable``, ``delay_variable`` (NEST's ``weight``/``delay``), ``post_ports``,
    ``vt_ports``, ``post_port_variables`` ({continuous post port: neuron variable it reads}),
    ``strictly_synaptic_vars``. Neurons: ``gap_junctions`` (NESTML's option, enabled). Both:
    ``continuous_state_buffering_method`` and ``codegen_opts`` (any other entry of NESTML's NEST
    code-generator options). Options are part of the build's cache key and manifest. Set them
    before the model's first use in a network; no options (``set_model_options(model)``) removes
    them. Raises ValueError for unknown options or values of the wrong type.
    """
    _session().set_model_options(model, options)


def _prepare_nestml_for(names: list[str]) -> None:
    """A model never parsed before will be, at its first use: start NESTML's server meanwhile.

    (A model parsed before, e.g. on every later run of a script, needs no NESTML unless its
    module must be built, and then only at the build.)
    """
    from .generate import nestml_client
    from .models import model_info

    sources = [_session().model_path.find(name) for name in names]
    if any(s is not None and not model_info.parse_is_cached(s.file) for s in sources):
        nestml_client.prestart_server()


def add_model_source(text: str) -> list[str]:
    """Make NESTML models given as source text available (e.g. from a notebook cell).

    Returns the model names. Registering changed text for a name makes later uses of that name
    mean the new text, and so a new build: a stale module is never reused.
    """
    session = _session()
    names = session.model_path.add_source(text)
    session.names.reset_model_refs(names)
    _prepare_nestml_for(names)
    return names


def build() -> None:
    """Build and install what the recorded network needs now, instead of at the first Simulate."""
    _load_facade()
    _session().materialize()


def build_report() -> dict[str, dict]:
    """For each module of the current network: its file and whether this process compiled it."""
    return {label: dict(info) for label, info in _session().last_build.items()}


def install_import_hook() -> None:
    """Make ``import nest`` return jitnest from now on (for third-party code and notebooks)."""
    from .hooks import install

    install()


def provenance() -> dict:
    """What the current network was built from, and the run's context (see ``jitnest.provenance``)."""
    from .provenance import provenance as record  # the submodule's function (this module's name is ours)

    return record()


def write_provenance(path: str | os.PathLike, *, sumatra_label: str | None = None) -> Any:
    """Write ``provenance()`` as JSON to ``path`` (a folder or a file); returns the file's path."""
    from .provenance import write_provenance as write

    return write(path, sumatra_label=sumatra_label)


_OWN = frozenset({"add_model_path", "add_model_file", "add_model_source", "set_model_options", "build", "build_report",
                  "install_import_hook", "provenance", "write_provenance", "jitnest_version"})


class _JitnestModule(types.ModuleType):
    """``jitnest`` as the ``nest`` namespace: NEST's names resolve (importing NEST on first use),
    and kernel attributes are forwarded to the kernel (``nest.resolution = 0.1``), never copied."""

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__") and name.endswith("__") and name != "__version__":
            raise AttributeError(name)
        if name == "__version__":
            return _load_facade().REAL.__version__
        if name in _SUBMODULES:
            raise AttributeError(name)  # not imported yet: the import system imports it now
        facade = _load_facade()
        if name in self.__dict__:  # a public function just added by loading the facade
            return self.__dict__[name]
        try:
            return facade.resolve_attribute(name)
        except AttributeError:
            raise AttributeError(f"module 'nest' has no attribute '{name}'") from None

    def __setattr__(self, name: str, value: Any) -> None:
        if isinstance(value, types.ModuleType) or (name.startswith("__") and name.endswith("__")):
            if name not in _OWN:  # importing jitnest.provenance must not replace the function provenance()
                super().__setattr__(name, value)  # the import machinery setting submodules (PyNEST allows it too)
            return
        facade = _load_facade()
        if name in facade.KERNEL_ATTRIBUTES:
            facade.kernel.set_kernel_attribute(name, value)
        else:  # like PyNEST's frozen module: a typo such as ``nest.resolutoin = 0.1`` must not pass silently
            raise AttributeError(f"Cannot set attribute '{name}' on module 'nest'")

    def __dir__(self) -> list[str]:
        # (no ``set(...)`` here: this module's globals are the nest namespace, where ``set`` is nest.set)
        return sorted({*super().__dir__(), *dir(_load_facade().REAL)})


sys.modules[__name__].__class__ = _JitnestModule
