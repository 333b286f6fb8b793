"""Shared test set-up.

Layout: ``unit/`` (in-process, compiles nothing), ``integration/`` (several processes, the real
compiler), ``differential/`` (the same network through the manual NESTML workflow and through
jitnest). ``-m "not slow"`` runs everything that compiles nothing.

One module cache per test session (``JITNEST_CACHE_DIR``), shared by the pytest process and
every subprocess it starts, so each distinct module is compiled once per session. Set
``JITNEST_TEST_CACHE`` to keep a cache across sessions (CI uses a fresh one).
"""

from __future__ import annotations

import inspect
import json
import os
import shutil
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NETWORKS = Path(__file__).resolve().parent / "networks"
MODELS = Path(__file__).resolve().parent / "models"

_keep_cache = bool(os.environ.get("JITNEST_TEST_CACHE"))
_cache = os.environ.get("JITNEST_TEST_CACHE") or tempfile.mkdtemp(prefix="jitnest-test-cache-")
os.environ["JITNEST_CACHE_DIR"] = _cache
os.environ.setdefault("JITNEST_QUIET", "1")
os.environ.setdefault("PYNEST_QUIET", "1")
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")


def pytest_sessionfinish(session, exitstatus) -> None:
    """Remove the session's cache (a precompiled header alone is ~180 MB) unless asked to keep it."""
    if not _keep_cache:
        shutil.rmtree(_cache, ignore_errors=True)


# What a build of jitnest's leaves in its cache: a CMake build, object files, a module, a precompiled header.
COMPILED = ("CMakeCache.txt", "*.o", "*.so", "*.gch")


@pytest.fixture(scope="session", autouse=True)
def compiles_nothing_unless_slow(request):
    """A session without ``slow`` tests (``-m "not slow"``, a single unit test file) must build no
    NEST module: checked at its end in the session's module cache, where the tests' builds go (tests
    with a cache of their own fake its entries, and one compiles tiny libraries to read their
    symbols). Not checked on a cache kept across sessions (``JITNEST_TEST_CACHE``), which may hold
    earlier builds."""
    yield
    if _keep_cache or any(item.get_closest_marker("slow") for item in request.session.items):
        return
    compiled = sorted(str(path) for pattern in COMPILED for path in Path(_cache).rglob(pattern))
    assert not compiled, f"a session without slow tests built modules: {compiled[:20]}"


@pytest.fixture(scope="session")
def cache_dir() -> Path:
    return Path(_cache)


def run_python(code_or_script: str | Path, *args: str, env: dict | None = None, timeout: float = 900,
               check: bool = True) -> subprocess.CompletedProcess:
    """Run Python code (a string) or a script file in a fresh process with the session's cache."""
    command = [sys.executable]
    command += [str(code_or_script)] if isinstance(code_or_script, Path) else ["-c", code_or_script]
    command += list(args)
    completed = subprocess.run(command, capture_output=True, text=True, timeout=timeout, cwd=str(ROOT),
                               env={**os.environ, **(env or {})}, check=False)
    if check and completed.returncode != 0:
        raise AssertionError(f"subprocess failed ({completed.returncode}):\n{completed.stdout[-3000:]}\n"
                             f"{completed.stderr[-5000:]}")
    return completed


def last_json(completed: subprocess.CompletedProcess) -> dict:
    return json.loads(completed.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="session")
def manual_stdp_module(tmp_path_factory) -> Path:
    """iaf_psc_exp_neuron + stdp_synapse (and iaf_psc_alpha_neuron) built by the manual NESTML workflow
    (benchmarks/manual_workflow.py, which shares no code with jitnest): the baseline of the differential
    tests, built once per session."""
    out = tmp_path_factory.mktemp("manual")
    completed = run_python(ROOT / "benchmarks" / "manual_workflow.py", str(out), "stdpmanualmodule",
                           "iaf_psc_exp_neuron,iaf_psc_alpha_neuron", "stdp_synapse:post_spikes:w@iaf_psc_exp_neuron")
    return Path(last_json(completed)["module"])


WORKER = [sys.executable, "-m", "jitnest.worker"]
NESTML_MODELS = Path(sys.prefix) / "models"  # NESTML's model library, as its wheel installs it


def run_worker(request: dict, timeout: float = 600) -> dict:
    """Run one NESTML worker request in a fresh ``python -m jitnest.worker`` (as jitnest starts it
    without a server); check the process contract (exit 0, exactly one JSON on stdout)."""
    proc = subprocess.run(WORKER, input=json.dumps(request), capture_output=True, text=True,
                          env=dict(os.environ, PYTHONHASHSEED="0"), timeout=timeout, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr[-4000:]
    return json.loads(proc.stdout)  # fails if anything but the response reached stdout


def stdp_pair_request(target: Path, **options) -> dict:
    """A request to generate iaf_psc_exp_neuron paired with stdp_synapse into ``target``."""
    return {
        "op": "generate", "target_dir": str(target), "module_name": "jn_test0123module",
        "files": [str(NESTML_MODELS / "neurons" / "iaf_psc_exp_neuron.nestml"),
                  str(NESTML_MODELS / "synapses" / "stdp_synapse.nestml")],
        "neuron_synapse_pairs": [{"neuron": "iaf_psc_exp_neuron",
                                  "synapses": {"stdp_synapse": {"post_ports": ["post_spikes"]}}}],
        "weight_variable": {"stdp_synapse": "w"}, "delay_variable": {}, "nest_version": "v3.10.0",
        **options,
    }


@pytest.fixture(scope="session")
def generated_stdp_pair(tmp_path_factory) -> dict:
    """The worker's response to ``stdp_pair_request``: NESTML's code for the STDP pair, generated once
    per session (a generation costs seconds) for the tests that read it (test_nestml_worker,
    test_transform); they must not change the files."""
    response = run_worker(stdp_pair_request(tmp_path_factory.mktemp("generated") / "code"))
    assert response["ok"], response
    return response


def new_tiny_source(name: str) -> str:
    """tests/models/tiny_neuron.nestml renamed to ``name``, with a comment unique to this call: a
    model whose parse and module are certainly in no cache yet."""
    tiny = (MODELS / "tiny_neuron.nestml").read_text()
    return tiny.replace("tiny_neuron", name) + f"# {uuid.uuid4()}\n"


def execute_notebook(notebook, path: Path, timeout: int = 900) -> None:
    """Run ``notebook`` in a real kernel started in ``path``, with jitnest's progress output on.

    nbclient waits only 4 s (by default) for a cell's last outputs after its reply and then drops
    them silently: wait longer, and fail loudly instead.
    """
    from nbclient import NotebookClient

    quiet_before = os.environ.get("JITNEST_QUIET")
    os.environ["JITNEST_QUIET"] = "0"  # the kernel inherits it: progress and notices are checked
    try:
        NotebookClient(notebook, timeout=timeout, kernel_name="python3", iopub_timeout=120,
                       raise_on_iopub_timeout=True, resources={"metadata": {"path": str(path)}}).execute()
    finally:
        if quiet_before is None:
            os.environ.pop("JITNEST_QUIET")
        else:
            os.environ["JITNEST_QUIET"] = quiet_before


def cell_text(cell) -> str:
    """A notebook cell's printed text and plain-text displays, in output order."""
    parts = []
    for output in cell.get("outputs", []):
        if output.get("output_type") == "stream":
            parts.append(output["text"])
        elif "data" in output and "text/plain" in output["data"]:
            parts.append(output["data"]["text/plain"])
    return "\n".join(parts)


def caller_line() -> int:
    """The line number of the statement that called this (for asserting that an error names it)."""
    return inspect.currentframe().f_back.f_lineno


@pytest.fixture
def fresh_kernel():
    """A reset kernel (and a new recording) before and after the test."""
    import jitnest as nest

    nest.ResetKernel()
    yield
    nest.ResetKernel()
