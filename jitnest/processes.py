"""Child processes with a time limit: the compiler and NESTML never hang a build forever.

A build holds its key's lock while CMake, the compiler or a NESTML request runs, and every other
process that needs the same module waits for it. ``run`` bounds such a command: when its time is
up (or the caller is interrupted) the command's whole process tree is killed, not only the
process started (CMake's Ninja and compilers, NESTML's forked children would otherwise run on),
and ``ProcessTimeout`` carries what it printed so far. ``kill_tree`` does the same for a process
that is not a child of this one (a request's child of the shared NESTML server).

The processes stay in the caller's process group, so a Ctrl-C in the terminal or a ``killpg`` of
the caller still reaches them. Uses psutil to find descendants, imported only when something is
killed (importing it would cost every warm run ~30 ms).
"""

from __future__ import annotations

import contextlib
import subprocess
from collections.abc import Mapping, Sequence

# How MPI launchers (Open MPI, PMIx, MPICH's Hydra, Slurm's PMI) tell a process its job and rank.
_MPI_LAUNCH_PREFIXES = ("OMPI_", "PMIX_", "PMI_", "HYDRA_", "HYDI_")


def outside_mpi_job(environ: Mapping[str, str]) -> dict[str, str]:
    """``environ`` without the variables of an MPI launch. A child of an MPI rank that imports NEST
    (built with MPI) would otherwise join the rank's job as a second copy of that rank (Open MPI lets
    it: it reports the job's number of processes); without them it starts MPI alone, as one process."""
    return {key: value for key, value in environ.items() if not key.startswith(_MPI_LAUNCH_PREFIXES)}


class ProcessTimeout(Exception):
    """A command ran longer than allowed and was killed with its descendants."""

    def __init__(self, command: Sequence[str], seconds: float, stdout: str, stderr: str) -> None:
        super().__init__(f"{command[0]} did not finish within {seconds:g} s; its processes were killed")
        self.seconds = seconds
        self.stdout = stdout
        self.stderr = stderr


def kill_tree(pid: int) -> None:
    """Kill process ``pid`` and all its descendants (SIGKILL), and wait until they are gone.

    The tree is frozen first (SIGSTOP), again until no new descendant appears, so that a build
    tool cannot start the next compiler between the listing and the kill.
    """
    import psutil

    try:
        root = psutil.Process(pid)
    except psutil.Error:
        return
    frozen: dict[int, psutil.Process] = {}
    pending = [root]
    while pending:
        for process in pending:
            with contextlib.suppress(psutil.Error):
                process.suspend()
            frozen[process.pid] = process
        pending = []
        for process in list(frozen.values()):
            with contextlib.suppress(psutil.Error):
                pending += [child for child in process.children(recursive=True) if child.pid not in frozen]
    for process in frozen.values():
        with contextlib.suppress(psutil.Error):
            process.kill()
    psutil.wait_procs(list(frozen.values()), timeout=10)


def run(command: Sequence[str], *, timeout: float | None, input: str | None = None,  # noqa: A002
        cwd: str | None = None, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """``subprocess.run(command, capture_output=True, text=True)`` with ``timeout`` seconds (None:
    no limit) for the whole tree: raises ProcessTimeout after killing it. If this thread is
    interrupted (KeyboardInterrupt), the tree is killed too, then the interruption goes on."""
    process = subprocess.Popen(list(command), stdin=subprocess.PIPE if input is not None else subprocess.DEVNULL,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=cwd, env=env)
    try:
        stdout, stderr = process.communicate(input, timeout=timeout)
    except subprocess.TimeoutExpired:
        kill_tree(process.pid)
        stdout, stderr = process.communicate()
        raise ProcessTimeout(command, timeout or 0.0, stdout, stderr) from None
    except BaseException:
        kill_tree(process.pid)
        process.wait()
        raise
    return subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr)
