"""A rebuild replays every recorded call, also those made through slices of SynapseCollections.

Issue 12, "recorded calls vanish": a slice of a SynapseCollection resolved its parent by building
the network, while the network was being rebuilt; the nested rebuilds reset the kernel and deleted
recorded calls (the user's Connect among them). tests/networks/rebuild_after_slice.py runs the
scenario through the manual NESTML workflow (plain PyNEST) and through jitnest, in fresh processes.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import NETWORKS, run_python

pytestmark = pytest.mark.slow


def _run(mode: str, module: str, out: Path) -> dict:
    run_python(NETWORKS / "rebuild_after_slice.py", mode, module, str(out))
    return json.loads(out.read_text())


def test_rebuild_after_sliced_sets_equals_plain_nest(manual_stdp_module, tmp_path):
    manual = _run("manual", str(manual_stdp_module), tmp_path / "manual.json")
    jit = _run("jitnest", "-", tmp_path / "jitnest.json")

    assert jit["modules"] == ["iaf_psc_exp_neuron + stdp_synapse"], "the Simulate must have rebuilt with the pair"
    assert len(manual["senders"]) > 500, "the network must be active for the comparison to mean anything"
    assert len(manual["nestml"]) == 8 * 6  # the Connect that vanished
    assert {2.0, 3.5, -5.0} <= {row[2] for row in manual["everything"]}  # the weights set through slices
    assert 2.0 in {row[3] for row in manual["onto_post"]}  # the delay set through a slice
    assert len(manual["from_pre"]) == 10 * 5  # asked before the NESTML Connect: pre -> post only
    for key in ("everything", "onto_post", "some", "from_pre", "nestml", "n_connections", "senders", "times"):
        assert jit[key] == manual[key], key
