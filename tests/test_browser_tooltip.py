"""Where the tooltip goes (js/tooltip.js), in Chromium on a ``to_html`` copy: beside the pointer or the token,
on the side away from the widget's centre, inside the widget, never over what it describes. Its place is
found without reading its own size (a read after writing its text lays the page out in the hover's event)."""

from __future__ import annotations

import numpy as np
import pytest

from attnwidget import AttentionWidget
from harness import LAYOUT_READS

pytestmark = pytest.mark.browser

T = 24
BOXES = """() => { const r = (s) => { const b = document.querySelector(s).getBoundingClientRect();
  return { left: b.left, right: b.right, top: b.top, bottom: b.bottom }; };
  return { root: r('.attnwidget'), tip: r('.aw-tooltip'), hidden: document.querySelector('.aw-tooltip').hidden }; }"""


def widget(view: str, **kw):
    w = np.random.default_rng(4).random((1, 2, T, T)).astype(np.float32)
    return AttentionWidget(w / w.sum(-1, keepdims=True), [f"token{i}" for i in range(T)], view=view, **kw)


def inside(tip, root):
    return tip["left"] >= root["left"] - 1 and tip["right"] <= root["right"] + 1 and tip["top"] >= root["top"] - 1


def test_a_matrix_cell_tooltip_goes_beside_the_pointer_inside_the_widget(browser, tmp_path):
    path = tmp_path / "matrix.html"
    widget("matrix").to_html(path)
    page = browser.new_page()
    page.goto(path.as_uri())
    canvas = page.locator(".attnwidget canvas.aw-matrix-canvas")
    canvas.wait_for(timeout=10_000)
    page.wait_for_timeout(300)
    page.evaluate(LAYOUT_READS, [page.locator(".attnwidget").element_handle(), ".aw-tooltip", ".aw-matrix", "offsetWidth"])
    box = canvas.bounding_box()
    shown = "() => !document.querySelector('.aw-tooltip').hidden"
    # a cell in the left half, and the rightmost cell of a row (the legend may be right of the cells)
    for fxs in ((0.25,), (0.97, 0.94, 0.91, 0.88, 0.85, 0.82, 0.79, 0.76, 0.73, 0.7)):
        for fx in fxs:
            x, y = box["x"] + box["width"] * fx, box["y"] + box["height"] * 0.5
            page.mouse.move(x, y)
            page.wait_for_timeout(100)
            if page.evaluate(shown):
                break
        page.wait_for_function(shown, timeout=5_000)
        got = page.evaluate(BOXES)
        tip = got["tip"]
        assert inside(tip, got["root"]), (fx, got)
        if fx < 0.5:
            assert tip["left"] > x, (x, tip)  # right of the pointer
        else:
            assert tip["right"] < x, (x, tip)  # left of it, not off the widget
        page.mouse.move(2, 2)
    assert page.evaluate("() => window.__reads") == [], "the tooltip's own size was read"
    page.close()


def test_a_token_tooltip_goes_beside_the_token(browser, tmp_path):
    path = tmp_path / "graph.html"
    widget("graph", selected_query=3).to_html(path)
    page = browser.new_page()
    page.goto(path.as_uri())
    for side in ("key", "query"):
        tok = page.locator(f'.attnwidget [data-side="{side}"][data-index="5"]')
        tok.wait_for(timeout=10_000)
        if side == "query":  # a query's tooltip needs a pinned key
            page.evaluate("() => document.querySelector('.attnwidget').attnwidget.app.set({ selected_query: null, selected_key: 3 })")
            page.wait_for_timeout(200)
        tok.hover()
        page.wait_for_function("() => !document.querySelector('.aw-tooltip').hidden", timeout=5_000)
        got, b = page.evaluate(BOXES), tok.bounding_box()
        tip = got["tip"]
        assert inside(tip, got["root"]), (side, got)
        # the key column is on the right: its tooltip on the token's left; a query's on its right
        assert (tip["right"] <= b["x"]) if side == "key" else (tip["left"] >= b["x"] + b["width"]), (side, tip, b)
        page.mouse.move(2, 2)
    page.close()
