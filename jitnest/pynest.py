"""The real PyNEST, kept reachable after ``sys.modules["nest"]`` is replaced by jitnest.

Every other jitnest module reaches NEST through ``REAL`` so that the import hook can hand
the name ``nest`` to jitnest without jitnest ever calling itself by mistake.
"""

from __future__ import annotations

import importlib
import os
import sys
import types

from . import mpi_exit
from .call_site import register_internal_directory


def _import_real_nest() -> types.ModuleType:
    current = sys.modules.get("nest")
    if current is not None and getattr(current, "__jitnest_standin__", False):
        return current.__jitnest_real__
    return importlib.import_module("nest")


REAL: types.ModuleType = _import_real_nest()
NodeCollection = REAL.NodeCollection
SynapseCollection = REAL.SynapseCollection
CollocatedSynapses = REAL.CollocatedSynapses
NESTErrors = REAL.NESTErrors
KernelAttribute = type(type(REAL).__dict__["resolution"])

register_internal_directory(os.path.dirname(REAL.__file__))
mpi_exit.install(REAL.NumProcesses(), REAL.Rank())


def kernel_attribute_names() -> frozenset[str]:
    return frozenset(REAL._kernel_attr_names)


def nest_version() -> str:
    return str(REAL.__version__)


def is_builtin_node_model(name: str) -> bool:
    return name in REAL.node_models


def is_builtin_synapse_model(name: str) -> bool:
    return name in REAL.synapse_models
