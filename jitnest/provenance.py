"""What the current network was built from, as a record to keep beside the results.

``provenance()`` returns, for each NEST module jitnest installed for the current network, the
NESTML sources (paths and SHA-256), the unit (which models were generated together), the
NESTML, NEST, compiler and jitnest versions, the flags, when and how long it was built, and the
module file with its SHA-256; plus the run's context: Python, platform, the NEST kernel
settings that change results, the script and the date. ``write_provenance(path)`` writes it as
JSON.

Everything about a module comes from the manifest its build wrote beside it in the cache
(``jitnest cache info KEY`` shows the same). If the entry was removed from the cache since it
was installed (``jitnest cache clear``/``prune``), the record says so instead.

Sumatra: if the ``sumatra`` package is importable and this run is a Sumatra record (``smt run``
with the label passed to the script as a parameter or on the command line, or ``@capture``),
``write_provenance`` adds each module and its NESTML sources to the record's dependencies. That
persists with Sumatra's default (Django) record store, which adds dependencies when ``smt``
saves the record at the end of the run; the shelve store replaces them then. Nothing happens,
and Sumatra is not imported, when it is not installed.
"""

from __future__ import annotations

import contextlib
import datetime
import importlib.util
import json
import os
import platform
import re
import shlex
import sys
import warnings
from pathlib import Path
from typing import Any

from ._version import __version__ as jitnest_version
from .cache.store import MANIFEST
from .files import sha256_file, write_atomically
from .generate import nestml_client
from .pynest import REAL
from .record.session import SESSION

FORMAT = "jitnest-provenance/1"

# Kernel settings that change what a simulation computes (read from the real NEST kernel).
KERNEL_SETTINGS = ("resolution", "rng_seed", "rng_type", "local_num_threads", "total_num_virtual_procs",
                   "num_processes", "tics_per_ms", "min_delay", "max_delay", "biological_time")


def _sha256(path: Path) -> str | None:
    try:
        return sha256_file(path)
    except OSError:
        return None


def _iso(timestamp: float | None) -> str | None:
    if not isinstance(timestamp, (int, float)):
        return None
    return datetime.datetime.fromtimestamp(timestamp, datetime.timezone.utc).isoformat()


def _configure_definitions(build_log: Path) -> dict[str, str] | None:
    """The ``-D`` definitions of the CMake configure command recorded in a module's build log."""
    try:
        lines = build_log.read_text(errors="replace").splitlines()
    except OSError:
        return None
    for line in lines:
        if line.startswith("$ ") and " -S " in line and " --build " not in line:
            try:
                words = shlex.split(line[2:])
            except ValueError:
                words = line[2:].split()
            definitions = {}
            for word in words:
                match = re.match(r"-D([^=]+)=(.*)", word)
                if match and not match.group(1).startswith("JITNEST_SOURCE"):
                    definitions[match.group(1)] = match.group(2)
            return definitions
    return None


def _module_record(label: str, info: dict) -> dict:
    module = Path(info["module"])
    record: dict[str, Any] = {"unit": label, "module": str(module), "built_here": bool(info.get("built_here"))}
    try:
        manifest = json.loads((module.parent / MANIFEST).read_text())
    except (OSError, ValueError):
        manifest = None
    actual = _sha256(module)
    if not isinstance(manifest, dict):
        record.update(module_sha256=actual, manifest=None,
                      problem=f"no manifest beside {module}: the cache entry was removed after it was installed")
        return record
    toolchain = manifest.get("toolchain") or {}
    sources = []
    for source in manifest.get("sources", []):
        now = _sha256(Path(source["path"])) if source.get("path") else None
        sources.append({**source, "unchanged_since_build": now == source.get("sha256")})
    record.update({
        "module_sha256": manifest.get("module_sha256"),
        "module_sha256_verified": actual is not None and actual == manifest.get("module_sha256"),
        "module_name": manifest.get("module_name"),
        "cache_key": manifest.get("key"),
        "models": manifest.get("models", []),
        "sources": sources,
        "combination": manifest.get("unit"),
        "transformations": [t.get("name") for t in manifest.get("transformations") or []],
        "versions": {
            "nestml": manifest.get("nestml_version"),
            "nest": toolchain.get("nest_version"),
            "nest_build_stamp": toolchain.get("nest_build_stamp"),
            "jitnest": manifest.get("jitnest_version"),
            "compiler": toolchain.get("cxx_version"),
            "cmake": toolchain.get("cmake_version"),
        },
        "compiler": toolchain.get("cxx"),
        "flags": {"extra_flags": list(toolchain.get("extra_flags") or []),
                  "cmake_definitions": _configure_definitions(module.parent / "build.log"),
                  "precompiled_header": manifest.get("precompiled_header")},
        "toolchain": toolchain,
        "built": _iso(manifest.get("created")),
        "build_seconds": manifest.get("build_seconds"),
        "generation_seconds": manifest.get("generation_seconds"),
    })
    return record


def _kernel_settings() -> dict[str, Any]:
    settings: dict[str, Any] = {}
    for name in KERNEL_SETTINGS:
        try:
            value = REAL.GetKernelStatus(name)
        except Exception:  # a setting this NEST lacks is not recorded
            continue
        settings[name] = value.item() if hasattr(value, "item") else value
    return settings


def _script() -> dict | None:
    if not sys.argv or not sys.argv[0] or sys.argv[0] in ("-c", "-m", "-"):
        return None
    path = Path(sys.argv[0]).resolve()
    if not path.is_file():
        return None
    return {"path": str(path), "sha256": _sha256(path), "argv": list(sys.argv)}


def provenance() -> dict:
    """The record of everything the current network was built from, and of this run's context."""
    modules = [_module_record(label, info) for label, info in sorted(SESSION.last_build.items())]
    record: dict[str, Any] = {
        "format": FORMAT,
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(),
        "network_built": not SESSION.pending,
        "modules": modules,
        "kernel": _kernel_settings(),
        "versions": {"jitnest": jitnest_version, "nest": str(REAL.__version__),
                     "nestml": nestml_client.nestml_version(), "python": platform.python_version()},
        "python": {"version": sys.version, "implementation": platform.python_implementation(),
                   "executable": sys.executable},
        "platform": {"system": platform.system(), "release": platform.release(), "machine": platform.machine(),
                     "platform": platform.platform(), "hostname": platform.node(),
                     "cpu_count": os.cpu_count()},
        "script": _script(),
        "cwd": os.getcwd(),
    }
    if SESSION.pending:
        record["note"] = ("the recorded network was not built yet (no Simulate since its last change): modules and "
                          "kernel settings describe the last built network; call jitnest.build() first")
    return record


def write_provenance(path: str | os.PathLike, *, sumatra_label: str | None = None) -> Path:
    """Write ``provenance()`` as JSON to ``path`` (a file, or a folder to hold ``provenance.json``).

    Inside a Sumatra record (see the module's doc; ``sumatra_label`` names it explicitly) the
    modules and their NESTML sources are also added to the record's dependencies.
    """
    target = Path(path)
    if target.is_dir():
        target = target / "provenance.json"
    record = provenance()
    try:
        added = add_to_sumatra(record, sumatra_label)
    except Exception as error:  # recording provenance must not break the user's run
        warnings.warn(f"jitnest could not add the modules to the Sumatra record: {error}", stacklevel=2)
        added = None
    if added is not None:
        record["sumatra"] = added
    target.parent.mkdir(parents=True, exist_ok=True)
    return write_atomically(target, json.dumps(record, indent=2, sort_keys=True, default=str) + "\n", mode=0o644)


# --- Sumatra (optional) ----------------------------------------------------------------------


def _candidate_labels() -> list[str]:
    """Record labels ``smt run`` may have passed: in a parameter file argument, or as the last argument."""
    labels = []
    from sumatra.parameters import build_parameters

    for argument in sys.argv[1:]:
        if os.path.isfile(argument):
            with contextlib.suppress(Exception):
                label = build_parameters(argument)["sumatra_label"]
                if label:
                    labels.append(str(label))
    if len(sys.argv) > 1 and not os.path.exists(sys.argv[-1]):
        labels.append(sys.argv[-1])
    return labels


def _same_file(a: str | None, b: Path) -> bool:
    if not a:
        return False
    with contextlib.suppress(OSError):
        return Path(a).resolve().samefile(b)
    return False


def _current_sumatra_record(label: str | None) -> tuple[Any, Any] | None:
    from sumatra.core import STATUS_FORMAT
    from sumatra.projects import load_project

    try:
        project = load_project()
    except Exception:  # not inside a Sumatra project
        return None
    running = STATUS_FORMAT % "running"

    def get(candidate: str) -> Any:
        try:
            return project.get_record(candidate)
        except Exception:  # no such record
            return None

    if label is not None:
        record = get(label)
        return (project, record) if record is not None else None
    for candidate in _candidate_labels():
        record = get(candidate)
        if record is not None and running in record.tags:
            return project, record
    script = _script()
    if script is None:
        return None
    try:
        records = project.find_records(tags=running)
    except Exception:
        return None
    mine = [r for r in records if _same_file(r.main_file, Path(script["path"]))]
    return (project, mine[0]) if len(mine) == 1 else None


def add_to_sumatra(record: dict | None = None, label: str | None = None) -> dict | None:
    """Add the network's modules and NESTML sources to the running Sumatra record's dependencies.

    Returns ``{"project", "record", "dependencies_added"}``, or None when Sumatra is not installed
    or this run is not a Sumatra record. ``record`` is a ``provenance()`` (computed if omitted).
    """
    if importlib.util.find_spec("sumatra") is None:
        return None
    found = _current_sumatra_record(label)
    if found is None:
        return None
    project, smt_record = found
    from sumatra.dependency_finder.python import Dependency

    record = record if record is not None else provenance()
    wanted = []
    for module in record["modules"]:
        source = f"jitnest module of {module['unit']}"
        if module.get("cache_key"):
            source += f" (cache key {module['cache_key']})"
        wanted.append(Dependency(f"jitnest:{module['unit']}", module["module"],
                                 f"sha256:{module.get('module_sha256')}", "", source))
        for nestml in module.get("sources", []):
            wanted.append(Dependency(f"nestml:{nestml['model']}", nestml["path"], f"sha256:{nestml['sha256']}",
                                     "", f"NESTML source of {module['unit']}"))
    present = {(d.name, d.path, d.version) for d in smt_record.dependencies}
    added = [d for d in wanted if (d.name, d.path, d.version) not in present]
    if added:
        smt_record.dependencies.extend(added)
        project.save_record(smt_record)
    return {"project": project.name, "record": smt_record.label, "dependencies_added": [d.name for d in added]}
