"""The example notebook runs headless (nbclient + ipykernel) and its outputs say what they should."""

from __future__ import annotations

import os
import re
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

pytestmark = pytest.mark.slow

NOTEBOOK = Path(__file__).resolve().parents[1] / "examples" / "notebook_demo.ipynb"


def _text(cell) -> str:
    parts = []
    for output in cell.get("outputs", []):
        if output.get("output_type") == "stream":
            parts.append(output["text"])
        elif "data" in output and "text/plain" in output["data"]:
            parts.append(output["data"]["text/plain"])
    return "\n".join(parts)


@pytest.fixture(scope="module")
def executed():
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    env_before = os.environ.get("JITNEST_QUIET")
    os.environ["JITNEST_QUIET"] = "0"  # the progress bar is part of what is checked
    try:
        # nbclient waits only 4 s for a cell's last outputs after its reply and then drops them
        # silently; on a loaded CI machine that lost a cell's print once. Wait longer, and fail loudly.
        NotebookClient(notebook, timeout=900, kernel_name="python3", iopub_timeout=120,
                       raise_on_iopub_timeout=True,
                       resources={"metadata": {"path": str(NOTEBOOK.parent)}}).execute()
    finally:
        if env_before is None:
            os.environ.pop("JITNEST_QUIET")
        else:
            os.environ["JITNEST_QUIET"] = env_before
    return [c for c in notebook.cells if c.cell_type == "code"]


def test_notebook_outputs(executed):
    text = "\n".join(_text(c) for c in executed)
    assert "registered: ['notebook_neuron']" in text
    # Parameters were read before anything was built, in the user's model name.
    assert "model=notebook_neuron, size=5" in text and "V_th = -55.0" in text
    first = int(re.search(r"re-run spikes: (\d+)", text).group(1))
    assert first == int(re.search(r"^spikes: (\d+)", text, re.M).group(1)) > 0  # re-running is reproducible
    assert re.search(r"new neurons: \[8, 9, 10\]", text)
    changed = int(re.search(r"after editing the model: (\d+)", text).group(1))
    assert 0 < changed < first, "a higher threshold must mean fewer spikes: the edited model must be used"
    assert "V_th now: -52.0 | new module: True" in text


def test_notebook_shows_progress_bar_and_plots(executed):
    html = [o["data"]["text/html"] for c in executed for o in c.get("outputs", [])
            if "data" in o and "text/html" in o["data"]]
    assert any("<progress" in h and "notebook_neuron" in h for h in html)
    assert any("image/png" in o.get("data", {}) for c in executed for o in c.get("outputs", []))
