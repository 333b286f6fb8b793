"""Running CMake: the runtime project in ``cmake/nest_module`` configured and built with logs kept.

The project finds NEST's headers, Boost and GSL from the definitions the toolchain gives
(``Toolchain.cmake_definitions``) and builds with Ninja when it is available. Every command and
its output go into a log that a failed build keeps for the user; the first compiler errors are
picked out for the exception message.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from .. import processes
from ..config import settings
from .toolchain import Toolchain

_COMPILER_ERROR_LINES = 25
PCH_HEADER = "jitnest_nest_pch.h"


def project_files(toolchain: Toolchain) -> list[Path]:
    """The runtime CMake project's files and this module, which runs it (part of the keys of
    what they build)."""
    project = Path(toolchain.cmake_project_dir)
    return [*sorted(p for p in project.rglob("*") if p.is_file()), Path(__file__).resolve()]


def configure_command(toolchain: Toolchain, build_dir: Path, definitions: dict[str, str]) -> list[str]:
    """``cmake -S <project> -B build_dir`` with the toolchain's and the caller's definitions."""
    command = [toolchain.cmake, "-S", str(Path(toolchain.cmake_project_dir) / "nest_module"), "-B", str(build_dir)]
    command += [f"-D{k}={v}" for k, v in {**toolchain.cmake_definitions(), **definitions}.items()]
    if toolchain.ninja:
        command += ["-G", "Ninja", f"-DCMAKE_MAKE_PROGRAM={toolchain.ninja}"]
    return command


def build_command(toolchain: Toolchain, build_dir: Path, jobs: int | None = None) -> list[str]:
    return [toolchain.cmake, "--build", str(build_dir)] + (["-j", str(jobs)] if jobs else [])


def run_logged(command: list[str], log: list[str], cwd: Path) -> subprocess.CompletedProcess:
    """Run ``command``, appending it and its output to ``log``. After ``JITNEST_COMPILE_TIMEOUT``
    seconds it is killed with all its processes (CMake, Ninja, the compilers) and
    ``processes.ProcessTimeout`` is raised, the output so far logged."""
    log.append(f"$ {' '.join(command)}")
    timeout = settings().compile_timeout
    try:
        completed = processes.run(command, cwd=str(cwd), timeout=timeout)
    except processes.ProcessTimeout as killed:
        log += [killed.stdout, killed.stderr, f"(killed after {killed.seconds:g} s: JITNEST_COMPILE_TIMEOUT)"]
        raise
    log.append(completed.stdout)
    log.append(completed.stderr)
    return completed


def first_compiler_errors(text: str) -> str:
    """The first lines of ``text`` that mention an error (else its first indented lines)."""
    lines = [line for line in text.splitlines() if "error" in line.lower() or line.startswith(" ")]
    errors = [line for line in lines if "error" in line.lower()]
    return "\n".join((errors or lines)[:_COMPILER_ERROR_LINES])
