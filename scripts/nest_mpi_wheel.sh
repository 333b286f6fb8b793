#!/usr/bin/env bash
# Print the path of a wheel of NEST built with MPI for this machine, building it once if needed.
#
#   scripts/nest_mpi_wheel.sh PYTHON [--dry-run]
#
# PYTHON is the interpreter the wheel is for (its pip downloads and builds). Where the wheel
# comes from, in this order:
#   1. NEST_MPI_WHEEL=path/to/nest_simulator-*.whl: a wheel you already have. With
#      NEST_MPI_WHEEL_SHA256=<hex> its sha256 must match, or nothing is installed.
#   2. The per-machine wheel cache: $NEST_WHEEL_CACHE (default: $XDG_CACHE_HOME/jitnest-nest-wheels,
#      i.e. ~/.cache/jitnest-nest-wheels), one folder per key: NEST version, build options, CPython
#      tag and platform, compiler and MPI versions. A change of any of them builds a new wheel.
#   3. A build from NEST's source distribution on PyPI (pip download + pip wheel with
#      -Dwith-mpi=ON), stored in that cache. About 21 CPU-minutes: 11 minutes on 2 idle cores.
#
# Settings: NEST_MPI_VERSION (default 3.10.0), NEST_MPI_MUSIC=1 (also -Dwith-music=ON, needs
# Debian's libmusic-dev), NEST_BUILD_JOBS (default: all cores).
# --dry-run prints what a build would run instead of running it (and the cache folder it would fill).
#
# The wheel is checked before it is cached or printed: its config.h must say HAVE_MPI. pip's own
# wheel cache ignores --config-settings, so the build never uses it (--no-cache-dir): a cached
# wheel of the same version without MPI would otherwise be taken.
set -euo pipefail

PYTHON="${1:?usage: scripts/nest_mpi_wheel.sh PYTHON [--dry-run]}"
DRY_RUN=0
[ "${2:-}" = "--dry-run" ] && DRY_RUN=1
VERSION="${NEST_MPI_VERSION:-3.10.0}"
CACHE="${NEST_WHEEL_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/jitnest-nest-wheels}"
JOBS="${NEST_BUILD_JOBS:-$(nproc 2>/dev/null || echo 2)}"

say() { printf '\033[1m[nest-mpi-wheel]\033[0m %s\n' "$*" >&2; }
note() { [ "$DRY_RUN" = 1 ] || say "$@"; }  # what a dry run need not repeat
die() { say "$*"; exit 1; }

OPTIONS=(--config-settings=cmake.define.with-mpi=ON)
OPTION_NAMES="mpi"
if [ "${NEST_MPI_MUSIC:-0}" = 1 ]; then
  OPTIONS+=(--config-settings=cmake.define.with-music=ON)
  OPTION_NAMES="mpi-music"
fi

sha256_of() { sha256sum "$1" | cut -d' ' -f1; }

# Whether the wheel's config.h (the one modules compile against) says HAVE_MPI.
wheel_has_mpi() {
  "$PYTHON" - "$1" <<'EOF'
import sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as wheel:
    names = [n for n in wheel.namelist() if n.endswith("include/nest/config.h")]
    text = wheel.read(names[0]).decode() if names else ""
sys.exit(0 if "#define HAVE_MPI 1" in text else 1)
EOF
}

# 1. A wheel given by the user.
if [ -n "${NEST_MPI_WHEEL:-}" ]; then
  [ -f "$NEST_MPI_WHEEL" ] || die "NEST_MPI_WHEEL=$NEST_MPI_WHEEL: no such file"
  actual="$(sha256_of "$NEST_MPI_WHEEL")"
  if [ -n "${NEST_MPI_WHEEL_SHA256:-}" ]; then
    [ "$actual" = "$NEST_MPI_WHEEL_SHA256" ] \
      || die "NEST_MPI_WHEEL=$NEST_MPI_WHEEL has sha256 $actual, not NEST_MPI_WHEEL_SHA256=$NEST_MPI_WHEEL_SHA256"
    note "using $NEST_MPI_WHEEL (sha256 checked)"
  else
    note "using $NEST_MPI_WHEEL (sha256 $actual; set NEST_MPI_WHEEL_SHA256 to have it checked)"
  fi
  wheel_has_mpi "$NEST_MPI_WHEEL" || die "$NEST_MPI_WHEEL is a NEST built without MPI (its config.h lacks HAVE_MPI)"
  echo "$NEST_MPI_WHEEL"
  exit 0
fi

# 2. The cache, keyed by everything that makes a wheel built here differ.
python_tag="$("$PYTHON" -c 'import sys, sysconfig; print(f"cp{sys.version_info[0]}{sys.version_info[1]}", sysconfig.get_platform())')"
compiler="$( (c++ --version 2>/dev/null || g++ --version 2>/dev/null || echo none) | head -1)"
mpi="$( (mpirun --version 2>/dev/null || echo none) | head -1)"
key_text="nest=$VERSION options=$OPTION_NAMES python=$python_tag compiler=$compiler mpi=$mpi"
key="$(printf '%s' "$key_text" | sha256sum | cut -c1-16)"
folder="$CACHE/nest-$VERSION-$OPTION_NAMES-${python_tag%% *}-$key"
wheel="$(ls "$folder"/nest_simulator-*.whl 2>/dev/null | head -1 || true)"
if [ -n "$wheel" ] && [ -f "$folder/sha256" ] && [ "$(sha256_of "$wheel")" = "$(cat "$folder/sha256")" ]; then
  note "using the cached $wheel"
  echo "$wheel"
  exit 0
fi

# 3. Build it from the source distribution.
# Sets DOWNLOAD and BUILD: the two commands of a build from source folder $1 into wheel folder $2.
build_commands() {
  DOWNLOAD=("$PYTHON" -m pip download --no-deps --no-binary nest-simulator "nest-simulator==$VERSION" -d "$1")
  BUILD=(env "CMAKE_BUILD_PARALLEL_LEVEL=$JOBS" "$PYTHON" -m pip wheel --no-deps --no-cache-dir "${OPTIONS[@]}"
         -w "$2" "$1/nest_simulator-$VERSION.tar.gz")
}
if [ "$DRY_RUN" = 1 ]; then
  say "dry run: no MPI wheel for this machine in $CACHE yet; a build would run:"
  build_commands '<tmp>/src' '<tmp>/wheels'
  echo "would run: ${DOWNLOAD[*]}"
  echo "would run: ${BUILD[*]}"
  echo "would store: $folder"
  exit 0
fi
"$PYTHON" -c 'import os, sys, sysconfig; sys.exit(not os.path.isfile(sysconfig.get_paths()["include"] + "/Python.h"))' \
  || die "building NEST needs Python's headers for $PYTHON (Debian: apt-get install python3-dev)"
mkdir -p "$CACHE"
exec 9>"$CACHE/.lock"
# One build per machine at a time: a second set-up waits for the first and then takes its wheel.
if command -v flock >/dev/null; then flock 9; fi
wheel="$(ls "$folder"/nest_simulator-*.whl 2>/dev/null | head -1 || true)"
if [ -n "$wheel" ] && [ -f "$folder/sha256" ]; then
  echo "$wheel"
  exit 0
fi
work="$(mktemp -d "$CACHE/.build.XXXXXX")"
trap 'rm -rf "$work"' EXIT
say "building NEST $VERSION with MPI from its source distribution (once per machine: about 21 CPU-minutes, $JOBS jobs)"
say "log: $work/build.log (kept in $folder when done)"
started=$(date +%s)
build_commands "$work/src" "$work/wheels"
"${DOWNLOAD[@]}" >"$work/build.log" 2>&1 || { tail -20 "$work/build.log" >&2; die "pip download failed"; }
"${BUILD[@]}" >>"$work/build.log" 2>&1 || {
  tail -30 "$work/build.log" >&2
  die "building the NEST wheel failed (log above; Debian packages it needs: libopenmpi-dev openmpi-bin libboost-dev libgsl-dev libltdl-dev g++)"
}
built="$(ls "$work"/wheels/nest_simulator-*.whl 2>/dev/null | head -1 || true)"
[ -n "$built" ] || die "pip wheel wrote no nest_simulator wheel"
wheel_has_mpi "$built" || die "the wheel built has no MPI (its config.h lacks HAVE_MPI)"
seconds=$(( $(date +%s) - started ))
staging="$work/publish"
mkdir -p "$staging"
mv "$built" "$work/build.log" "$staging/"
printf '%s\n' "$key_text" "build seconds: $seconds" "jobs: $JOBS" > "$staging/key.txt"
sha256_of "$staging/$(basename "$built")" > "$staging/sha256"
rm -rf "$folder"
mv "$staging" "$folder"
say "built in ${seconds}s: $folder"
ls "$folder"/nest_simulator-*.whl
