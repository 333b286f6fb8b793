"""The precompiled NEST header: a failed build is remembered per toolchain, said once, not retried.

The header is made to fail the real way: a copy of jitnest's CMake project whose header has an
``#error`` (real CMake, real compiler). Compiles only that header's first line.
"""

from __future__ import annotations

import dataclasses
import logging
import shutil

import pytest

from jitnest.cache.store import ArtifactStore
from jitnest.compile import pch, toolchain

pytestmark = pytest.mark.slow


class _Messages(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def take(self) -> list[tuple[int, str]]:
        taken = [(r.levelno, r.getMessage()) for r in self.records]
        self.records.clear()
        return taken


@pytest.fixture
def messages():
    handler = _Messages()
    logger = logging.getLogger("jitnest")
    level = logger.level
    logger.setLevel(logging.DEBUG)
    logger.addHandler(handler)
    yield handler
    logger.removeHandler(handler)
    logger.setLevel(level)


def test_a_failed_precompiled_header_is_remembered_said_once_and_not_retried(tmp_path, monkeypatch, messages):
    project = tmp_path / "cmake"
    shutil.copytree(toolchain.detect().cmake_project_dir, project)
    header = project / "nest_module" / "jitnest_nest_pch.h"
    header.write_text("#error this header cannot be precompiled\n" + header.read_text())
    broken = dataclasses.replace(toolchain.detect(), cmake_project_dir=str(project))
    cache = tmp_path / "cache"
    cache.mkdir(mode=0o700)
    store = ArtifactStore(cache, "pch")
    runs = []
    real_run_logged = pch.run_logged
    monkeypatch.setattr(pch, "run_logged", lambda *args: runs.append(args[0]) or real_run_logged(*args))
    monkeypatch.setattr(pch, "_reported", set())  # a fresh process, as far as messages go

    assert pch.ensure_pch(broken, store) is None
    assert runs, "the header was tried"
    (warning,) = [text for level, text in messages.take() if level == logging.WARNING]
    failed = store.path(pch.pch_key(broken)) / pch.FAILED
    assert str(failed) in warning and "jitnest cache clear" in warning
    assert "this header cannot be precompiled" in failed.read_text()

    runs.clear()
    assert pch.ensure_pch(broken, store) is None  # a later cold build of this process: not tried, not said again
    assert runs == [] and messages.take() == []

    monkeypatch.setattr(pch, "_reported", set())  # another process: not tried, said once (not as a warning)
    for _ in range(2):
        assert pch.ensure_pch(broken, store) is None
    assert runs == []
    said = messages.take()
    assert [level for level, _ in said] == [logging.INFO] and str(failed) in said[0][1]

    # another CMake project (or toolchain) is another key: tried again
    (project / "nest_module" / "CMakeLists.txt").write_text(
        (project / "nest_module" / "CMakeLists.txt").read_text() + "# changed\n")
    assert pch.ensure_pch(broken, store) is None
    assert runs, "a changed CMake project is tried again"
