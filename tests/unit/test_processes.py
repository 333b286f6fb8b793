"""jitnest.processes: environments for children that import NEST."""

from __future__ import annotations

from jitnest import processes


def test_outside_mpi_job_drops_only_the_launchers_variables():
    environ = {"OMPI_COMM_WORLD_RANK": "1", "PMIX_RANK": "1", "PMI_FD": "7", "HYDRA_CONTROL_FD": "3",
               "PATH": "/bin", "OMP_NUM_THREADS": "2", "JITNEST_CACHE_DIR": "c"}

    assert processes.outside_mpi_job(environ) == {"PATH": "/bin", "OMP_NUM_THREADS": "2", "JITNEST_CACHE_DIR": "c"}
