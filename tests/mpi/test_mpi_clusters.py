"""More than one machine, played on one: a cache folder per node, or one cache shared without
trusting file locks (``JITNEST_BUILD_SYNC=mpi``).

Two cache folders stand for two nodes' local disks: ranks 0 and 2 get one, ranks 1 and 3 the other
(mpirun's MPMD form gives each rank its own ``JITNEST_CACHE_DIR``, as a job script on a cluster
would by pointing the same path at each node's local disk).
"""

from __future__ import annotations

import pytest
from mpi_helpers import STDP, assert_same_network, merged, mpirun, needs_mpi

pytestmark = [*needs_mpi, pytest.mark.slow]


@pytest.fixture(scope="module")
def manual_four_ranks(manual_stdp_module, tmp_path_factory) -> dict:
    out = tmp_path_factory.mktemp("manual") / "ranks"
    out.mkdir()
    mpirun(4, str(STDP), "manual", str(manual_stdp_module), str(out))
    return merged(out)


def _reports(jit: dict) -> list[dict]:
    return [next(iter(modules.values())) for modules in jit["modules"]]


def test_node_local_caches_build_once_per_node(manual_four_ranks, tmp_path):
    nodes = [tmp_path / "node-a", tmp_path / "node-b"]
    out = tmp_path / "ranks"
    out.mkdir()
    mpirun(4, "-m", "jitnest", str(STDP), "hook", "-", str(out),
           contexts=[{"JITNEST_CACHE_DIR": str(nodes[rank % 2])} for rank in range(4)])
    jit = merged(out)

    assert_same_network(jit, manual_four_ranks, 4)
    reports = _reports(jit)
    for node in (0, 1):
        on_node = reports[node::2]
        assert sum(r["built_here"] for r in on_node) == 1, f"node {node}: {on_node}"
        assert all(r["module"].startswith(str(nodes[node])) for r in on_node)
        assert len(list((nodes[node] / "modules").iterdir())) == 1


def test_shared_cache_without_locks_rank0_builds(manual_four_ranks, tmp_path):
    """JITNEST_BUILD_SYNC=mpi: rank 0 builds, the others wait at the barrier and load its module."""
    cache = tmp_path / "shared"
    out = tmp_path / "ranks"
    out.mkdir()
    mpirun(4, "-m", "jitnest", str(STDP), "hook", "-", str(out),
           env={"JITNEST_CACHE_DIR": str(cache), "JITNEST_BUILD_SYNC": "mpi"})
    jit = merged(out)

    assert_same_network(jit, manual_four_ranks, 4)
    assert [r["built_here"] for r in _reports(jit)] == [True, False, False, False]
    assert len({r["module"] for r in _reports(jit)}) == 1
