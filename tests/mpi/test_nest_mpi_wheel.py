"""scripts/nest_mpi_wheel.sh, the source of the MPI environment's NEST, without its 11-minute build.

A stand-in for Python answers the script's ``pip download`` and ``pip wheel`` by writing a source
archive and a wheel of a few bytes (and logging how it was called); everything else runs for real:
the per-machine cache and its key, the check that the wheel has MPI, a given wheel's sha256.
"""

from __future__ import annotations

import hashlib
import os
import shlex
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from conftest import ROOT

SCRIPT = ROOT / "scripts" / "nest_mpi_wheel.sh"
FAKE_PYTHON = """#!/bin/sh
# pip download / pip wheel are faked; anything else is the real interpreter.
if [ "$1 $2 $3" = "-m pip download" ]; then
  echo "download $*" >> "{log}"
  while [ $# -gt 0 ]; do [ "$1" = -d ] && dir="$2"; shift; done
  mkdir -p "$dir" && echo source > "$dir/nest_simulator-3.10.0.tar.gz"
  exit 0
fi
if [ "$1 $2 $3" = "-m pip wheel" ]; then
  echo "wheel CMAKE_BUILD_PARALLEL_LEVEL=$CMAKE_BUILD_PARALLEL_LEVEL $*" >> "{log}"
  while [ $# -gt 0 ]; do [ "$1" = -w ] && dir="$2"; shift; done
  mkdir -p "$dir" && cp "{wheel}" "$dir/"
  exit 0
fi
exec "{python}" "$@"
"""


def _wheel(path: Path, have_mpi: bool) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w") as wheel:
        wheel.writestr("nest/include/nest/config.h", "#define HAVE_MPI 1\n" if have_mpi else "/* no MPI */\n")
    return path


def _run(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("NEST_MPI_")}
    environment.update(NEST_WHEEL_CACHE=str(tmp_path / "wheel-cache"), NEST_BUILD_JOBS="2", **env)
    return subprocess.run(["bash", str(SCRIPT), str(tmp_path / "python"), *args], capture_output=True, text=True,
                          env=environment, timeout=120, check=False)


@pytest.fixture
def fake_python(tmp_path):
    def make(have_mpi: bool = True) -> Path:
        built = _wheel(tmp_path / "built" / "nest_simulator-3.10.0-cp311-cp311-linux_x86_64.whl", have_mpi)
        python = tmp_path / "python"
        python.write_text(FAKE_PYTHON.format(log=tmp_path / "calls.log", wheel=built, python=sys.executable))
        python.chmod(0o755)
        return tmp_path / "calls.log"
    return make


def test_builds_once_with_mpi_then_reuses_the_cached_wheel(tmp_path, fake_python):
    calls = fake_python()
    dry = _run(tmp_path, "--dry-run")
    assert dry.returncode == 0 and not calls.exists(), "a dry run runs nothing"
    assert "would run:" in dry.stdout and "pip wheel --no-deps --no-cache-dir" in dry.stdout
    assert "--config-settings=cmake.define.with-mpi=ON" in dry.stdout

    first = _run(tmp_path)
    assert first.returncode == 0, first.stderr
    wheel = Path(first.stdout.strip().splitlines()[-1])
    assert wheel.is_file() and wheel.parent.parent == tmp_path / "wheel-cache"
    assert wheel.parent.name.startswith("nest-3.10.0-mpi-cp3")
    assert (wheel.parent / "sha256").read_text().strip() == hashlib.sha256(wheel.read_bytes()).hexdigest()
    logged = calls.read_text().splitlines()
    assert [line.split()[0] for line in logged] == ["download", "wheel"]
    download, build = (shlex.split(line) for line in logged)
    assert download[1:7] == ["-m", "pip", "download", "--no-deps", "--no-binary", "nest-simulator"]
    assert "nest-simulator==3.10.0" in download
    assert build[1] == "CMAKE_BUILD_PARALLEL_LEVEL=2"
    assert build[2:7] == ["-m", "pip", "wheel", "--no-deps", "--no-cache-dir"]
    assert "--config-settings=cmake.define.with-mpi=ON" in build
    assert build[-1].endswith("nest_simulator-3.10.0.tar.gz")

    again = _run(tmp_path)
    assert again.returncode == 0 and Path(again.stdout.strip()) == wheel
    assert len(calls.read_text().splitlines()) == 2, "the second call must take the cached wheel"
    assert "would run" not in _run(tmp_path, "--dry-run").stdout


def test_options_give_another_wheel(tmp_path, fake_python):
    fake_python()
    plain = _run(tmp_path, "--dry-run").stdout
    music = _run(tmp_path, "--dry-run", NEST_MPI_MUSIC="1").stdout
    assert "cmake.define.with-music=ON" in music and "nest-3.10.0-mpi-music-" in music
    assert plain.splitlines()[-1] != music.splitlines()[-1]


def test_a_wheel_without_mpi_is_refused(tmp_path, fake_python):
    fake_python(have_mpi=False)
    completed = _run(tmp_path)
    assert completed.returncode != 0 and "has no MPI" in completed.stderr
    assert not list((tmp_path / "wheel-cache").glob("nest-*")), "nothing may be cached"


def test_a_given_wheel_is_checked(tmp_path, fake_python):
    fake_python()
    given = _wheel(tmp_path / "given" / "nest_simulator-3.10.0-cp311-cp311-linux_x86_64.whl", True)
    digest = hashlib.sha256(given.read_bytes()).hexdigest()
    ok = _run(tmp_path, NEST_MPI_WHEEL=str(given), NEST_MPI_WHEEL_SHA256=digest)
    assert ok.returncode == 0 and ok.stdout.strip() == str(given) and not (tmp_path / "calls.log").exists()
    wrong = _run(tmp_path, NEST_MPI_WHEEL=str(given), NEST_MPI_WHEEL_SHA256="0" * 64)
    assert wrong.returncode != 0 and f"has sha256 {digest}" in wrong.stderr
    without_mpi = _wheel(tmp_path / "plain" / "nest_simulator-3.10.0-cp311-cp311-linux_x86_64.whl", False)
    refused = _run(tmp_path, NEST_MPI_WHEEL=str(without_mpi))
    assert refused.returncode != 0 and "without MPI" in refused.stderr
