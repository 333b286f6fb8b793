"""Transform: make NESTML's generated C++ faster and smaller without changing what it computes.

NESTML's code for a neuron–synapse pair does more work than NEST's hand-written models (issue
14). This stage rewrites a unit's generated files before they are compiled, one module per
transformation (``TRANSFORMATIONS``, applied in that order). Each transformation:

* is *guarded*: it recognises exact patterns of the generated code and checks, from the code,
  every precondition that makes its rewrite exact; where anything differs (another NESTML
  version, another model) it leaves the code exactly as NESTML wrote it. Preconditions that
  depend on the recorded network are given as plain data (``network``), never guessed;
* is *exact*: the transformed module produces bit-identical spikes, weights and recorded values
  (differential tests against NESTML's unedited code);
* is named in the module's manifest when it changed something (provenance), and its source is
  part of the module's cache key (``identity``).

``JITNEST_TRANSFORM`` turns the stage off (``0``) or selects transformations by name.

Contract: ``stage(source_dir, target_dir, models, network)`` copies the models' files from
``source_dir`` (the generated-code store, never modified) to ``target_dir``, transformed, and
returns what was applied. Input is plain data (the generated-model list of ``codegen``).
May import: the standard library and ``jitnest.config``/``jitnest.log`` (base modules); nothing
of NEST or NESTML.
"""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path
from types import ModuleType

from ...config import settings
from ...log import get_logger
from . import (
    archiving_base,
    input_buffer,
    slice_origin,
    slice_origin_cache,
    spike_history,
    spike_port_table,
    spike_sign,
    synapse_scratch,
    synapse_shared_parameters,
    trace_propagators,
    update_invariants,
)

_log = get_logger(__name__)

# In the order they are applied. A transformation sees the output of the ones before it.
TRANSFORMATIONS: tuple[ModuleType, ...] = (trace_propagators, synapse_scratch, synapse_shared_parameters,
                                          input_buffer, update_invariants, spike_port_table, spike_sign,
                                          spike_history, archiving_base, slice_origin,
                                          slice_origin_cache)
NAMES = tuple(t.NAME for t in TRANSFORMATIONS)
_PACKAGE = Path(__file__).resolve().parent


def enabled() -> tuple[str, ...]:
    """The names of the transformations the current settings apply (``JITNEST_TRANSFORM``)."""
    chosen = settings().transform
    if chosen is None:
        return NAMES
    unknown = sorted(set(chosen) - set(NAMES))
    if unknown:
        raise ValueError(f"JITNEST_TRANSFORM names unknown transformations {unknown} (known: {', '.join(NAMES)})")
    return tuple(name for name in NAMES if name in chosen)


def identity(network: dict | None = None) -> str:
    """Everything of this stage that changes a module: the enabled transformations, their source
    files and the network facts they are given (part of the module's cache key)."""
    names = enabled()
    if not names:
        return "off"
    digest = hashlib.sha256(repr((names, sorted((network or {}).items()))).encode())
    for path in sorted(_PACKAGE.glob("*.py")):
        digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def stage(source_dir: Path, target_dir: Path, models: list[dict], network: dict | None = None) -> list[dict]:
    """Copy ``models``' generated files from ``source_dir`` to ``target_dir`` and apply the enabled
    transformations there; returns ``[{"name", "description", "notes"}]`` for each one that changed
    something (the manifest's ``transformations``)."""
    target_dir.mkdir(parents=True, exist_ok=True)
    names = [m["header"] for m in models] + [m["source"] for m in models if m.get("source")]
    files = {name: (source_dir / name).read_text() for name in names}
    applied = []
    for transformation in TRANSFORMATIONS:
        if transformation.NAME not in enabled():
            continue
        notes = transformation.apply(files, models, dict(network or {}))
        if notes:
            applied.append({"name": transformation.NAME, "description": transformation.DESCRIPTION, "notes": notes})
            _log.debug("transformation %s: %s", transformation.NAME, "; ".join(notes))
    for name in names:
        original = source_dir / name
        if files[name] == original.read_text():
            shutil.copy(original, target_dir / name)
        else:
            (target_dir / name).write_text(files[name])
    return applied
