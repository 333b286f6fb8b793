"""What produced NESTML's output: the identities that go into every key of it.

A key of generated code, of a parse result or of a module must change when anything that
produced it changes (GeNN's cache bugs were keys that missed an input); the shared NESTML server
must not answer for another NESTML than the one a process would import. So:

* ``nestml_identity``: the contents of NESTML's and ODE-toolbox's files where Python imports them
  from (an editable or patched install keeps its version string), and the versions of the
  libraries they compute and render with (sympy's simplifications end up in the code);
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
from pathlib import Path

from ..cache import keys
from ..cache.fingerprints import tree_fingerprint
from ..cache.store import cache_root

WORKER_PACKAGE = Path(__file__).resolve().parents[1] / "worker"
# hashed file by file / by version (see the module's docstring)
GENERATOR_PACKAGES = ("pynestml", "odetoolbox")
GENERATOR_LIBRARIES = ("sympy", "antlr4-python3-runtime", "jinja2")


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
def nestml_identity() -> str:
    """What produced NESTML's output here: the contents of NESTML's and ODE-toolbox's installed
    files and the versions of the libraries they use. Part of every key of what NESTML produced,
    and of the shared server's identity; computed once per process (the file hashes are kept
    in the cache, see ``cache.fingerprints``)."""
    roots = [root for name in GENERATOR_PACKAGES for root in (_package_roots(name) or [f"<no {name}>"])]
    return keys.stable_hash({
        "nestml": nestml_version(),
        "files": tree_fingerprint(roots, cache_root()),
        "libraries": {name: _distribution_version(name) for name in GENERATOR_LIBRARIES},
    })


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
    """NESTML's version, read from package metadata (no import of NESTML); for manifests and
    messages. Keys use ``nestml_identity``: the version alone misses an editable or patched NESTML."""
    return _distribution_version("nestml")
