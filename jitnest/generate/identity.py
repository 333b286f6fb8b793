"""What produced NESTML's output: the identities that go into every key of it.

A key of generated code, of a parse result or of a module must change when anything that
produced it changes (GeNN's cache bugs were keys that missed an input); the shared NESTML server
must not answer for another NESTML than the one a process would import. So:

* ``nestml_identity``: the contents of NESTML's and ODE-toolbox's files where Python imports them
  from (an editable or patched install keeps its version string), and the versions of the
  libraries they compute and render with (sympy's simplifications end up in the code);
* ``nestml_optimised``: whether the worker may take its optimised path with this NESTML;
* ``worker_identity``: jitnest's worker package, which drives NESTML;
* ``nestml_version`` / ``nest_version``: from package metadata, for manifests and the server.

Nothing here imports NESTML or NEST (packages are found, not imported). File contents are hashed
once and then remembered by the files' stats (``cache.fingerprints``); each identity is computed
once per process.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.util
import json
import os
import site
from pathlib import Path

from ..cache import keys
from ..cache.fingerprints import remembered_by_stats, tree_fingerprint
from ..cache.store import cache_root
from ..config import settings
from ..log import get_logger

WORKER_PACKAGE = Path(__file__).resolve().parents[1] / "worker"
# NESTML versions whose internals jitnest's worker was tested against (see nestml_optimised)
TESTED_NESTML = ("9.0.0",)
_warned: set[str] = set()
_log = get_logger(__name__)
# hashed file by file / by version (see the module's docstring)
GENERATOR_PACKAGES = ("pynestml", "odetoolbox")
GENERATOR_LIBRARIES = {"sympy": "sympy", "antlr4-python3-runtime": "antlr4", "jinja2": "jinja2"}  # -> package


def _package_roots(name: str) -> list[str]:
    """Where Python imports package ``name`` from (found, not imported); [] if it is missing."""
    try:
        spec = importlib.util.find_spec(name)
    except (ImportError, ValueError):
        return []
    return list(spec.submodule_search_locations or []) if spec is not None else []


def _distribution_version(name: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(name)
    except PackageNotFoundError:
        return "unknown"


@functools.lru_cache(maxsize=1)
def _versions() -> dict[str, str]:
    """The versions of nestml and of ``GENERATOR_LIBRARIES`` from package metadata. Importing
    importlib.metadata and looking them up would cost a warm run 10-30 ms, so they are remembered
    in the cache by the stats of the packages' ``__init__.py`` files and of the site-packages
    folders (pip adds and removes a ``*.dist-info`` folder there whenever it installs anything)."""
    watched = [os.path.join(root, "__init__.py") for package in ("pynestml", *GENERATOR_LIBRARIES.values())
               for root in _package_roots(package)]
    watched += [*site.getsitepackages(), site.getusersitepackages()]
    return json.loads(remembered_by_stats(watched, lambda: json.dumps(
        {name: _distribution_version(name) for name in ("nestml", *GENERATOR_LIBRARIES)}, sort_keys=True),
        cache_root()))


@functools.lru_cache(maxsize=1)
def _installed_nestml() -> str:
    roots = [root for name in GENERATOR_PACKAGES for root in (_package_roots(name) or [f"<no {name}>"])]
    return keys.stable_hash({"versions": _versions(), "files": tree_fingerprint(roots, cache_root())})


def nestml_identity() -> str:
    """What produced NESTML's output here: the contents of NESTML's and ODE-toolbox's installed
    files, the versions of the libraries they use, and whether the worker takes its optimised
    path (``nestml_optimised``). Part of every key of what NESTML produced, and of the shared
    server's identity; the files are hashed once per process (and remembered in the cache, see
    ``cache.fingerprints``)."""
    return keys.stable_hash([_installed_nestml(), nestml_optimised()])



def nestml_optimised() -> bool:
    """Whether the NESTML worker may take its optimised path, which reaches into NESTML's internals
    (its lexer, the order of its generation pipeline; see ``jitnest.worker``): only with a NESTML
    version jitnest was tested with (``TESTED_NESTML``), and unless ``JITNEST_OPTIMISE=0``.
    Otherwise the worker runs NESTML's plain path (correct, a little slower); an untested version
    is said once per process (a warning)."""
    if not settings().optimise:
        return False
    version = nestml_version()
    if version in TESTED_NESTML:
        return True
    if version not in _warned:
        _warned.add(version)
        _log.warning("NESTML %s is not a version jitnest was tested with (%s): jitnest leaves NESTML's lexer and "
                     "pipeline unchanged (slower generation, same models)", version, ", ".join(TESTED_NESTML))
    return False


def nest_version() -> str:
    """NEST's version from its package metadata (the worker reads the same; no import of NEST)."""
    version = _distribution_version("nest-simulator")
    return version if version != "unknown" else _distribution_version("nest_simulator")


@functools.lru_cache(maxsize=1)
def worker_identity() -> str:
    """SHA-256 over the worker package's source files: part of every key of what NESTML produced."""
    digest = hashlib.sha256()
    for path in sorted(WORKER_PACKAGE.glob("*.py")):
        digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def nestml_version() -> str:
    """NESTML's version, from package metadata (no import of NESTML; remembered, see ``_versions``);
    for the tested-version check, manifests and messages. Keys use ``nestml_identity``: the version
    alone misses an editable or patched NESTML."""
    return _versions()["nestml"]
