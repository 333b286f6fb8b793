"""jitnest: PyNEST with NESTML models named like built-ins.

Change one line, ``import nest`` → ``import jitnest as nest``, and name NESTML models in
``Create``/``Connect``. jitnest records the network, and at the first call that needs the real
kernel infers the neuron–synapse combinations, generates them with NESTML, compiles them into
NEST modules (cached by content hash), installs them and builds the real network.

Besides PyNEST's API, this module offers:

* ``add_model_path(folder)``, ``add_model_file(path)``, ``add_model_source(text)``: where NESTML
  models come from (plus ``JITNEST_MODEL_PATH`` and NESTML's own model library);
* ``build()``: build the recorded network now (otherwise the first Simulate does);
* ``build_report()``: which modules the current network uses, and whether they were compiled now;
* ``install_import_hook()``: make ``import nest`` anywhere (e.g. in PyNN) mean jitnest.
* ``provenance()``, ``write_provenance(path)``: what the current network was built from (model
  sources, versions, compiler, module hashes) and the run's context, as a dict or a JSON file.

``jitnest.__version__`` is NEST's version, as for ``nest.__version__``; jitnest's own version is
``jitnest.jitnest_version``.
"""

from __future__ import annotations

import os
import sys
from typing import Any

from . import facade, model_info, nestml_adapter, prebuild
from ._version import __version__ as jitnest_version  # noqa: F401 (public)
from .provenance import provenance, write_provenance  # noqa: F401 (public)
from .pynest import REAL
from .session import SESSION

for _name, _value in facade.public_api().items():
    globals()[_name] = _value

__version__ = REAL.__version__

prebuild.enable_in_ipython()  # notebooks: build between cells (see jitnest/prebuild.py)


def add_model_path(folder: str | os.PathLike) -> None:
    """Look for NESTML models (``*.nestml``, recursively) in ``folder`` before other places."""
    SESSION.model_path.add_folder(folder)


def add_model_file(path: str | os.PathLike) -> list[str]:
    """Make the models in one NESTML file available; returns their names."""
    names = SESSION.model_path.add_file(path)
    _prepare_nestml_for(names)
    return names


def _prepare_nestml_for(names: list[str]) -> None:
    """A model never parsed before will be, at its first use: start NESTML's server meanwhile.

    (A model parsed before, e.g. on every later run of a script, needs no NESTML unless its
    module must be built, and then only at the build.)
    """
    sources = [SESSION.model_path.find(name) for name in names]
    if any(s is not None and not model_info.parse_is_cached(s.file) for s in sources):
        nestml_adapter.prestart_server()


def add_model_source(text: str) -> list[str]:
    """Make NESTML models given as source text available (e.g. from a notebook cell).

    Returns the model names. Registering changed text for a name makes later uses of that name
    mean the new text, and so a new build: a stale module is never reused.
    """
    names = SESSION.model_path.add_source(text)
    SESSION.names.reset_model_refs(names)
    _prepare_nestml_for(names)
    return names


def build() -> None:
    """Build and install what the recorded network needs now, instead of at the first Simulate."""
    SESSION.materialize()


def build_report() -> dict[str, dict]:
    """For each module of the current network: its file and whether this process compiled it."""
    return {label: dict(info) for label, info in SESSION.last_build.items()}


def install_import_hook() -> None:
    """Make ``import nest`` return jitnest from now on (for third-party code and notebooks)."""
    from .hooks import install

    install()


def __getattr__(name: str) -> Any:  # noqa: D401 -- replaced by FacadeModule below
    return facade.resolve_attribute(name)


sys.modules[__name__].__class__ = facade.FacadeModule
