"""The precompiled NEST header: built once per toolchain, force-included into every module.

Precompiling NEST's headers cuts a module's compile time by a fifth to a third. The header is
built by the same CMake project as the modules (so its flags match exactly) into the ``pch``
artifact store, keyed by the toolchain and the project's files. It is an optimisation only:
if it cannot be built, modules compile without it (slower, same result).

A failed build is remembered: it is published in the store like a header, as a folder holding
only its log (``failed.log``), so that later cold builds neither retry it (a minute of CPU each
time) nor hide it. The process that saw it fail logs a warning with the log's path; later ones
log that they build without the header (INFO, once per process). It is retried when the key
changes (another toolchain or CMake project) or after ``jitnest cache clear``. A time-out is not
remembered: it may be the machine's load, not the header.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from ..cache import keys
from ..cache.store import ArtifactStore
from ..errors import UnsafeCacheError
from ..log import get_logger
from ..processes import ProcessTimeout
from .cmake_build import PCH_HEADER, build_command, configure_command, project_files, run_logged
from .toolchain import Toolchain

FAILED = "failed.log"
_log = get_logger(__name__)
_reported: set[Path] = set()  # failures this process has mentioned already


def pch_key(toolchain: Toolchain) -> str:
    return keys.pch_key(toolchain.identity(), [f.read_text() for f in project_files(toolchain)])


def ensure_pch(toolchain: Toolchain, store: ArtifactStore) -> Path | None:
    """The precompiled header's path for ``toolchain`` (built now if missing); None if it cannot
    be built (now or, remembered, before)."""
    failed_now = False

    def create(work: Path) -> None:
        nonlocal failed_now
        header = work / PCH_HEADER
        shutil.copy(Path(toolchain.cmake_project_dir) / "nest_module" / PCH_HEADER, header)
        log: list[str] = []
        build_dir = work / "build"
        configure = configure_command(toolchain, build_dir, {"JITNEST_PCH_BUILD": "ON",
                                                             "JITNEST_PCH_HEADER": str(header)})
        if (run_logged(configure, log, work).returncode != 0
                or run_logged(build_command(toolchain, build_dir), log, work).returncode != 0):
            for leftover in work.iterdir():  # published as the record of the failure, nothing else
                if leftover.is_dir():
                    shutil.rmtree(leftover)
                else:
                    leftover.unlink()
            (work / FAILED).write_text("\n".join(log))
            failed_now = True
            return
        os.replace(build_dir / "pch.gch", work / f"{PCH_HEADER}.gch")
        shutil.rmtree(build_dir, ignore_errors=True)

    try:
        directory = store.get_or_create(pch_key(toolchain), create, "the precompiled NEST header")
    except UnsafeCacheError:
        raise  # someone else's header would be force-included into every compile: say so
    except ProcessTimeout as timeout:
        _log.warning("building the precompiled NEST header took longer than %g s (JITNEST_COMPILE_TIMEOUT) and was "
                     "stopped; modules compile without it (slower, same result)", timeout.seconds)
        return None
    except Exception as error:  # noqa: BLE001 -- an optimisation only: never fail a build for it
        _log.warning("the precompiled NEST header could not be built (%s); modules compile without it", error)
        return None
    failed = directory / FAILED
    if not failed.is_file():
        return directory / PCH_HEADER
    if failed_now:
        _reported.add(failed)
        _log.warning("the precompiled NEST header could not be built (log: %s); modules compile without it (slower, "
                     "same result). It is not tried again for this compiler, NEST and CMake project; "
                     "`jitnest cache clear` makes jitnest try again.", failed)
    elif failed not in _reported:
        _reported.add(failed)
        _log.info("building without the precompiled NEST header: building it failed before (log: %s; "
                  "`jitnest cache clear` makes jitnest try again)", failed)
    return None
