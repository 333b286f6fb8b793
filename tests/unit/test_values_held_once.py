"""Per-node parameter values of unbuilt NESTML nodes are held once before the build: by the parameter
store, which the journal refers to, not by the store and a copy in the journal.

Only parses the NESTML model (compiles nothing). The values NEST gets at the build are checked by
tests/integration/test_replay.py.
"""

from __future__ import annotations

import tracemalloc

import numpy
import pytest

import jitnest as nest
from jitnest.record.session import SESSION

N = 10**6


def _array_bytes(value) -> int:
    """Bytes of the numpy arrays and lists reachable through containers and entry attributes."""
    if isinstance(value, numpy.ndarray):
        return value.nbytes
    if isinstance(value, dict):
        return sum(_array_bytes(v) for v in value.values())
    if isinstance(value, (list, tuple)):
        return (8 * len(value) if isinstance(value, list) else 0) + sum(_array_bytes(v) for v in value)
    if hasattr(value, "__dict__") and not isinstance(value, type):
        return sum(_array_bytes(v) for v in vars(value).values())
    if hasattr(value, "__slots__"):
        return sum(_array_bytes(getattr(value, s, None)) for s in value.__slots__)
    return 0


@pytest.fixture()
def session():
    nest.ResetKernel()
    yield SESSION
    nest.ResetKernel()


def test_a_million_heterogeneous_values_are_held_once(session):
    v_m = numpy.linspace(-75.0, -60.0, N)  # the user's arrays, made before measuring
    i_e = numpy.linspace(0.0, 300.0, N)
    tau_m = list(numpy.linspace(5.0, 25.0, N // 2))
    nest.GetDefaults("iaf_psc_exp_neuron")  # the model's name resolved and its description cached first
    tracemalloc.start()
    nodes = nest.Create("iaf_psc_exp_neuron", N, params={"V_m": v_m})
    nodes.set(I_e=i_e)
    nest.SetStatus(nodes[1::2], {"tau_m": tau_m})
    held_by_python = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    assert session.pending

    store = session.populations.nbytes()
    journal = sum(_array_bytes(entry) for entry in session.journal)
    values = 8 * 3 * N  # V_m, I_e and tau_m, each now a dense float64 column of the population
    print(f"store {store / 1e6:.1f} MB, journal arrays {journal / 1e6:.1f} MB, "
          f"Python allocations kept {held_by_python / 1e6:.1f} MB")
    assert values <= store < 1.01 * values
    assert journal < 0.01 * values, "the journal copies values the store holds"
    assert held_by_python < 0.01 * values, "something besides the store keeps a copy"


def test_later_changes_of_the_users_arrays_do_not_leak_in(session):
    v_m = numpy.linspace(-75.0, -60.0, 1000)
    i_e = [float(i) for i in range(500)]
    nodes = nest.Create("iaf_psc_exp_neuron", 1000, params={"V_m": v_m})
    nodes[::2].set(I_e=i_e)
    v_m[:] = 0.0
    i_e[:] = [-1.0] * 500
    assert nodes.get("V_m")[::333] == (-75.0, -70.0, -65.0, -60.0)
    assert nodes[::2].get("I_e")[:3] == (0.0, 1.0, 2.0)
    assert nodes[1::2].get("I_e")[:3] == (0.0, 0.0, 0.0)
