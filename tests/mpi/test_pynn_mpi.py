"""PyNN under mpirun: ``jitnest.hooks.install()`` before ``import pyNN.nest``, NESTML models as
native types, gives the spikes and STDP weights of plain PyNN with the manual workflow's module."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from mpi_helpers import PYNN, mpirun, needs_mpi

pytest.importorskip("pyNN", reason="PyNN is not installed (pip install jitnest[pynn])")
pytestmark = [*needs_mpi, pytest.mark.slow]


def _run(*args: str, out: Path) -> dict:
    out.mkdir()
    mpirun(2, str(PYNN), *args, str(out))
    ranks = [json.loads(p.read_text()) for p in sorted(out.glob("rank-*.json"))]
    spikes: dict[str, list[float]] = {}
    for rank in ranks:
        assert not spikes.keys() & rank["spikes"].keys(), "a cell recorded on two ranks"
        spikes.update(rank["spikes"])
    return {"ranks": len(ranks), "ids": [r["ids"] for r in ranks], "spikes": spikes,
            "weights": sorted(tuple(w) for r in ranks for w in r["weights"])}


def test_pynn_native_nestml_types_match_plain_pynn(manual_stdp_module, tmp_path):
    manual = _run("manual", str(manual_stdp_module), out=tmp_path / "manual")
    jit = _run("jitnest", out=tmp_path / "jitnest")

    assert manual["ranks"] == jit["ranks"] == 2
    assert all(ids == manual["ids"][0] for ids in manual["ids"] + jit["ids"])
    assert sum(map(len, manual["spikes"].values())) > 500
    assert jit["spikes"] == manual["spikes"]
    assert len(jit["weights"]) == len(manual["weights"]) == 200
    assert jit["weights"] == manual["weights"]
    assert len({w for _, _, w in manual["weights"]}) > 10, "STDP must have changed the weights"
