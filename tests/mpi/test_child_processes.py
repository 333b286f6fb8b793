"""Children of an MPI rank that import NEST (jitnest's probe of NEST's synapse keys) run as one
process of their own, not as a second copy of the rank inside its MPI job."""

from __future__ import annotations

import pytest
from mpi_helpers import mpirun, needs_mpi

pytestmark = [*needs_mpi, pytest.mark.slow]

CHILD = """
import os, subprocess, sys
from jitnest.processes import outside_mpi_job

child = "import nest; print('processes', nest.NumProcesses())"
inherited = subprocess.run([sys.executable, "-c", child], capture_output=True, text=True, timeout=120,
                           env={**os.environ, "PYNEST_QUIET": "1"})
cleaned = subprocess.run([sys.executable, "-c", child], capture_output=True, text=True, timeout=120,
                         env={**outside_mpi_job(os.environ), "PYNEST_QUIET": "1"})
print("inherited:", inherited.stdout.split()[-1], "cleaned:", cleaned.stdout.split()[-1])
"""


def test_child_importing_nest_is_not_part_of_the_job(tmp_path):
    script = tmp_path / "child.py"
    script.write_text(CHILD)
    completed = mpirun(2, str(script), timeout=300)

    lines = [line for line in completed.stdout.splitlines() if line.startswith("inherited:")]
    assert len(lines) == 2
    # With the launch's variables the child joins the job (it reports 2 processes): what the cleaned
    # environment prevents.
    assert all(line == "inherited: 2 cleaned: 1" for line in lines), lines
