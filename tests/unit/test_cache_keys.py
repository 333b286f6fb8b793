"""Cache keys change whenever anything that produced the cached thing changes.

GeNN's cache bugs (#547, #563) were keys that missed an input. Each test here changes one input
the way it changes in real life (a patched or editable NESTML or ODE-toolbox, a patched NEST
header, an edited jitnest generator file) and checks that every key that depends on it changes:
the module key, the generated-code key, the parse key and the shared NESTML server's identity.
Keys are computed in fresh processes (the real lookup of where Python imports NESTML from, the
real toolchain detection); nothing is compiled.
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import stat
import sys
from pathlib import Path

import pytest
from conftest import last_json, run_python

from jitnest.cache import fingerprints

KEYS_SCRIPT = r"""
import json
from jitnest.compile import builder, pch, toolchain
from jitnest.generate import nestml_client
from jitnest.models import model_info
from jitnest.models.model_info import ModelInfo
from jitnest.plan.combinations import Unit

neuron = ModelInfo(name="n", file="n.nestml", line=1, kind="neuron", source_sha256="0" * 64)
synapse = ModelInfo(name="s", file="s.nestml", line=1, kind="synapse", post_ports=("post",), source_sha256="1" * 64)
unit = Unit(neuron, (synapse,))
detected = toolchain.detect()
print(json.dumps({"module": builder.unit_key(unit, detected), "codegen": builder.codegen_key(unit, detected),
                  "parse": model_info._cache_file("2" * 64).name, "pch": pch.pch_key(detected),
                  "server": nestml_client._server_socket_path().name,
                  "headers": detected.identity()["nest_headers_sha256"]}))
"""


def _keys(env: dict | None = None) -> dict:
    return last_json(run_python(KEYS_SCRIPT, env=env))


@pytest.fixture(scope="module")
def installed_keys() -> dict:
    """The keys with the installed NESTML, ODE-toolbox and NEST, unchanged: computed once for the
    tests that compare against them (each computation is a fresh process that imports NEST)."""
    return _keys()


def _site_copy(tmp_path: Path, package: str) -> Path:
    """A copy of an installed package in a folder of its own (a site dir to put on PYTHONPATH)."""
    import importlib.util

    (location,) = importlib.util.find_spec(package).submodule_search_locations
    site = tmp_path / "site"
    shutil.copytree(location, site / package, ignore=shutil.ignore_patterns("__pycache__"))
    return site


def _edit_keeping_size_and_mtime(path: Path) -> None:
    """Change one byte of ``path`` and put its modification time back (``cp -p`` and ``tar`` do
    the like): a cache of hashes keyed only by size and mtime would miss this edit."""
    info = path.stat()
    data = bytearray(path.read_bytes())
    middle = len(data) // 2
    data[middle:middle + 1] = b"X" if data[middle:middle + 1] != b"X" else b"Y"
    path.write_bytes(bytes(data))
    os.utime(path, ns=(info.st_atime_ns, info.st_mtime_ns))
    assert path.stat().st_size == info.st_size and path.stat().st_mtime_ns == info.st_mtime_ns


@pytest.mark.slow  # fresh processes importing NEST and computing every key
@pytest.mark.parametrize("package, file", [("pynestml", "codegeneration/nest_code_generator.py"),
                                           ("pynestml", "codegeneration/resources_nest/point_neuron/"
                                                        "common/NeuronClass.jinja2"),
                                           ("odetoolbox", "shapes.py")])
def test_a_changed_file_of_nestml_or_odetoolbox_changes_every_key(installed_keys, tmp_path, package, file) -> None:
    """A patched or editable NESTML keeps its version string; the keys follow its files."""
    original = installed_keys
    site = _site_copy(tmp_path, package)
    env = {"PYTHONPATH": os.pathsep.join(filter(None, [str(site), os.environ.get("PYTHONPATH")]))}
    copied = _keys(env)
    # the same contents elsewhere: the same keys (only the server differs, by its PYTHONPATH)
    assert {k: copied[k] for k in ("module", "codegen", "parse", "pch")} == \
        {k: original[k] for k in ("module", "codegen", "parse", "pch")}
    _edit_keeping_size_and_mtime(site / package / file)
    edited = _keys(env)
    for key in ("module", "codegen", "parse", "server"):
        assert edited[key] != copied[key], key
    assert edited["pch"] == copied["pch"], "the precompiled NEST header does not depend on NESTML"


@pytest.mark.slow  # fresh processes importing NEST and computing every key
def test_a_changed_nest_header_changes_the_module_keys(installed_keys, tmp_path) -> None:
    """A NEST rebuilt or patched under the same version: its headers' contents are in the key.
    (A source-built NEST, found through its nest-config, whose headers are a copy of the wheel's.)"""
    from jitnest.compile import toolchain

    wheel_headers = Path(toolchain.REAL.__file__).parent / "include" / "nest"
    assert installed_keys["headers"] == fingerprints.tree_fingerprint([wheel_headers])
    headers = tmp_path / "nest" / "include" / "nest"
    shutil.copytree(wheel_headers, headers)
    nest_config = tmp_path / "nest-config"
    nest_config.write_text(f"#!/bin/sh\necho '-I{headers}'\n")
    nest_config.chmod(0o755)
    env = {"JITNEST_NEST_CONFIG": str(nest_config)}
    before = _keys(env)
    _edit_keeping_size_and_mtime(headers / "connection.h")
    after = _keys(env)
    assert after["headers"] != before["headers"]
    assert after["module"] != before["module"] and after["pch"] != before["pch"]
    assert after["codegen"] == before["codegen"], "NESTML's output does not depend on NEST's headers"


@pytest.fixture
def fresh_identities(monkeypatch):
    """In-process key computation with the per-process memos cleared before and after."""
    from jitnest.compile import toolchain
    from jitnest.generate import identity

    memos = [identity.worker_identity, identity._installed_nestml]
    for memo in memos:
        memo.cache_clear()
    yield toolchain.detect()
    for memo in memos:
        memo.cache_clear()


def _unit():
    from jitnest.models.model_info import ModelInfo
    from jitnest.plan.combinations import Unit

    return Unit(ModelInfo(name="n", file="n.nestml", line=1, kind="neuron", source_sha256="0" * 64))


def test_a_changed_worker_file_changes_every_key(tmp_path, monkeypatch, fresh_identities) -> None:
    from jitnest.compile import builder
    from jitnest.generate import identity, nestml_client
    from jitnest.models import model_info

    def keys() -> tuple[str, ...]:
        nestml_client.worker_identity.cache_clear()
        return (builder.unit_key(_unit(), fresh_identities), builder.codegen_key(_unit(), fresh_identities),
                model_info._cache_file("2" * 64).name, nestml_client._server_socket_path().name)

    worker = tmp_path / "worker"
    shutil.copytree(identity.WORKER_PACKAGE, worker, ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.setattr(identity, "WORKER_PACKAGE", worker)
    before = keys()
    with (worker / "pipeline.py").open("a") as handle:
        handle.write("# changed\n")
    after = keys()
    assert all(a != b for a, b in zip(after, before)), (before, after)


def test_generator_files_are_every_file_that_writes_module_sources(fresh_identities) -> None:
    from jitnest.compile import builder, cmake_build
    from jitnest.generate import registration

    listed = set(builder.generator_files(fresh_identities))
    project = Path(fresh_identities.cmake_project_dir)
    expected = {Path(registration.__file__).resolve(), Path(cmake_build.__file__).resolve(),
                *(p for p in registration.TEMPLATE_DIR.rglob("*") if p.is_file()),
                *(p for p in project.rglob("*") if p.is_file())}
    assert expected <= listed, expected - listed
    assert registration.REGISTRATION_TEMPLATE in listed


def test_a_changed_template_or_cmake_file_changes_the_module_key(tmp_path, monkeypatch, fresh_identities) -> None:
    from jitnest.compile import builder, pch
    from jitnest.generate import registration

    before = builder.unit_key(_unit(), fresh_identities), builder.codegen_key(_unit(), fresh_identities)
    templates = tmp_path / "templates"
    shutil.copytree(registration.TEMPLATE_DIR, templates)
    monkeypatch.setattr(registration, "TEMPLATE_DIR", templates)
    assert builder.unit_key(_unit(), fresh_identities) == before[0]  # the same contents elsewhere
    with (templates / registration.REGISTRATION_TEMPLATE.name).open("a") as handle:
        handle.write("// changed\n")
    assert builder.unit_key(_unit(), fresh_identities) != before[0]
    assert builder.codegen_key(_unit(), fresh_identities) == before[1], "generated code is reused"

    project = tmp_path / "cmake"
    shutil.copytree(fresh_identities.cmake_project_dir, project)
    moved = dataclasses.replace(fresh_identities, cmake_project_dir=str(project))
    key, pch_key = builder.unit_key(_unit(), moved), pch.pch_key(moved)
    cmake_lists = project / "nest_module" / "CMakeLists.txt"
    cmake_lists.write_text(cmake_lists.read_text() + "# changed\n")
    assert builder.unit_key(_unit(), moved) != key and pch.pch_key(moved) != pch_key


def test_the_server_identity_includes_nest(monkeypatch, fresh_identities) -> None:
    from jitnest.generate import nestml_client

    before = nestml_client._server_socket_path()
    monkeypatch.setattr(nestml_client, "nest_version", lambda: "3.99.0")
    assert nestml_client._server_socket_path() != before


def test_fingerprints_are_remembered_by_file_stats(tmp_path) -> None:
    tree = tmp_path / "tree"
    (tree / "sub" / "__pycache__").mkdir(parents=True)
    (tree / "a.py").write_text("a = 1\n")
    (tree / "sub" / "b.h").write_text("int b;\n")
    (tree / "sub" / "__pycache__" / "a.cpython-311.pyc").write_bytes(b"\0")
    store = tmp_path / "store"
    store.mkdir()
    first = fingerprints.tree_fingerprint([tree], store)
    assert list(json.loads((store / fingerprints.STORE).read_text()).values()) == [first]
    (tree / "sub" / "__pycache__" / "b.cpython-311.pyc").write_bytes(b"\1")  # Python's byproducts do not count
    assert fingerprints.tree_fingerprint([tree], store) == first
    (tree / "sub" / "c.h").write_text("")
    assert fingerprints.tree_fingerprint([tree], store) != first
    (tree / "sub" / "c.h").unlink()
    assert fingerprints.tree_fingerprint([tree], store) == first
    _edit_keeping_size_and_mtime(tree / "a.py")
    assert fingerprints.tree_fingerprint([tree], store) != first
    assert stat.S_IMODE((store / fingerprints.STORE).stat().st_mode) == 0o600


def test_key_computation_is_fast_on_a_warm_run(cache_dir) -> None:
    """A warm run computes NESTML's identity and NEST's header fingerprint from file stats only."""
    completed = run_python(r"""
import json, time
from jitnest.cache import fingerprints
from jitnest.generate import identity
started = time.perf_counter()
identity.nestml_identity()
first = time.perf_counter() - started
identity._installed_nestml.cache_clear()
calls = []
original = fingerprints._content_hash
fingerprints._content_hash = lambda *args: calls.append(1) or original(*args)
started = time.perf_counter()
identity.nestml_identity()
print(json.dumps({"first": first, "again": time.perf_counter() - started, "hashed": len(calls)}))
""")
    timing = last_json(completed)
    print(timing, file=sys.stderr)
    assert timing["hashed"] == 0, "the second process must find the files' hashes in the cache"


def test_library_versions_are_looked_up_again_when_their_package_changes(tmp_path, monkeypatch) -> None:
    """sympy's, ANTLR's and Jinja2's versions are part of NESTML's identity; looking them up costs a
    warm run ~2 ms each, so they are remembered by the stats of the packages' __init__.py, which pip
    rewrites when it installs another version."""
    init = tmp_path / "package" / "__init__.py"
    init.parent.mkdir()
    init.write_text("")
    store = tmp_path / "store"
    store.mkdir()
    looked_up = []

    def versions() -> str:
        looked_up.append(1)
        return f"version {len(looked_up)}"

    assert fingerprints.remembered_by_stats([init], versions, store) == "version 1"
    assert fingerprints.remembered_by_stats([init], versions, store) == "version 1" and len(looked_up) == 1
    init.write_text("")  # reinstalled: same content, another file
    assert fingerprints.remembered_by_stats([init], versions, store) == "version 2"

    from jitnest.generate import identity

    roots = {package: identity._package_roots(package) for package in identity.GENERATOR_LIBRARIES.values()}
    assert all(roots.values()), roots  # every library is found, so its __init__.py is watched
