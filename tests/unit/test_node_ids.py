"""NodeIds (what an unbuilt NodeCollection answers) against NEST's own NodeCollection.

Each case applies one operation to real NodeCollections of plain PyNEST and to the NodeIds
describing the same nodes; IDs, lengths and repr must agree.
"""

from __future__ import annotations

import nest
import numpy
import pytest

from jitnest.models.node_ids import NodeIds

OPERATIONS = {
    "whole": lambda a, b, c: a,
    "join": lambda a, b, c: a + b,
    "join_reversed": lambda a, b, c: c + a,
    "join_same_model_adjacent": lambda a, b, c: a[0:3] + a[3:5],
    "slice": lambda a, b, c: a[2:5],
    "slice_open": lambda a, b, c: a[7:],
    "slice_negative": lambda a, b, c: a[-3:],
    "slice_step": lambda a, b, c: a[::2],
    "slice_start_step": lambda a, b, c: a[1:8:3],
    "index": lambda a, b, c: a[4],
    "index_negative": lambda a, b, c: a[-1],
    "index_list": lambda a, b, c: a[[1, 3, 5]],
    "index_list_runs": lambda a, b, c: a[[0, 1, 2, 5]],
    "index_bool": lambda a, b, c: a[numpy.arange(10) % 3 == 0],
    "composite_slice": lambda a, b, c: (a + c)[8:13],
    "composite_of_singles": lambda a, b, c: a[0] + a[5] + c[1:3],
    "composite_index_list": lambda a, b, c: (a + b + c)[[0, 10, 12]],
}


@pytest.fixture(scope="module")
def populations():
    nest.ResetKernel()
    a = nest.Create("iaf_psc_alpha", 10)
    b = nest.Create("spike_recorder")
    c = nest.Create("iaf_psc_exp", 5)
    ids = (NodeIds.primitive("iaf_psc_alpha", 1, 10), NodeIds.primitive("spike_recorder", 11, 1),
           NodeIds.primitive("iaf_psc_exp", 12, 5))
    return (a, b, c), ids


@pytest.mark.parametrize("name", list(OPERATIONS))
def test_operation_matches_nest(populations, name):
    real, ids = populations
    expected = OPERATIONS[name](*real)
    mirrored = OPERATIONS[name](*ids)
    assert mirrored.tolist() == expected.tolist()
    assert len(mirrored) == len(expected)
    if name != "composite_slice":  # NEST's repr of sliced composites has quirks not copied
        assert repr(mirrored) == repr(expected)


@pytest.mark.parametrize("key", [10, -11, slice(11, None), slice(None, 12), slice(0, 5, 0)])
def test_out_of_range_raises_like_nest(populations, key):
    real, ids = populations
    with pytest.raises(IndexError):
        real[0][key]
    with pytest.raises(IndexError):
        ids[0][key]


def test_overlapping_join_is_refused(populations):
    real, ids = populations
    with pytest.raises(nest.NESTErrors.BadProperty):
        real[0] + real[0][0:2]
    with pytest.raises(ValueError, match="overlapping"):
        ids[0] + ids[0][0:2]


def test_membership_and_index(populations):
    real, ids = populations
    composite = ids[0] + ids[2]
    assert (3 in composite, 11 in composite, 13 in composite) == (3 in real[0] + real[2], False, True)
    assert composite.index(13) == (real[0] + real[2]).index(13)
    with pytest.raises(ValueError):
        composite.index(11)
