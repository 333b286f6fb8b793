"""Behaviour of the compiled columnar parameter store, jitnest._core.ParameterStore."""

import re

import numpy as np
import pytest
from jitnest._core import ParameterStore

MILLION = 10**6


def test_uniform_column_costs_almost_no_memory():
    store = ParameterStore(MILLION)
    store.set_uniform("V_m", -70.0)

    assert store.is_uniform("V_m")
    assert store.nbytes() <= 64
    assert store.get("V_m") == -70.0
    assert store.get_one("V_m", MILLION - 1) == -70.0
    np.testing.assert_array_equal(store.get_at("V_m", [0, 5]), [-70.0, -70.0])


def test_dense_float_column_of_a_million_costs_eight_bytes_per_node():
    store = ParameterStore(MILLION)
    store.set_array("V_m", np.linspace(-80.0, -60.0, MILLION))

    assert not store.is_uniform("V_m")
    assert 8 * MILLION <= store.nbytes() <= 8 * MILLION + 64


def test_set_at_with_a_differing_value_makes_the_column_dense():
    store = ParameterStore(MILLION)
    store.set_uniform("V_m", -70.0)
    store.set_at("V_m", np.array([3, 7]), -55.0)

    assert not store.is_uniform("V_m")
    values = store.get("V_m")
    assert values.shape == (MILLION,) and values.dtype == np.float64
    assert values[3] == values[7] == -55.0
    assert np.count_nonzero(values == -70.0) == MILLION - 2
    assert store.nbytes() >= 8 * MILLION


def test_set_at_with_the_shared_value_keeps_the_column_uniform():
    store = ParameterStore(MILLION)
    store.set_uniform("V_m", -70.0)
    store.set_at("V_m", [1, 2, 3], -70.0)
    store.set_at("V_m", [4, 5], np.array([-70.0, -70.0]))
    store.set_at("V_m", [6], -70)  # an int equal to the float value changes nothing either

    assert store.is_uniform("V_m")
    assert store.nbytes() <= 64


def test_set_at_with_an_array_of_values():
    store = ParameterStore(5)
    store.set_uniform("tau", 10.0)
    store.set_at("tau", [4, 0], [1.5, 2.5])

    np.testing.assert_array_equal(store.get("tau"), [2.5, 10.0, 10.0, 10.0, 1.5])
    np.testing.assert_array_equal(store.get_at("tau", [0, 4, 1]), [2.5, 1.5, 10.0])
    assert store.get_one("tau", 4) == 1.5


def test_set_at_values_length_must_match_indices():
    store = ParameterStore(5)
    store.set_uniform("tau", 10.0)
    with pytest.raises(ValueError, match="tau"):
        store.set_at("tau", [0, 1], [1.0, 2.0, 3.0])


def test_set_array_of_equal_values_stays_uniform():
    store = ParameterStore(1000)
    store.set_array("C_m", np.full(1000, 250.0))

    assert store.is_uniform("C_m")
    assert store.get("C_m") == 250.0


@pytest.mark.parametrize(
    ("value", "dtype", "python_type"),
    [
        (True, "bool", bool),
        (np.bool_(False), "bool", bool),
        (3, "int64", int),
        (np.int32(3), "int64", int),
        (2.5, "float64", float),
        (np.float32(2.5), "float64", float),
    ],
)
def test_set_uniform_takes_the_dtype_from_the_python_type(value, dtype, python_type):
    store = ParameterStore(10)
    store.set_uniform("p", value)

    assert store.dtype("p") == dtype
    assert type(store.get("p")) is python_type
    assert type(store.get_one("p", 0)) is python_type


@pytest.mark.parametrize(
    ("values", "dtype"),
    [
        (np.array([1.0, 2.0], dtype=np.float32), "float64"),
        (np.array([1, 2], dtype=np.int32), "int64"),
        (np.array([1, 2], dtype=np.uint16), "int64"),
        (np.array([True, False]), "bool"),
        ([1, 2], "int64"),
        ([0.5, 1.0], "float64"),
    ],
)
def test_set_array_takes_the_dtype_from_the_array(values, dtype):
    store = ParameterStore(2)
    store.set_array("p", values)

    assert store.dtype("p") == dtype
    assert store.get("p").dtype == np.dtype(dtype)


def test_existing_column_keeps_its_dtype():
    store = ParameterStore(3)
    store.set_uniform("V_m", -70.0)
    store.set_uniform("V_m", -65)
    assert store.dtype("V_m") == "float64"
    assert type(store.get("V_m")) is float and store.get("V_m") == -65.0

    store.set_array("V_m", np.array([1, 2, 3]))
    assert store.get("V_m").dtype == np.float64

    store.set_uniform("n", 4)
    store.set_uniform("n", 5.0)  # a whole float fits an int column
    assert store.dtype("n") == "int64" and type(store.get("n")) is int

    store.set_uniform("flag", False)
    store.set_at("flag", [1], 7)
    assert store.dtype("flag") == "bool"
    np.testing.assert_array_equal(store.get("flag"), [False, True, False])


def test_fractional_float_is_refused_by_an_int_column_and_leaves_it_intact():
    store = ParameterStore(3)
    store.set_array("n", np.array([1, 2, 3]))
    with pytest.raises(ValueError, match="'n'.*int64"):
        store.set_array("n", np.array([4.0, 5.0, 5.5]))
    with pytest.raises(ValueError):
        store.set_at("n", [0], float("nan"))
    np.testing.assert_array_equal(store.get("n"), [1, 2, 3])


def test_unsupported_value_type_is_a_type_error():
    store = ParameterStore(3)
    with pytest.raises(TypeError, match="'model'"):
        store.set_uniform("model", "iaf_psc_alpha")


def test_returned_arrays_are_copies_owned_by_numpy():
    store = ParameterStore(4)
    source = np.array([1.0, 2.0, 3.0, 4.0])
    store.set_array("w", source)
    source[0] = 100.0

    values = store.get("w")
    values[1] = 200.0
    picked = store.get_at("w", [2])
    picked[0] = 300.0

    np.testing.assert_array_equal(store.get("w"), [1.0, 2.0, 3.0, 4.0])
    assert values.flags.owndata and values.base is None

    taken = store.take("w")
    store.set_array("w", [9.0, 8.0, 7.0, 6.0])  # may reuse the freed column's memory
    np.testing.assert_array_equal(taken, [1.0, 2.0, 3.0, 4.0])


def test_length_mismatch_names_parameter_length_and_size():
    store = ParameterStore(10)
    with pytest.raises(
        ValueError, match=re.escape("parameter 'V_m' got 5 values for a population of size 10")
    ):
        store.set_array("V_m", np.zeros(5))
    assert "V_m" not in store


@pytest.mark.parametrize("index", [10, -1])
def test_out_of_range_positions_raise_index_error(index):
    store = ParameterStore(10)
    store.set_uniform("V_m", -70.0)
    with pytest.raises(IndexError, match=f"index {index} .*'V_m'.*size 10"):
        store.set_at("V_m", [0, index], -55.0)
    with pytest.raises(IndexError):
        store.get_at("V_m", [index])
    with pytest.raises(IndexError):
        store.get_one("V_m", index)
    assert store.is_uniform("V_m")


@pytest.mark.parametrize(
    "call",
    [
        lambda s: s.set_at("tau_m", [0], 1.0),
        lambda s: s.get("tau_m"),
        lambda s: s.get_at("tau_m", [0]),
        lambda s: s.get_one("tau_m", 0),
        lambda s: s.dtype("tau_m"),
        lambda s: s.is_uniform("tau_m"),
        lambda s: s.drop("tau_m"),
        lambda s: s.take("tau_m"),
        lambda s: s.compact("tau_m"),
    ],
)
def test_unknown_column_raises_key_error_naming_it(call):
    store = ParameterStore(10)
    with pytest.raises(KeyError, match="tau_m"):
        call(store)


def test_drop_and_release_free_the_memory():
    store = ParameterStore(MILLION)
    store.set_array("a", np.arange(MILLION, dtype=np.float64))
    store.set_array("b", np.arange(MILLION))
    store.set_array("c", np.arange(MILLION) % 2 == 0)
    store.set_uniform("d", 1.0)
    assert store.nbytes() >= 17 * MILLION

    store.drop("a")
    assert "a" not in store and store.names() == ["b", "c", "d"]
    assert store.nbytes() < 10 * MILLION

    store.release()
    assert len(store) == 0 and store.names() == []
    assert store.nbytes() == 0


def test_set_uniform_on_a_dense_column_frees_its_array():
    store = ParameterStore(MILLION)
    store.set_array("a", np.arange(MILLION, dtype=np.float64))
    store.set_uniform("a", 0.5)

    assert store.is_uniform("a")
    assert store.nbytes() <= 64


def test_take_returns_the_values_and_drops_the_column():
    store = ParameterStore(3)
    store.set_array("a", [1.0, 2.0, 3.0])
    store.set_uniform("b", 7)

    np.testing.assert_array_equal(store.take("a"), [1.0, 2.0, 3.0])
    assert store.take("b") == 7
    assert len(store) == 0 and store.nbytes() == 0


def test_compact_turns_an_all_equal_dense_column_uniform():
    store = ParameterStore(MILLION)
    store.set_uniform("V_m", -70.0)
    store.set_at("V_m", [3], -55.0)
    assert not store.compact("V_m")
    assert not store.is_uniform("V_m")

    store.set_at("V_m", [3], -70.0)
    assert not store.is_uniform("V_m")
    assert store.compact("V_m")
    assert store.is_uniform("V_m") and store.get("V_m") == -70.0
    assert store.nbytes() <= 64


def test_names_len_contains_and_repr():
    store = ParameterStore(1000)
    for name in ["z", "a", "m"]:
        store.set_uniform(name, 1.0)
    store.set_at("a", [0], 2.0)

    assert store.size == 1000
    assert store.names() == ["z", "a", "m"]
    assert len(store) == 3
    assert "a" in store and "b" not in store
    assert repr(store) == "ParameterStore(size=1000, columns=3, dense=1)"


def test_bool_column_round_trips_as_numpy_bool():
    store = ParameterStore(4)
    store.set_uniform("frozen", False)
    store.set_at("frozen", np.array([2], dtype=np.int32), True)

    values = store.get("frozen")
    assert values.dtype == np.bool_
    np.testing.assert_array_equal(values, [False, False, True, False])
    assert store.get_one("frozen", 2) is True
