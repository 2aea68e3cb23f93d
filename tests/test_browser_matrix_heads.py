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
    assert page.evaluate("() => document.querySelector('.attnwidget .aw-matrix').hidden")  # not the view shown


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
