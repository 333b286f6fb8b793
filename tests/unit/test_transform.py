"""The transformation stage (jitnest/generate/transform) on NESTML's real output, without compiling.

NESTML generates the iaf_psc_exp_neuron + stdp_synapse pair once per session (the worker, as jitnest
runs it; conftest's ``generated_stdp_pair``, shared with test_nestml_worker).
Each guard is shown to matter: the generated code with one precondition broken (a parameter
written during update, an internal written elsewhere, ...) is left byte for byte as NESTML wrote it.
Whether the transformed code computes the same numbers is for the differential tests
(tests/differential/test_speed_differential.py), which compile it.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from jitnest import config
from jitnest.generate import transform
from jitnest.generate.transform import (
    archiving_base,
    cxx,
    input_buffer,
    slice_origin,
    slice_origin_cache,
    spike_history,
    spike_port_table,
    spike_sign,
    synapse_scratch,
    synapse_shared_parameters,
    trace_propagators,
    update_invariants,
)

# Tests reading the STDP pair as NESTML generated it (the session's one generation, shared with
# test_nestml_worker) are slow: a generation is seconds of NESTML.
needs_generation = pytest.mark.slow

NEURON = "iaf_psc_exp_neuron_nestml__with_stdp_synapse_nestml"
SYNAPSE = "stdp_synapse_nestml__with_iaf_psc_exp_neuron_nestml"
TRACE = "__P__post_trace__for_stdp_synapse_nestml__post_trace__for_stdp_synapse_nestml"


@pytest.fixture(scope="module")
def pair(generated_stdp_pair: dict[str, Any]) -> tuple[Path, list[dict[str, Any]]]:
    """NESTML's unedited files for the STDP pair and the worker's model list (paired models only)."""
    models = [m for m in generated_stdp_pair["models"] if m.get("paired")]
    return Path(generated_stdp_pair["target_dir"]), models


def _files(pair: tuple[Path, list[dict[str, Any]]]) -> dict[str, str]:
    directory, models = pair
    names = [m["header"] for m in models] + [m["source"] for m in models if m.get("source")]
    return {name: (directory / name).read_text() for name in names}


def _apply(files: dict[str, str], pair: tuple[Path, list[dict[str, Any]]]) -> list[str]:
    return trace_propagators.apply(files, pair[1], {})


@needs_generation
def test_trace_getter_and_set_spiketime_compute_only_their_propagator(pair) -> None:
    files = _files(pair)
    original = dict(files)
    notes = _apply(files, pair)
    assert notes == [f"{NEURON}: 3 scopes compute only the propagators they read"]
    source = files[f"{NEURON}.cpp"]
    assert "recompute_internal_variables(true)" not in source and "old___h" not in source
    # NESTML's own expression for the propagator, with the temporary step as a local:
    internals = trace_propagators.read_internals(original[f"{NEURON}.cpp"], NEURON)
    assert internals is not None
    expression = internals.expression(TRACE)
    assert expression == "std::exp((-V_.__h) / P_.tau_tr_post__for_stdp_synapse_nestml)"
    local = f"const double __jitnest_{TRACE} = {expression.replace('V_.__h', '__jitnest_h')};"
    assert source.count(local) == 3
    # the rest of the neuron and the synapse are untouched
    assert {n: t for n, t in files.items() if n != f"{NEURON}.cpp"} == {
        n: t for n, t in original.items() if n != f"{NEURON}.cpp"}
    assert source.count("recompute_internal_variables()") == original[f"{NEURON}.cpp"].count(
        "recompute_internal_variables()")


def _edit(text: str, old: str, new: str, count: int = 1) -> str:
    assert text.count(old) >= count, old
    return text.replace(old, new, count)



_UPDATE_START = "  for ( long lag = from ; lag < to ; ++lag )\n  {\n"
# Each edit breaks one precondition that makes the rewrite exact (see trace_propagators' docstring).
BROKEN: dict[str, tuple[str, str, str]] = {
    "parameter written during update": (
        "cpp", _UPDATE_START, _UPDATE_START + "    P_.tau_tr_post__for_stdp_synapse_nestml *= 1.0;\n"
        "    P_.tau_tr_post__for_stdp_synapse_nestml = 2 * P_.tau_tr_post__for_stdp_synapse_nestml;\n"),
    "internal written outside recompute": (
        "cpp", _UPDATE_START, _UPDATE_START + f"    V_.{TRACE} = 0.5;\n"),
    "step changed without recomputing": (
        "cpp", _UPDATE_START, _UPDATE_START + "    V_.__h = 0.2;\n"),
    "internal reads a state variable": (
        "cpp", "V_.__P__V_m__V_m = std::exp((-V_.__h) / P_.tau_m);",
        "V_.__P__V_m__V_m = std::exp((-V_.__h) / P_.tau_m) * S_.V_m;"),
    "internal reads a later internal": (
        "cpp", "V_.__P__I_syn_exc__I_syn_exc = std::exp((-V_.__h) / P_.tau_syn_exc);",
        "V_.__P__I_syn_exc__I_syn_exc = std::exp((-V_.__h) / P_.tau_syn_exc) * V_.__P__V_m__V_m;"),
    "internal calls a function with effects": (
        "cpp", "V_.__P__V_m__V_m = std::exp((-V_.__h) / P_.tau_m);",
        "V_.__P__V_m__V_m = std::exp((-V_.__h) / get_tau_m());"),
    "branches of recompute differ": (
        "cpp", "V_.__P__refr_t__refr_t = 1; // as real", "V_.__P__refr_t__refr_t = 2; // as real"),  # the if branch
    "parameter setter called outside set_status": (
        "cpp", _UPDATE_START, _UPDATE_START + "    set_tau_tr_post__for_stdp_synapse_nestml(3.0);\n"),
    "internal setter called": (
        "cpp", _UPDATE_START, _UPDATE_START + f"    set_{TRACE}(3.0);\n"),
    "another partial recomputation": (
        "cpp", _UPDATE_START, _UPDATE_START + "    recompute_internal_variables(true);\n"),
    "integration code calls a function": (
        "cpp", "_tmp = V_.__P__post_trace", "_tmp = get_t() * V_.__P__post_trace"),
    "spike time with an offset": (
        "cpp", "set_spiketime(nest::Time::step(origin.get_steps() + lag + 1));",
        "set_spiketime(nest::Time::step(origin.get_steps() + lag + 1), 0.05);"),
    "set_status does not recompute": (
        "h", "  recompute_internal_variables();\n};", "};"),
}


@needs_generation
def test_a_scope_of_another_form_is_left_alone(pair) -> None:
    """A scope that does not match the pattern exactly (here: one more statement before the
    recomputation) keeps the neuron as it was, even though the two other scopes would match."""
    files = _files(pair)
    files[f"{NEURON}.cpp"] = _edit(files[f"{NEURON}.cpp"], "V_.__h = t;   // from time 0 to the requested time\n",
                                   "V_.__h = t;   // from time 0 to the requested time\n    S_.V_m += 0.;\n")
    edited = dict(files)
    assert _apply(files, pair) == [] and files == edited


@needs_generation
def test_synapse_internals_become_locals(pair) -> None:
    files = _files(pair)
    original = dict(files)
    assert synapse_scratch.apply(files, pair[1], {}) == [
        f"{SYNAPSE}: internals computed in update_internal_state_, not stored"]
    header = files[f"{SYNAPSE}.h"]
    code = cxx.code_only(header)
    assert re.findall(r"\bV_\b", code) == [] and code.count("recompute_internal_variables()") == 2  # declared, defined
    expression = "std::exp((-V_.__h) / P_.tau_tr_pre)"
    assert expression in original[f"{SYNAPSE}.h"]
    assert header.count("const double __jitnest___P__pre_trace__pre_trace = "
                        + expression.replace("V_.__h", "__jitnest_h") + ";") == 1
    assert {n: t for n, t in files.items() if n != f"{SYNAPSE}.h"} == {
        n: t for n, t in original.items() if n != f"{SYNAPSE}.h"}


_SEND_START = "    const double __t_spike = e.get_stamp().get_ms();"
BROKEN_SYNAPSE: dict[str, tuple[str, str]] = {
    "an internal read in send": (_SEND_START, _SEND_START + "\n    const double x = V_.__P__pre_trace__pre_trace;"),
    "an internal read before the step is set": (
        "    V_.__h = timestep;\n", "    S_.pre_trace *= V_.__P__pre_trace__pre_trace;\n    V_.__h = timestep;\n"),
    "recompute called elsewhere": (_SEND_START, _SEND_START + "\n    recompute_internal_variables();"),
    "an internal reads state": ("std::exp((-V_.__h) / P_.tau_tr_pre); // as real\n}",
                                "std::exp((-V_.__h) / P_.tau_tr_pre) * S_.w; // as real\n}"),
    "an internal of another type": ("    double __h;", "    long __h;"),
}


@needs_generation
def test_synapse_parameters_are_shared_sets(pair) -> None:
    files = _files(pair)
    original = dict(files)
    assert synapse_shared_parameters.apply(files, pair[1], {}) == [
        f"{SYNAPSE}: parameters shared per distinct set, a pointer per connection"]
    header = cxx.code_only(files[f"{SYNAPSE}.h"])
    assert re.findall(r"\bP_\b", header) == []
    assert header.count("const Parameters_* jitnest_parameters_;") == 1 and "Parameters_ P_;" not in header
    # Every read goes through the pointer, every write through the table (setters, set_status once,
    # the default constructor once); the copy constructor copies the pointer.
    reads = len(re.findall(r"\bP_\.\w+\b(?!\s*=[^=])", cxx.code_only(original[f"{SYNAPSE}.h"])))
    assert header.count("jitnest_parameters_->") == reads - 8  # the copy constructor's 8 reads of rhs
    assert header.count("ParameterTable_::intern( __p )") == 8 + 1 + 1
    assert header.count("jitnest_parameters_ = rhs.jitnest_parameters_;") == 1
    assert "__p.lambda = 0.01;" in header and "__p.lambda = tmp_lambda;" in header
    assert {n: t for n, t in files.items() if n != f"{SYNAPSE}.h"} == {
        n: t for n, t in original.items() if n != f"{SYNAPSE}.h"}


BROKEN_PARAMETERS: dict[str, tuple[str, str]] = {
    "a parameter written in send": (_SEND_START, _SEND_START + "\n    P_.Wmax = 3.;"),
    "a parameter incremented": (_SEND_START, _SEND_START + "\n    P_.Wmax += 1.;"),
    "the parameters used whole": (_SEND_START, _SEND_START + "\n    const Parameters_ q = P_;"),
    "a parameter of another type": ("    double lambda;", "    long lambda;"),
    "the constructor leaves a parameter unset": ("  P_.Wmin = 0.; // as real\n", ""),
    "the copy constructor leaves a parameter uncopied": ("  P_.Wmin = rhs.P_.Wmin;\n", ""),
}


# Each synapse transformation with the edits that break one of its preconditions.
BROKEN_SYNAPSE_HEADERS = {synapse_scratch: BROKEN_SYNAPSE, synapse_shared_parameters: BROKEN_PARAMETERS}


@needs_generation
@pytest.mark.parametrize("transformation, case", [(t, c) for t, cases in BROKEN_SYNAPSE_HEADERS.items()
                                                  for c in sorted(cases)], ids=lambda v: getattr(v, "NAME", v))
def test_synapse_breaking_a_precondition_is_left_as_nestml_wrote_it(pair, transformation, case: str) -> None:
    files = _files(pair)
    old, new = BROKEN_SYNAPSE_HEADERS[transformation][case]
    files[f"{SYNAPSE}.h"] = _edit(files[f"{SYNAPSE}.h"], old, new)
    edited = dict(files)
    assert transformation.apply(files, pair[1], {}) == []
    assert files == edited


@needs_generation
def test_stage_copies_transformed_files_and_lists_what_it_applied(pair, tmp_path, monkeypatch) -> None:
    directory, models = pair
    monkeypatch.delenv("JITNEST_TRANSFORM", raising=False)
    applied = transform.stage(directory, tmp_path / "on", models)
    assert [a["name"] for a in applied] == ["trace_propagators", "synapse_scratch", "synapse_shared_parameters",
                                            "input_buffer", "update_invariants", "spike_port_table", "spike_sign",
                                            "spike_history", "archiving_base", "slice_origin", "slice_origin_cache"]
    assert (tmp_path / "on" / f"{NEURON}.cpp").read_text() != (directory / f"{NEURON}.cpp").read_text()
    key_on = transform.identity()

    monkeypatch.setenv("JITNEST_TRANSFORM", "0")
    assert transform.enabled() == () and transform.identity() == "off" != key_on
    assert transform.stage(directory, tmp_path / "off", models) == []
    for path in (tmp_path / "off").iterdir():
        assert path.read_bytes() == (directory / path.name).read_bytes()

    monkeypatch.setenv("JITNEST_TRANSFORM",
                       "slice_origin_cache,slice_origin,spike_history,archiving_base,spike_sign,spike_port_table,"
                       "update_invariants,input_buffer,synapse_shared_parameters,synapse_scratch,trace_propagators")
    assert transform.enabled() == ("trace_propagators", "synapse_scratch", "synapse_shared_parameters", "input_buffer",
                                   "update_invariants", "spike_port_table", "spike_sign", "spike_history",
                                   "archiving_base", "slice_origin", "slice_origin_cache")
    assert transform.identity() == key_on
    monkeypatch.setenv("JITNEST_TRANSFORM", "trace_propagators")
    assert transform.identity() != key_on
    assert [a["name"] for a in transform.stage(directory, tmp_path / "one", models)] == ["trace_propagators"]
    synapse = next(m["header"] for m in models if m["kind"] == "synapse")
    assert (tmp_path / "one" / synapse).read_bytes() == (directory / synapse).read_bytes()
    monkeypatch.setenv("JITNEST_TRANSFORM", "no_such_transformation")
    with pytest.raises(ValueError, match="no_such_transformation"):
        transform.enabled()


UNPAIRED = "iaf_psc_exp_neuron_nestml"


def _break_unpaired(files: dict[str, str], edit: tuple[str, str, str]) -> dict[str, str]:
    """Apply one ``(file kind "h"/"cpp", old, new)`` edit to the unpaired neuron's file (none when ``old``
    is empty); returns a copy of ``files`` as edited, to compare with after the transformation."""
    kind, old, new = edit
    if old:
        name = f"{UNPAIRED}.{kind}"
        files[name] = _edit(files[name], old, new)
    return dict(files)


@pytest.fixture(scope="module")
def both_neurons(generated_stdp_pair: dict[str, Any]) -> tuple[Path, list[dict[str, Any]]]:
    """The STDP pair and the unpaired neuron NESTML generated beside it."""
    return Path(generated_stdp_pair["target_dir"]), list(generated_stdp_pair["models"])


@needs_generation
def test_input_buffers_become_one_multichannel_buffer(both_neurons) -> None:
    files = _files(both_neurons)
    original = dict(files)
    notes = input_buffer.apply(files, both_neurons[1], {})
    assert sorted(notes) == sorted(f"{n}: one multi-channel input buffer instead of a ring buffer per port and flag"
                                   for n in (NEURON, UNPAIRED))
    for neuron in (NEURON, UNPAIRED):
        header, source = cxx.code_only(files[f"{neuron}.h"]), cxx.code_only(files[f"{neuron}.cpp"])
        assert "RingBuffer" not in header + source and "std::vector< double >" not in header
        assert header.count("jitnest_InputBuffer< NUM_SPIKE_RECEPTORS, true, NUM_SPIKE_RECEPTORS + "
                            "NUM_CONTINUOUS_INPUT_PORTS > __jitnest_input_buffer_;") == 1
        assert header.count("class jitnest_InputBuffer") == 1
        # added at the ring buffers' index, read where NESTML read them, each slot emptied once per step
        assert source.count("__jitnest_input_buffer_.add_value(") == 2  # a spike's value (no flag), a current
        assert source.count("( weight * e.get_multiplicity() ) + 0.0 );") == 1
        assert source.count("::sum( __jitnest_input[i] );") == 1
        # NESTML's flag tests ask the channel; the flags' sums are gone
        assert "spike_input_received" not in source.replace("// B_.spike_input_received_[", "")
        for port in ("EXC", "INH"):
            assert source.count(f"::received( __jitnest_input[{port}_SPIKES - MIN_SPIKE_RECEPTOR] ))") == 1
        assert source.count("nest::kernel().event_delivery_manager.get_modulo( e.get_rel_delivery_steps(") == 2
        assert source.count("reset_values_all_channels( __jitnest_slot )") == 1
        assert "reset_spike_channels(" not in source and "const auto& __jitnest_input =" in source
        assert "get_value(" not in source
        # the rest of the code reads the grid sums as before
        for read in ("B_.spike_inputs_grid_sum_[EXC_SPIKES - MIN_SPIKE_RECEPTOR]",
                     "B_.continuous_inputs_grid_sum_[I_STIM]"):
            assert source.count(read) == cxx.code_only(original[f"{neuron}.cpp"]).count(read) > 0
    assert files[f"{SYNAPSE}.h"] == original[f"{SYNAPSE}.h"]


def _without_flag_tests(files: dict[str, str]) -> None:
    """The unpaired neuron as if it never asked whether a spike arrived (its onReceive blocks run every
    step, as a neuron whose inputs only feed kernels)."""
    source = files[f"{UNPAIRED}.cpp"]
    for port in ("EXC", "INH"):
        source = re.sub(rf"if \(B_\.spike_input_received_grid_sum_\[{port}_SPIKES - MIN_SPIKE_RECEPTOR\]\)\s*\{{"
                        r"\s*//[^\n]*\n\s*(on_receive_block_\w+\(origin, lag\);)\s*\}", r"\1", source)
    assert "spike_input_received_grid_sum_[" not in source
    files[f"{UNPAIRED}.cpp"] = source


@needs_generation
def test_input_buffer_without_flag_tests_needs_no_mark(both_neurons) -> None:
    """A neuron that never asks whether a spike arrived: spike channels start at 0.0 and take the values
    themselves."""
    files = _files(both_neurons)
    _without_flag_tests(files)
    assert input_buffer.apply(files, both_neurons[1], {})
    header, source = cxx.code_only(files[f"{UNPAIRED}.h"]), cxx.code_only(files[f"{UNPAIRED}.cpp"])
    assert header.count("jitnest_InputBuffer< NUM_SPIKE_RECEPTORS, false, NUM_SPIKE_RECEPTORS + "
                        "NUM_CONTINUOUS_INPUT_PORTS > __jitnest_input_buffer_;") == 1
    assert source.count(", weight * e.get_multiplicity() );") == 1 and "+ 0.0" not in source
    assert source.count("B_.spike_inputs_grid_sum_[i] = __jitnest_input[i];") == 1
    assert "::sum(" not in source and "::received(" not in source
    # the paired neuron still tests its flags: marked
    assert "jitnest_InputBuffer< NUM_SPIKE_RECEPTORS, true, " in files[f"{NEURON}.h"]


@needs_generation
@pytest.mark.parametrize("ending", ["continue;", "throw nest::GSLSolverFailure( get_name(), 1 );"])
def test_input_buffer_of_a_step_that_may_end_between_its_reads(both_neurons, ending) -> None:
    """A step that may end after reading its spike inputs and before its continuous ones (a GSL neuron
    throws when its solver fails) leaves the slot as NESTML leaves its ring buffers: spike entries
    emptied at their read, continuous ones only at theirs. It reads a copy of the slot."""
    files = _files(both_neurons)
    files[f"{UNPAIRED}.cpp"] = _edit(files[f"{UNPAIRED}.cpp"], _ON_RECEIVE,
                                     f"    if (S_.V_m > 1e9) {ending}\n" + _ON_RECEIVE)
    assert input_buffer.apply(files, both_neurons[1], {})
    source = cxx.code_only(files[f"{UNPAIRED}.cpp"])
    copy = source.index("const auto __jitnest_input = B_.__jitnest_input_buffer_.get_values_all_channels( "
                        "__jitnest_slot );")
    reset = source.index("B_.__jitnest_input_buffer_.reset_spike_channels( __jitnest_slot );")
    assert copy < reset < source.index(ending) < source.index("reset_values_all_channels( __jitnest_slot )")
    # the flags are tested on the copy, taken before the spike channels were emptied
    assert source.count("::received( __jitnest_input[EXC_SPIKES - MIN_SPIKE_RECEPTOR] )") == 1
    assert "reset_spike_channels(" not in cxx.code_only(files[f"{NEURON}.cpp"])


_LAG_START = "  for ( long lag = from ; lag < to ; ++lag )\n  {\n"
_ON_RECEIVE = "    if (B_.spike_input_received_grid_sum_[EXC_SPIKES - MIN_SPIKE_RECEPTOR])\n"
_CONTINUOUS = "    for (long i = 0; i < NUM_CONTINUOUS_INPUT_PORTS; ++i)\n"
_CONTINUOUS_READ = (_CONTINUOUS + "    {\n      get_continuous_inputs_grid_sum_()[i] = "
                    "get_continuous_inputs_()[i].get_value(lag);\n    }\n")
_SPIKE_ADD = "  B_.spike_inputs_[ nestml_buffer_idx - MIN_SPIKE_RECEPTOR ].add_value(\n"
# Each edit breaks one precondition that makes the rewrite exact (see input_buffer's docstring).
BROKEN_BUFFER: dict[str, tuple[str, str, str]] = {
    "a ring buffer read elsewhere": ("cpp", _LAG_START, _LAG_START + "    B_.spike_inputs_[0].get_value(lag);\n"),
    "a grid sum used as a vector": ("cpp", _LAG_START, _LAG_START + "    B_.spike_inputs_grid_sum_.resize(3);\n"),
    "a getter called elsewhere": ("h", "  return B_.logger_.connect_logging_device(",
                                  "  get_continuous_inputs_();\n  return B_.logger_.connect_logging_device("),
    "reads out of order": ("cpp", _ON_RECEIVE, "    if (S_.V_m > 1e9) goto again;\n" + _ON_RECEIVE),
    "continuous inputs read conditionally": ("cpp", _CONTINUOUS, "    if (S_.refr_t > 0.)\n" + _CONTINUOUS),
    "continuous inputs read in a block": ("cpp", _CONTINUOUS_READ, "    {\n" + _CONTINUOUS_READ + "    }\n"),
    "spike added at another step": ("cpp", "get_slice_origin() ),\n    weight * e.get_multiplicity() );",
                                    "get_slice_origin() ) + 1,\n    weight * e.get_multiplicity() );"),
    "buffer index with a side effect": (
        "cpp", _SPIKE_ADD, _SPIKE_ADD.replace("nestml_buffer_idx -", "nestml_buffer_idx++ -")),
    "a buffer not cleared by init_buffers_": ("cpp", "  get_continuous_inputs_().clear();\n", ""),
    "a buffer resized to another size": (
        "cpp", "B_.continuous_inputs_.resize(NUM_CONTINUOUS_INPUT_PORTS);", "B_.continuous_inputs_.resize(2);"),
    "a constructor sizing differently": (
        "cpp", "continuous_inputs_( std::vector< nest::RingBuffer >( NUM_CONTINUOUS_INPUT_PORTS ) )",
        "continuous_inputs_( std::vector< nest::RingBuffer >( 2 ) )"),
    "a grid sum of another type": ("h", "std::vector< double > continuous_inputs_grid_sum_;",
                                   "std::vector< float > continuous_inputs_grid_sum_;"),
    "a flag's sum read as a number": ("cpp", _ON_RECEIVE, "    S_.V_m += B_.spike_input_received_grid_sum_[0];\n"
                                      + _ON_RECEIVE),
    "a flag's sum compared": ("cpp", _ON_RECEIVE, _ON_RECEIVE.replace("])", "] > 1.0)")),
    "a flag tested after the step's inputs were read": (
        "cpp", "    B_.logger_.record_data(origin.get_steps() + lag);\n",
        "    B_.logger_.record_data(origin.get_steps() + lag);\n"
        "    if (B_.spike_input_received_grid_sum_[0]) S_.V_m += 1.;\n"),
    "a flag other than 1.": ("cpp", "get_slice_origin() ),\n    1. );", "get_slice_origin() ),\n    2. );"),
    "a flag at another port": ("cpp", "  B_.spike_input_received_[ nestml_buffer_idx - MIN_SPIKE_RECEPTOR ].add_value(",
                               "  B_.spike_input_received_[ 0 ].add_value("),
}



_V_M_UPDATE = ("const double V_m__tmp = __jitnest_invariant_0 + S_.I_syn_exc * V_.__P__V_m__I_syn_exc + S_.I_syn_inh * "
               "V_.__P__V_m__I_syn_inh + S_.V_m * V_.__P__V_m__V_m - __jitnest_invariant_1 + __jitnest_invariant_2 - "
               "B_.continuous_inputs_grid_sum_[I_STIM] * V_.__P__V_m__V_m * P_.tau_m / P_.C_m + "
               "B_.continuous_inputs_grid_sum_[I_STIM] * P_.tau_m / P_.C_m;")


@needs_generation
def test_update_invariants_are_computed_once_per_update(both_neurons) -> None:
    files = _files(both_neurons)
    original = dict(files)
    # The paired neuron's set_spiketime, called in the step loop, recomputes every internal until
    # trace_propagators has rewritten it: then only the unpaired neuron is changed.
    assert update_invariants.apply(files, both_neurons[1], {}) == [
        f"{UNPAIRED}: 3 loop-invariant terms computed once per update() call"]
    assert {n: t for n, t in files.items() if n != f"{UNPAIRED}.cpp"} == {
        n: t for n, t in original.items() if n != f"{UNPAIRED}.cpp"}
    files = _files(both_neurons)
    trace_propagators.apply(files, both_neurons[1], {})
    assert sorted(update_invariants.apply(files, both_neurons[1], {})) == sorted(
        f"{n}: 3 loop-invariant terms computed once per update() call" for n in (NEURON, UNPAIRED))
    for neuron in (NEURON, UNPAIRED):
        source = files[f"{neuron}.cpp"]
        # before the loop, NESTML's own expressions: the leading prefix of the sum and two whole terms
        declarations = ("  const double __jitnest_invariant_0 = (-P_.E_L) * V_.__P__V_m__V_m + P_.E_L;",
                        "  const double __jitnest_invariant_1 = P_.I_e * V_.__P__V_m__V_m * P_.tau_m / P_.C_m;\n"
                        "  const double __jitnest_invariant_2 = P_.I_e * P_.tau_m / P_.C_m;\n"
                        "  for ( long lag = from ; lag < to ; ++lag )")
        assert all(source.count(d) == 1 for d in declarations)
        assert source.count(_V_M_UPDATE) == 1  # the sum in NESTML's order; the terms with a current stay
        assert source.replace(_V_M_UPDATE, "").count("__jitnest_invariant_") == 3


_STEP = "  for ( long lag = from ; lag < to ; ++lag )\n  {\n"


@needs_generation
def test_update_invariants_hoist_parenthesised_quotients(both_neurons) -> None:
    """A parenthesised quotient of parameters and NEST's constants anywhere in the loop (as NESTML writes
    a kernel's spike update: ``... * (numerics::e / P_.tau_syn_exc) / (0.001)``) is computed once; a
    parenthesised product (which a compiler may fuse into the sum around it), a call's or a cast's
    argument and a group reading the state are not."""
    files = _files(both_neurons)
    kept = ("S_.V_m * (P_.tau_m * P_.C_m) + std::exp(P_.tau_m / P_.C_m) + static_cast<double>(P_.C_m / P_.tau_m)"
            " - (S_.V_m / P_.tau_m)")
    files[f"{UNPAIRED}.cpp"] = _edit(files[f"{UNPAIRED}.cpp"], _STEP, _STEP + (
        "    S_.I_syn_exc += ((0.001 * B_.spike_inputs_grid_sum_[EXC_SPIKES - MIN_SPIKE_RECEPTOR])) * "
        "(numerics::e / P_.tau_syn_exc) / (0.001);\n"
        f"    S_.I_syn_inh += {kept};\n"))
    assert update_invariants.apply(files, both_neurons[1], {}) == [
        f"{UNPAIRED}: 4 loop-invariant terms computed once per update() call"]
    source = files[f"{UNPAIRED}.cpp"]
    assert source.count("  const double __jitnest_invariant_3 = (numerics::e / P_.tau_syn_exc);\n" + _STEP) == 1
    assert source.count("MIN_SPIKE_RECEPTOR])) * __jitnest_invariant_3 / (0.001);") == 1
    assert source.count(f"S_.I_syn_inh += {kept};") == 1


_ON_RECEIVE_BODY = ("  S_.I_syn_exc += V_.unit_psc * "
                    "(0.001 * B_.spike_inputs_grid_sum_[EXC_SPIKES - MIN_SPIKE_RECEPTOR]) * 1000.;\n")
# Each edit (in the unpaired neuron) breaks one precondition that makes the rewrite exact (see
# update_invariants' docstring).
BROKEN_INVARIANTS: dict[str, tuple[str, str, str]] = {
    "a parameter written in the loop": ("cpp", _STEP, _STEP + "    P_.I_e += 1.0;\n"),
    "an internal written in the loop": ("cpp", _STEP, _STEP + "    ++V_.__P__V_m__V_m;\n"),
    "a parameter written before the loop": ("cpp", _STEP, "  P_.tau_m = 2 * P_.tau_m;\n" + _STEP),
    "a setter called in the loop": ("cpp", _STEP, _STEP + "    set_I_e(1.0);\n"),
    "internals recomputed in the loop": ("cpp", _STEP, _STEP + "    recompute_internal_variables(true);\n"),
    "a function called in the loop writes a parameter": (
        "cpp", _ON_RECEIVE_BODY, _ON_RECEIVE_BODY + "  P_.C_m *= 1.0;\n"),
    "a function called in the loop recomputes": (
        "cpp", _ON_RECEIVE_BODY, _ON_RECEIVE_BODY + "  recompute_internal_variables();\n"),
    "a parameter written through a reference": ("cpp", _ON_RECEIVE_BODY, _ON_RECEIVE_BODY + "  double& c = P_.C_m;\n"),
    "a member written unqualified": ("h", "    double I_e;\n", "    double I_e;\n    void zero() { I_e = 0; }\n"),
    "a writer taken by address": ("cpp", _STEP, "  auto f = &iaf_psc_exp_neuron_nestml::set_status;\n" + _STEP),
}


@needs_generation
@pytest.mark.parametrize("case", sorted(BROKEN_INVARIANTS))
def test_update_invariants_breaking_a_precondition_is_left_as_nestml_wrote_it(both_neurons, case: str) -> None:
    files = _files(both_neurons)
    edited = _break_unpaired(files, BROKEN_INVARIANTS[case])
    assert update_invariants.apply(files, both_neurons[1], {}) == []
    assert files == edited


def test_identity_changes_with_the_network_facts(monkeypatch) -> None:
    monkeypatch.delenv("JITNEST_TRANSFORM", raising=False)
    assert transform.identity({"a": 1}) != transform.identity({"a": 2}) != transform.identity()


def test_switch_is_validated(monkeypatch) -> None:
    monkeypatch.setenv("JITNEST_TRANSFORM", "Bad Name!")
    with pytest.raises(ValueError, match="JITNEST_TRANSFORM"):
        config.settings()


@pytest.mark.parametrize("expression, operands", [
    ("std::exp((-V_.__h) / P_.tau)", {"V_.__h", "P_.tau"}),
    ("P_.a * pow(1. - S_.w, 2) + 1e-3", {"P_.a", "S_.w"}),
    ("get_t() * P_.a", None),
    ("P_.a > 0 ? 1 : 2", None),
    ("B_.x[0]", None),
    ("numerics::e / P_.tau", None),  # a name not allowed (update_invariants allows NEST's constants)
    ("nest::f(P_.a)", None),
])
def test_expression_operands(expression: str, operands: set[str] | None) -> None:
    assert cxx.expression_operands(expression) == operands


def test_code_only_blanks_comments_and_strings() -> None:
    text = 'a = 1; // set_spiketime(x)\nstd::cout << "set_spiketime()";\n'
    blanked = cxx.code_only(text)
    assert len(blanked) == len(text) and "set_spiketime" not in blanked and blanked.count("\n") == 2
    assert re.search(r"a = 1;", blanked)


@pytest.mark.parametrize(("expression", "hoisted"), [
    # the leading prefix of the sum (two or more invariant terms), whatever its last operation
    ("(-P_.E_L) * V_.P + P_.E_L + S_.V_m * V_.P", ["(-P_.E_L) * V_.P + P_.E_L "]),
    # a single term only if it ends with a division (never fused into the sum's next add)
    ("P_.a * P_.b / P_.c - S_.x * V_.y - P_.d * 1e-3 / V_.e + P_.f * P_.g",
     ["P_.a * P_.b / P_.c ", " P_.d * 1e-3 / V_.e "]),
    ("P_.a * P_.b + S_.x", []),
    ("S_.x + std::exp(-P_.a / P_.b) / V_.c", [" std::exp(-P_.a / P_.b) / V_.c"]),
    # a term reading state, a buffer or a function with effects stays
    ("S_.x + B_.i[0] * P_.a / P_.b + P_.a / get_c() + P_.a / S_.x", []),
])
def test_update_invariants_hoist_only_whole_terms_or_the_prefix(expression: str, hoisted: list[str]) -> None:
    assert [expression[start:end] for start, end, _ in update_invariants._hoisted(expression)] == hoisted


@needs_generation
def test_spike_port_table_is_read_at_compile_time(both_neurons) -> None:
    files = _files(both_neurons)
    original = dict(files)
    assert sorted(spike_port_table.apply(files, both_neurons[1], {})) == sorted(
        f"{n}: handle(SpikeEvent&) reads its one-row port table at compile time" for n in (NEURON, UNPAIRED))
    for neuron in (NEURON, UNPAIRED):
        source = files[f"{neuron}.cpp"]
        assert "rport_to_nestml_buffer_idx[" not in cxx.code_only(source)
        assert source.count(f"nestml_buffer_idx = static_cast< int >( {neuron}::EXC_SPIKES );") == 2
        assert source.count(f"nestml_buffer_idx = static_cast< int >( {neuron}::INH_SPIKES );") == 1
        assert source.count(f"{neuron}::rport_to_nestml_buffer_idx =") == 1  # still defined
        assert files[f"{neuron}.h"] == original[f"{neuron}.h"]
    assert spike_port_table.apply(files, both_neurons[1], {}) == []  # once


_TABLE_ROW = "  { iaf_psc_exp_neuron_nestml::EXC_SPIKES, iaf_psc_exp_neuron_nestml::INH_SPIKES },\n"
_RECEPTOR_CHECK = ("    if (receptor_type != 0)\n    {\n"
                   "      throw nest::UnknownReceptorType(receptor_type, get_name());")
BROKEN_PORT_TABLE: dict[str, tuple[str, str, str]] = {
    "a second row": ("cpp", _TABLE_ROW, _TABLE_ROW + _TABLE_ROW),
    "the table written": ("cpp", _STEP, _STEP + "    rport_to_nestml_buffer_idx[0] = std::make_tuple(1, 0);\n"),
    "the table read elsewhere": ("cpp", _STEP, _STEP + "    auto& t = rport_to_nestml_buffer_idx;\n"),
    "another receptor type accepted": ("h", _RECEPTOR_CHECK, _RECEPTOR_CHECK.replace("!= 0", "> 1")),
    "a read at another row": ("cpp", "std::get<1>(rport_to_nestml_buffer_idx[e.get_rport()])",
                              "std::get<1>(rport_to_nestml_buffer_idx[e.get_rport() + 1])"),
    "the table not static": ("h", "static std::vector< std::tuple< int, int > > rport_to_nestml_buffer_idx;",
                             "std::vector< std::tuple< int, int > > rport_to_nestml_buffer_idx;"),
}


@needs_generation
@pytest.mark.parametrize("case", sorted(BROKEN_PORT_TABLE))
def test_spike_port_table_breaking_a_precondition_is_left_as_nestml_wrote_it(both_neurons, case: str) -> None:
    files = _files(both_neurons)
    edited = _break_unpaired(files, BROKEN_PORT_TABLE[case])
    assert spike_port_table.apply(files, both_neurons[1], {}) == [
        f"{NEURON}: handle(SpikeEvent&) reads its one-row port table at compile time"]  # the paired one only
    assert files[f"{UNPAIRED}.cpp"] == edited[f"{UNPAIRED}.cpp"] and files[f"{UNPAIRED}.h"] == edited[f"{UNPAIRED}.h"]


def _before_spike_sign(both_neurons) -> dict[str, str]:
    """Both neurons as the transformations before ``spike_sign`` leave them."""
    files = _files(both_neurons)
    for transformation in (input_buffer, update_invariants, spike_port_table):
        transformation.apply(files, both_neurons[1], {})
    return files


_SIGN_NOTE = "handle(SpikeEvent&) picks the port by the weight's sign, not negating it"


@needs_generation
def test_spike_sign_adds_weights_unnegated_and_negates_the_sum(both_neurons) -> None:
    files = _before_spike_sign(both_neurons)
    before = dict(files)
    assert sorted(spike_sign.apply(files, both_neurons[1], {})) == sorted(
        f"{n}: {_SIGN_NOTE}" for n in (NEURON, UNPAIRED))
    for neuron in (NEURON, UNPAIRED):
        code = cxx.code_only(files[f"{neuron}.cpp"])
        assert "weight = -weight" not in code and "PORT_NOT_AVAILABLE" not in code
        assert code.count(f"( weight >= 0.0 ? static_cast< int >( {neuron}::EXC_SPIKES ) : static_cast< int >( "
                          f"{neuron}::INH_SPIKES ) ) - MIN_SPIKE_RECEPTOR, ( weight * e.get_multiplicity() ) + 0.0 );"
                          ) == 1
        # the copy of the spike channels into NESTML's sums negates the negative port's
        assert code.count("B_.spike_inputs_grid_sum_[i] = i == INH_SPIKES - MIN_SPIKE_RECEPTOR ? 0.0 - "
                          "__jitnest_input[i] : jitnest_InputBuffer< ") == 1
        assert files[f"{neuron}.h"] == before[f"{neuron}.h"]
    assert spike_sign.apply(files, both_neurons[1], {}) == []  # once


@needs_generation
def test_spike_sign_on_unmarked_channels_adds_per_port_with_the_slot_first(both_neurons) -> None:
    """Unmarked channels keep NESTML's values (the negation stays in handle); handle only takes the
    shape GCC compiles best: the slot first, one addition per port."""
    files = _files(both_neurons)
    _without_flag_tests(files)
    for transformation in (input_buffer, update_invariants, spike_port_table):
        transformation.apply(files, both_neurons[1], {})
    before = dict(files)
    assert sorted(spike_sign.apply(files, both_neurons[1], {})) == sorted([
        f"{NEURON}: {_SIGN_NOTE}",
        f"{UNPAIRED}: handle(SpikeEvent&) adds to each port in its own branch, the slot computed first"])
    code = cxx.code_only(files[f"{UNPAIRED}.cpp"])
    handle = cxx.only_function(code, rf"\bvoid\s+{UNPAIRED}::handle\(\s*nest::SpikeEvent\s*&\s*e\s*\)")
    statements = [" ".join(line.split()) for line in handle.body(code).splitlines() if line.strip()][-10:]
    slot = ("nest::kernel().event_delivery_manager.get_modulo( e.get_rel_delivery_steps( "
            "nest::kernel().simulation_manager.get_slice_origin() ) )")
    add = "B_.__jitnest_input_buffer_.add_value( __jitnest_spike_slot, static_cast< int >( " + UNPAIRED + "::{} ) - "
    assert statements == [
        f"const size_t __jitnest_spike_slot = {slot};", "const double weight = e.get_weight();",
        "if ( weight >= 0.0 )", "{", add.format("EXC_SPIKES") + "MIN_SPIKE_RECEPTOR, weight * e.get_multiplicity() );",
        "}", "else", "{", add.format("INH_SPIKES") + "MIN_SPIKE_RECEPTOR, -weight * e.get_multiplicity() );", "}"]
    # update() reads the channels as before (no negation there: the values are NESTML's)
    assert code.count("B_.spike_inputs_grid_sum_[i] = __jitnest_input[i];") == 1 and "0.0 - " not in code
    assert files[f"{UNPAIRED}.h"] == before[f"{UNPAIRED}.h"]
    assert spike_sign.apply(files, both_neurons[1], {}) == []  # once


BROKEN_SPIKE_SIGN: dict[str, tuple[str, str, str]] = {
    "one port for both signs": ("h", "    INH_SPIKES = 1,", "    INH_SPIKES = 0,"),
    "another PORT_NOT_AVAILABLE": ("h", "PORT_NOT_AVAILABLE = -1;", "PORT_NOT_AVAILABLE = 1;"),
    "the weight used again": ("cpp", "      weight = -weight;\n", "      weight = -weight;\n      weight *= 2;\n"),
    "the slot read elsewhere": ("cpp", "    // voltage logging\n",
                                "    S_.V_m += __jitnest_input[INH_SPIKES - MIN_SPIKE_RECEPTOR];\n"),
    "a sum written elsewhere": ("cpp", "    // voltage logging\n", "    B_.spike_inputs_grid_sum_[1] = 0.0;\n"),
    "another add to a spike channel": (
        "cpp", "    // voltage logging\n",
        "    B_.__jitnest_input_buffer_.add_value( __jitnest_slot, INH_SPIKES, 1.0 );\n"),
    "NESTML's buffers": ("cpp", "", ""),  # input_buffer not applied: NESTML's ring buffers
}


@needs_generation
@pytest.mark.parametrize("case", sorted(BROKEN_SPIKE_SIGN))
def test_spike_sign_breaking_a_precondition_is_left_as_nestml_wrote_it(both_neurons, case: str) -> None:
    files = _files(both_neurons) if case == "NESTML's buffers" else _before_spike_sign(both_neurons)
    edited = _break_unpaired(files, BROKEN_SPIKE_SIGN[case])
    notes = spike_sign.apply(files, both_neurons[1], {})
    assert f"{UNPAIRED}: {_SIGN_NOTE}" not in notes
    assert files[f"{UNPAIRED}.cpp"] == edited[f"{UNPAIRED}.cpp"]


@needs_generation
def test_paired_neuron_derives_from_archiving_node_without_its_archive(both_neurons) -> None:
    files = _files(both_neurons)
    original = dict(files)
    assert archiving_base.apply(files, both_neurons[1], {}) == [
        f"{NEURON}: derives from jitnest_ArchivingNodeWithoutArchive where NEST is 3.10.0 (no ArchivingNode archive, "
        "which stayed empty)"]
    header, source = cxx.code_only(files[f"{NEURON}.h"]), cxx.code_only(files[f"{NEURON}.cpp"])
    assert re.search(rf"^class {NEURON} : public jitnest_ArchivingBase$", header, re.M)
    assert header.count("class jitnest_ArchivingNodeWithoutArchive :") == 1
    # Every use of ArchivingNode in NESTML's code now names the chosen base; only the shim names NEST's.
    assert "ArchivingNode::" not in source and "ArchivingNode()" not in source
    assert source.count("jitnest_ArchivingBase()") == 2 and "jitnest_ArchivingBase::set_spiketime(" in source
    assert header.count("jitnest_ArchivingBase::get_status(") == header.count("jitnest_ArchivingBase::set_status(") == 1
    # The unpaired neuron counts STDP connections in ArchivingNode (a built-in synapse may read its archive): kept.
    for kind in ("h", "cpp"):
        assert files[f"{UNPAIRED}.{kind}"] == original[f"{UNPAIRED}.{kind}"]
    assert archiving_base.apply(files, both_neurons[1], {}) == []  # once


_REGISTER_END = "  n_incoming_++;\n"
BROKEN_ARCHIVING: dict[str, tuple[str, str, str]] = {
    "registration counted in ArchivingNode too": (
        "cpp", _REGISTER_END, _REGISTER_END + "  ArchivingNode::register_stdp_connection( t_first_read, delay );\n"),
    "ArchivingNode's trace read": (
        "cpp", _REGISTER_END, _REGISTER_END + "  (void) ArchivingNode::get_K_value( 0.0 );\n"),
    "no count of its own": ("h", "  size_t n_incoming_;\n", "\n"),
    "no registration of its own": (
        "h", "  void register_stdp_connection( double t_first_read, double delay );\n", "\n"),
    "another base": ("h", f"class {NEURON} : public nest::ArchivingNode\n",
                     f"class {NEURON} : public nest::ArchivingNode, public nest::Node\n"),
}


ENTRY = f"histentry__{NEURON}"
_DEQUE = f"std::deque< {ENTRY} >"
_CONTAINER = f"jitnest_spike_history< {ENTRY} >"


@needs_generation
def test_spike_history_is_a_contiguous_container(pair) -> None:
    files = _files(pair)
    original = dict(files)
    assert spike_history.apply(files, pair[1], {}) == [
        f"{NEURON}: spike history in a contiguous container instead of a std::deque (its iterators also in 1 synapse "
        "header)"]
    header = files[f"{NEURON}.h"]
    # the container is defined once, just after the entry class, before the neuron's class uses it
    assert header.count("class jitnest_spike_history\n") == 1 and header.count("#ifndef JITNEST_SPIKE_HISTORY_H") == 1
    assert header.index(f"class {ENTRY}") < header.index("class jitnest_spike_history") < header.index(
        f"{_CONTAINER} history_;")
    assert header.count(f"{_CONTAINER} history_;  // jitnest:") == 1
    # every deque of entries (the member, get_history__'s parameters, the neuron's and the synapse's iterators) is
    # the container now; nothing else changed
    for name, text in files.items():
        assert _DEQUE not in text
        assert text.count(_CONTAINER) == original[name].count(_DEQUE) > 0
        template = text.find("#ifndef JITNEST_SPIKE_HISTORY_H")
        if template >= 0:
            text = text[:template - 1] + text[text.index("#endif\n", template) + len("#endif\n"):]
        text = re.sub(r"  // jitnest: a compact spike history \(see [^)]*\)", "", text)
        assert text.replace(_CONTAINER, _DEQUE) == original[name]
    assert spike_history.apply(files, pair[1], {}) == []  # once


_CLEAR = "  last_spike_ = -1.0;\n  history_.clear();\n"
_NEXT_SPIKE = "      const double next_t_sp = history_[ 1 ].t_;\n"
_SYNAPSE_ITERATOR = f"    {_DEQUE}::iterator start;\n"
# Each edit breaks one precondition that makes the rewrite exact (see spike_history's docstring); "syn" is the
# synapse's header.
BROKEN_HISTORY: dict[str, tuple[str, str, str]] = {
    "a deque of entries written otherwise": ("syn", _SYNAPSE_ITERATOR, _SYNAPSE_ITERATOR.replace("< ", "<")),
    "a const_iterator": ("cpp", f"{_DEQUE}::iterator runner", f"{_DEQUE}::const_iterator runner"),
    "an iterator stored as a member": ("syn", "  double t_lastspike_;\n",
                                       f"  double t_lastspike_;\n  {_DEQUE}::iterator last_read_;\n"),
    "the entry type named elsewhere": ("h", f"  {_DEQUE} history_;\n", f"  {_DEQUE} history_;\n  {ENTRY}* last_;\n"),
    "another iterator pointer": ("h", f"  {_DEQUE} history_;\n", f"  {_DEQUE} history_;\n"
                                 f"  void first( {_DEQUE}::iterator* it );\n"),
    "another function of the history": ("cpp", _CLEAR, _CLEAR + "  history_.shrink_to_fit();\n"),
    "the history used whole": ("cpp", _CLEAR, _CLEAR + "  auto copy = history_;\n"),
    "the history named in the synapse": ("syn", _SYNAPSE_ITERATOR,
                                         _SYNAPSE_ITERATOR + "    __target->history_.size();\n"),
    "an entry's member held by reference across push_back": (
        "cpp", _NEXT_SPIKE, _NEXT_SPIKE.replace("const double next_t_sp", "const double& next_t_sp")),
    "an entry held by reference across push_back": (
        "cpp", _NEXT_SPIKE, _NEXT_SPIKE + "      auto& second = history_[ 1 ];\n"),
    "an iterator in set_spiketime": ("cpp", _NEXT_SPIKE,
                                     _NEXT_SPIKE + f"      {_DEQUE}::iterator first = history_.begin();\n"),
    "a second push_back": ("cpp", _CLEAR, _CLEAR + "  history_.push_back( history_.front() );\n"),
    "set_spiketime called outside update": ("cpp", _CLEAR, _CLEAR + "  set_spiketime( nest::Time::ms( 1. ) );\n"),
    "update reads the history": ("cpp", _UPDATE_START, _UPDATE_START + "    const size_t n = history_.size();\n"),
}


@needs_generation
def test_spike_history_with_the_entry_class_in_a_namespace_is_left_alone(pair) -> None:
    """The container is emitted (with its #includes) after the entry class: only at file scope."""
    files = _files(pair)
    name = f"{NEURON}.h"
    files[name] = _edit(files[name], f"class {ENTRY}\n", f"namespace jn\n{{\nclass {ENTRY}\n")
    files[name] = _edit(files[name], "\n/* BeginDocumentation", "}\n/* BeginDocumentation")
    edited = dict(files)
    assert spike_history.apply(files, pair[1], {}) == [] and files == edited


# Each transformation of the STDP pair with the edits that break one of its preconditions:
# (file: the neuron's "h" or "cpp", or "syn" for the synapse header; text; replacement).
BROKEN_PAIR = {trace_propagators: BROKEN, input_buffer: BROKEN_BUFFER, archiving_base: BROKEN_ARCHIVING,
               spike_history: BROKEN_HISTORY}


@needs_generation
@pytest.mark.parametrize("transformation, case", [(t, c) for t, cases in BROKEN_PAIR.items() for c in sorted(cases)],
                         ids=lambda v: getattr(v, "NAME", v))
def test_pair_breaking_a_precondition_is_left_as_nestml_wrote_it(pair, transformation, case: str) -> None:
    files = _files(pair)
    kind, old, new = BROKEN_PAIR[transformation][case]
    name = f"{SYNAPSE}.h" if kind == "syn" else f"{NEURON}.{kind}"
    files[name] = _edit(files[name], old, new)
    edited = dict(files)
    assert transformation.apply(files, pair[1], {}) == []
    assert files == edited


_ORIGIN_NOTE = "update() converts the slice origin to steps once per call"


@needs_generation
def test_slice_origin_is_converted_once_per_update(both_neurons) -> None:
    files = _files(both_neurons)
    original = dict(files)
    assert sorted(slice_origin.apply(files, both_neurons[1], {})) == sorted(
        f"{n}: {_ORIGIN_NOTE}" for n in (NEURON, UNPAIRED))
    for neuron in (NEURON, UNPAIRED):
        code = cxx.code_only(files[f"{neuron}.cpp"])
        loop = cxx.step_loop(code, neuron)
        before_loop = code[loop.update.body_start:loop.start]
        assert before_loop.count("const long __jitnest_origin_steps = origin.get_steps();") == 1
        in_loop = code[loop.body_start:loop.body_end]
        assert "B_.logger_.record_data(__jitnest_origin_steps + lag);" in in_loop
        assert "set_spiketime(nest::Time::step(__jitnest_origin_steps + lag + 1));" in in_loop
        # the lambda keeps its own copy of origin (the local is not captured)
        assert in_loop.count("origin.get_steps()") == 1
        assert "auto get_t = [origin, lag](){ return nest::Time( nest::Time::step( origin.get_steps() + lag" in in_loop
        assert files[f"{neuron}.h"] == original[f"{neuron}.h"]
    assert slice_origin.apply(files, both_neurons[1], {}) == []  # once


BROKEN_SLICE_ORIGIN: dict[str, tuple[str, str, str]] = {
    "origin shadowed": ("cpp", _UPDATE_START, _UPDATE_START + "    nest::Time origin = nest::Time::step( lag );\n"),
    "the clock named": ("cpp", _UPDATE_START,
                        _UPDATE_START + "    nest::kernel().simulation_manager.get_clock();\n"),
    "a second step loop": ("cpp", _UPDATE_START, "  for ( long lag = from ; lag < to ; ++lag ) {}\n" + _UPDATE_START),
}


@needs_generation
@pytest.mark.parametrize("case", sorted(BROKEN_SLICE_ORIGIN))
def test_slice_origin_breaking_a_precondition_is_left_as_nestml_wrote_it(both_neurons, case: str) -> None:
    files = _files(both_neurons)
    edited = _break_unpaired(files, BROKEN_SLICE_ORIGIN[case])
    assert slice_origin.apply(files, both_neurons[1], {}) == [f"{NEURON}: {_ORIGIN_NOTE}"]  # the paired one only
    assert files[f"{UNPAIRED}.cpp"] == edited[f"{UNPAIRED}.cpp"]



_SLOT_ORIGIN = re.compile(r"\be\.get_rel_delivery_steps\(\s*nest::kernel\(\)\.simulation_manager\."
                          r"get_slice_origin\(\)\s*\)")
_TABLE_NOTE = "handler call(s) read the slice origin's steps from a per-thread table"


def _with_input_buffer(both_neurons) -> dict[str, str]:
    """NESTML's files for both neurons with input_buffer applied (slice_origin_cache reads its buffer)."""
    files = _files(both_neurons)
    assert len(input_buffer.apply(files, both_neurons[1], {})) == 2
    return files


@needs_generation
def test_slice_origin_cache_serves_every_handler(both_neurons) -> None:
    files = _with_input_buffer(both_neurons)
    original = dict(files)
    calls = {neuron: len(_SLOT_ORIGIN.findall(files[f"{neuron}.cpp"])) for neuron in (NEURON, UNPAIRED)}
    assert calls == {NEURON: 2, UNPAIRED: 2}  # a spike's slot and a current's
    assert sorted(slice_origin_cache.apply(files, both_neurons[1], {})) == sorted(
        f"{n}: {calls[n]} {_TABLE_NOTE}" for n in (NEURON, UNPAIRED))
    for neuron in (NEURON, UNPAIRED):
        source = files[f"{neuron}.cpp"]
        code = cxx.code_only(source)
        handlers = cxx.find_functions(code, rf"\bvoid\s+{neuron}::handle\(\s*nest::\w+Event\s*&\s*e\s*\)")
        assert not any("get_rel_delivery_steps" in h.body(code) for h in handlers)
        # NEST's call remains only in the emitted function, for another NEST than 3.10.0
        assert len(_SLOT_ORIGIN.findall(code)) == 1
        assert "if constexpr ( jitnest_is_nest_3_10_0( NEST_VERSION ) )" in code
        table_call = "jitnest_slice_origin::rel_delivery_steps( e, B_.__jitnest_input_buffer_.thread() )"
        assert sum(h.body(code).count(table_call) for h in handlers) == calls[neuron]
        # the table and its function follow the neuron's header, once
        assert source.count("#define JITNEST_SLICE_ORIGIN_CACHE") == 1
        assert source.index(f'#include "{neuron}.h"') < source.index("namespace jitnest_slice_origin")
        hook = cxx.only_function(code, rf"\bvoid\s+{neuron}::pre_run_hook\(\s*\)")
        assert hook.body(code).lstrip().startswith("jitnest_slice_origin::forget( get_thread() );")
        assert files[f"{neuron}.h"] == original[f"{neuron}.h"]
    assert slice_origin_cache.apply(files, both_neurons[1], {}) == []  # once


_HOOK = "::pre_run_hook()\n"
BROKEN_SLICE_ORIGIN_CACHE: dict[str, tuple[str, str, str]] = {
    "no pre_run_hook to forget the table in": ("cpp", f"void {UNPAIRED}{_HOOK}", f"void {UNPAIRED}::pre_run_hook_()\n"),
    "the neuron's header not on a line of its own": ("cpp", f'#include "{UNPAIRED}.h"',
                                                      f'#include "{UNPAIRED}.h" // with a comment'),
}


@needs_generation
@pytest.mark.parametrize("case", sorted(BROKEN_SLICE_ORIGIN_CACHE))
def test_slice_origin_cache_breaking_a_precondition_is_left_as_nestml_wrote_it(both_neurons, case: str) -> None:
    files = _with_input_buffer(both_neurons)
    edited = _break_unpaired(files, BROKEN_SLICE_ORIGIN_CACHE[case])
    assert [note.split(":")[0] for note in slice_origin_cache.apply(files, both_neurons[1], {})] == [NEURON]
    assert files[f"{UNPAIRED}.cpp"] == edited[f"{UNPAIRED}.cpp"]


@needs_generation
def test_slice_origin_cache_leaves_calls_outside_the_handlers(both_neurons) -> None:
    """Only a handler's ``e`` is an event delivered on the node's thread: the same expression elsewhere
    (here added to ``update()``) stays as NESTML wrote it."""
    files = _with_input_buffer(both_neurons)
    outside = ("    nest::SpikeEvent e;\n"
               "    e.get_rel_delivery_steps( nest::kernel().simulation_manager.get_slice_origin() );\n")
    _break_unpaired(files, ("cpp", _UPDATE_START, _UPDATE_START + outside))
    slice_origin_cache.apply(files, both_neurons[1], {})
    code = cxx.code_only(files[f"{UNPAIRED}.cpp"])
    assert outside in files[f"{UNPAIRED}.cpp"]
    assert len(_SLOT_ORIGIN.findall(code)) == 2  # that one and the emitted function's, for another NEST


@needs_generation
def test_slice_origin_cache_needs_the_input_buffer(both_neurons) -> None:
    """The node's thread is read from input_buffer's buffer: without it, the handlers stay as they are."""
    files = _files(both_neurons)
    original = dict(files)
    assert slice_origin_cache.apply(files, both_neurons[1], {}) == []
    assert files == original
