"""The package's shape: dependencies point one way, modules stay small, NEST only when needed.

Each package's ``__init__`` docstring states what it may import; this test holds the code to it,
from the source (every ``import``, also inside functions), so a new upward import fails here.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT

PACKAGE = ROOT / "jitnest"
BASE = {"config", "errors", "files", "log", "call_site", "pynest", "processes", "mpi_exit", "_version", "_core"}
# package -> the packages it may import (besides BASE and itself)
ALLOWED: dict[str, set[str]] = {
    "facade": {"record", "models", "plan", "compile", "generate", "cache"},
    "hooks": {"facade"},
    "record": {"models", "plan", "compile", "generate", "cache"},
    "compile": {"plan", "generate", "cache"},
    "plan": {"models", "generate"},
    "models": {"generate", "cache"},
    "generate": {"cache"},
    "cache": set(),
    "worker": set(),
    "provenance": {"record", "generate", "cache"},
    "cli": {"cache"},
    "__main__": {"cli", "hooks"},
    "__init__": {"facade", "record", "models", "generate", "hooks", "provenance"},
}
# base modules that must never import NEST (directly); pynest is the one door to it
NEST_FREE_BASE = {"config", "errors", "files", "log", "call_site", "processes", "mpi_exit", "_version"}


def _part_of(path: Path) -> str:
    relative = path.relative_to(PACKAGE)
    return relative.parts[0] if len(relative.parts) > 1 else relative.stem


def _imported_parts(path: Path) -> set[tuple[str, int]]:
    """The jitnest packages/modules ``path`` imports, with line numbers."""
    tree = ast.parse(path.read_text())
    module_parts = path.relative_to(PACKAGE).with_suffix("").parts
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                anchor = list(module_parts[:-1])
                anchor = anchor[:len(anchor) - (node.level - 1)] if node.level > 1 else anchor
                target = anchor + (node.module.split(".") if node.module else [])
                if not target:  # "from . import x" at the top level
                    target = [node.names[0].name]
                found.add((target[0], node.lineno))
            elif node.module and node.module.split(".")[0] == "jitnest":
                parts = node.module.split(".")
                found.add((parts[1] if len(parts) > 1 else node.names[0].name, node.lineno))
        elif isinstance(node, ast.Import):
            for alias in node.names:
                parts = alias.name.split(".")
                if parts[0] == "jitnest" and len(parts) > 1:
                    found.add((parts[1], node.lineno))
                if parts[0] == "nest":
                    found.add(("<nest>", node.lineno))
    return found


def _modules() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_dependencies_point_one_way(path: Path) -> None:
    part = _part_of(path)
    allowed = ALLOWED.get(part, set()) | {part} | (set() if part in ("worker", "cache") else BASE)
    if part == "worker":
        allowed |= {"config"}
    if part == "cache":
        allowed |= {"config", "errors", "files", "log"}
    if part in NEST_FREE_BASE:
        allowed = BASE - {"pynest"} | {part}
        if part == "errors":
            allowed |= {"pynest"}  # NEST-flavoured error classes, made on first access only
    wrong = sorted((name, line) for name, line in _imported_parts(path) if name not in allowed)
    if part != "pynest":
        wrong += [(name, line) for name, line in _imported_parts(path) if name == "<nest>"]
    assert not wrong, f"{path.relative_to(ROOT)} imports {wrong} (allowed for {part}: {sorted(allowed)})"


def test_modules_are_small_or_say_why() -> None:
    too_long = []
    for path in _modules():
        lines = len(path.read_text().splitlines())
        docstring = ast.get_docstring(ast.parse(path.read_text())) or ""
        if lines > 400 and "longer than" not in docstring:
            too_long.append(f"{path.relative_to(ROOT)}: {lines} lines")
    assert not too_long, too_long


def test_every_package_states_its_contract() -> None:
    for init in sorted(PACKAGE.glob("*/__init__.py")):
        docstring = ast.get_docstring(ast.parse(init.read_text())) or ""
        assert "import" in docstring.lower() and len(docstring) > 200, f"{init.relative_to(ROOT)}: no contract"


def test_cache_config_cli_and_worker_do_not_start_nest() -> None:
    code = ("import sys\n"
            "import jitnest, jitnest.cache.maintenance, jitnest.cache.keys, jitnest.config, jitnest.cli, jitnest.log\n"
            "import jitnest.files, jitnest.errors, jitnest.worker.protocol, jitnest.worker.server\n"
            "from jitnest import config, cache, cli, worker\n"
            "import jitnest.worker.pipeline, jitnest.worker.describe, jitnest.generate.nestml_client\n"
            "print(sorted(m for m in ('nest', 'pynestml') if m in sys.modules))\n")
    completed = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    assert completed.stdout.strip() == "[]", completed.stdout + completed.stderr


def test_cache_command_prints_no_nest_banner(tmp_path) -> None:
    environment = {k: v for k, v in __import__("os").environ.items() if k != "PYNEST_QUIET"}
    environment["JITNEST_CACHE_DIR"] = str(tmp_path)
    completed = subprocess.run([sys.executable, "-m", "jitnest", "cache", "list", "--json"], capture_output=True,
                               text=True, check=True, cwd=ROOT, env=environment)
    assert "N E S T" not in completed.stdout + completed.stderr
    assert completed.stdout.lstrip().startswith("{")
