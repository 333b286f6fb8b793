"""Import hook: make ``import nest`` mean jitnest, for code jitnest's user did not write.

``install()`` puts a stand-in module at ``sys.modules["nest"]``. The stand-in is a
``FacadeModule`` like the jitnest package, with PyNEST's ``__path__`` so that PyNEST's own
submodules (``nest.raster_plot``, ``nest.lib...``) still import, and with PyNEST's private
names reachable, because PyNEST itself runs ``import nest`` inside some of its functions.

``python -m jitnest script.py`` runs an unmodified script this way; in a notebook call
``jitnest.install_import_hook()`` (or ``%load_ext jitnest.hooks``) before ``import nest``.
"""

from __future__ import annotations

import sys
import types

from ..facade.module import FacadeModule, public_api
from ..pynest import REAL

_STANDIN: types.ModuleType | None = None


def standin() -> types.ModuleType:
    """The module that ``import nest`` returns while the hook is installed."""
    global _STANDIN
    if _STANDIN is None:
        module = FacadeModule("nest", REAL.__doc__)
        for name in ("__file__", "__path__", "__package__", "__spec__", "__loader__"):
            if hasattr(REAL, name):
                module.__dict__[name] = getattr(REAL, name)
        module.__dict__.update(public_api())
        module.__dict__["__jitnest_standin__"] = True
        module.__dict__["__jitnest_real__"] = REAL
        module.__dict__["__version__"] = REAL.__version__
        _STANDIN = module
    return _STANDIN


def install() -> None:
    """Route ``import nest`` to jitnest (idempotent)."""
    sys.modules["nest"] = standin()


def uninstall() -> None:
    """Give ``import nest`` back to PyNEST."""
    sys.modules["nest"] = REAL


def is_installed() -> bool:
    return sys.modules.get("nest") is _STANDIN and _STANDIN is not None


def load_ipython_extension(ipython: object) -> None:
    """``%load_ext jitnest.hooks`` in IPython/Jupyter installs the hook."""
    install()
