"""``jitnest.provenance()`` / ``write_provenance()`` after a real build and Simulate.

The network is the tiny NESTML neuron of the cache tests, built in the session's cache (shared
with test_cli, so the module is compiled once per session), in a fresh process that sets the
kernel settings the record must report.
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

import pytest
from conftest import ROOT, last_json, run_python

pytestmark = pytest.mark.slow

MODEL = ROOT / "tests" / "models" / "tiny_neuron.nestml"

NETWORK = """
import json, sys
import jitnest as nest

nest.add_model_file({model!r})
nest.ResetKernel()
nest.resolution = 0.2
nest.rng_seed = 4321
neurons = nest.Create("tiny_neuron", 3, params={{"I_e": 500.0}})
recorder = nest.Create("spike_recorder")
nest.Connect(neurons, recorder)
nest.Simulate(100.0)
written = nest.write_provenance({out!r})
folder = nest.write_provenance({folder!r})
print(json.dumps({{"events": recorder.get("n_events"), "record": nest.provenance(),
                  "written": str(written), "folder": str(folder)}}))
"""


@pytest.fixture(scope="module")
def run(tmp_path_factory) -> dict:
    where = tmp_path_factory.mktemp("provenance")
    (where / "results").mkdir()
    code = NETWORK.format(model=str(MODEL), out=str(where / "out" / "provenance.json"),
                          folder=str(where / "results"))
    result = last_json(run_python(code))
    assert result["events"] > 0
    return result


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_modules_with_their_sources_and_hashes(run):
    record = run["record"]
    assert record["network_built"] is True
    (module,) = record["modules"]
    assert module["unit"] == "tiny_neuron"
    assert [m["name"] for m in module["models"]] == ["tiny_neuron_nestml"]
    (source,) = module["sources"]
    assert source["model"] == "tiny_neuron"
    assert Path(source["path"]).resolve() == MODEL.resolve()
    assert source["sha256"] == _sha256(MODEL)
    assert source["unchanged_since_build"] is True
    module_file = Path(module["module"])
    assert module["module_sha256"] == _sha256(module_file)
    assert module["module_sha256_verified"] is True
    assert module["cache_key"] == module_file.parent.name
    assert module["combination"]["neuron"] == "tiny_neuron"


def test_versions_compiler_flags_and_build_time(run):
    (module,) = run["record"]["modules"]
    versions = module["versions"]
    assert versions["nestml"] and versions["jitnest"] and versions["compiler"]
    assert versions["nest"] == run["record"]["versions"]["nest"]
    assert module["compiler"] and Path(module["compiler"]).name
    assert isinstance(module["flags"]["extra_flags"], list)
    assert module["flags"]["cmake_definitions"]["CMAKE_BUILD_TYPE"] == "Release"
    assert module["built"] and module["build_seconds"] > 0


def test_run_context(run):
    record = run["record"]
    kernel = record["kernel"]
    assert kernel["resolution"] == pytest.approx(0.2)
    assert kernel["rng_seed"] == 4321
    assert kernel["local_num_threads"] == 1 and kernel["total_num_virtual_procs"] == 1
    assert kernel["biological_time"] == pytest.approx(100.0)
    assert record["python"]["version"].split()[0] == sys.version.split()[0]
    assert record["platform"]["system"] and record["platform"]["machine"]
    assert record["date"][:4].isdigit()
    assert record["versions"]["jitnest"]


def test_write_provenance_writes_valid_json(run, tmp_path):
    written = Path(run["written"])
    assert written.name == "provenance.json"
    on_disk = json.loads(written.read_text())
    assert on_disk["modules"] == run["record"]["modules"]
    assert on_disk["kernel"] == run["record"]["kernel"]
    assert "sumatra" not in on_disk  # sumatra is not installed here, or this is no Sumatra record
    folder = Path(run["folder"])
    assert folder.name == "provenance.json" and folder.parent.name == "results"
    assert json.loads(folder.read_text())["modules"] == run["record"]["modules"]
