"""What the runtime build of a generated NEST module compiles with.

The toolchain is probed once per process. Everything in it that can change the binary is
part of a cache key (``Toolchain.identity``): compiler path and version, NEST's version and
build stamp, the contents of its headers, the header origin, the C++ ABI and MPI of NEST's build
(``nest_build``: a PyPI wheel and a NEST built from source, with or without MPI, get different
modules), CMake's version and the flags jitnest adds.
"""

from __future__ import annotations

import functools
import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from ..cache.fingerprints import tree_fingerprint
from ..cache.integrity import check_private
from ..cache.store import cache_root
from ..config import settings
from ..files import sha256_file, write_atomically
from ..log import get_logger
from ..pynest import REAL
from . import nest_build

_log = get_logger(__name__)


@dataclass(frozen=True)
class Toolchain:
    """Paths and versions of everything a module build uses."""

    cxx: str
    cxx_version: str
    cmake: str
    cmake_version: str
    ninja: str | None
    nest_python_package: str
    nest_config: str | None
    nest_version: str
    nest_build_stamp: str
    nest_config_h_sha256: str
    boost_include: str
    gsl_include: str | None
    cmake_project_dir: str
    extra_flags: tuple[str, ...] = field(default=())
    # the contents of every file in NEST's header folder (see nest_headers_fingerprint)
    nest_headers_sha256: str = ""
    # NEST's headers declare the member that registers one synapse variant (see module.cpp.jinja)
    registers_single_synapse_variants: bool = False
    # How NEST was built (nest_build): libstdc++'s C++11 ABI or the old one; MPI and its headers.
    nest_cxx11_abi: bool = False
    nest_have_mpi: bool = False
    mpi_include_dirs: tuple[str, ...] = ()
    mpi_header_sha256: str = ""

    def identity(self) -> dict[str, object]:
        """The toolchain facts that go into a module's cache key and manifest."""
        return {
            "cxx": self.cxx,
            "cxx_version": self.cxx_version,
            "cmake_version": self.cmake_version,
            "nest_version": self.nest_version,
            "nest_build_stamp": self.nest_build_stamp,
            "nest_config_h_sha256": self.nest_config_h_sha256,
            "nest_headers": self.nest_config or self.nest_python_package,
            "nest_headers_sha256": self.nest_headers_sha256,
            "gsl": bool(self.gsl_include),
            "extra_flags": list(self.extra_flags),
            "registers_single_synapse_variants": self.registers_single_synapse_variants,
            "nest_abi": "cxx11" if self.nest_cxx11_abi else "pre-cxx11",
            "nest_have_mpi": self.nest_have_mpi,
            "mpi_include_dirs": list(self.mpi_include_dirs),
            "mpi_header_sha256": self.mpi_header_sha256,
        }

    def cmake_definitions(self) -> dict[str, str]:
        definitions = {
            "CMAKE_CXX_COMPILER": self.cxx,
            "CMAKE_BUILD_TYPE": "Release",
            "NEST_PYTHON_PACKAGE": self.nest_python_package,
            "BOOST_INCLUDE_DIR": self.boost_include,
            "NEST_CXX11_ABI": "ON" if self.nest_cxx11_abi else "OFF",
        }
        if self.mpi_include_dirs:
            definitions["NEST_MPI_INCLUDE_DIRS"] = ";".join(self.mpi_include_dirs)
        if self.nest_config:
            definitions["NEST_CONFIG"] = self.nest_config
        if self.gsl_include:
            definitions["GSL_INCLUDE_DIR"] = self.gsl_include
        if self.extra_flags:
            definitions["CMAKE_CXX_FLAGS"] = " ".join(self.extra_flags)
        return definitions


class ToolchainError(RuntimeError):
    """A tool the runtime build needs is missing; the message says how to get it."""


def _first_line(command: list[str]) -> str:
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    return (result.stdout or result.stderr).strip().splitlines()[0] if result.returncode == 0 else ""


def _tool_version(tool: str) -> str:
    """``tool --version``, remembered per binary (path, size, mtime) in the cache: starting the
    compiler on every run would cost a warm run most of its overhead."""
    try:
        info = os.stat(tool)
    except OSError:
        return _first_line([tool, "--version"])
    identity = f"{os.path.realpath(tool)}:{info.st_size}:{info.st_mtime_ns}"
    store = cache_root() / "tool_versions.json"
    try:
        if store.exists():  # part of every key: it must be the user's own
            check_private(store, "remembered tool versions", store.parent)
        known = json.loads(store.read_text())
    except (OSError, ValueError):
        known = {}
    if identity not in known:
        known[identity] = _first_line([tool, "--version"])
        write_atomically(store, json.dumps(known))
    return known[identity]


def _find_tool(name: str, explicit: str | None) -> str | None:
    if explicit:
        return explicit
    # Prefer tools installed into the running environment (pip's cmake/ninja) over PATH.
    local = Path(sys.executable).parent / name
    if local.exists():
        return str(local)
    return shutil.which(name)


def _gsl_include() -> str | None:
    for directory in filter(None, [settings().gsl_include, "/usr/include", "/usr/local/include"]):
        if os.path.isfile(os.path.join(directory, "gsl", "gsl_errno.h")):
            return directory
    return None


def _cmake_project_dir() -> str:
    """The runtime CMake project: shipped inside the package, or at the top of a checkout."""
    package_dir = Path(__file__).resolve().parents[1]
    for candidate in (package_dir / "cmake", package_dir.parent / "cmake"):
        if (candidate / "nest_module" / "CMakeLists.txt").is_file():
            return str(candidate)
    raise ToolchainError(f"jitnest's CMake files are missing (looked in {package_dir}/cmake and ../cmake)")


# What module.cpp.jinja relies on to register a synapse without its _hpc/_lbl twins.
_SINGLE_VARIANT_DECLARATIONS = {
    "model_manager.h": "void register_specific_connection_model_( const std::string& name );",
    "model_manager_impl.h": "template < typename CompleteConnectionT >\nvoid\n"
                            "ModelManager::register_specific_connection_model_( const std::string& name )",
}


def _registers_single_synapse_variants(include_dir: str) -> bool:
    """Whether NEST's headers have the registration of one synapse variant jitnest calls (NEST 3.x)."""
    for header, declaration in _SINGLE_VARIANT_DECLARATIONS.items():
        try:
            if declaration not in Path(include_dir, header).read_text():
                return False
        except OSError:
            return False
    return True


# NEST versions whose headers jitnest's registration file was tested against (see module.cpp.jinja)
TESTED_NEST = ("3.10.",)
_warned_nest: set[str] = set()


def single_variant_registration(include_dir: str, nest_version: str) -> bool:
    """Whether modules may register a synapse without its _hpc/_lbl twins, through the private
    member of NEST's ModelManager that module.cpp.jinja reaches: only with a NEST version jitnest
    was tested with (``TESTED_NEST``) whose headers declare that member as expected, and unless
    ``JITNEST_OPTIMISE=0``. Otherwise every synapse registers through NEST's own
    ``register_connection_model`` (all twins: slower compile, same models); an untested version is
    said once per process (a warning)."""
    if not settings().optimise:
        return False
    if not nest_version.startswith(TESTED_NEST):
        if nest_version not in _warned_nest:
            _warned_nest.add(nest_version)
            _log.warning("NEST %s is not a version jitnest was tested with (%s): modules register every synapse "
                         "with all its twins through NEST's own register_connection_model (slower compile, same "
                         "models)", nest_version, ", ".join(f"{v}x" for v in TESTED_NEST))
        return False
    return _registers_single_synapse_variants(include_dir)


def _sha256_of(path: str) -> str:
    try:
        return sha256_file(path)
    except OSError:
        return ""


def nest_headers_fingerprint(include_dir: str) -> str:
    """The contents of every file in NEST's header folder: a NEST rebuilt or patched under the
    same version and build stamp still changes the keys (hashed once, then remembered by the
    files' stats in the cache, see ``cache.fingerprints``)."""
    return tree_fingerprint([include_dir], cache_root())


@functools.lru_cache(maxsize=1)
def detect() -> Toolchain:
    """Probe compiler, CMake, NEST and library headers; raise ToolchainError naming what is missing."""
    cxx = os.environ.get("CXX") or shutil.which("g++") or shutil.which("c++")
    if not cxx:
        raise ToolchainError("no C++ compiler found: install g++ (Debian: apt-get install g++)")
    cmake = _find_tool("cmake", settings().cmake)
    if not cmake:
        raise ToolchainError("cmake not found: pip install cmake")
    try:
        import boost_headers
    except ImportError as error:
        raise ToolchainError("Boost headers not found: pip install boost-headers") from error
    package_dir = os.path.dirname(REAL.__file__)
    try:
        nest = nest_build.probe(package_dir, settings().nest_config, dict(REAL.build_info))
    except nest_build.NestBuildError as error:
        raise ToolchainError(str(error)) from None
    return Toolchain(
        cxx=cxx,
        cxx_version=_tool_version(cxx),
        cmake=cmake,
        cmake_version=_tool_version(cmake),
        ninja=_find_tool("ninja", settings().ninja),
        nest_python_package=package_dir,
        nest_config=nest.nest_config,
        nest_version=str(REAL.__version__),
        nest_build_stamp=str(REAL.build_info.get("built", "")),
        nest_config_h_sha256=_sha256_of(os.path.join(nest.include_dir, "config.h")),
        boost_include=boost_headers.get_include(),
        gsl_include=_gsl_include(),
        cmake_project_dir=_cmake_project_dir(),
        extra_flags=settings().cxxflags,
        registers_single_synapse_variants=single_variant_registration(nest.include_dir, str(REAL.__version__)),
        nest_headers_sha256=nest_headers_fingerprint(nest.include_dir),
        nest_cxx11_abi=nest.cxx11_abi,
        nest_have_mpi=nest.have_mpi,
        mpi_include_dirs=nest.mpi_include_dirs,
        mpi_header_sha256=nest.mpi_header_sha256,
    )
