"""How the imported NEST was built, as far as compiling a module against it depends on it.

A module must be compiled the way NEST itself was, or NEST cannot load it:

* **The libstdc++ ABI.** The PyPI wheel uses the old one (modules need
  ``-D_GLIBCXX_USE_CXX11_ABI=0``); a NEST built from source (pip from the sdist, or CMake) the new
  one. It is read from the symbols the kernel library exports (``[abi:cxx11]``, ``std::__cxx11``),
  never guessed from where the headers are: a pip-built NEST has its headers inside the ``nest``
  package just like the wheel. A module of the wrong ABI fails at ``Install`` with a misleading
  "could not be opened ... file not found".
* **MPI.** NEST's headers include ``<mpi.h>`` when NEST was built with MPI (``HAVE_MPI`` in its
  ``config.h``), so modules need MPI's include folders, asked from the ``mpicxx`` of the MPI that
  NEST was built with.
* **nest-config.** Only a CMake-installed NEST has a truthful one; the wheel's and a pip-built
  NEST's print temporary build paths. A ``nest-config`` is used only if it belongs to the imported
  NEST (its prefix holds the ``nest`` package), or if the user named it (``JITNEST_NEST_CONFIG``).

Probes that start a tool are remembered in the cache per file identity (path, size, mtime), so a
warm run starts none of them.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from ..cache.store import cache_root
from ..files import sha256_file, write_atomically
from ..log import get_logger

_log = get_logger(__name__)
_PROBES_FILE = "nest_probes.json"
_PROBES_VERSION = 2  # changes when a probe's answer for the same file may change
# NEST's kernel: the Python extension of PyNEST-NG, or the kernel library a CMake install links it to.
# Where a compiler finds <mpi.h> without -I (an MPI installed into the system's include folder).
STANDARD_INCLUDE_DIRS = ("/usr/include", "/usr/local/include")
_KERNEL_LIBRARY = re.compile(r"(^|/)(nestkernel_api[^/]*\.so|libnestkernel[^/]*\.so[^/]*)$")


class NestBuildError(RuntimeError):
    """Something a module build against this NEST needs is missing; the message says what."""


@dataclass(frozen=True)
class NestBuild:
    """The facts about the imported NEST that decide how a module is compiled."""

    include_dir: str
    nest_config: str | None  # a truthful nest-config, if NEST has one
    cxx11_abi: bool
    have_mpi: bool
    mpi_include_dirs: tuple[str, ...] = ()
    mpi_header_sha256: str = ""


def _remembered(kind: str, path: str, compute: Callable[[], str]) -> str:
    """``compute()`` for the file at ``path``, remembered in the cache until the file changes."""
    try:
        info = os.stat(path)
    except OSError:
        return compute()
    identity = f"{kind}:{_PROBES_VERSION}:{os.path.realpath(path)}:{info.st_size}:{info.st_mtime_ns}"
    store = cache_root() / _PROBES_FILE
    try:
        known = json.loads(store.read_text())
    except (OSError, ValueError):
        known = {}
    if identity not in known:
        known[identity] = compute()
        write_atomically(store, json.dumps(known))
    return known[identity]


def _output(command: list[str]) -> str:
    try:
        completed = subprocess.run(command, capture_output=True, text=True, check=False, timeout=60)
    except (OSError, subprocess.TimeoutExpired):
        return ""
    return completed.stdout if completed.returncode == 0 else ""


# --- the C++ ABI ---------------------------------------------------------------------------


def kernel_libraries(package_dir: str) -> list[str]:
    """NEST's kernel libraries loaded in this process (``import nest`` loads them), else the
    package's own extension files."""
    loaded: list[str] = []
    try:
        with open("/proc/self/maps") as maps:
            for line in maps:
                path = line.rstrip("\n").split(" ")[-1]
                if _KERNEL_LIBRARY.search(path) and path not in loaded:
                    loaded.append(path)
    except OSError:
        pass
    return loaded or sorted(str(p) for p in Path(package_dir).glob("nestkernel_api*.so"))


# libstdc++'s new ABI in a mangled name: std::__cxx11:: (e.g. its std::string), or the [abi:cxx11]
# tag of a function returning such a type. Not just "cxx11": __gnu_cxx::__enable_if mangles as
# "9__gnu_cxx11__enable_if" in the old ABI too.
_NEW_ABI_MARKS = ("St7__cxx11", "NSt7__cxx11", "B5cxx11")


def abi_of_symbols(symbols: Iterable[str]) -> str:
    """"cxx11" or "old" by the mangled NEST symbols (``4nest``) among ``symbols``; "" if there are none."""
    found_nest = False
    for symbol in symbols:
        if "4nest" not in symbol:
            continue
        found_nest = True
        if any(mark in symbol for mark in _NEW_ABI_MARKS):
            return "cxx11"
    return "old" if found_nest else ""


def _abi_of_library(path: str) -> str:
    """The ABI of the NEST symbols ``path`` defines (see ``abi_of_symbols``); "" without nm."""
    nm = shutil.which("nm")
    if nm is None:
        return ""
    return abi_of_symbols(line.rsplit(" ", 1)[-1] for line in _output([nm, "-D", "--defined-only", path]).splitlines())


def uses_cxx11_abi(package_dir: str, headers_in_package: bool) -> bool:
    """Whether NEST was compiled with libstdc++'s new (C++11) ABI, from its kernel's symbols.

    Where no kernel library tells (none found, or no ``nm``), the layout decides as before this was
    probed: headers inside the package mean the PyPI wheel (old ABI), a nest-config install the new.
    """
    for library in kernel_libraries(package_dir):
        abi = _remembered("abi", library, lambda library=library: _abi_of_library(library))
        if abi:
            return abi == "cxx11"
    guess = not headers_in_package
    _log.warning("could not read NEST's C++ ABI from its kernel library (is binutils' nm installed?); "
                 "assuming the %s ABI", "new" if guess else "old")
    return guess


# --- MPI -----------------------------------------------------------------------------------


def _mpi_compiler(mpiexec: str) -> str | None:
    """The MPI compiler wrapper of the MPI NEST was built with (beside its mpiexec), else PATH's."""
    folders = [os.path.dirname(mpiexec)] if mpiexec and os.path.isabs(mpiexec) else []
    for name in ("mpicxx", "mpic++", "mpiCC"):
        for folder in folders:
            candidate = os.path.join(folder, name)
            if os.access(candidate, os.X_OK):
                return candidate
        found = shutil.which(name)
        if found:
            return found
    return None


def _include_dirs_of(wrapper: str) -> str:
    """MPI's include folders as the wrapper tells them (Open MPI's --showme, else MPICH's -show)."""
    text = _output([wrapper, "--showme:incdirs"]).strip()
    if text:
        return json.dumps(text.split())
    flags = _output([wrapper, "-show"]).split() or _output([wrapper, "--showme:compile"]).split()
    return json.dumps([flag[2:] for flag in flags if flag.startswith("-I") and len(flag) > 2])


def mpi_include_dirs(mpiexec: str) -> tuple[tuple[str, ...], str]:
    """MPI's include folders and the SHA-256 of its ``mpi.h``; raises NestBuildError if no
    ``mpi.h`` can be found."""
    wrapper = _mpi_compiler(mpiexec)
    folders: list[str] = json.loads(_remembered("mpi-includes", wrapper, lambda: _include_dirs_of(wrapper))) \
        if wrapper else []
    for folder in [*folders, *STANDARD_INCLUDE_DIRS]:
        header = os.path.join(folder, "mpi.h")
        if os.path.isfile(header):
            return tuple(folders), sha256_file(header)
    raise NestBuildError(
        "NEST was built with MPI, so its headers include <mpi.h>, but no mpi.h was found "
        f"({'the folders ' + wrapper + ' names' if wrapper else 'no mpicxx on PATH'}): install MPI's development "
        "files (Debian: apt-get install libopenmpi-dev) or put the mpicxx of NEST's MPI on PATH")


# --- nest-config -----------------------------------------------------------------------------


def _headers_of(nest_config: str) -> str | None:
    """The folder of NEST's headers as ``nest-config --includes`` names it, if it exists."""
    for flag in _output([nest_config, "--includes"]).split():
        directory = flag.removeprefix("-I")
        if os.path.isfile(os.path.join(directory, "nest_extension_interface.h")):
            return directory
    return None


def trusted_nest_config(candidate: str | None, explicit: bool, package_dir: str) -> tuple[str, str] | None:
    """``(nest-config, header folder)`` of a CMake-installed NEST, or None where there is none or it
    is not the imported NEST's.

    The wheel's and a pip-built NEST's nest-config print temporary build paths, whose headers do
    not exist (or, by accident of a rebuild, the package's own). A nest-config found on PATH must
    also belong to the imported NEST: its ``--prefix`` must hold the ``nest`` package, or a NEST
    installed elsewhere would lend its headers. One named by ``JITNEST_NEST_CONFIG`` is the user's
    choice and is used whenever its headers exist.
    """
    if not candidate:
        return None
    directory = _headers_of(candidate)
    if directory is None:
        return None
    package = os.path.realpath(package_dir)
    if os.path.realpath(directory).startswith(package + os.sep):
        return None  # the package's own headers: the wheel layout, handled without nest-config
    if not explicit:
        prefix = _output([candidate, "--prefix"]).strip()
        if not prefix or not package.startswith(os.path.realpath(prefix) + os.sep):
            _log.debug("ignoring %s: its prefix %r does not hold the imported nest package %s",
                       candidate, prefix, package_dir)
            return None
    return candidate, directory


def probe(package_dir: str, configured: str | None, build_info: dict) -> NestBuild:
    """How the NEST at ``package_dir`` (PyNEST's folder, with ``build_info``) was built.

    ``configured`` is ``JITNEST_NEST_CONFIG``; without it a ``nest-config`` on PATH is considered.
    Raises NestBuildError if NEST's headers and the running NEST disagree about MPI (headers of
    another NEST) or MPI's headers are missing.
    """
    source_built = trusted_nest_config(configured or shutil.which("nest-config"), bool(configured), package_dir)
    nest_config, include_dir = source_built or (None, os.path.join(package_dir, "include", "nest"))
    try:
        config_h = Path(include_dir, "config.h").read_text()
    except OSError:
        config_h = ""
    have_mpi = "#define HAVE_MPI 1" in config_h
    if config_h and have_mpi != bool(build_info.get("have_mpi", have_mpi)):
        raise NestBuildError(
            f"the NEST headers in {include_dir} are {'with' if have_mpi else 'without'} MPI, the running NEST "
            f"is not: they belong to another NEST (set JITNEST_NEST_CONFIG to the running NEST's nest-config)")
    mpi_dirs, mpi_header = mpi_include_dirs(str(build_info.get("mpiexec", ""))) if have_mpi else ((), "")
    return NestBuild(
        include_dir=include_dir,
        nest_config=nest_config,
        cxx11_abi=uses_cxx11_abi(package_dir, headers_in_package=source_built is None),
        have_mpi=have_mpi,
        mpi_include_dirs=mpi_dirs,
        mpi_header_sha256=mpi_header,
    )
