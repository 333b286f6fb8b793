"""``jitnest cache list|info|prune|clear``, run as ``python -m jitnest cache ...`` on real cache entries.

The tiny NESTML neuron is compiled once, into the session's cache (shared with
test_provenance). Each test works on a private copy of that entry, so that pruning and clearing
never touch the session's cache; only the prune test compiles again, to show that a later run
rebuilds what was pruned.
"""

from __future__ import annotations

import hashlib
import json
import os
import pty
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import NETWORKS, ROOT, last_json, run_python

from jitnest.cli import format_size, parse_size

pytestmark = pytest.mark.slow

TINY = NETWORKS / "tiny_network.py"


@pytest.fixture(scope="module")
def warm(cache_dir) -> tuple[Path, str]:
    """The session cache with the tiny neuron's module in it, and that module's key."""
    result = last_json(run_python(TINY))
    assert result["events"] > 0
    ((label, built),) = result["build"].items()
    assert label == "tiny_neuron"
    entry = Path(built["module"]).parent
    assert entry.parent == cache_dir / "modules"
    return cache_dir, entry.name


INTERMEDIATES = ("generated", "pch")  # generated code and precompiled headers (cache.ArtifactStore)


def _private_copy(warm: tuple[Path, str], where: Path, intermediates: bool = False) -> tuple[Path, str]:
    """A cache of our own holding a copy of the warm entry (and the parse cache, so no NESTML runs)."""
    source, key = warm
    cache = where / "cache"
    (cache / "modules").mkdir(parents=True, mode=0o700)
    shutil.copytree(source / "modules" / key, cache / "modules" / key)
    for sub in ("models",) + (INTERMEDIATES if intermediates else ()):
        if (source / sub).is_dir():
            shutil.copytree(source / sub, cache / sub)
    return cache, key


def _contents(cache: Path, sub: str) -> list[str]:
    """What a cache subfolder holds, without the lock files and empty work folder of artifact stores."""
    folder = cache / sub
    if not folder.is_dir():
        return []
    return sorted(p.name for p in folder.iterdir()
                  if not (p.name.endswith(".lock") or (p.name == ".tmp" and not any(p.iterdir()))))


def _cache_cli(cache: Path, *args: str, stdin: int | None = subprocess.DEVNULL) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "jitnest", "cache", "--cache-dir", str(cache), *args],
                          cwd=str(ROOT), capture_output=True, text=True, timeout=120, stdin=stdin, check=False)


def _json(completed: subprocess.CompletedProcess) -> dict:
    assert completed.returncode == 0, completed.stderr
    return json.loads(completed.stdout[completed.stdout.index("{"):])


def _run_tiny(cache: Path) -> dict:
    return last_json(run_python(TINY, env={"JITNEST_CACHE_DIR": str(cache)}))


def test_list_shows_the_entry_with_its_models(warm, tmp_path):
    cache, key = _private_copy(warm, tmp_path)
    listed = _cache_cli(cache, "list")
    assert listed.returncode == 0, listed.stderr
    row = next(line for line in listed.stdout.splitlines() if line.startswith(key[:12]))
    assert "tiny_neuron: tiny_neuron_nestml" in row
    manifest = json.loads((cache / "modules" / key / "manifest.json").read_text())
    assert manifest["toolchain"]["nest_version"] in row and manifest["nestml_version"] in row

    data = _json(_cache_cli(cache, "list", "--json"))
    (entry,) = data["entries"]
    assert set(data["artifacts"]) == {"generated", "pch"}
    assert entry["key"] == key
    assert entry["label"] == "tiny_neuron"
    assert entry["models"] == ["tiny_neuron_nestml"]
    assert entry["size_bytes"] > 10_000  # the compiled module is in it
    assert entry["nestml_version"] and entry["nest_version"] and entry["compiler"]


def test_info_by_key_prefix_shows_the_manifest(warm, tmp_path):
    cache, key = _private_copy(warm, tmp_path)
    model_sha = hashlib.sha256((ROOT / "tests/models/tiny_neuron.nestml").read_bytes()).hexdigest()

    human = _cache_cli(cache, "info", key[:6])
    assert human.returncode == 0, human.stderr
    assert str(cache / "modules" / key) in human.stdout
    assert model_sha in human.stdout
    assert "SHA-256 matches the manifest" in human.stdout

    data = _json(_cache_cli(cache, "info", key[:6], "--json"))
    assert data["key"] == key and data["path"] == str(cache / "modules" / key)
    assert data["verified"] is True
    manifest = data["manifest"]
    assert manifest == json.loads((cache / "modules" / key / "manifest.json").read_text())
    (source,) = manifest["sources"]
    assert source["model"] == "tiny_neuron" and source["sha256"] == model_sha
    assert manifest["nestml_version"] and manifest["jitnest_version"]
    assert manifest["toolchain"]["nest_version"] and manifest["toolchain"]["cxx_version"]


def test_info_refuses_unknown_and_ambiguous_prefixes(warm, tmp_path):
    cache, key = _private_copy(warm, tmp_path)
    fill = "1" if key[4] == "0" else "0"  # the twin shares exactly the first four characters
    twin = key[:4] + fill * (len(key) - 4)
    shutil.copytree(cache / "modules" / key, cache / "modules" / twin)
    unknown = _cache_cli(cache, "info", "zz")
    assert unknown.returncode == 1 and "no cache entry" in unknown.stderr
    ambiguous = _cache_cli(cache, "info", key[:4])
    assert ambiguous.returncode == 1 and "ambiguous" in ambiguous.stderr
    assert _cache_cli(cache, "info", key[:5]).returncode == 0


def test_loading_an_entry_marks_it_used(warm, tmp_path):
    cache, _ = _private_copy(warm, tmp_path)
    first = _run_tiny(cache)  # loads the copied entry (publishing a build would stamp it too)
    (built,) = first["build"].values()
    stamp = Path(built["module"]).parent / "last_used"
    assert stamp.is_file()
    day_ago = time.time() - 86400
    os.utime(stamp, (day_ago, day_ago))
    second = _run_tiny(cache)
    assert [b["built_here"] for b in second["build"].values()] == [False]
    assert stamp.stat().st_mtime > day_ago + 3600


def test_prune_removes_least_recently_used_first(warm, tmp_path):
    cache, key = _private_copy(warm, tmp_path)
    older = "f" * len(key)
    shutil.copytree(cache / "modules" / key, cache / "modules" / older)
    (cache / "modules" / older / "last_used").touch()
    os.utime(cache / "modules" / older / "last_used", (time.time() - 86400, time.time() - 86400))
    (cache / "modules" / key / "last_used").touch()
    total = _json(_cache_cli(cache, "list", "--json"))["total_bytes"]

    pruned = _cache_cli(cache, "prune", "--max-size", str(total - 1))
    assert pruned.returncode == 0, pruned.stderr
    assert sorted(p.name for p in (cache / "modules").iterdir()) == [key]
    assert f"removed module {older[:12]}" in pruned.stdout


def test_prune_to_a_tiny_size_removes_entries_and_a_later_run_rebuilds(warm, tmp_path):
    cache, key = _private_copy(warm, tmp_path, intermediates=True)
    pruned = _cache_cli(cache, "prune", "--max-size", "1K")
    assert pruned.returncode == 0, pruned.stderr
    for sub in ("modules", "tmp") + INTERMEDIATES:
        assert _contents(cache, sub) == [], f"{sub}: removed entries leave nothing behind"
    assert _json(_cache_cli(cache, "list", "--json"))["entries"] == []

    result = _run_tiny(cache)
    assert result["events"] > 0
    assert [b["built_here"] for b in result["build"].values()] == [True]
    (entry,) = _json(_cache_cli(cache, "list", "--json"))["entries"]
    assert entry["label"] == "tiny_neuron" and entry["models"] == ["tiny_neuron_nestml"]


def test_clear_needs_confirmation_and_then_empties_the_cache(warm, tmp_path):
    cache, key = _private_copy(warm, tmp_path, intermediates=True)
    for sub in ("logs", "tmp"):
        (cache / sub).mkdir(exist_ok=True)
    (cache / "logs" / "old-build.log").write_text("a failed build\n")
    (cache / "tmp" / f"{key}.12345.abcdef").mkdir()  # leftover of a killed build
    assert list((cache / "models").iterdir()), "the parse cache was copied"

    refused = _cache_cli(cache, "clear")  # stdin is not a terminal
    assert refused.returncode == 2 and "--yes" in refused.stderr
    assert (cache / "modules" / key).is_dir()

    cleared = _cache_cli(cache, "clear", "--yes")
    assert cleared.returncode == 0, cleared.stderr
    for sub in ("modules", "models", "logs", "tmp") + INTERMEDIATES:
        assert _contents(cache, sub) == [], sub
    assert _json(_cache_cli(cache, "list", "--json"))["entries"] == []


def test_clear_asks_on_a_terminal(warm, tmp_path):
    cache, key = _private_copy(warm, tmp_path)
    for answer, kept in (("n", True), ("y", False)):
        controller, terminal = pty.openpty()
        try:
            os.write(controller, f"{answer}\n".encode())
            completed = _cache_cli(cache, "clear", stdin=terminal)
        finally:
            os.close(terminal)
            os.close(controller)
        assert "[y/N]" in completed.stdout
        assert (cache / "modules" / key).is_dir() == kept, completed.stdout + completed.stderr


def test_sizes():
    assert parse_size("500M") == 500 << 20
    assert parse_size("2G") == 2 << 30
    assert parse_size("1.5g") == 3 << 29
    assert parse_size("800KiB") == 800 << 10
    assert parse_size("0") == 0
    with pytest.raises(ValueError):
        parse_size("lots")
    assert format_size(512) == "512B"
    assert format_size(5 << 20) == "5.0M"
    assert format_size(756 << 10) == "756K"
