"""NodeIds (what an unbuilt NodeCollection answers) against NEST's own NodeCollection.

Each case is one expression, evaluated on real NodeCollections of plain PyNEST and on the NodeIds
describing the same nodes: the IDs, length and repr must agree, or both must raise the same
error (class and message). NEST's quirks are part of the contract (see ``jitnest.models.node_ids``).
A second test checks that joins and slices cost O(number of runs), whatever the size.
"""

from __future__ import annotations

import itertools
import tracemalloc

import nest
import numpy
import pytest

from jitnest.models import node_ids
from jitnest.models.node_ids import NodeIds

# a: 10 iaf_psc_alpha, b: 1 spike_recorder, c: 5 iaf_psc_exp, d: 4 iaf_psc_exp right after c (same
# model, adjacent), e: 3 iaf_psc_alpha, s: 9 spatial iaf_psc_alpha, t: 4 more spatial, E: empty.
CASES = [
    # whole, joins of disjoint, adjacent and overlapping runs, in both orders
    "a", "E", "a + b", "b + a", "c + a", "a + c + b", "c + d", "d + c", "a + e", "e + a", "a[0:3] + a[3:5]",
    "a[3:5] + a[0:3]", "a[2:5] + a[6:7]", "c[1:] + d", "c[0:2] + d", "a + c[0:2] + c[3:5]", "(c[0:2] + c[3:5]) + c[2]",
    "(a[0:2] + a[5:7]) + a[2:5]", "(a[0:2] + c) + a[2:5]", "a[2:5] + (a[0:2] + c)", "(a[0:2] + c) + (a[2:5] + d)",
    "(a + d) + (b + c)", "E + a", "a + E", "E + E", "(a + c) + E", "E + (a + c)",
    "a + a", "a + a[3]", "a[0:3] + a[2:5]", "a[2:5] + a[0:3]", "(a + c) + c[2]", "a[3:5] + (a + c)",
    "(a[0:2] + c) + (a[1:3] + d)", "(a[0:2] + c) + (a[2:3] + c[1])",
    "a[3:5] + a",  # NEST does not see this overlap: IDs 4 and 5 twice
    "(a[3:5] + c) + a", "(a[3:5] + a)[10:12]", "(a[3:5] + a)[[0, 11]]",
    # sliced composites: joining on the left refused, on the right taken whole (NEST's quirk)
    "a[::2] + c", "a[::2] + a[1::2]", "(a + c)[::2] + b", "(a + c)[2:12] + b", "(a + c)[:] + e",
    "c + a[::2]", "b + (a + c)[::2]", "d + (a + c)[2:12]", "e + a[1:9:3]", "a[0] + a[1:9:3]",
    "(a + d) + (b + c)[::2]", "(a + d) + (b + c)[1:]", "(c + e) + (a + b)[2:5]", "(c + e) + (a + b)[2:11]",
    # slices of primitives: steps, negative and open bounds, NEST's bounds checks
    "a[2:5]", "a[7:]", "a[-3:]", "a[:-2]", "a[3:-2]", "a[::2]", "a[1:8:3]", "a[2::20]", "a[9::2]", "a[::1]",
    "a[-1:]", "a[-10:]", "a[0:0]", "a[:10]", "a[3:4:2]", "a[5:2]", "a[5:5]", "a[3:-7]", "a[-12:]", "a[:-10]",
    "a[:11]", "a[10:]", "a[2:5:0]", "a[2:5:-1]", "E[:]", "E[0:1]", "E[0]",
    # slices of composites: within one part, across parts, with steps
    "(a + c)[8:13]", "(a + c)[0:10]", "(a + c)[10:15]", "(a + c)[3:4]", "(a + c)[:]", "(a + c)[0:15]",
    "(a + c)[::2]", "(a + c)[::3]", "(a + c)[1::4]", "(a + c)[9::2]", "(a + c)[-3:]", "(a + c)[-3::2]",
    "(a + c)[2:14:3]", "(a + c)[3:11:7]", "(a + c)[3:4:2]", "(a + c)[3:11:2]", "(a + b + c)[::5]", "(a + e)[9:11]",
    "(a + e)[8:12]", "(a + c)[0:10:2]", "(a + b + c + e)[5:17:4]",
    # slices of sliced composites: one node only
    "(a + c)[::2][6]", "(a + c)[::2][-1]", "(a + c)[::2][2:3]", "(a + c)[::2][2:3:5]", "a[::2][2:3]",
    "a[::2][-1:]", "(a + c)[2:12][1]", "(a + c)[0:15][1:2]", "(a + c)[::2][1::2]", "(a + c)[::2][1:4]",
    "a[::2][::2]", "(a + c)[2:12][1:3]", "(a + c)[::2][0:0]",
    # indexing by integers, lists, tuples, bools and arrays
    "a[4]", "a[-1]", "a[-10]", "a[10]", "a[-11]", "a[True]", "a[numpy.int64(2)]", "a[2.0]", "a['x']",
    "a[[1, 3, 5]]", "a[[0, 1, 2, 5]]", "a[(1, 2)]", "a[[numpy.int64(1), 2]]", "a[[3, 1]]", "a[[1, 1]]",
    "a[[1, 10]]", "a[[1.0]]", "a[[True, 1]]", "a[[True] * 10]", "a[[True] * 3]", "a[[]]",
    "a[numpy.arange(10) % 3 == 0]", "a[numpy.array([1, 3])]", "a[numpy.array([3, 1])]", "a[numpy.array([-1])]",
    "a[numpy.array([[3, 1]])]", "a[numpy.array([1.0])]", "a[numpy.array([], dtype=int)]",
    "(a + b + c)[[0, 10, 12]]", "(a + c)[[0, 1, 2, 10, 11]]", "(a + c)[::2][[1, 2]]", "(a + c)[2:12][[1, 2]]",
    "a[::2][[1, 2]]", "(a + c)[::2][[]]", "a[[1, 3]] + a[[5, 7]]", "a[0] + a[5] + c[1:3]",
    # spatial collections: slices keep the metadata, joins need the same metadata
    "s", "s[1:3]", "s[1]", "s[::2]", "s[[1, 2]]", "s[1:3][0:1]", "s[1:3] + a", "a + s", "s + a", "s + t",
    "s[0:3] + s[3:5]", "s[0:3] + s[5]",
]
# pairs whose == NEST answers in its own way (composites: size and parts only)
EQUALITIES = [
    ("a[0:5]", "a[0:3] + a[3:5]"), ("a[2:3]", "a[2]"), ("a[::2]", "a[[0, 2, 4, 6, 8]]"), ("a[::2]", "a[0:10:2]"),
    ("a[::2]", "a[0:9:2]"), ("(a + c)[::2]", "a[::2]"), ("(a + c)[0:10:2]", "a[::2]"), ("a[0:3] + c", "c + a[0:3]"),
    ("a[0:3] + a[4:6]", "a[[0, 1, 2, 4, 5]]"), ("a[3:4:2]", "a[3]"), ("a[3:5:2]", "a[3:4:2]"),
    ("a[3:6:2]", "a[3:7:2]"), ("(a + c)[:]", "a + c"), ("(a + c)[:14]", "a + c"), ("(a + c)[1:]", "a[1:] + c"),
    ("(a + c)[:10:3]", "a[::3]"), ("a[1::3]", "a[1:9:3]"), ("(a + c)[::2]", "(a + c)[0:15:2]"),
    ("(a + c)[::2]", "(a + c)[0:14:2]"), ("(a + c)[10:12]", "c[0:2]"), ("(a + c)[9:12]", "a[9] + c[0:2]"),
    ("a[0:3:2]", "a[1:4:2]"), ("(a + c)[0:12:2]", "(a + c)[1:12:2]"), ("(a + c)[2:5]", "(a + c)[3:6]"),
    ("(a + c)[9:12]", "(a + c)[10:13]"), ("E", "E"), ("a", "E"), ("s", "s"), ("s[0:9]", "s"), ("a[2:3:2]", "a[2:3:5]"),
]
MEMBERS = [("(a + c)[::2]", [1, 2, 12, 13, 14]), ("(a + c)[2:12]", [2, 3, 11, 13, 14]),
           ("(a + c)[3::2]", [10, 11, 13, 14]), ("(a + c)[3:11:2]", [10, 15, 16]), ("a[1:5:2]", [4, 6]),
           ("a[3:5] + a", [4, 5, 10]), ("a + c", [0, -1, 3.0, 3.5, True, numpy.int64(3), 11, 12, 16, 17]),
           ("(a[3:5] + c) + a", [2, 4, 5, 6, 12, 16, 17]), ("E", [1]), ("a", [None, "x"])]


def _evaluate(expression: str, names: dict) -> tuple:
    """("ok", ids, len, repr) or ("error", class name, message)."""
    try:
        value = eval(expression, {"numpy": numpy}, names)  # noqa: S307 -- the expressions above
    except Exception as error:  # noqa: BLE001 -- compared with NEST's
        return "error", type(error).__name__, str(error)
    return "ok", value.tolist(), len(value), repr(value)


@pytest.fixture(scope="module")
def collections() -> tuple[dict, dict]:
    nest.ResetKernel()
    grid = nest.spatial.grid(shape=[3, 3])
    real = {"a": nest.Create("iaf_psc_alpha", 10), "b": nest.Create("spike_recorder"),
            "c": nest.Create("iaf_psc_exp", 5), "d": nest.Create("iaf_psc_exp", 4),
            "e": nest.Create("iaf_psc_alpha", 3), "s": nest.Create("iaf_psc_alpha", positions=grid),
            "t": nest.Create("iaf_psc_alpha", positions=nest.spatial.grid(shape=[2, 2])), "E": nest.NodeCollection()}
    mirrored = {"E": NodeIds()}
    for name, collection in real.items():
        if len(collection):
            model = collection[0].get("model")
            mirrored[name] = NodeIds.primitive(model, collection[0].global_id, len(collection), spatial=name in "st")
    return real, mirrored


@pytest.mark.parametrize("expression", CASES)
def test_expression_matches_nest(collections, expression):
    real, mirrored = collections
    assert _evaluate(expression, mirrored) == _evaluate(expression, real)


@pytest.mark.parametrize("left, right", EQUALITIES)
def test_equality_matches_nest(collections, left, right):
    real, mirrored = collections
    expected = eval(left, {"numpy": numpy}, real) == eval(right, {"numpy": numpy}, real)  # noqa: S307
    assert (eval(left, {}, mirrored) == eval(right, {}, mirrored)) == expected  # noqa: S307
    assert (eval(right, {}, mirrored) == eval(left, {}, mirrored)) == expected  # noqa: S307
    if expected:
        assert hash(eval(left, {}, mirrored)) == hash(eval(right, {}, mirrored))  # noqa: S307


@pytest.mark.parametrize("expression, candidates", MEMBERS)
def test_membership_and_index_match_nest(collections, expression, candidates):
    real, mirrored = collections
    ours, theirs = eval(expression, {}, mirrored), eval(expression, {"numpy": numpy}, real)  # noqa: S307
    for node_id in candidates:
        for question in (lambda c, n=node_id: n in c, lambda c, n=node_id: c.index(n)):
            expected = _answer(question, theirs)
            assert _answer(question, ours) == expected, (expression, node_id)


def _answer(question, collection) -> tuple:
    try:
        return "ok", question(collection)
    except Exception as error:  # noqa: BLE001 -- compared with NEST's
        return "error", type(error).__name__, str(error)


def test_joins_slices_and_lookups_cost_the_number_of_runs_not_of_nodes(monkeypatch):
    """The same operations on populations of 10^3 and of 10^6 nodes do the same work.

    Measured without a clock (the machine is shared): the calls of Run's methods (Run objects made
    included) and the peak of memory allocated while operating must not grow with the size. Before
    the interval arithmetic, a join built Python sets of every ID and a slice of a composite a list of
    every ID and one Run per selected node.
    """
    small, large = _work(monkeypatch, 10**3), _work(monkeypatch, 10**6)
    assert large["calls"] == small["calls"], (small, large)
    assert large["peak"] < small["peak"] + 16 * 1024, (small, large)


def _work(monkeypatch, size: int) -> dict:
    """Join three populations (two of one model, adjacent), then slice with steps and negative
    bounds, index, test membership and compare; count Run calls and the peak of traced memory."""
    calls = itertools.count()
    for name in ("__init__", "__len__", "ids", "position_of", "select"):
        if hasattr(node_ids.Run, name):
            monkeypatch.setattr(node_ids.Run, name, _counted(getattr(node_ids.Run, name), calls))
    tracemalloc.start()
    a, b = NodeIds.primitive("x", 1, size), NodeIds.primitive("y", size + 1, size)
    c, d = NodeIds.primitive("x", 2 * size + 1, size), NodeIds.primitive("x", 3 * size + 1, size)
    three = (a + b) + (c + d)[0:size]
    answers = [len(three[1:3 * size - 1:3]), len(three[5:size + 7]), three[size:size + 1].tolist(),
               len(three[-size:]), (size + 5) in three, three.index(2 * size + 3), three == (a + b) + c,
               three[::7].runs[-1].last, len(a + d)]
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    monkeypatch.undo()
    assert answers == [len(range(1, 3 * size - 1, 3)), size + 2, [size + 1], size, True, 2 * size + 2, True,
                       1 + 7 * ((3 * size - 1) // 7), 2 * size]
    return {"calls": next(calls), "peak": peak}


def _counted(function, calls):
    def counting(*args, **kwargs):
        next(calls)
        return function(*args, **kwargs)

    return counting
