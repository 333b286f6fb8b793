#!/usr/bin/env bash
# One entry point that sets up everything jitnest needs, then runs what you ask for.
#
#   scripts/run.sh demo     run the STDP demo (examples/stdp_demo.py)
#   scripts/run.sh test     run the test suite
#   scripts/run.sh bench memory|build|nest-suite|pynn|speed   run one benchmark (see README, "Measured")
#   scripts/run.sh setup    only set up
#
# Set-up is idempotent: Debian packages the compiler needs (when run as root; otherwise it says
# what is missing), a virtual environment in .venv (override with JITNEST_VENV), and jitnest with
# its dependencies installed into it (editable, so the checkout is what runs).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${JITNEST_VENV:-$ROOT/.venv}"
APT_PACKAGES=(g++ libgsl-dev libltdl-dev)

say() { printf '\033[1m[jitnest setup]\033[0m %s\n' "$*" >&2; }

system_packages() {
  local missing=()
  command -v g++ >/dev/null || missing+=(g++)
  [ -f /usr/include/gsl/gsl_errno.h ] || missing+=(libgsl-dev)
  [ -f /usr/include/ltdl.h ] || missing+=(libltdl-dev)
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    say "installing Debian packages: ${missing[*]}"
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  else
    say "missing system packages: ${missing[*]}"
    say "install them (Debian/Ubuntu: sudo apt-get install ${APT_PACKAGES[*]}) and run this again"
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

python_env() {
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

setup() { system_packages; python_env; }

case "${1:-}" in
  setup) setup ;;
  demo) setup; cd "$ROOT"; exec "$VENV/bin/python" examples/stdp_demo.py ;;
  test) setup; cd "$ROOT"; shift; exec env PYTHONHASHSEED=0 OMP_WAIT_POLICY=PASSIVE "$VENV/bin/python" -m pytest "$@" ;;
  bench)
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
      *) echo "usage: scripts/run.sh bench memory|build|nest-suite|pynn|speed [options]" >&2; exit 2 ;;
    esac ;;
  *) echo "usage: scripts/run.sh demo|test|bench ...|setup" >&2; exit 2 ;;
esac
