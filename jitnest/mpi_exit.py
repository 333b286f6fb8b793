"""An uncaught exception on some ranks of an MPI job ends the job instead of hanging it.

Under mpirun, NEST calls ``MPI_Finalize`` at exit (an ``atexit`` handler of PyNEST), and
``MPI_Finalize`` waits for every rank. A rank that ends with an uncaught exception while the
others go on (they did not fail, or not yet) therefore sleeps in ``MPI_Finalize`` forever, and
the others wait forever in their next collective call (``Simulate``) for it: the job hangs
without a word. Plain PyNEST behaves so; ``python -m mpi4py`` exists to avoid it.

``install`` makes a rank that reports an uncaught exception (through ``sys.excepthook``, as the
interpreter and ``python -m jitnest`` do) wait at most ``GRACE_SECONDS`` in ``MPI_Finalize``,
which returns at once when every rank failed alike (so they all print their error and end with
status 1, as with plain PyNEST), and otherwise end itself with status 1 without finalizing; mpirun
then ends the whole job, saying that a rank "exited improperly". The timer is faulthandler's: its
thread is C code, which fires whether or not NEST's call into ``MPI_Finalize`` released the GIL (a
Python timer thread would need it).

Only for jobs of more than one process; a normal exit is untouched.
"""

from __future__ import annotations

import atexit
import faulthandler
import os
import sys
from types import TracebackType

# Ranks that fail alike may report their errors some seconds apart (a rank still compiling, a
# slow filesystem); a job that hangs loses only this much.
GRACE_SECONDS = 30.0

_state = {"installed": False, "failed": False, "rank": 0}


def install(processes: int, rank: int) -> None:
    """Under an MPI job of ``processes`` > 1 ranks, bound the wait at exit after an uncaught
    exception (see the module's docstring). Call after NEST is imported: ``atexit`` runs handlers
    in reverse order, so this one must come after NEST's ``MPI_Finalize`` handler is registered."""
    if processes < 2 or _state["installed"]:
        return
    _state.update(installed=True, rank=rank)
    previous = sys.excepthook

    def report(kind: type[BaseException], error: BaseException, traceback: TracebackType | None) -> None:
        _state["failed"] = True
        previous(kind, error, traceback)

    sys.excepthook = report
    atexit.register(_bound_finalize)


def _bound_finalize() -> None:
    if not _state["failed"]:
        return
    sys.stdout.flush()
    print(f"[jitnest] rank {_state['rank']} ended with an uncaught exception: it waits up to {GRACE_SECONDS:.0f} s "
          "for the other ranks to end too, then ends the MPI job (they would otherwise wait for it forever)",
          file=sys.stderr, flush=True)
    try:
        faulthandler.dump_traceback_later(GRACE_SECONDS, exit=True, file=sys.stderr)
    except (ValueError, OSError, AttributeError):  # stderr without a file descriptor: end without the stack
        # kept open until the process ends, which is the point
        faulthandler.dump_traceback_later(GRACE_SECONDS, exit=True, file=open(os.devnull, "w"))  # noqa: SIM115
