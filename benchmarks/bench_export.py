"""What one attention widget adds to a notebook and to an exported page, for T = 64 and 512.

A notebook that makes an 8-head T×T widget is executed by nbclient twice, once displaying the
widget and once not; the difference in the saved .ipynb (with and without the widget state nbclient
stores) and in the ``--to attnwidget_html`` page is what the widget costs.

    python benchmarks/bench_export.py
"""

from __future__ import annotations

import copy

import nbformat
from nbclient import NotebookClient
from nbconvert.exporters import get_exporter

MAKE = """import numpy as np
from attnwidget import AttentionWidget
rng = np.random.default_rng(0)
x = rng.standard_normal((8, {t}, {t})).astype("float32")
s = np.exp(x) / np.exp(x).sum(-1, keepdims=True)
w = AttentionWidget(s, [f"t{{i}}" for i in range({t})])"""


def executed(t: int, show: bool):
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(MAKE.format(t=t)), nbformat.v4.new_code_cell("w" if show else "w;")]
    NotebookClient(nb, timeout=300, kernel_name="python3").execute()
    return nb


def size(nb) -> int:
    return len(nbformat.writes(nb).encode())


def without_state(nb):
    nb = copy.deepcopy(nb)
    nb.metadata.pop("widgets", None)
    return nb


def page(nb) -> int:
    body, _ = get_exporter("attnwidget_html")().from_notebook_node(nb)
    return len(body.encode())


def kib(n: int, weights: int) -> str:
    return f"{n / 1024:,.0f} KiB ({n / weights:.2f} B/weight)"


def main() -> None:
    print("| T | weights (8 heads) | outputs in the .ipynb | widget state nbclient adds | exported page |")
    print("|---|---|---|---|---|")
    for t in (64, 512):
        shown, hidden = executed(t, True), executed(t, False)
        weights = 8 * t * t
        outputs = size(without_state(shown)) - size(without_state(hidden))
        state = size(shown) - size(without_state(shown))
        exported = page(shown) - page(hidden)
        print(f"| {t} | {weights:,} | {kib(outputs, weights)} | {kib(state, weights)} | {kib(exported, weights)} |")


if __name__ == "__main__":
    main()
