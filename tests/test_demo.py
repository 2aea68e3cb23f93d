"""demo.ipynb runs top to bottom in a fresh kernel (nbclient), and its widgets carry the lecture's shapes."""

from __future__ import annotations

import json
import pathlib

import nbformat
from nbclient import NotebookClient

ROOT = pathlib.Path(__file__).resolve().parents[1]


def test_demo_notebook_executes(tmp_path):
    nb = nbformat.read(ROOT / "demo.ipynb", as_version=4)
    NotebookClient(nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(ROOT)}}).execute()
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []) if o.output_type == "error"]
    assert errors == []
    texts = "\n".join(o.get("data", {}).get("text/plain", "") for c in nb.cells if c.cell_type == "code"
                      for o in c.get("outputs", []))
    assert "((1, 8, 16), (1, 2, 8, 4))" in texts  # the lecture's shapes
    assert "'it'" in texts
    views = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])
             if "application/vnd.jupyter.widget-view+json" in o.get("data", {})]
    assert len(views) >= 6
    state = nb.metadata["widgets"]["application/vnd.jupyter.widget-state+json"]["state"]
    models = [m for m in state.values() if m["model_name"] == "AnyModel"]
    assert models and all(m["state"]["query_tokens"] for m in models)
    nbformat.write(nb, tmp_path / "executed.ipynb")
    json.loads((tmp_path / "executed.ipynb").read_text())
