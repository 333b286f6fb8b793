"""Tests of the NESTML worker (the package jitnest/worker) against the real NESTML (no mocks).

The worker runs as a subprocess, ``python -m jitnest.worker`` from the repository root, exactly as
jitnest starts it; the environment (e.g. ``PYTHONPATH``) is inherited from the test run. Each worker
call costs a few seconds (NESTML import, parsing); the module-scoped fixtures make one call per
request kind, and the STDP pair's generation (conftest's ``generated_stdp_pair``) is shared with
test_transform.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from conftest import NESTML_MODELS as MODELS
from conftest import WORKER, run_worker, stdp_pair_request

ROOT = Path(__file__).parents[2]
IAF_PSC_EXP = MODELS / "neurons" / "iaf_psc_exp_neuron.nestml"
STDP = MODELS / "synapses" / "stdp_synapse.nestml"
NEUROMODULATED = MODELS / "synapses" / "neuromodulated_stdp_synapse.nestml"
TSODYKS = MODELS / "synapses" / "tsodyks_synapse.nestml"

pytestmark = pytest.mark.skipif(
    not (IAF_PSC_EXP.is_file() and STDP.is_file()), reason="NESTML's model library is not installed"
)


def line_of(text: str, fragment: str) -> int:
    """1-based number of the (single) line containing ``fragment``."""
    matches = [i for i, line in enumerate(text.splitlines(), 1) if fragment in line]
    assert len(matches) == 1, fragment
    return matches[0]


@pytest.fixture(scope="module")
def parsed() -> dict[str, dict[str, Any]]:
    """iaf_psc_exp_neuron and three synapses, parsed in one request, by model name."""
    files = [IAF_PSC_EXP, STDP, NEUROMODULATED, TSODYKS]
    response = run_worker({"op": "parse", "files": [str(f) for f in files]})
    assert response["ok"], response
    return {m["name"]: m for m in response["models"]}


def test_parse_neuron(parsed: dict[str, dict[str, Any]]) -> None:
    model = parsed["iaf_psc_exp_neuron"]
    text = IAF_PSC_EXP.read_text()
    assert model["kind"] == "neuron"
    assert model["file"] == str(IAF_PSC_EXP)
    assert model["line"] == line_of(text, "model iaf_psc_exp_neuron:")
    ports = {p["name"]: p for p in model["input_ports"]}
    assert {n: p["kind"] for n, p in ports.items()} == {
        "exc_spikes": "spike", "inh_spikes": "spike", "I_stim": "continuous"}
    assert ports["I_stim"]["line"] == line_of(text, "I_stim pA <- continuous")

    params = {p["name"]: p for p in model["parameters"]}
    assert params["C_m"]["type"] == "pF" and params["C_m"]["expression"] == "250 pF"
    assert params["tau_m"]["line"] == line_of(text, "tau_m ms = 10 ms")
    values = model["value_nest_units"]
    assert values["tau_m"] == 10.0 and values["C_m"] == 250.0 and values["V_th"] == -55.0
    assert values["E_L"] == -70.0 and values["I_e"] == 0.0
    assert values["V_m"] == values["E_L"]  # state V_m mV = E_L
    assert all(isinstance(v, float) for v in values.values())
    assert model["unevaluated"] == []
    assert model["recordables"] == ["V_m", "refr_t", "I_syn_exc", "I_syn_inh"]
    assert [i["name"] for i in model["internals"]] == ["unit_psc"]


def test_parse_synapse(parsed: dict[str, dict[str, Any]]) -> None:
    model = parsed["stdp_synapse"]
    assert model["kind"] == "synapse"
    assert model["weight_variable"] == "w"
    assert model["delay_variable"] is None
    assert model["post_ports"] == ["post_spikes"]
    assert model["vt_ports"] == []
    assert model["value_nest_units"]["tau_tr_pre"] == 20.0
    assert model["value_nest_units"]["w"] == 1.0
    assert model["recordables"] == []


def test_parse_synapse_ports(parsed: dict[str, dict[str, Any]]) -> None:
    neuromodulated = parsed["neuromodulated_stdp_synapse"]
    assert neuromodulated["post_ports"] == ["post_spikes"]  # not the modulatory mod_spikes
    assert neuromodulated["vt_ports"] == ["mod_spikes"]
    tsodyks = parsed["tsodyks_synapse"]  # emit_spike(delta_y_tsp * w): not a plain variable
    assert tsodyks["weight_variable"] is None and tsodyks["weight_variable_guess"] == "w"
    assert tsodyks["post_ports"] == [] and tsodyks["vt_ports"] == []
    assert tsodyks["value_nest_units"]["u"] == tsodyks["value_nest_units"]["U"] == 0.5  # state u real = U


@pytest.fixture(scope="module")
def broken(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], dict[str, Path], dict[str, int]]:
    """A parse request over three broken copies of iaf_psc_exp_neuron; expected error lines."""
    source = IAF_PSC_EXP.read_text()
    directory = tmp_path_factory.mktemp("broken")
    edits = {
        # missing colon after the block keyword: NESTML's lexer reports it on the next line
        "syntax": ("    state:\n", "    state\n", "    state"),
        # unknown variable in an ODE
        "unknown_var": ("(V_m - E_L) / tau_m +", "(V_m - E_L) / tau_mm +", "tau_mm"),
        # unknown unit (NESTML then also recurses endlessly: must still be a clean error)
        "unknown_unit": ("tau_syn_inh ms = 2 ms", "tau_syn_inh ms = 2 mss", "2 mss"),
    }
    files, lines = {}, {}
    for name, (old, new, marker) in edits.items():
        assert source.count(old) == 1, old
        text = source.replace(old, new).replace("model iaf_psc_exp_neuron:", f"model {name}_neuron:")
        files[name] = directory / f"{name}_neuron.nestml"
        files[name].write_text(text)
        lines[name] = line_of(text, marker)
    response = run_worker({"op": "parse", "files": [str(p) for p in files.values()]})
    return response, files, lines


@pytest.mark.parametrize("case", ["syntax", "unknown_var", "unknown_unit"])
def test_parse_errors(broken: tuple[dict[str, Any], dict[str, Path], dict[str, int]], case: str) -> None:
    response, files, lines = broken
    assert response["ok"] is False
    errors = [e for e in response["errors"] if e["file"] == str(files[case])]
    assert errors, response["errors"]
    # errors are in source order: the first one is at the broken line
    assert errors[0]["line"] == lines[case], errors
    assert all(set(e) == {"file", "line", "column", "model", "message", "code"} for e in errors)


def test_parse_error_messages(broken: tuple[dict[str, Any], dict[str, Path], dict[str, int]]) -> None:
    response, files, _ = broken
    messages = {name: " ".join(e["message"] for e in response["errors"] if e["file"] == str(path))
                for name, path in files.items()}
    assert "missing ':'" in messages["syntax"]
    assert "tau_mm" in messages["unknown_var"]
    assert "mss" in messages["unknown_unit"]


@pytest.mark.slow  # a NESTML generation of the STDP pair
def test_generate_models(generated_stdp_pair: dict[str, Any]) -> None:
    models = {m["name"]: m for m in generated_stdp_pair["models"]}
    paired_neuron = "iaf_psc_exp_neuron_nestml__with_stdp_synapse_nestml"
    paired_synapse = "stdp_synapse_nestml__with_iaf_psc_exp_neuron_nestml"
    assert set(models) == {"iaf_psc_exp_neuron_nestml", paired_neuron, paired_synapse}
    assert models["iaf_psc_exp_neuron_nestml"]["paired"] is False
    assert models[paired_neuron]["paired"] is True and models[paired_synapse]["paired"] is True
    assert models[paired_synapse]["kind"] == "synapse" and models[paired_neuron]["kind"] == "neuron"
    assert models[paired_synapse]["source_model"] == "stdp_synapse"
    assert models[paired_neuron]["source_model"] == "iaf_psc_exp_neuron"
    assert models[paired_synapse]["source"] is None
    assert models["iaf_psc_exp_neuron_nestml"]["register_call"] == (
        'register_iaf_psc_exp_neuron_nestml("iaf_psc_exp_neuron_nestml");')
    assert models[paired_synapse]["register_call"].startswith(f"nest::{paired_synapse}::register_{paired_synapse}(")
    assert "post_trace__for_stdp_synapse_nestml" in models[paired_neuron]["recordables"]


@pytest.mark.slow  # a NESTML generation of the STDP pair
def test_generate_files(generated_stdp_pair: dict[str, Any]) -> None:
    target = Path(generated_stdp_pair["target_dir"])
    assert (target / generated_stdp_pair["log_file"]).is_file()
    for model in generated_stdp_pair["models"]:
        for name in (model["header"], model["source"]):
            assert name is None or name in generated_stdp_pair["files"]
    assert "jn_test0123module.cpp" in generated_stdp_pair["files"]
    for name in generated_stdp_pair["files"]:
        text = (target / name).read_text()
        assert not re.search(r"at time: \d", text), name  # timestamps are neutralised


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory):
    """The worker in serve mode (as jitnest's adapter runs it), on a socket in a temporary directory."""
    socket_path = tmp_path_factory.mktemp("server") / "socket"
    process = subprocess.Popen([*WORKER, "--serve", str(socket_path)], stdin=subprocess.PIPE,
                               stdout=subprocess.PIPE, env=dict(os.environ, PYTHONHASHSEED="0"), cwd=ROOT)
    assert process.stdout.readline().strip() == b"ready"
    yield socket_path
    process.stdin.close()  # end of stdin: the server exits
    assert process.wait(timeout=30) == 0


def ask_server(socket_path: Path, request: dict[str, Any]) -> tuple[dict[str, Any], str]:
    """Send one request to the fork server; its response and what the answering child printed."""
    import socket

    log_file = socket_path.parent / "request.log"
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as connection:
        connection.connect(str(socket_path))
        connection.sendall(json.dumps({"request": request, "log_file": str(log_file)}).encode())
        connection.shutdown(socket.SHUT_WR)
        answer = b"".join(iter(lambda: connection.recv(1 << 16), b""))
    return json.loads(answer), log_file.read_text()


@pytest.mark.slow  # a NESTML generation of the STDP pair (twice)
def test_server_paired_only_generates_the_same_pair(server: Path, generated_stdp_pair: dict[str, Any],
                                                    tmp_path: Path) -> None:
    """A forked child of the server, asked for the pair only, writes the pair's files byte for byte
    as a fresh worker process does, and leaves out the neuron alone. (Pair only, the synapse is
    generated in a process of its own, beside the neuron: same bytes as all in one process.)"""
    response, _ = ask_server(server, stdp_pair_request(tmp_path / "code", paired_only=True))
    assert response["ok"], response
    names = {m["name"] for m in response["models"]}
    assert names == {"iaf_psc_exp_neuron_nestml__with_stdp_synapse_nestml",
                     "stdp_synapse_nestml__with_iaf_psc_exp_neuron_nestml"}
    fresh, forked = Path(generated_stdp_pair["target_dir"]), Path(response["target_dir"])
    for model in response["models"]:
        for name in filter(None, (model["header"], model["source"])):
            assert (forked / name).read_bytes() == (fresh / name).read_bytes(), name
    assert "iaf_psc_exp_neuron_nestml.cpp" not in response["files"]
    assert not any(name.startswith(".synapses") for name in response["files"])


def test_server_answers_errors_and_keeps_serving(server: Path, tmp_path: Path) -> None:
    broken = tmp_path / "broken_neuron.nestml"
    broken.write_text("model broken_neuron:\n    state\n        V_m mV = -70 mV\n")
    response, log = ask_server(server, {"op": "parse", "files": [str(broken)]})
    assert not response["ok"] and response["errors"][0]["file"] == str(broken)
    response, _ = ask_server(server, {"op": "parse", "files": [str(IAF_PSC_EXP)]})
    assert response["ok"] and response["models"][0]["name"] == "iaf_psc_exp_neuron"


_LEX_EVERY_LIBRARY_MODEL = r"""
import glob, hashlib, json, sys
from antlr4 import CommonTokenStream, InputStream
from pynestml.generated.PyNestMLLexer import PyNestMLLexer
from antlr4.atn.LexerATNSimulator import LexerATNSimulator

from jitnest.worker import patches

def tokens(text):
    stream = CommonTokenStream(PyNestMLLexer(InputStream(text)))
    stream.fill()
    return [(t.type, t.start, t.stop, t.line, t.column, t.channel, t.text) for t in stream.tokens]

if sys.argv[2] == "patched":
    patches._cache_lexer_start_states()
files = sorted(glob.glob(sys.argv[1] + "/*/*.nestml"))
texts = [open(f).read() for f in files]
# inputs that start with blanks, where the predicate holds
texts += [prefix + texts[0] for prefix in ("   ", "\t", "\n  ", "  \n", "# note\n  ")]
lexed = [tokens(text) for text in texts]
print(json.dumps({"files": len(files), "tokens": sum(map(len, lexed)),
                  "patched": getattr(LexerATNSimulator.matchATN, "_jitnest_cache", False),
                  "digest": hashlib.sha256(json.dumps(lexed).encode()).hexdigest()}))
"""


def _lex_every_library_model(how: str) -> dict[str, Any]:
    completed = subprocess.run([sys.executable, "-c", _LEX_EVERY_LIBRARY_MODEL, str(MODELS), how],
                               capture_output=True, text=True, timeout=600, check=True, cwd=ROOT)
    return json.loads(completed.stdout.strip().splitlines()[-1])


@pytest.mark.slow  # ~15 CPU-seconds: the unpatched lexer over every library model
def test_cached_lexer_start_states_give_the_same_tokens_for_every_library_model() -> None:
    """The worker caches the start state of NESTML's lexer (see jitnest.worker.patches._cache_lexer_start_states).

    The patched and the unpatched lexer each run in a process of their own: ANTLR keeps its DFA
    in class attributes, so within one process the second run would reuse what the first built."""
    plain, patched = _lex_every_library_model("plain"), _lex_every_library_model("patched")
    assert plain["files"] >= 30 and plain["tokens"] > 10000
    assert not plain["patched"]
    assert patched["patched"], "NESTML's lexer no longer has the one predicate the cache is exact for"
    assert (patched["files"], patched["tokens"]) == (plain["files"], plain["tokens"])
    assert patched["digest"] == plain["digest"]


def describe_pair_request(**options: Any) -> dict[str, Any]:
    """A request to describe iaf_psc_exp_neuron as NESTML pairs it with stdp_synapse."""
    return {"op": "describe_pair", "files": [str(IAF_PSC_EXP), str(STDP)], "neuron": "iaf_psc_exp_neuron",
            "synapses": {"stdp_synapse": {"post_ports": ["post_spikes"]}}, "weight_variable": {"stdp_synapse": "w"},
            **options}


@pytest.fixture(scope="module")
def described_pair() -> dict[str, Any]:
    response = run_worker(describe_pair_request())
    assert response["ok"], response
    return response["neuron"]


@pytest.mark.slow  # NESTML's pairing in a worker process
def test_describe_pair_names_what_the_pairing_moves_into_the_neuron(described_pair: dict[str, Any]) -> None:
    """The paired neuron under NEST's names: the synapse's post trace moved in as state (recorded, with its
    initial value), the parameter its dynamics need copied in, the neuron's own variables kept."""
    assert described_pair["name"] == "iaf_psc_exp_neuron_nestml__with_stdp_synapse_nestml"
    assert described_pair["kind"] == "neuron"
    state = {d.get("nest_name") or d["name"] for d in described_pair["state"]}
    parameters = {d.get("nest_name") or d["name"] for d in described_pair["parameters"]}
    assert "post_trace__for_stdp_synapse_nestml" in state
    assert "tau_tr_post__for_stdp_synapse_nestml" in parameters
    assert {"V_m", "I_syn_exc"} <= state and {"tau_m", "C_m"} <= parameters
    assert "w__for_stdp_synapse_nestml" not in state  # (the weight stays in the synapse)
    assert "post_trace__for_stdp_synapse_nestml" in described_pair["recordables"]
    values = described_pair["value_nest_units"]
    assert values["post_trace__for_stdp_synapse_nestml"] == 0.0
    assert values["tau_tr_post__for_stdp_synapse_nestml"] == 20.0  # stdp_synapse's default, in ms


@pytest.mark.slow  # NESTML's pairing in a worker process
def test_describe_pair_follows_the_pair_options() -> None:
    """strictly_synaptic_vars keeps the trace in the synapse: nothing moves, as NESTML itself decides."""
    response = run_worker(describe_pair_request(strictly_synaptic_vars={"stdp_synapse": ["post_trace"]}))
    assert response["ok"], response
    state = {d.get("nest_name") or d["name"] for d in response["neuron"]["state"]}
    assert not any("__for_" in name for name in state)


@pytest.mark.slow  # two worker processes
def test_describe_pair_refuses_what_nestml_cannot_pair() -> None:
    response = run_worker(describe_pair_request(neuron="iaf_psc_alpha_neuron"))  # (not among the files)
    assert not response["ok"] and "iaf_psc_alpha_neuron" in response["errors"][0]["message"], response
    malformed = run_worker({"op": "describe_pair", "files": [str(IAF_PSC_EXP)], "neuron": "iaf_psc_exp_neuron",
                            "synapses": {}})
    assert not malformed["ok"] and "non-empty" in json.dumps(malformed["errors"]), malformed


@pytest.mark.slow  # three NESTML generations
def test_generate_only_the_requested_models_of_a_file(tmp_path: Path) -> None:
    """A file defining two synapses, one given a delay_variable: NESTML 9 fails on the other unless the
    request names the models to generate (as jitnest does for each module); then only those are."""
    delay_synapses = ROOT / "tests" / "models" / "features" / "delay_test_synapses.nestml"
    request = {"op": "generate", "files": [str(delay_synapses)], "module_name": "jn_delay0123module",
               "weight_variable": {"delay_test_synapse": "w"}, "delay_variable": {"delay_test_synapse": "d"},
               "nest_version": "v3.10.0"}
    every = run_worker({**request, "target_dir": str(tmp_path / "every")})
    assert not every["ok"] and "delay_test_plastic_synapse" in json.dumps(every["errors"]), every
    only = run_worker({**request, "target_dir": str(tmp_path / "only"), "models": ["delay_test_synapse"]})
    assert only["ok"], only
    assert [m["name"] for m in only["models"]] == ["delay_test_synapse_nestml"]
    unknown = run_worker({**request, "target_dir": str(tmp_path / "unknown"), "models": ["no_such_synapse"]})
    assert not unknown["ok"] and "no_such_synapse" in json.dumps(unknown["errors"]), unknown
