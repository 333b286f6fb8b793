"""What a generation leaves in the target directory, and the part of the response that lists it.

NESTML's message log as JSON (:func:`_write_log`), files without NESTML's generation timestamp
(:func:`_neutralise_timestamps`: the output depends only on the inputs, given ``PYTHONHASHSEED=0``),
and the generated models as registered by the generated module (:func:`_generated_models`).
"""

from __future__ import annotations

import json
import os
import re
from typing import Any

from .names import _source_model_name


def _write_log(target_dir: str) -> str:
    """Write NESTML's message log into ``target_dir`` as JSON; return the file's name.

    Same content as NESTML's ``--store_log`` file (which goes to ``<target>/../report/``), but
    written with ``json``: NESTML's ``Logger.get_json_format`` builds JSON by string concatenation
    and fails on messages that contain quotes.
    """
    from pynestml.utils.logger import Logger

    entries = []
    for index in sorted(Logger.get_log()):
        artifact, node, level, code, position, message = Logger.get_log()[index]
        entries.append({
            "filename": artifact,
            "nodeName": node.get_name() if node is not None and hasattr(node, "get_name") else "GLOBAL",
            "severity": level.name,
            "code": getattr(code, "name", None),
            "row": position.get_start_line() if position is not None else None,
            "col": position.get_start_column() if position is not None else None,
            "message": str(message),
        })
    name = "nestml_log.json"
    with open(os.path.join(target_dir, name), "w", encoding="utf-8") as f:
        json.dump(entries, f, indent=1)
        f.write("\n")
    return name


_TIMESTAMP = re.compile(r"(Generated from NESTML[^\n]*?) at time: [^\n]*")


def _neutralise_timestamps(target_dir: str) -> list[str]:
    """Drop the generation time from every text file in ``target_dir``; return all file names.

    NESTML writes "Generated from NESTML 9.0.0 at time: <now>" into each file; without it, output
    with ``PYTHONHASHSEED=0`` is byte-identical between runs.
    """
    names = []
    for root, _, filenames in os.walk(target_dir):
        for filename in filenames:
            path = os.path.join(root, filename)
            names.append(os.path.relpath(path, target_dir))
            try:
                with open(path, encoding="utf-8") as f:
                    text = f.read()
            except UnicodeDecodeError:
                continue
            cleaned = _TIMESTAMP.sub(r"\1", text)
            if cleaned != text:
                with open(path, "w", encoding="utf-8") as f:
                    f.write(cleaned)
    return sorted(names)


_NEURON_REGISTRATION = re.compile(r"^\s*(register_(\w+)\(\s*\"([^\"]+)\"\s*\);)", re.M)
_SYNAPSE_REGISTRATION = re.compile(r"^\s*(nest::(\w+)::register_\w+\(\s*\"([^\"]+)\"\s*\);)", re.M)


def _generated_models(target_dir: str, module_name: str) -> list[dict[str, Any]]:
    """Describe each model registered by NESTML's generated ``<module_name>.cpp``."""
    with open(os.path.join(target_dir, module_name + ".cpp"), encoding="utf-8") as f:
        module_source = f.read()
    models = []
    for kind, pattern in (("neuron", _NEURON_REGISTRATION), ("synapse", _SYNAPSE_REGISTRATION)):
        for match in pattern.finditer(module_source):
            call, name = match.group(1), match.group(3)
            source = name + ".cpp" if os.path.isfile(os.path.join(target_dir, name + ".cpp")) else None
            models.append({
                "name": name,
                "kind": kind,
                "source_model": _source_model_name(name),
                "paired": "__with_" in name,
                "header": name + ".h",
                "source": source,
                "register_call": call,
                "recordables": _generated_recordables(target_dir, source) if kind == "neuron" else [],
            })
    return models


_RECORDABLE_INSERT = re.compile(r"insert_\(\s*\w+::_(\w+)\s*,|insert\(\s*\"([^\"]+)\"")


def _generated_recordables(target_dir: str, source: str | None) -> list[str]:
    """Recordable names inserted into the RecordablesMap in the generated neuron source.

    Vector state variables are inserted at run time (``X_<i>``) and are not listed here.
    """
    if source is None:
        return []
    with open(os.path.join(target_dir, source), encoding="utf-8") as f:
        text = f.read()
    return [m.group(1) or m.group(2) for m in _RECORDABLE_INSERT.finditer(text)]
