"""In a notebook, the build starts after the cell that recorded the network, not at Simulate.

Runs a real Jupyter kernel (nbclient + ipykernel). The model is the tiny test neuron with a
parameter unique to this run, so its module is certainly not in the cache yet.
"""

from __future__ import annotations

import json

import nbformat
import pytest
from conftest import ROOT, cell_text, execute_notebook, new_tiny_source

pytestmark = pytest.mark.slow


def test_build_runs_between_cells() -> None:
    source = new_tiny_source("prebuilt_neuron")
    cells = [
        f"import time, json\nimport jitnest as nest\nnest.add_model_source({source!r})\n"
        "neurons = nest.Create('prebuilt_neuron', 2, params={'I_e': 500.0})\n"
        "recorder = nest.Create('spike_recorder')\nnest.Connect(neurons, recorder)",
        # The user reads for a while; meanwhile the module must land in the cache.
        "from jitnest.compile.builder import unit_key\nfrom jitnest.record.session import SESSION\n"
        "units = SESSION.requirements.plan().sorted_units()\n"
        "keys = [unit_key(u, SESSION.builder.toolchain) for u in units]\n"
        "deadline = time.monotonic() + 300\n"
        "while not all(SESSION.cache.is_published(k) for k in keys) and time.monotonic() < deadline:\n"
        "    time.sleep(0.2)\n"
        "print('prebuilt:', all(SESSION.cache.is_published(k) for k in keys), 'pending:', SESSION.pending)",
        "nest.Simulate(100.0)\n"
        "print(json.dumps({'report': nest.build_report(), 'spikes': recorder.n_events}))",
    ]
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
    execute_notebook(notebook, ROOT, timeout=600)  # with progress output: the background-build notice is checked
    recorded, waited, simulated = (cell_text(c) for c in notebook.cells)
    assert "building prebuilt_neuron in the background" in recorded
    assert "prebuilt: True pending: True" in waited  # built, and still only recorded
    result = json.loads(simulated.strip().splitlines()[-1])
    assert result["report"]["prebuilt_neuron"]["built_here"] is True  # compiled by this kernel, between cells
    assert result["spikes"] > 0
