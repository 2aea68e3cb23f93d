"""What the matrix paints ahead, while hidden (js/matrixprep.js, issue 14): behind the model view every
layer's heat maps (each head's and the mean of its heads) and its frame, behind the heads view each head's, behind any view the matrix as its own tab
opens it (the mean or max of the heads shown, prepareTabHeat); so the click that opens it, the first included,
paints no heat map or frame in its frame. Checked in Chromium on ``to_html`` copies by recording every 2D
drawing and bitmap handed to a canvas, with the heat map shown checked against the NumPy weights."""

from __future__ import annotations

import numpy as np
import pytest

from attnwidget import AttentionWidget
from test_browser_matrix_heads import SHOWN, H, weights

pytestmark = pytest.mark.browser

PAINTS = """() => {
  window.__paints = [];
  const wrap = (P, name) => {
    const f = P[name];
    P[name] = function (...a) { window.__paints.push(this.canvas.className); return f.apply(this, a); };
  };
  for (const name of ["putImageData", "fillText", "drawImage", "fillRect"]) wrap(CanvasRenderingContext2D.prototype, name);
  wrap(ImageBitmapRenderingContext.prototype, "transferFromImageBitmap"); // a canvas shown as one bitmap (dom.js paintCanvas)
}"""


def test_a_thumbnail_of_another_layer_opens_heat_maps_painted_beforehand(browser, tmp_path):
    """A static copy of two layers in the model view: the matrix keeps every layer's heat maps (a head's, the
    mean of its heads), painted in idle time, and its frame drawn there too (js/matrixprep.js), so no click on
    a thumbnail, the first included, paints a heat map or the frame (the same tokens on both layers: the
    labels stay; cells too small for numbers), and the heat map shown is that layer's head's or mean's (the
    other layer's mean was made in the click's frame before: 24-32 ms at T = 512)."""
    t = 48
    w0 = weights(t)
    w1 = np.ascontiguousarray(w0.transpose(0, 1, 3, 2))  # head k's strongest cell at (2k + 1, k + 3)
    path = tmp_path / "layers.html"
    AttentionWidget([w0, w1], [f"t{i}" for i in range(t)], view="model").to_html(path)
    pg = browser.new_page()
    pg.goto(path.as_uri())
    pg.locator(".attnwidget canvas.aw-model-canvas").wait_for(timeout=10_000)
    pg.wait_for_function(f"() => document.querySelectorAll('.attnwidget canvas.aw-matrix-heat').length >= {2 * H + 2}", timeout=10_000)
    pg.wait_for_function("() => document.querySelector('.attnwidget').attnwidget.views.matrix.shown() !== null", timeout=10_000)
    pg.evaluate(PAINTS)
    root, canvas = pg.locator(".attnwidget").first, pg.locator(".attnwidget canvas.aw-model-canvas")
    for k, (layer, head) in enumerate([(0, 0), (1, 2), (0, 1), (1, "mean"), (1, 3)]):  # the first: the matrix's first draw
        pg.locator('.attnwidget button[data-view="model"]').click()
        canvas.wait_for(state="visible")
        pg.evaluate("() => { window.__paints = []; }")
        canvas.click(position=root.evaluate("(r, [l, c]) => r.attnwidget.views.model.locate(l, c)", [layer, head]))
        pg.wait_for_function("() => document.querySelector('.attnwidget').attnwidget.app.get('view') === 'matrix'")
        pg.evaluate("() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)))")
        got = pg.evaluate(SHOWN)
        assert root.evaluate("(r) => r.attnwidget.app.get('layer')") == layer
        strongest = [list(np.unravel_index(int(m.argmax()), m.shape)) for m in (w0, w1)[layer][0]]
        if head == "mean":  # one of the heads' strong cells (0.9 / H each, on cells of their own)
            assert got["words"].startswith(f"mean of all {H} heads") and got["darkest"] in strongest
        else:
            assert got["head"] == head and got["darkest"] == strongest[head]
        paints = pg.evaluate("() => window.__paints")  # 2D drawing and bitmaps handed over, by canvas class
        assert not [c for c in paints if c in ("aw-matrix-heat", "aw-matrix-canvas")], (k, paints)
    # one heat map per layer and head (the layer shown first is the same data when it comes back), and the
    # mean of each layer's heads (the first layer's is also what its Matrix tab opens: prepareTabHeat)
    assert pg.evaluate("() => document.querySelectorAll('.attnwidget canvas.aw-matrix-heat').length") == 2 * H + 2


def test_the_first_card_click_paints_no_canvas(browser, tmp_path):
    """The matrix, hidden behind the heads view, draws its frame and legend in idle time too (js/matrixprep.js):
    the click that opens it for the first time paints no canvas of it, and shows the clicked head (48 tokens:
    cells too small for numbers, which differ from head to head)."""
    path = tmp_path / "first.html"
    AttentionWidget(weights(48), [f"t{i}" for i in range(48)], view="heads").to_html(path)
    pg = browser.new_page()
    pg.goto(path.as_uri())
    pg.wait_for_function(f"() => document.querySelectorAll('.attnwidget canvas.aw-matrix-heat').length >= {H}", timeout=10_000)
    pg.wait_for_function("() => document.querySelector('.attnwidget').attnwidget.views.matrix.shown() !== null", timeout=10_000)
    pg.evaluate(PAINTS)
    pg.locator('.attnwidget button.aw-head-card[data-head="2"]').click()
    pg.wait_for_function("() => document.querySelector('.attnwidget').attnwidget.app.get('view') === 'matrix'")
    pg.evaluate("() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)))")
    paints = pg.evaluate("() => window.__paints")
    got = pg.evaluate(SHOWN)
    pg.close()
    assert not [c for c in paints if c.startswith("aw-matrix")], paints
    assert (got["view"], got["head"], got["shown"]) == ("matrix", 2, 1)
    assert got["darkest"] == [5, 5] and got["words"].startswith("head 2")


@pytest.mark.parametrize("first, tabs, ready", [
    ("graph", ("heads", "matrix"), "document.querySelectorAll('.attnwidget canvas.aw-thumb').length === 4"),
    ("model", ("matrix",), f"document.querySelectorAll('.attnwidget canvas.aw-matrix-heat').length >= {2 * H + 2}")])
def test_the_first_tab_clicks_to_heads_and_matrix_paint_no_canvas(browser, tmp_path, first, tabs, ready):
    """Behind the graph, the heads view builds its thumbnails and the matrix draws itself as its tab opens it
    (the mean of the visible heads) in idle time: the first click on either tab paints no canvas. Behind the
    model view, whose clicks open one head, the matrix paints the mean its own tab opens too (prepareTabHeat:
    15 ms of that click's script at T = 512 before)."""
    path = tmp_path / "tabs.html"
    w = weights(48)
    AttentionWidget(w if first == "graph" else [w, np.ascontiguousarray(w.transpose(0, 1, 3, 2))],
                    [f"t{i}" for i in range(48)], view=first).to_html(path)
    pg = browser.new_page()
    pg.goto(path.as_uri())
    pg.wait_for_function("() => { const a = document.querySelector('.attnwidget')?.attnwidget; return a && a.views.matrix.shown() !== null"
                         f" && {ready}; }}", timeout=10_000)
    pg.evaluate(PAINTS)
    # only what a frame paints counts here: the matrix paints each head's heat map in idle time behind heads
    pg.evaluate("""() => { const raf = window.requestAnimationFrame;
      window.requestAnimationFrame = (f) => raf((t) => { const n = window.__paints.length;
        try { f(t); } finally { window.__framePaints = (window.__framePaints || []).concat(window.__paints.slice(n)); } }); }""")
    for view in tabs:
        pg.locator(f'.attnwidget button[data-view="{view}"]').click()
        pg.wait_for_function("(v) => document.querySelector('.attnwidget').attnwidget.app.get('view') === v", arg=view)
        pg.evaluate("() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)))")
    paints = pg.evaluate("() => window.__framePaints || []")
    got = pg.evaluate(SHOWN)
    pg.close()
    assert not [c for c in paints if c.startswith("aw-matrix") or c == "aw-thumb"], paints
    assert got["words"].startswith("mean of")  # the matrix as its tab opens it: every head visible, their mean
