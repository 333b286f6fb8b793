"""How jitnest tells which NEST it compiles for (``jitnest.compile.nest_build``): the C++ ABI from
the kernel library's symbols, MPI's headers, and which nest-config to trust.

These compile nothing of NEST and need no MPI: they run in every test environment.
"""

from __future__ import annotations

import dataclasses
import json
import subprocess
from pathlib import Path

import pytest

from jitnest.compile import nest_build

LIBRARY_SOURCE = """
#include <string>
namespace nest { std::string name_of( const std::string& model ) { return model + "_x"; } }
"""


def _shared_library(tmp_path: Path, name: str, *flags: str, source: str = LIBRARY_SOURCE) -> str:
    (tmp_path / f"{name}.cpp").write_text(source)
    library = tmp_path / f"{name}.so"
    subprocess.run(["g++", "-shared", "-fPIC", *flags, str(tmp_path / f"{name}.cpp"), "-o", str(library)], check=True)
    return str(library)


def test_abi_is_read_from_the_symbols_nest_exports(tmp_path):
    assert nest_build._abi_of_library(_shared_library(tmp_path, "new", "-D_GLIBCXX_USE_CXX11_ABI=1")) == "cxx11"
    assert nest_build._abi_of_library(_shared_library(tmp_path, "old", "-D_GLIBCXX_USE_CXX11_ABI=0")) == "old"
    other = _shared_library(tmp_path, "other", source="int answer() { return 42; }")
    assert nest_build._abi_of_library(other) == "", "a library without NEST's symbols tells nothing"


def test_abi_marks_are_exact():
    """The PyPI wheel (old ABI) exports symbols that contain "cxx11" by accident of mangling."""
    old_wheel = ["_ZSt14__copy_move_a1ILb0EPN4nest20correlation_detector6Spike_ES2_EN9__gnu_cxx11__enable_ifIXsrSt23"
                 "__is_random_access_iterIT0_NSt15iterator_traitsIS7_E17iterator_categoryEE7__valueESt15_Deque_iterator"
                 "IT1_RSD_PSD_EE6__typeES7_S7_SG_",
                 "_ZNK4nest24StructuralPlasticityNode21get_synaptic_elementsESs"]
    assert nest_build.abi_of_symbols(old_wheel) == "old"
    assert nest_build.abi_of_symbols(["_ZNK4nest24StructuralPlasticityNode21get_synaptic_elementsB5cxx11Ev"]) == "cxx11"
    assert nest_build.abi_of_symbols(["_ZN4nest9SPManager21get_synaptic_elementsENSt7__cxx1112basic_stringIcSt11char_"
                                      "traitsIcESaIcEEERSt6vectorImSaImEERS7_IiSaIiEESA_SD_"]) == "cxx11"


def _script(path: Path, text: str) -> str:
    path.write_text("#!/bin/sh\n" + text)
    path.chmod(0o755)
    return str(path)


def _installed_nest(root: Path) -> tuple[Path, Path]:
    """A CMake-style install: <prefix>/include/nest with NEST's headers, the package below the prefix."""
    include = root / "prefix" / "include" / "nest"
    include.mkdir(parents=True)
    (include / "nest_extension_interface.h").write_text("")
    package = root / "prefix" / "lib" / "python3" / "site-packages" / "nest"
    package.mkdir(parents=True)
    return include, package


def test_nest_config_is_trusted_only_for_the_imported_nest(tmp_path):
    include, package = _installed_nest(tmp_path)
    prefix = tmp_path / "prefix"
    config = _script(tmp_path / "nest-config",
                     f'case "$1" in --includes) echo "-I{include}";; --prefix) echo "{prefix}";; esac\n')
    assert nest_build.trusted_nest_config(config, False, str(package)) == (config, str(include))

    elsewhere = tmp_path / "other" / "site-packages" / "nest"
    elsewhere.mkdir(parents=True)
    assert nest_build.trusted_nest_config(config, False, str(elsewhere)) is None, "another NEST's headers"
    assert nest_build.trusted_nest_config(config, True, str(elsewhere)) == (config, str(include)), \
        "JITNEST_NEST_CONFIG is the user's choice"

    bogus = _script(tmp_path / "bogus-config", 'echo "-I/tmp/tmpbuild123/wheel/platlib/include/nest"\n')
    assert nest_build.trusted_nest_config(bogus, False, str(package)) is None, "the wheel's temp paths"
    own = _script(tmp_path / "own-config", f'echo "-I{package}/include/nest"\n')
    (package / "include" / "nest").mkdir(parents=True)
    (package / "include" / "nest" / "nest_extension_interface.h").write_text("")
    assert nest_build.trusted_nest_config(own, True, str(package)) is None, "the package's own headers: pip layout"


@pytest.mark.parametrize("style", ["open-mpi", "mpich"])
def test_mpi_headers_from_nests_mpi_compiler(tmp_path, monkeypatch, style):
    headers = tmp_path / "mpi" / "include"
    headers.mkdir(parents=True)
    (headers / "mpi.h").write_text("/* mpi */")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    if style == "open-mpi":
        _script(bin_dir / "mpicxx", f'[ "$1" = --showme:incdirs ] && echo "{headers} {tmp_path}/extra"\n')
    else:
        _script(bin_dir / "mpicxx", f'[ "$1" = -show ] && echo "g++ -I{headers} -L/x -lmpicxx -lmpi"\n')
    _script(bin_dir / "mpiexec", "")
    monkeypatch.setenv("JITNEST_CACHE_DIR", str(tmp_path / "cache"))

    folders, digest = nest_build.mpi_include_dirs(str(bin_dir / "mpiexec"))  # the mpicxx beside NEST's mpiexec
    assert str(headers) in folders and len(digest) == 64


def test_missing_mpi_headers_say_what_to_install(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setattr(nest_build, "STANDARD_INCLUDE_DIRS", ())
    with pytest.raises(nest_build.NestBuildError, match="libopenmpi-dev"):
        nest_build.mpi_include_dirs("")


def test_headers_of_another_nest_are_refused(tmp_path):
    package = tmp_path / "nest"
    (package / "include" / "nest").mkdir(parents=True)
    (package / "include" / "nest" / "config.h").write_text("/* #undef HAVE_MPI */\n")
    with pytest.raises(nest_build.NestBuildError, match="another NEST"):
        nest_build.probe(str(package), None, {"have_mpi": True})


def test_toolchain_identity_tells_nest_builds_apart():
    """The cache key's toolchain identity names the ABI and MPI: a module built for the PyPI wheel is
    never loaded by a NEST built from source, with or without MPI, nor the other way round."""
    from jitnest.compile import toolchain
    from jitnest.pynest import REAL

    current = toolchain.detect()
    identity = current.identity()
    assert identity["nest_have_mpi"] == bool(REAL.build_info["have_mpi"])
    assert identity["nest_abi"] in ("cxx11", "pre-cxx11")
    for change in ({"nest_cxx11_abi": not current.nest_cxx11_abi}, {"nest_have_mpi": not current.nest_have_mpi}):
        assert dataclasses.replace(current, **change).identity() != identity
    definitions = current.cmake_definitions()
    assert definitions["NEST_CXX11_ABI"] == ("ON" if current.nest_cxx11_abi else "OFF")
    assert ("NEST_MPI_INCLUDE_DIRS" in definitions) == bool(current.mpi_include_dirs)
    json.dumps(identity)


@pytest.mark.mpi
def test_toolchain_for_nest_built_from_source_with_mpi():
    """The NEST of the MPI environment (pip-built from NEST's sdist with MPI): headers inside the
    package like the wheel's, but the new ABI, MPI's headers, and the registration shortcut."""
    from mpi_helpers import HAVE_MPI

    if not HAVE_MPI:
        pytest.skip("NEST here is built without MPI: run the MPI tests with scripts/run.sh test-mpi")
    from jitnest.compile import toolchain

    current = toolchain.detect()
    assert current.nest_config is None and current.nest_cxx11_abi and current.nest_have_mpi
    assert any(Path(folder, "mpi.h").is_file() for folder in current.mpi_include_dirs)
    assert current.registers_single_synapse_variants
