"""The plain path (JITNEST_OPTIMISE=0, and what jitnest does with NESTML or NEST versions it was not
tested with) gives the same network as the optimised path: the STDP network of the core issue,
spikes and weights compared exactly.

The plain path leaves NESTML's lexer and pipeline alone (NESTML's own transform and generate
steps, the unpaired neuron generated too) and registers the synapse through NEST's own
``register_connection_model`` (all twins). It builds in a cache of its own without the
precompiled header, so that what it generated can be looked at.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import NETWORKS, run_python

pytestmark = pytest.mark.slow

GENERATED = "stdp_synapse_nestml__with_iaf_psc_exp_neuron_nestml"


def _run(out: Path, env: dict | None = None) -> dict:
    run_python(NETWORKS / "stdp_network.py", "jitnest", "-", str(out), "1", env=env)
    return json.loads(out.read_text())


def test_the_plain_path_gives_the_same_spikes_and_weights(tmp_path):
    optimised = _run(tmp_path / "optimised.json")
    plain_cache = tmp_path / "plain-cache"
    plain = _run(tmp_path / "plain.json", {"JITNEST_OPTIMISE": "0", "JITNEST_CACHE_DIR": str(plain_cache),
                                           "JITNEST_PCH": "0"})

    assert len(optimised["senders"]) > 1000 and len(set(optimised["weights"])) > 10
    for key in ("ids", "senders", "times", "sources", "targets", "weights", "tau_m_post"):
        assert plain[key] == optimised[key], key
    assert plain["neuron_model"] == "iaf_psc_exp_neuron" and plain["synapse_model"] == "stdp_synapse_nestml"
    # the optimised path compiles only the twins a network names; NEST's own registration all three
    assert optimised["real_synapse_models"] == [GENERATED]
    assert plain["real_synapse_models"] == [GENERATED, GENERATED + "_hpc", GENERATED + "_lbl"]
    # NESTML's own pipeline also generated the neuron alone (the optimised path drops it after pairing)
    (models,) = [json.loads(p.read_text()) for p in (plain_cache / "generated").glob("*/models.json")]
    assert {m["name"]: m["paired"] for m in models if m["kind"] == "neuron"} == {
        "iaf_psc_exp_neuron_nestml": False, "iaf_psc_exp_neuron_nestml__with_stdp_synapse_nestml": True}
