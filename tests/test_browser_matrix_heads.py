"""The matrix's heat maps and pin (issue 14). Opening the matrix from the heads view: while the heads view is shown the matrix paints each
head's heat map in idle time and keeps it; a card's click then shows the kept canvas of that head. Checked
in Chromium on a ``to_html`` copy: the canvas shown is the clicked head's (its darkest cell is the cell that
head weights most, from the NumPy weights), the legend's words name it, one heat map is shown at a time,
and no more canvases are kept than heads (plus the one on screen). The pin's labels, now boxes over the
frame canvas, cover the neighbouring labels that the PNG export leaves out."""

from __future__ import annotations

import numpy as np
import pytest

from attnwidget import AttentionWidget
from harness import LAYOUT_READS, PIXELS

pytestmark = pytest.mark.browser

H, T = 4, 24


def weights(t: int = T) -> np.ndarray:
    """(1, H, t, t) softmax-like rows; head k puts 0.9 on one cell of its own, (k + 3, 2k + 1)."""
    rng = np.random.default_rng(5)
    w = rng.uniform(0.2, 1.0, (1, H, t, t)).astype(np.float32)
    w /= w.sum(-1, keepdims=True) / 0.1
    for k in range(H):
        w[0, k, k + 3] *= 0.1 / w[0, k, k + 3].sum()
        w[0, k, k + 3, 2 * k + 1] = 0.9
    return w


SHOWN = """() => {
  const root = document.querySelector(".attnwidget");
  const all = [...root.querySelectorAll("canvas.aw-matrix-heat")], on = all.filter((c) => !c.hidden);
  const c = on[0], px = PIXELS(c);
  let best = -1, lum = Infinity;
  for (let p = 0; p < c.width * c.height; p++) {
    const l = px[4 * p] + px[4 * p + 1] + px[4 * p + 2];
    if (l < lum) { lum = l; best = p; }
  }
  return { canvases: all.length, shown: on.length, darkest: [Math.floor(best / c.width), best % c.width],
           head: root.attnwidget.app.get("head"), view: root.attnwidget.app.get("view"),
           words: [...root.querySelectorAll(".aw-matrix-word")].map((e) => e.textContent).join(" · ") };
}""".replace("PIXELS", PIXELS)


@pytest.fixture(scope="module")
def page(browser, tmp_path_factory):
    path = tmp_path_factory.mktemp("matrix-heads") / "heads.html"
    AttentionWidget(weights(), [f"t{i}" for i in range(T)], view="heads").to_html(path)
    pg = browser.new_page()
    pg.goto(path.as_uri())
    pg.locator(".attnwidget button.aw-head-card").first.wait_for(timeout=10_000)
    return pg


def test_the_heads_are_painted_while_hidden(page):
    page.wait_for_function(f"() => document.querySelectorAll('.attnwidget canvas.aw-matrix-heat').length >= {H}",
                           timeout=10_000)
    assert page.locator(".attnwidget .aw-matrix").is_hidden()


@pytest.mark.parametrize("head", [2, 0, 3])
def test_a_card_opens_its_own_head(page, head):
    w = weights()[0, head]
    page.locator('.attnwidget button[data-view="heads"]').click()
    page.locator(f'.attnwidget button.aw-head-card[data-head="{head}"]').click()
    page.wait_for_function("() => document.querySelector('.attnwidget').attnwidget.app.get('view') === 'matrix'")
    page.evaluate("() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)))")
    got = page.evaluate(SHOWN)
    assert (got["view"], got["head"], got["shown"]) == ("matrix", head, 1)
    assert got["darkest"] == list(np.unravel_index(int(w.argmax()), w.shape)) == [head + 3, 2 * head + 1]
    assert got["words"].startswith(f"head {head}")
    assert got["canvases"] <= H + 1



def test_enter_on_a_card_hands_the_focus_to_the_matrix(page):
    """The card is hidden with its view: the focus goes to the matrix's canvas, whose arrows move the pin."""
    page.locator('.attnwidget button[data-view="heads"]').click()
    page.evaluate("() => document.querySelector('.attnwidget').attnwidget.app.release()")
    card = page.locator('.attnwidget button.aw-head-card[data-head="1"]')
    card.wait_for(state="visible")  # the view shows in the frame after the tab's click; a hidden card takes no focus
    card.focus()
    page.keyboard.press("Enter")
    page.wait_for_function("() => document.querySelector('.attnwidget').attnwidget.app.get('view') === 'matrix'")
    page.evaluate("() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)))")
    assert page.evaluate("() => document.activeElement.className") == "aw-matrix-canvas"
    page.keyboard.press("ArrowDown")
    page.keyboard.press("ArrowRight")
    got = page.evaluate("() => { const a = document.querySelector('.attnwidget').attnwidget.app; return [a.get('selected_query'), a.get('selected_key')]; }")
    assert got == [0, 1]  # ArrowDown pins the first cell, ArrowRight moves it one key on


MASKS = """() => {
  const root = document.querySelector(".attnwidget"), r = (s) => root.querySelector(s).getBoundingClientRect();
  const box = (s) => { const b = r(s); return [b.left, b.top, b.right, b.bottom]; };
  const km = [...root.querySelectorAll(".aw-matrix-pin-kmask")].map((e) => e.getBoundingClientRect());
  return { row: box(".aw-matrix-pin-row"), col: box(".aw-matrix-pin-col"), qmask: box(".aw-matrix-pin-qmask"),
           kmask: [Math.min(...km.map((b) => b.left)), Math.min(...km.map((b) => b.top)), Math.max(...km.map((b) => b.right)), Math.max(...km.map((b) => b.bottom))], qlabel: box(".aw-matrix-pin-qlabel"),
           hidden: [...root.querySelectorAll(".aw-matrix-pin-qmask, .aw-matrix-pin-kmask")].map((e) => e.hidden) };
}"""


def test_the_pins_labels_cover_the_neighbours_they_crowd(browser, tmp_path):
    """200 tokens: labels every few rows and columns; a pin between two of them covers those two (as the
    PNG export leaves them out), not the next ones."""
    t, q, k = 200, 10, 10
    path = tmp_path / "pin.html"
    w = np.full((1, 1, t, t), 1 / t, np.float32)
    AttentionWidget(w, [f"t{i}" for i in range(t)], view="matrix").to_html(path)
    pg = browser.new_page()
    pg.goto(path.as_uri())
    pg.locator(".attnwidget canvas.aw-matrix-canvas").wait_for(timeout=10_000)
    pg.evaluate(f"() => document.querySelector('.attnwidget').attnwidget.app.set({{selected_query: {q}, selected_key: {k}}})")
    pg.evaluate("() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)))")
    got = pg.evaluate(MASKS)
    assert got["hidden"] == [False, False, False]  # the query mask and one key mask each side
    ch = got["row"][3] - got["row"][1] - 4  # the row outline: the cell's height + 2 px each side
    top = got["row"][1] + 2 - q * ch
    step = int(np.ceil(13 / ch))  # layout.js: a query label every ceil((12 px + 1) / cell height) rows
    hidden = [i for i in range(0, t, step) if i != q and abs(i - q) < step]
    grid = [i for i in range(0, t, step) if i not in hidden]
    shown = [max(i for i in grid if i < q), min(i for i in grid if i > q)]  # the next labels each side stay
    centre = lambda i: top + (i + 0.5) * ch  # noqa: E731
    assert len(hidden) == 2 and all(got["qmask"][1] <= centre(i) - 6 and centre(i) + 6 <= got["qmask"][3] for i in hidden)
    assert all(not (got["qmask"][1] < centre(i) < got["qmask"][3]) for i in shown)
    assert got["qmask"][2] <= got["row"][0]  # left of the cells
    assert got["kmask"][3] <= got["col"][1] + 2  # above the cells (rotated labels)


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
    """A static copy of two layers in the model view: the matrix keeps every layer's heat maps, painted in
    idle time, and its frame drawn there too (js/matrixprep.js), so no click on a thumbnail, the first
    included, paints a heat map or the frame (the same tokens on both layers: the labels stay; cells too
    small for numbers), and the heat map shown is that layer's head's."""
    t = 48
    w0 = weights(t)
    w1 = np.ascontiguousarray(w0.transpose(0, 1, 3, 2))  # head k's strongest cell at (2k + 1, k + 3)
    path = tmp_path / "layers.html"
    AttentionWidget([w0, w1], [f"t{i}" for i in range(t)], view="model").to_html(path)
    pg = browser.new_page()
    pg.goto(path.as_uri())
    pg.locator(".attnwidget canvas.aw-model-canvas").wait_for(timeout=10_000)
    pg.wait_for_function(f"() => document.querySelectorAll('.attnwidget canvas.aw-matrix-heat').length >= {2 * H}", timeout=10_000)
    pg.wait_for_function("() => document.querySelector('.attnwidget').attnwidget.views.matrix.shown() !== null", timeout=10_000)
    pg.evaluate(PAINTS)
    root, canvas = pg.locator(".attnwidget").first, pg.locator(".attnwidget canvas.aw-model-canvas")
    for k, (layer, head) in enumerate([(0, 0), (1, 2), (0, 1), (1, 3)]):  # the first: the matrix's first draw
        pg.locator('.attnwidget button[data-view="model"]').click()
        canvas.wait_for(state="visible")
        pg.evaluate("() => { window.__paints = []; }")
        canvas.click(position=root.evaluate(f"(r) => r.attnwidget.views.model.locate({layer}, {head})"))
        pg.wait_for_function("() => document.querySelector('.attnwidget').attnwidget.app.get('view') === 'matrix'")
        pg.evaluate("() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)))")
        got = pg.evaluate(SHOWN)
        assert root.evaluate("(r) => r.attnwidget.app.get('layer')") == layer and got["head"] == head
        want = (w0, w1)[layer][0, head]
        assert got["darkest"] == list(np.unravel_index(int(want.argmax()), want.shape))
        paints = pg.evaluate("() => window.__paints")  # 2D drawing and bitmaps handed over, by canvas class
        assert not [c for c in paints if c in ("aw-matrix-heat", "aw-matrix-canvas")], (k, paints)
    # one heat map per layer and head (the layer shown first is the same data when it comes back), and the
    # mean of the first layer's heads, which the Matrix tab opens (matrixprep.js prepareTabHeat)
    assert pg.evaluate("() => document.querySelectorAll('.attnwidget canvas.aw-matrix-heat').length") == 2 * H + 1


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
    ("model", ("matrix",), f"document.querySelectorAll('.attnwidget canvas.aw-matrix-heat').length === {2 * H + 1}")])
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


def test_a_card_click_on_sparse_data_reads_no_layout_in_its_frame(browser, tmp_path, monkeypatch):
    """Sparse data shows a notice above the matrix; its height matters only on a slide, so the frame that
    opens the matrix from a card does not read it (a read there laid the page out at T = 4,096)."""
    from attnwidget import codec

    monkeypatch.setattr(codec, "SPARSE_THRESHOLD", 0)  # every slice sparse: the notice shows
    path = tmp_path / "sparse.html"
    AttentionWidget(weights(48), [f"t{i}" for i in range(48)], view="heads").to_html(path)
    pg = browser.new_page()
    pg.goto(path.as_uri())
    root = pg.locator(".attnwidget").first
    root.locator("button.aw-head-card").first.wait_for(timeout=10_000)
    pg.evaluate(LAYOUT_READS, [root.element_handle(), ".aw-matrix-notice", ".aw-matrix", "offsetHeight"])
    root.locator('button.aw-head-card[data-head="1"]').click()
    pg.wait_for_function("() => document.querySelector('.attnwidget').attnwidget.app.get('view') === 'matrix'")
    pg.evaluate("() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)))")
    notice = root.locator(".aw-matrix-notice").text_content()
    reads = pg.evaluate("() => window.__reads")
    pg.close()
    assert "each cell: max of a" in notice  # the notice is shown
    assert "frame that shows it" not in reads, reads


DOTS = """() => [...document.querySelectorAll(".attnwidget .aw-head-stats")].map((box) => {
  const [a, b] = box.querySelectorAll(".aw-head-stat"), dot = box.querySelector(".aw-head-sep");
  const r = (e) => e.getBoundingClientRect(), clip = r(box);
  const range = document.createRange();
  range.selectNodeContents(a);
  const first = [...range.getClientRects()].pop(); // the first figure's text (its pad left out)
  return { wrapped: r(b).top > r(a).top + 1, dotShown: r(dot).right > clip.left + 0.5 && r(dot).left < clip.right - 0.5,
           dotAfterFirst: r(dot).left >= first.right - 0.5, firstShown: first.left >= clip.left - 0.5 };
})"""


@pytest.mark.parametrize("width,wrapped", [(900, True), (700, False)])
def test_a_card_never_ends_a_line_with_the_dot(browser, tmp_path, width, wrapped):
    """A card's two figures ("max 0.309 · entropy 2.18") wrap onto two lines in a narrow card: the dot between
    them is then out of sight, not left at the end of the first line; on one line it shows between them. 12 heads
    at 900 px make six narrow cards a row; at 700 px four wider ones."""
    rng = np.random.default_rng(0)
    x = np.exp(rng.standard_normal((1, 12, 12, 12)))
    path = tmp_path / "dots.html"
    AttentionWidget((x / x.sum(-1, keepdims=True)).astype("float32"), [f"t{i}" for i in range(12)], view="heads").to_html(path)
    pg = browser.new_page(width=width, height=700)
    pg.goto(path.as_uri())
    pg.locator(".attnwidget button.aw-head-card").first.wait_for(timeout=10_000)
    cards = pg.evaluate(DOTS)
    pg.close()
    assert len(cards) == 12 and all(c["firstShown"] for c in cards), cards
    assert all(c["wrapped"] == wrapped for c in cards), cards
    assert all(c["dotShown"] != wrapped and (wrapped or c["dotAfterFirst"]) for c in cards), cards


def test_hidden_keys_are_named_in_the_notices(browser, tmp_path):
    """A widget with a key hidden (hidden_keys, attnwidget/hide.py) says which, and what the weights shown are."""
    toks = ["<s>"] + [f"t{i}" for i in range(1, T)]
    path = tmp_path / "hidden.html"
    x = np.exp(np.random.default_rng(1).standard_normal((1, H, T, T)))
    AttentionWidget((x / x.sum(-1, keepdims=True)).astype("float32"), toks, hidden_keys=[0], view="matrix").to_html(path)
    pg = browser.new_page()
    pg.goto(path.as_uri())
    pg.locator(".attnwidget .aw-notice").first.wait_for(timeout=10_000)
    notices = pg.evaluate("() => [...document.querySelectorAll('.attnwidget .aw-notice')].map((e) => e.textContent)")
    column = pg.evaluate("() => { const d = document.querySelector('.attnwidget').attnwidget.app.data; "
                         "return Array.from({ length: d.Q }, (_, i) => d.mask[i * d.K]); }")
    pg.close()
    assert notices[0] == ("key 0 ‘<s>’ hidden: each query's weights renormalised over the other keys "
                          "(the explain view shows the layer's own)"), notices
    assert column == [0] * T


def test_a_key_hidden_in_weights_from_queries_and_keys_is_named_and_left_out(browser, tmp_path):
    """from_qk with hidden_keys (the keys masked, attnwidget/qkscores.py): the page's notice names the key, and
    no query's strongest keys include it, though it is the strongest key of every row unhidden."""
    n = 40
    rng = np.random.default_rng(4)
    q, k = rng.standard_normal((2, H, n, 8)).astype("float32")
    q += 1.0
    k[:, 0] = 3.0  # key 0 a sink: every query leans towards it
    toks = ["<s>"] + [f"t{i}" for i in range(1, n)]
    top = "() => { const d = document.querySelector('.attnwidget').attnwidget.app.data; return [d.k, Array.from(d.idx)]; }"
    seen = {}
    for hidden in ([], [0]):
        path = tmp_path / f"qk-hidden-{len(hidden)}.html"
        AttentionWidget.from_qk(q, k, toks, hidden_keys=hidden, view="graph").to_html(path)
        pg = browser.new_page()
        pg.goto(path.as_uri())
        pg.locator(".attnwidget .aw-lines").first.wait_for(timeout=10_000)
        kk, idx = pg.evaluate(top)
        notices = pg.evaluate("() => [...document.querySelectorAll('.attnwidget .aw-notice')].map((e) => e.textContent)")
        pg.close()
        seen[len(hidden)] = (np.array(idx).reshape(H, n, kk), notices)
    assert (seen[0][0] == 0).any(-1).all(), "key 0 is not among every query's strongest keys unhidden"
    assert not (seen[1][0] == 0).any(), "a hidden key among a query's strongest keys"
    assert any(t.startswith("key 0 ‘<s>’ hidden: each query's weights renormalised") for t in seen[1][1]), seen[1][1]
