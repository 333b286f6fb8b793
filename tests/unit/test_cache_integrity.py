"""Nothing foreign is compiled, loaded or trusted from the cache (jitnest.cache.integrity).

Each test prepares a cache folder the way another user (uid 65534, "nobody") or a loose umask
would leave it, and checks that jitnest refuses to use it with a message naming the path and the
fix. Changing a file's owner needs root; those cases are skipped for other users. Nothing is
compiled; one test parses a model with the real NESTML worker.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import MODELS, new_tiny_source, run_python

from jitnest.cache import fingerprints, integrity
from jitnest.cache.store import ArtifactStore, ModuleCache, cache_root
from jitnest.errors import CacheIntegrityError, UnsafeCacheError

NOBODY = 65534
as_root = pytest.mark.skipif(os.getuid() != 0, reason="giving a file to another user needs root")


@pytest.fixture
def cache(tmp_path, monkeypatch) -> Path:
    """A cache folder of this test's own, used by this process."""
    root = tmp_path / "cache"
    monkeypatch.setenv("JITNEST_CACHE_DIR", str(root))
    return cache_root()


def _give_away(path: Path) -> None:
    os.chown(path, NOBODY, NOBODY, follow_symlinks=False)


def _refused(error: pytest.ExceptionInfo, path: Path, fix: str) -> None:
    text = str(error.value)
    assert isinstance(error.value, CacheIntegrityError)
    assert str(path) in text and fix in text, text


@as_root
def test_a_cache_folder_of_another_user_is_refused(cache) -> None:
    _give_away(cache)
    with pytest.raises(UnsafeCacheError) as error:
        cache_root()
    _refused(error, cache, "JITNEST_CACHE_DIR")
    assert "uid 65534" in str(error.value)


@pytest.mark.parametrize("mode", [0o770, 0o777, 0o1777])
def test_a_cache_folder_others_may_write_is_refused(cache, mode) -> None:
    cache.chmod(mode)
    with pytest.raises(UnsafeCacheError) as error:
        ModuleCache()
    _refused(error, cache, f"chmod go-w {cache}")


@pytest.mark.parametrize("sub", ["modules", "tmp", "locks", "generated", "pch"])
def test_an_existing_folder_with_loose_permissions_is_not_reused(cache, sub) -> None:
    (cache / sub).mkdir(mode=0o700)
    (cache / sub).chmod(0o775)
    with pytest.raises(UnsafeCacheError) as error:
        ModuleCache(cache) if sub in ("modules", "tmp", "locks") else ArtifactStore(cache, sub)
    _refused(error, cache / sub, "chmod go-w")


def _artifact(cache: Path, kind: str, files: dict[str, str]) -> tuple[ArtifactStore, str]:
    store = ArtifactStore(cache, kind)
    key = "k" * 64
    for name, text in files.items():
        (store.path(key) / name).parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        (store.path(key) / name).write_text(text)
    (store.path(key) / ArtifactStore.COMPLETE).write_text("0")
    assert store.get(key) == store.path(key)
    return store, key


def test_a_precompiled_header_others_may_write_is_not_force_included(cache) -> None:
    store, key = _artifact(cache, "pch", {"jitnest_nest_pch.h": "#include <nest.h>\n",
                                          "jitnest_nest_pch.h.gch": "binary"})
    header = store.path(key) / "jitnest_nest_pch.h.gch"
    header.chmod(0o666)
    with pytest.raises(UnsafeCacheError) as error:
        store.get(key)
    _refused(error, header, f"chmod go-w {header}")
    with pytest.raises(UnsafeCacheError):
        store.get_or_create(key, lambda work: None)  # neither used nor silently rebuilt


@as_root
def test_generated_sources_of_another_user_are_not_compiled(cache) -> None:
    store, key = _artifact(cache, "generated", {"src/neuron.cpp": "int x;\n", "models.json": "[]"})
    source = store.path(key) / "src" / "neuron.cpp"
    _give_away(source)
    with pytest.raises(UnsafeCacheError) as error:
        store.get(key)
    _refused(error, source, f"Remove {cache}")


@as_root
def test_a_module_of_another_user_is_not_loaded(cache) -> None:
    modules = ModuleCache(cache)
    entry = modules.entry_dir("m" * 64)
    entry.mkdir(mode=0o700)
    (entry / "x.so").write_bytes(b"\x7fELF")
    (entry / "manifest.json").write_text(json.dumps({"module_file": "x.so", "module_sha256": "0"}))
    _give_away(entry / "x.so")
    with pytest.raises(UnsafeCacheError) as error:
        modules.get_or_build("m" * 64, lambda work: pytest.fail("must not rebuild over a foreign entry"))
    _refused(error, entry / "x.so", "refusing to load")


@as_root
def test_a_parse_result_of_another_user_is_not_trusted(cache) -> None:
    from jitnest.models import model_info
    from jitnest.models.model_path import ModelSource

    source = ModelSource("tiny_neuron", MODELS / "tiny_neuron.nestml")
    model_info._memory.clear()
    assert model_info.load(source).name == "tiny_neuron"  # parsed by the real NESTML worker
    (parsed,) = (cache / "models").glob("*.json")
    _give_away(parsed)
    model_info._memory.clear()
    with pytest.raises(UnsafeCacheError) as error:
        model_info.load(source)
    _refused(error, parsed, "Remove")
    model_info._memory.clear()


@as_root
def test_an_inline_source_of_another_user_is_not_compiled(cache) -> None:
    from jitnest.models.model_path import ModelPath

    text = new_tiny_source("foreign_inline_neuron")
    ModelPath().add_source(text)
    (stored,) = (cache / "sources").glob("*.nestml")
    _give_away(stored)
    with pytest.raises(UnsafeCacheError) as error:
        ModelPath().add_source(text)
    _refused(error, stored, "Remove")


def test_nestml_templates_others_may_write_are_not_executed(cache) -> None:
    from jitnest.generate import worker_process

    templates = cache / "templates" / "jinja2-3"
    templates.mkdir(parents=True, mode=0o700)
    (templates / "__jinja2_x.cache").write_bytes(b"bytecode")
    (templates / "__jinja2_x.cache").chmod(0o622)
    worker_process._template_cache.cache_clear()
    with pytest.raises(UnsafeCacheError) as error:
        worker_process.worker_environment()
    _refused(error, templates / "__jinja2_x.cache", "chmod go-w")
    worker_process._template_cache.cache_clear()


@as_root
def test_remembered_fingerprints_and_tool_versions_of_another_user_are_not_trusted(cache, tmp_path) -> None:
    tree = tmp_path / "tree"
    tree.mkdir()
    (tree / "a.h").write_text("int a;\n")
    fingerprints.tree_fingerprint([tree], cache)
    _give_away(cache / fingerprints.STORE)
    with pytest.raises(UnsafeCacheError) as error:
        fingerprints.tree_fingerprint([tree], cache)
    _refused(error, cache / fingerprints.STORE, "Remove")

    from jitnest.compile import toolchain

    toolchain._tool_version(shutil.which("sh"))
    _give_away(cache / "tool_versions.json")
    with pytest.raises(UnsafeCacheError):
        toolchain._tool_version(shutil.which("sh"))


@as_root
def test_a_script_on_a_cache_prepared_by_another_user_stops_with_the_fix(tmp_path) -> None:
    """The whole cache another user's (e.g. a copied or shared home folder): the user's script
    stops at its first NESTML model with the path and what to do, before anything is used."""
    cache = tmp_path / "cache"
    for sub in ("modules", "models", "sources", "pch", "generated", "templates"):
        (cache / sub).mkdir(parents=True, mode=0o700)
    for path in [cache, *cache.rglob("*")]:
        _give_away(path)
    completed = run_python(f"""
import jitnest as nest
nest.add_model_source({new_tiny_source("foreign_cache_neuron")!r})
nest.Create("foreign_cache_neuron", 2)
nest.Simulate(1.0)
""", env={"JITNEST_CACHE_DIR": str(cache)}, check=False)
    assert completed.returncode != 0
    assert "UnsafeCacheError" in completed.stderr and str(cache) in completed.stderr, completed.stderr[-3000:]
    assert "JITNEST_CACHE_DIR" in completed.stderr
    assert not list(cache.rglob("*.nestml")), "nothing is written into another user's cache"


def test_checks_follow_the_path_from_the_root(tmp_path) -> None:
    root = tmp_path / "root"
    deep = root / "a" / "b"
    deep.mkdir(parents=True, mode=0o700)
    (root / "a").chmod(0o777)
    with pytest.raises(UnsafeCacheError) as error:
        integrity.check_path(root, deep, "something")
    _refused(error, root / "a", "chmod go-w")


def test_the_cache_command_says_what_to_do_without_a_traceback(cache) -> None:
    (cache / "modules").mkdir(mode=0o700)
    (cache / "modules").chmod(0o777)
    completed = subprocess.run([sys.executable, "-m", "jitnest", "cache", "clear", "--yes", "--cache-dir", str(cache)],
                               capture_output=True, text=True, timeout=300, check=False)
    assert completed.returncode == 1
    assert f"chmod go-w {cache / 'modules'}" in completed.stderr and "Traceback" not in completed.stderr
