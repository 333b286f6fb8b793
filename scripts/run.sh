#!/usr/bin/env bash
# One entry point that sets up everything jitnest needs, then runs what you ask for.
#
#   scripts/run.sh demo     run the STDP demo (examples/stdp_demo.py)
#   scripts/run.sh test     run the test suite
#   scripts/run.sh bench memory|build|nest-suite|pynn|speed   run one benchmark (see README, "Measured")
#   scripts/run.sh bench mpi [options]   time to first spike on 1, 2, 4 ranks (MPI environment)
#   scripts/run.sh setup    only set up
#   scripts/run.sh setup-mpi   set up the MPI environment (see README, "Running under MPI")
#   scripts/run.sh test-mpi    run the MPI tests (tests/mpi) in the MPI environment
#   scripts/run.sh test-music  run the MUSIC test in a third environment, .venv-music (override with
#                              NEST_MUSIC_VENV): NEST built with MPI and MUSIC
#
# Set-up is idempotent: Debian packages the compiler needs (when run as root; otherwise it says
# what is missing), a virtual environment in .venv (override with JITNEST_VENV), and jitnest with
# its dependencies installed into it (editable, so the checkout is what runs).
#
# The MPI environment is a second virtual environment, .venv-mpi (override with NEST_MPI_VENV),
# with NEST built with MPI instead of the PyPI wheel (which has no MPI): see setup_mpi below and
# scripts/nest_mpi_wheel.sh for where that NEST comes from (NEST_MPI_WHEEL, a per-machine cache, or
# a build from source once per machine).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${JITNEST_VENV:-$ROOT/.venv}"
MPI_VENV="${NEST_MPI_VENV:-$ROOT/.venv-mpi}"
# Debian package -> how to tell it is there (a command, else a file)
declare -A PACKAGE_PROBES=(
  [g++]="command:g++" [libgsl-dev]="file:/usr/include/gsl/gsl_errno.h" [libltdl-dev]="file:/usr/include/ltdl.h"
  [libopenmpi-dev]="command:mpicxx" [openmpi-bin]="command:mpirun" [libboost-dev]="file:/usr/include/boost/version.hpp"
  [libmusic-dev]="file:/usr/include/music.hh" [music-bin]="command:music"
)
COMPILER_PACKAGES=(g++ libgsl-dev libltdl-dev)
MPI_PACKAGES=(libopenmpi-dev openmpi-bin)
NEST_BUILD_PACKAGES=(libboost-dev)  # only to build NEST itself
MUSIC_PACKAGES=(libmusic-dev music-bin)

say() { printf '\033[1m[jitnest setup]\033[0m %s\n' "$*" >&2; }

# Install the Debian packages named that are missing (as root), or name them and stop.
system_packages() {
  local missing=() package probe
  for package in "$@"; do
    probe="${PACKAGE_PROBES[$package]}"
    case "$probe" in
      command:*) command -v "${probe#command:}" >/dev/null || missing+=("$package") ;;
      file:*) [ -f "${probe#file:}" ] || missing+=("$package") ;;
    esac
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    say "installing Debian packages: ${missing[*]}"
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  else
    say "missing system packages: ${missing[*]}"
    say "install them (Debian/Ubuntu: sudo apt-get install ${missing[*]}) and run this again"
    exit 1
  fi
}

python_interpreter() {
  # The NEST wheel is published for CPython 3.11 on this platform.
  for candidate in "${PYTHON:-}" python3.11 python3; do
    [ -n "$candidate" ] && command -v "$candidate" >/dev/null && { echo "$candidate"; return; }
  done
  say "no python3 found"; exit 1
}

python_env() {  # [VENV]: the environment to set up (default: the main one)
  local VENV="${1:-$VENV}"
  if [ ! -x "$VENV/bin/python" ]; then
    say "creating virtual environment $VENV"
    "$(python_interpreter)" -m venv "$VENV"
  fi
  local stamp="$VENV/.jitnest-installed"
  # The editable install maps each module's file: a module added, moved or removed needs a reinstall.
  local modules
  modules="$(cd "$ROOT" && find jitnest -name '*.py' | LC_ALL=C sort | cksum)"
  if [ ! -f "$stamp" ] || [ "$ROOT/pyproject.toml" -nt "$stamp" ] || [ "$(cat "$stamp")" != "$modules" ] \
      || [ -n "$(find "$ROOT/cpp" "$ROOT/CMakeLists.txt" -newer "$stamp" 2>/dev/null)" ]; then
    say "installing jitnest and its dependencies into $VENV (first time: a few minutes)"
    "$VENV/bin/python" -m pip install -q --upgrade pip
    "$VENV/bin/python" -m pip install -q -e "$ROOT[test]"
    echo "$modules" > "$stamp"
  fi
}

setup() { system_packages "${COMPILER_PACKAGES[@]}"; python_env; }

# The MPI environment: NEST with MPI first, pinned, then jitnest (editable) and the test tools.
#
# Order matters. pip keeps an installed nest-simulator that satisfies jitnest's requirement
# (nest-simulator>=3.10), so installing the MPI wheel first and jitnest second keeps it; the other
# way round, pip refuses the MPI wheel of the same version as "already installed" and does nothing
# without --force-reinstall. A later `pip install --force-reinstall` or `-U` (to a newer PyPI
# release) would still replace it, so the environment's own pip.conf pins nest-simulator to the
# wheel file (a constraint with a file URL: pip then takes only that file, whatever it is asked).
setup_mpi() {
  local packages=("${COMPILER_PACKAGES[@]}" "${MPI_PACKAGES[@]}")
  [ "${NEST_MPI_MUSIC:-0}" = 1 ] && packages+=("${MUSIC_PACKAGES[@]}")
  system_packages "${packages[@]}"
  if [ ! -x "$MPI_VENV/bin/python" ]; then
    say "creating virtual environment $MPI_VENV"
    "$(python_interpreter)" -m venv "$MPI_VENV"
    "$MPI_VENV/bin/python" -m pip install -q --upgrade pip
  fi
  if [ -z "${NEST_MPI_WHEEL:-}" ] && [ "${NEST_MPI_MUSIC:-0}" != 1 ] \
      && compgen -G "$MPI_VENV/nest-wheel/nest_simulator-${NEST_MPI_VERSION:-3.10.0}-*.whl" >/dev/null \
      && mpi_nest_installed; then
    :  # set up before: its NEST stays, even where the wheel cache has been cleared since
  else
    install_mpi_nest
  fi
  python_env "$MPI_VENV"
  mpi_nest_installed || { say "NEST in $MPI_VENV has no MPI after the set-up: something replaced it"; exit 1; }
}

# The MPI wheel (given, cached or built: scripts/nest_mpi_wheel.sh) installed and pinned in $MPI_VENV.
install_mpi_nest() {
  local plan wheel pinned
  plan="$("$ROOT/scripts/nest_mpi_wheel.sh" "$MPI_VENV/bin/python" --dry-run)"
  if grep -q '^would run' <<<"$plan"; then
    system_packages "${NEST_BUILD_PACKAGES[@]}"  # NEST is built here: it needs Boost's headers too
  fi
  wheel="$("$ROOT/scripts/nest_mpi_wheel.sh" "$MPI_VENV/bin/python")"
  pinned="$MPI_VENV/nest-wheel/$(basename "$wheel")"
  if [ ! -f "$pinned" ] || ! cmp -s "$wheel" "$pinned" || ! mpi_nest_installed; then
    say "installing $(basename "$wheel") into $MPI_VENV"
    rm -rf "$MPI_VENV/nest-wheel"
    mkdir -p "$MPI_VENV/nest-wheel"
    cp "$wheel" "$pinned"
    echo "nest-simulator @ file://$pinned" > "$MPI_VENV/nest-wheel/constraints.txt"
    printf '[global]\nconstraint = %s\n' "$MPI_VENV/nest-wheel/constraints.txt" > "$MPI_VENV/pip.conf"
    "$MPI_VENV/bin/python" -m pip install -q --force-reinstall --no-deps "$pinned"
    "$MPI_VENV/bin/python" -m pip install -q "$pinned"  # its dependencies (numpy, ...)
  fi
}

mpi_nest_installed() {
  PYNEST_QUIET=1 "$MPI_VENV/bin/python" -c 'import sys, nest; sys.exit(0 if nest.build_info["have_mpi"] else 1)' \
    >/dev/null 2>&1
}

case "${1:-}" in
  setup) setup ;;
  demo) setup; cd "$ROOT"; exec "$VENV/bin/python" examples/stdp_demo.py ;;
  test) setup; cd "$ROOT"; shift; exec env PYTHONHASHSEED=0 OMP_WAIT_POLICY=PASSIVE "$VENV/bin/python" -m pytest "$@" ;;
  bench)
    if [ "${2:-}" = mpi ]; then
      setup_mpi; cd "$ROOT"; shift 2
      exec "$MPI_VENV/bin/python" benchmarks/mpi_first_spike.py "$@"
    fi
    setup; cd "$ROOT"; shift
    case "${1:-}" in
      memory) shift; exec "$VENV/bin/python" benchmarks/memory.py "$@" ;;
      build) shift; exec "$VENV/bin/python" benchmarks/build_speed.py "$@" ;;
      nest-suite) shift; exec "$VENV/bin/python" benchmarks/nest_testsuite.py "$@" ;;
      pynn) shift; exec "$VENV/bin/python" benchmarks/pynn_system_tests.py "$@" ;;
      speed) shift
        # instruction counts need valgrind (a Debian package); without it those columns stay empty
        if ! command -v valgrind >/dev/null && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
          say "installing Debian package: valgrind"
          apt-get update -qq >/dev/null
          DEBIAN_FRONTEND=noninteractive apt-get install -y -qq valgrind >/dev/null
        fi
        exec "$VENV/bin/python" benchmarks/speed.py "$@" ;;
      *) echo "usage: scripts/run.sh bench memory|build|nest-suite|pynn|speed|mpi [options]" >&2; exit 2 ;;
    esac ;;
  setup-mpi) setup_mpi ;;
  test-mpi)
    setup_mpi; cd "$ROOT"; shift
    exec env PYTHONHASHSEED=0 OMP_WAIT_POLICY=PASSIVE "$MPI_VENV/bin/python" -m pytest tests/mpi "$@" ;;
  test-music)
    # a third environment: NEST built with MPI and MUSIC (its own wheel, cached like the MPI one)
    export NEST_MPI_MUSIC=1
    MPI_VENV="${NEST_MUSIC_VENV:-$ROOT/.venv-music}"
    setup_mpi; cd "$ROOT"; shift
    exec env PYTHONHASHSEED=0 OMP_WAIT_POLICY=PASSIVE "$MPI_VENV/bin/python" -m pytest tests/mpi/test_music.py "$@" ;;
  *) echo "usage: scripts/run.sh demo|test|bench ...|setup|setup-mpi|test-mpi|test-music" >&2; exit 2 ;;
esac
