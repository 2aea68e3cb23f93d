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


def open_matrix(browser, tmp_path):
    """A ``to_html`` copy shown on the matrix, open in a page: (page, its canvas's locator)."""
    path = tmp_path / "matrix.html"
    widget("matrix").to_html(path)
    page = browser.new_page()
    page.goto(path.as_uri())
    canvas = page.locator(".attnwidget canvas.aw-matrix-canvas")
    canvas.wait_for(timeout=10_000)
    page.wait_for_timeout(300)
    return page, canvas


def inside(tip, root):
    return tip["left"] >= root["left"] - 1 and tip["right"] <= root["right"] + 1 and tip["top"] >= root["top"] - 1


def test_a_matrix_cell_tooltip_goes_beside_the_pointer_inside_the_widget(browser, tmp_path):
    page, canvas = open_matrix(browser, tmp_path)
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


TIP_RECORD = """() => { window.__tipRecords = [];
  new MutationObserver((rs) => { window.__tipRecords.push(...rs.map((r) => r.type)); })
    .observe(document.querySelector('.aw-tooltip'), { subtree: true, childList: true, attributes: true, characterData: true }); }"""
TIP = "() => { const t = document.querySelector('.aw-tooltip'); return { hidden: t.hidden, title: t.firstChild?.textContent, left: t.style.left }; }"
SERIAL = "() => document.querySelector('.attnwidget').attnwidget.app.tooltip.serial"


def test_a_move_within_a_cell_moves_the_tooltip_without_rebuilding_it(browser, tmp_path):
    """The matrix's tooltip follows the pointer; a move that keeps its text only moves it (no node made or dropped)."""
    page, canvas = open_matrix(browser, tmp_path)
    box = canvas.bounding_box()
    x, y = box["x"] + box["width"] * 0.3, box["y"] + box["height"] * 0.5
    page.mouse.move(x, y)
    page.wait_for_function("() => !document.querySelector('.aw-tooltip').hidden", timeout=5_000)
    before = page.evaluate(TIP)
    page.evaluate(TIP_RECORD)
    page.mouse.move(x + 1, y)  # a cell is wider than a pixel here (24 keys)
    page.wait_for_function("(l) => document.querySelector('.aw-tooltip').style.left !== l", arg=before["left"], timeout=5_000)
    after, kinds = page.evaluate(TIP), page.evaluate("() => window.__tipRecords")
    page.close()
    assert after["title"] == before["title"] and not after["hidden"], (before, after)
    assert kinds and set(kinds) == {"attributes"}, kinds  # its style (left) only


def test_a_model_thumbnail_move_to_the_same_spot_does_nothing_unless_the_tooltip_changed_since(browser, tmp_path):
    """A click's own move (a mousemove where the pointer already is) leaves the model view's tooltip as it is, with no
    work; after the keyboard moved the tooltip to its focus ring, the same move shows the pointer's thumbnail again."""
    w = np.random.default_rng(5).random((2, 1, 2, T, T)).astype(np.float32)
    path = tmp_path / "model.html"
    AttentionWidget(list(w / w.sum(-1, keepdims=True)), [f"token{i}" for i in range(T)], view="model").to_html(path)
    page = browser.new_page()
    page.goto(path.as_uri())
    canvas = page.locator(".attnwidget canvas.aw-model-canvas")
    canvas.wait_for(timeout=10_000)
    page.wait_for_timeout(300)
    pos, box = page.evaluate("() => document.querySelector('.attnwidget').attnwidget.views.model.locate(1, 1)"), canvas.bounding_box()
    x, y = box["x"] + pos["x"], box["y"] + pos["y"]
    page.mouse.move(x, y)
    page.wait_for_function("() => !document.querySelector('.aw-tooltip').hidden", timeout=5_000)
    first, serial = page.evaluate(TIP), page.evaluate(SERIAL)
    page.evaluate(TIP_RECORD)
    page.mouse.move(x, y)
    page.wait_for_timeout(100)
    assert (page.evaluate(SERIAL), page.evaluate("() => window.__tipRecords")) == (serial, [])
    canvas.focus()
    page.keyboard.press("ArrowDown")  # the ring on another thumbnail, its tooltip there
    page.wait_for_function("(t) => document.querySelector('.aw-tooltip').firstChild?.textContent !== t", arg=first["title"], timeout=5_000)
    page.mouse.move(x, y)
    page.wait_for_function("(t) => document.querySelector('.aw-tooltip').firstChild?.textContent === t", arg=first["title"], timeout=5_000)
    assert page.evaluate(TIP) == first
    page.close()
