"""Cache keys: one hash of everything that changes what is cached.

A key must change whenever any input of the thing it names changes, or a stale result is
loaded (GeNN's cache bugs were exactly keys that missed an input). The inputs are passed in as
plain data (descriptions, identities, file contents), so this module knows nothing of units,
toolchains or NESTML; the callers say what goes in (``compile.builder``, ``models.model_info``).
"""

from __future__ import annotations

import hashlib
import json


def stable_hash(payload: object) -> str:
    """SHA-256 of a JSON-serialisable value, independent of dict order."""
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def codegen_key(unit: dict, nestml: str, worker: str, nest_version: str) -> str:
    """NESTML's output for a unit (described without its twins): independent of compiler and
    flags, so that a change of those recompiles without generating again. ``nestml`` identifies
    what generated the code (NESTML's installed files, not only its version), ``worker`` the
    worker that drove it."""
    return stable_hash({"unit": unit, "nestml": nestml, "worker": worker, "nest_version": nest_version})


def pch_key(toolchain: dict, project_files: list[str]) -> str:
    """The precompiled NEST header of a toolchain, built by the CMake project's files."""
    return stable_hash({"toolchain": toolchain, "files": project_files})


def module_key(unit: dict, nestml: str, toolchain: dict, generator: str) -> str:
    """A compiled module: its unit, NESTML (as for ``codegen_key``), the toolchain and jitnest's
    generator inputs."""
    return stable_hash({"unit": unit, "nestml": nestml, "toolchain": toolchain, "generator": generator})


def parse_key(source_sha256: str, worker: str) -> str:
    """NESTML's description of a model file's content, as the worker and NESTML identified by
    ``worker`` give it."""
    return stable_hash([source_sha256, worker])


def module_name_for(key: str) -> str:
    """The NEST module name (and so .so file name) of a module key: distinct builds never share a
    file name (NEST issue 3802: a rebuilt library reloaded from the same path can run old code)."""
    return f"jitnest_{key[:20]}_module"
