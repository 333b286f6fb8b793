"""The example notebook runs headless (nbclient + ipykernel) and its outputs say what they should."""

from __future__ import annotations

import re

import nbformat
import pytest
from conftest import ROOT, cell_text, execute_notebook

pytestmark = pytest.mark.slow

NOTEBOOK = ROOT / "examples" / "notebook_demo.ipynb"


@pytest.fixture(scope="module")
def executed():
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    execute_notebook(notebook, NOTEBOOK.parent)  # with progress output: the progress bar is checked
    return [c for c in notebook.cells if c.cell_type == "code"]


def _number_after(pattern: str, text: str) -> int:
    """The number ``pattern`` captures in ``text``; a failure shows the text that was searched."""
    match = re.search(pattern, text, re.M)
    assert match, f"no {pattern!r} in the notebook's output:\n{text}"
    return int(match.group(1))


def test_notebook_outputs(executed):
    text = "\n".join(cell_text(c) for c in executed)
    assert "registered: ['notebook_neuron']" in text
    # Parameters were read before anything was built, in the user's model name.
    assert "model=notebook_neuron, size=5" in text and "V_th = -55.0" in text
    first = _number_after(r"re-run spikes: (\d+)", text)
    assert first == _number_after(r"^spikes: (\d+)", text) > 0  # re-running is reproducible
    assert re.search(r"new neurons: \[8, 9, 10\]", text)
    changed = _number_after(r"after editing the model: (\d+)", text)
    assert 0 < changed < first, "a higher threshold must mean fewer spikes: the edited model must be used"
    assert "V_th now: -52.0 | new module: True" in text


def test_notebook_shows_progress_bar_and_plots(executed):
    # tqdm.auto's bar is a Jupyter widget in a notebook; its plain-text form names the build
    bars = [o["data"]["text/plain"] for c in executed for o in c.get("outputs", [])
            if "application/vnd.jupyter.widget-view+json" in o.get("data", {})]
    assert any("jitnest: building notebook_neuron" in bar for bar in bars), bars
    assert any("image/png" in o.get("data", {}) for c in executed for o in c.get("outputs", []))
