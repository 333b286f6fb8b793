"""jitnest's settings: every ``JITNEST_*`` environment variable, read and validated here only.

``settings()`` returns a frozen ``Settings`` for the current environment. It is re-read when the
environment changes (tests and notebooks set variables at run time), and is cheap otherwise.
A ``JITNEST_`` variable that is not in ``VARIABLES`` gets one warning (a typo such as
``JITNEST_QUITE=1`` must not pass silently); a malformed value raises ``ValueError`` naming the
variable.

This module imports only the standard library and ``platformdirs``: every part of jitnest may
use it, including the NESTML worker and the cache's command line, which must not start NEST.
"""

from __future__ import annotations

import os
import re
import warnings
from dataclasses import dataclass
from pathlib import Path

import platformdirs

# name -> what it means (the README's table is this one)
VARIABLES: dict[str, str] = {
    "JITNEST_CACHE_DIR": "module cache (default: the user cache dir, e.g. ~/.cache/jitnest)",
    "JITNEST_MODEL_PATH": "extra folders with .nestml files (os.pathsep-separated)",
    "JITNEST_LOG_LEVEL": "level of jitnest's log messages on stderr (default INFO; e.g. WARNING, DEBUG)",
    "JITNEST_QUIET": "1: no build progress and no INFO messages (the same as JITNEST_LOG_LEVEL=WARNING)",
    "JITNEST_BUILD_JOBS": "parallel compile jobs (default: number of cores)",
    "JITNEST_NEST_CONFIG": "nest-config of a CMake-installed NEST (default: from PATH if its prefix holds the "
                           "imported nest package; ignored if it lies like the wheel's)",
    "JITNEST_CXXFLAGS": "extra compiler flags (part of the cache key)",
    "JITNEST_CMAKE": "the cmake executable (default: the environment's, else PATH)",
    "JITNEST_NINJA": "the ninja executable (default: the environment's, else PATH)",
    "JITNEST_GSL_INCLUDE": "folder holding gsl/ headers (default: /usr/include, /usr/local/include)",
    "JITNEST_PCH": "0: do not use the shared precompiled NEST header",
    "JITNEST_PREBUILD": "0: in IPython/Jupyter, do not start builds in the background after each cell",
    "JITNEST_NESTML_SERVER": "0: start one NESTML process per request instead of forking from a server",
    "JITNEST_NESTML_SPLIT": "0: generate a pair's synapses in the same process as its neuron, not beside it",
    "JITNEST_VERIFY": "0: after a build, do not compare the values answered before it with what NEST reports",
    "JITNEST_OPTIMISE": "0: jitnest's plain path: NESTML's own pipeline unchanged and NEST's own registration of "
                        "every synapse twin (taken anyway with NESTML or NEST versions jitnest was not tested with)",
    "JITNEST_COMPILE_TIMEOUT": "seconds a CMake or compiler run may take before its processes are killed and the "
                               "build fails (default 1800; 0: no limit)",
    "JITNEST_NESTML_TIMEOUT": "seconds a NESTML request (parse or generation) may take before its processes are "
                              "killed and the build fails (default 1200; 0: no limit)",
    "JITNEST_TRANSFORM": "0: compile NESTML's code as NESTML wrote it; or a comma-separated list of the "
                         "transformations to apply (default: all, see README \"Generated code\")",
    "JITNEST_BUILD_SYNC": "how the ranks of an MPI job share a build: lock (default: the cache's file locks, one "
                          "build per cache folder) or mpi (rank 0 builds, the others wait at an MPI barrier; for one "
                          "cache folder on a filesystem without working file locks)",
    "JITNEST_TEMPLATE_CACHE": "(set by jitnest for its NESTML worker) where NESTML's compiled templates are kept",
    "JITNEST_TEST_CACHE": "(test suite) keep the test session's module cache in this folder",
}

_FLAGS_TRUE = {"1", "true", "yes", "on"}
_FLAGS_FALSE = {"0", "false", "no", "off", ""}
_warned: set[str] = set()


@dataclass(frozen=True)
class Settings:
    """The validated values of ``VARIABLES`` (see there for what each means)."""

    cache_dir: Path
    model_path: tuple[Path, ...]
    log_level: str
    build_jobs: int
    nest_config: str | None
    cxxflags: tuple[str, ...]
    cmake: str | None
    ninja: str | None
    gsl_include: str | None
    use_pch: bool
    prebuild: bool
    nestml_server: bool
    nestml_split: bool
    build_sync: str
    template_cache: str | None
    verify: bool
    optimise: bool
    compile_timeout: float | None  # None: no limit
    nestml_timeout: float | None
    # names of the code transformations to apply; None: all of them (``generate.transform``)
    transform: tuple[str, ...] | None

    @property
    def quiet(self) -> bool:
        """No progress bars and no INFO messages."""
        return self.log_level not in ("DEBUG", "INFO")

    def identity(self) -> list[tuple[str, str]]:
        """The raw ``JITNEST_*`` settings, sorted: processes with equal identities may share a
        NESTML server."""
        return sorted((k, v) for k, v in os.environ.items() if k.startswith("JITNEST_"))


def _flag(environ: dict[str, str], name: str, default: bool) -> bool:
    raw = environ.get(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in _FLAGS_TRUE:
        return True
    if value in _FLAGS_FALSE:
        return False
    raise ValueError(f"{name}={raw!r}: expected 1 or 0")


def _count(environ: dict[str, str], name: str) -> int:
    raw = environ.get(name, "").strip()
    if not raw:
        return 0
    try:
        value = int(raw)
    except ValueError:
        raise ValueError(f"{name}={raw!r}: expected a whole number") from None
    if value < 0:
        raise ValueError(f"{name}={raw!r}: expected a whole number >= 0")
    return value


def _seconds(environ: dict[str, str], name: str, default: float) -> float | None:
    """A time limit in seconds; 0 means none (None)."""
    raw = environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ValueError(f"{name}={raw!r}: expected a number of seconds (0: no limit)") from None
    if not value >= 0 or value == float("inf"):
        raise ValueError(f"{name}={raw!r}: expected a number of seconds >= 0 (0: no limit)")
    return value or None


def _log_level(environ: dict[str, str]) -> str:
    raw = environ.get("JITNEST_LOG_LEVEL", "").strip().upper()
    if raw:
        if raw not in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"):
            raise ValueError(f"JITNEST_LOG_LEVEL={raw!r}: expected DEBUG, INFO, WARNING, ERROR or CRITICAL")
        return raw
    return "WARNING" if _flag(environ, "JITNEST_QUIET", False) else "INFO"


def _choice(environ: dict[str, str], name: str, choices: tuple[str, ...]) -> str:
    """One of ``choices`` (the first is the default)."""
    raw = environ.get(name, "").strip().lower()
    if not raw:
        return choices[0]
    if raw not in choices:
        raise ValueError(f"{name}={raw!r}: expected {' or '.join(choices)}")
    return raw


def _warn_unknown(environ: dict[str, str]) -> None:
    for name in environ:
        if name.startswith("JITNEST_") and name not in VARIABLES and name not in _warned:
            _warned.add(name)
            known = ", ".join(sorted(VARIABLES))
            warnings.warn(f"unknown setting {name} (jitnest reads: {known})", RuntimeWarning, stacklevel=3)


def _transform(environ: dict[str, str]) -> tuple[str, ...] | None:
    raw = environ.get("JITNEST_TRANSFORM", "").strip()
    if not raw or raw.lower() in _FLAGS_TRUE:
        return None
    if raw.lower() in _FLAGS_FALSE:
        return ()
    names = tuple(sorted({name.strip() for name in raw.split(",") if name.strip()}))
    if not all(re.fullmatch(r"[a-z_]+", name) for name in names):
        raise ValueError(f"JITNEST_TRANSFORM={raw!r}: expected 1, 0 or a comma-separated list of transformation names")
    return names


def _read(environ: dict[str, str]) -> Settings:
    _warn_unknown(environ)
    return Settings(
        cache_dir=Path(environ.get("JITNEST_CACHE_DIR") or platformdirs.user_cache_dir("jitnest")).expanduser(),
        model_path=tuple(Path(p).expanduser() for p in environ.get("JITNEST_MODEL_PATH", "").split(os.pathsep) if p),
        log_level=_log_level(environ),
        build_jobs=_count(environ, "JITNEST_BUILD_JOBS") or (os.cpu_count() or 1),
        nest_config=environ.get("JITNEST_NEST_CONFIG") or None,
        cxxflags=tuple(environ.get("JITNEST_CXXFLAGS", "").split()),
        cmake=environ.get("JITNEST_CMAKE") or None,
        ninja=environ.get("JITNEST_NINJA") or None,
        gsl_include=environ.get("JITNEST_GSL_INCLUDE") or None,
        use_pch=_flag(environ, "JITNEST_PCH", True),
        prebuild=_flag(environ, "JITNEST_PREBUILD", True),
        nestml_server=_flag(environ, "JITNEST_NESTML_SERVER", True),
        nestml_split=_flag(environ, "JITNEST_NESTML_SPLIT", True),
        build_sync=_choice(environ, "JITNEST_BUILD_SYNC", ("lock", "mpi")),
        template_cache=environ.get("JITNEST_TEMPLATE_CACHE") or None,
        verify=_flag(environ, "JITNEST_VERIFY", True),
        optimise=_flag(environ, "JITNEST_OPTIMISE", True),
        compile_timeout=_seconds(environ, "JITNEST_COMPILE_TIMEOUT", 1800.0),
        nestml_timeout=_seconds(environ, "JITNEST_NESTML_TIMEOUT", 1200.0),
        transform=_transform(environ),
    )


_last: tuple[tuple[tuple[str, str], ...], Settings] | None = None


def settings() -> Settings:
    """The settings of the current environment (re-read whenever a ``JITNEST_*`` variable changed)."""
    global _last
    raw = tuple(sorted((k, v) for k, v in os.environ.items() if k.startswith("JITNEST_")))
    if _last is None or _last[0] != raw:
        _last = (raw, _read(dict(raw)))
    return _last[1]
