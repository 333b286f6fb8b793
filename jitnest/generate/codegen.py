"""NESTML's code for one unit, generated once per key into the generated-code store.

The request names files, neuron–synapse pairs and weight/delay variables in plain data; the
NESTML worker (through ``nestml_client``) writes the C++ files and describes what it generated.
The result is kept in an ``ArtifactStore`` so that a change of compiler or flags recompiles
without running NESTML again.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from ..cache.store import ArtifactStore
from . import nestml_client

# NESTML is told this module name; jitnest writes the real registration file itself (see
# registration), so the generated model sources never depend on the key-derived module name.
CODEGEN_MODULE_NAME = "jitnest_generated_module"


class GenerationFailed(Exception):
    """NESTML reported errors or crashed; ``log`` holds its output."""

    def __init__(self, message: str, log: str) -> None:
        super().__init__(message)
        self.log = log


def generate(store: ArtifactStore, key: str, files: list[str], pairs: list[dict], weights: dict[str, str],
             delays: dict[str, str], nest_version: str, paired_only: bool,
             on_start: Callable[[], None] | None = None,
             codegen_opts: dict | None = None, models: list[str] | None = None) -> tuple[Path, list[dict], bool]:
    """``(directory, generated models, generated now)`` for ``key``; the C++ files are in
    ``directory / "src"``. ``on_start`` is called before NESTML runs (not on a cache hit);
    ``codegen_opts`` are further NESTML options, ``models`` the models of ``files`` to generate
    (default: all; both part of ``key``). Raises ``GenerationFailed``."""
    cached = store.get(key)
    if cached is None and on_start is not None:
        on_start()

    def create(work: Path) -> None:
        try:
            result = nestml_client.generate(files, work / "src", CODEGEN_MODULE_NAME, pairs, weights, delays,
                                            nest_version, paired_only=paired_only,
                                            codegen_opts=codegen_opts, models=models)
        except nestml_client.WorkerTimeout as timeout:
            raise GenerationFailed(f"generating code: {timeout}", timeout.log) from None
        except nestml_client.WorkerCrash as crash:
            raise GenerationFailed(f"NESTML crashed while generating code ({crash})", crash.log) from None
        (work / "nestml.log").write_text(result.log)
        if not result.ok:
            problems = "\n".join(f"  {p}" for p in result.problems())
            raise GenerationFailed(f"NESTML code generation reported errors:\n{problems}", result.log)
        (work / "models.json").write_text(json.dumps(result.answer["models"]))

    names = " + ".join(Path(f).stem for f in files)
    directory = store.get_or_create(key, create, f"NESTML's code for {names}")
    return directory, json.loads((directory / "models.json").read_text()), cached is None
