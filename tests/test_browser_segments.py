"""BertViz's ``sentence_b_start`` and ``display_mode`` in Chromium (issue #12): a ``to_html`` copy of
``head_view(..., sentence_b_start=3, display_mode="dark")`` draws the two sentences apart (a gap and a divider
in the graph, a divider in the matrix) on a dark background, read from the DOM's geometry and the canvases'
pixels; a forced theme wins over the page's, and the default follows it."""

from __future__ import annotations

import numpy as np
import pytest

from attnwidget import head_view, model_view
from harness import PIXELS

pytestmark = pytest.mark.browser

TOKENS = ["[CLS]", "the", "cat", "[SEP]", "it", "sat", "[SEP]"]
S = 3  # sentence B starts at token 3
DARK_BG, DARK_BORDER, DARK_FG = [17, 17, 17], [97, 97, 97], [255, 255, 255]  # JupyterLab dark (js/theme.js)
# A page whose theme is dark, as JupyterLab's dark theme sets it on <body>.
DARK_PAGE = "body { --jp-layout-color0: #111111; --jp-ui-font-color0: #ffffff; }"


def attention(layers=2, heads=2, n=len(TOKENS)):
    """Uniform weights: every matrix cell one dark colour, so the divider is the one long bright line."""
    return tuple(np.full((1, heads, n, n), 1.0 / n, np.float32) for _ in range(layers))


def open_copy(browser, tmp_path, name, style=None, make=head_view, ready=".attnwidget .aw-tok", **kwargs):
    path = tmp_path / f"{name}.html"
    text = make(attention(), TOKENS, **kwargs).to_html()
    path.write_text(text.replace("</head>", f"<style>{style}</style></head>", 1) if style else text, encoding="utf-8")
    page = browser.new_page(color_scheme="light")
    page.goto(path.as_uri())
    page.locator(ready).first.wait_for(timeout=10_000)
    page.evaluate("() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)))")
    return page


GRAPH = """(s) => {
  const root = document.querySelector(".attnwidget");
  const tops = (side) => [...Array(7).keys()].map((i) => root.querySelector(`[data-side="${side}"][data-index="${i}"]`).getBoundingClientRect());
  const canvas = root.querySelector("canvas.aw-lines"), box = canvas.getBoundingClientRect(), r = canvas.width / box.width;
  const all = PIXELS(canvas), q = tops("query");
  const px = (x, y) => { const i = 4 * (Math.floor(y * r) * canvas.width + Math.floor(x * r)); return [...all.slice(i, i + 4)]; };
  const mid = (a, b) => (q[a].bottom + q[b].top) / 2 - box.top;
  return {
    steps: Object.fromEntries(["query", "key"].map((side) => { const t = tops(side); return [side, t.slice(1).map((b, i) => b.top - t[i].top)]; })),
    columns: ["query", "key"].map((side) => getComputedStyle(root.querySelector(`.aw-col-${side}`)).backgroundImage),
    divider: px(2, mid(s - 1, s)), between: px(2, mid(0, 1)),
    bg: getComputedStyle(root).backgroundColor, dark: root.attnwidget.app.ui.theme.dark, mode: root.dataset.awTheme,
  };
}""".replace("PIXELS", PIXELS)


def test_the_graph_draws_the_two_sentences_apart_on_dark(browser, tmp_path):
    page = open_copy(browser, tmp_path, "graph", sentence_b_start=S, display_mode="dark")
    got = page.evaluate(GRAPH, S)
    for side in ("query", "key"):
        steps = got["steps"][side]
        row = steps[0]
        assert row > 10 and steps[:S - 1] == [row] * (S - 1) and steps[S:] == [row] * (len(steps) - S), (side, steps)
        assert row + 8 <= steps[S - 1] < row * 1.5, (side, steps)  # the gap: 9 px at 20 px rows, under half a row
    for image in got["columns"]:  # the columns' divider, in the theme's border colour
        assert "linear-gradient" in image and "rgb(97, 97, 97)" in image, image
    assert got["divider"] == [*DARK_BORDER, 255]  # the gutter's divider, level with the columns'
    assert got["between"][3] == 0  # nothing between two tokens of one sentence
    assert (got["bg"], got["dark"], got["mode"]) == ("rgb(17, 17, 17)", True, "dark")
    assert browser.console_errors == [], browser.console_errors
    assert browser.blocked == [], browser.blocked
    page.close()


MATRIX = """() => {
  const c = document.querySelector(".attnwidget canvas.aw-matrix-canvas"), d = PIXELS(c);
  const bright = (x, y) => { const k = 4 * (y * c.width + x); return d[k] > 200 && d[k + 1] > 200 && d[k + 2] > 200; };
  // the longest run of bright pixels down any column, and across any row: the two dividers
  const longest = (n, m, at) => { let best = { at: -1, from: 0, to: 0 };
    for (let a = 0; a < n; a++) { let start = 0;
      for (let b = 0; b <= m; b++) if (b === m || !at(a, b)) { if (b - start > best.to - best.from) best = { at: a, from: start, to: b }; start = b + 1; } }
    return best; };
  // the heat map: its own canvas under this one, one pixel a cell, scaled over the cells by CSS
  const hc = document.querySelector(".attnwidget canvas.aw-matrix-heat:not([hidden])"), hd = PIXELS(hc);
  const hb = hc.getBoundingClientRect(), cb = c.getBoundingClientRect(), colours = new Set();
  const r = c.width / cb.width, cellAt = 4 * (Math.floor((hb.top - cb.top + 2) * r) * c.width + Math.floor((hb.left - cb.left + 2) * r));
  for (let k = 0; k < hd.length; k += 4) colours.add(`${hd[k]},${hd[k + 1]},${hd[k + 2]},${hd[k + 3]}`);
  return { down: longest(c.width, c.height, (x, y) => bright(x, y)), across: longest(c.height, c.width, (y, x) => bright(x, y)),
    corner: [...d.slice(0, 3)], ratio: c.width / cb.width, cell: [...d.slice(cellAt, cellAt + 4)],
    heat: { size: [hc.width, hc.height], colours: [...colours], box: [hb.left - cb.left, hb.top - cb.top, hb.width, hb.height] } };
}""".replace("PIXELS", PIXELS)


def test_the_matrix_draws_a_divider_after_row_and_column_s_minus_1(browser, tmp_path):
    page = open_copy(browser, tmp_path, "matrix", sentence_b_start=S, display_mode="dark")
    page.locator('.attnwidget button[data-view="matrix"]').click()
    page.locator(".attnwidget canvas.aw-matrix-canvas").wait_for(state="visible", timeout=5_000)
    page.evaluate("() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)))")
    got = page.evaluate(MATRIX)
    assert got["corner"] == DARK_BG  # the canvas's background: the dark theme's
    down, across, n = got["down"], got["across"], len(TOKENS)
    # the vertical divider spans the matrix's height, the horizontal one its width (both 7 cells)
    side = across["to"] - across["from"]
    assert side > 100 and abs((down["to"] - down["from"]) - side) <= 2, (down, across)
    # ... and each sits after S of the 7 cells (a 2-pixel line centred on the cell edge)
    assert abs(down["at"] + 0.5 - across["from"] - S * side / n) <= 1.5, (down, across)
    assert abs(across["at"] + 0.5 - down["from"] - S * side / n) <= 1.5, (down, across)
    # the cells: clear on this canvas, the heat map's canvas under them (7 × 7 pixels of one dark colour) spans them
    heat, r = got["heat"], got["ratio"]
    assert got["cell"][3] == 0 and heat["size"] == [n, n] and len(heat["colours"]) == 1, (got["cell"], heat)
    assert max(int(x) for x in heat["colours"][0].split(",")[:3]) < 100 and heat["colours"][0].endswith(",255"), heat
    assert abs(heat["box"][2] * r - side) <= 2 and abs(heat["box"][3] * r - side) <= 2, (heat, across)
    assert abs(heat["box"][0] * r - across["from"]) <= 1 and abs(heat["box"][1] * r - down["from"]) <= 1, (heat, down, across)
    assert browser.console_errors == [], browser.console_errors
    page.close()


@pytest.mark.parametrize("mode, background", [("light", "rgb(255, 255, 255)"), (None, "rgb(17, 17, 17)")])
def test_a_forced_theme_wins_over_the_page_and_the_default_follows_it(browser, tmp_path, mode, background):
    page = open_copy(browser, tmp_path, f"page-{mode}", style=DARK_PAGE, display_mode=mode)
    page.wait_for_function("(bg) => getComputedStyle(document.querySelector('.attnwidget')).backgroundColor === bg",
                           arg=background, timeout=5_000)
    root = page.locator(".attnwidget").first
    assert root.evaluate("(r) => [r.dataset.awTheme ?? null, r.style.colorScheme]") == [mode, mode or ""]
    assert root.evaluate("(r) => r.attnwidget.app.ui.theme.dark") is (mode is None)
    page.close()


def test_the_svg_export_draws_the_divider_in_both_label_columns(browser, tmp_path):
    import re

    page = open_copy(browser, tmp_path, "svg", sentence_b_start=S, display_mode="dark")
    with page.expect_download() as svg:
        page.locator(".attnwidget").get_by_role("button", name="SVG").click()
    text = open(svg.value.path(), encoding="utf-8").read()
    rows = {float(y) for y in re.findall(r'<text x="[^"]+" y="([^"]+)"', text)}
    ys = sorted(rows)
    dividers = [(float(x), float(y)) for x, y in re.findall(r'<rect class="aw-segment" x="([^"]+)" y="([^"]+)"', text)]
    assert len(dividers) == 2 and dividers[0][0] == 0 and dividers[1][0] > 0, dividers  # query column, key column
    for _, y in dividers:  # between the labels of tokens S - 1 and S, in the gap
        assert ys[S - 1] < y + 0.5 < ys[S], (y, ys)
    page.close()


# Each head card's thumbnail and its two divider lines, after the heads tab is clicked: where each line's middle
# falls as a share of the thumbnail's height or width.
HEADS = """() => new Promise((done) => {
  const root = document.querySelector(".attnwidget");
  root.querySelector('button[data-view="heads"]').click();
  requestAnimationFrame(() => requestAnimationFrame(() => done([...root.querySelectorAll(".aw-head-card")].map((card) => {
    const c = card.querySelector("canvas.aw-thumb").getBoundingClientRect();
    const ys = card.querySelector(".aw-thumb-seg-y"), xs = card.querySelector(".aw-thumb-seg-x");
    if (!ys || !xs) return { shown: [Boolean(ys), Boolean(xs)] };
    const y = ys.getBoundingClientRect(), x = xs.getBoundingClientRect();
    return { shown: [ys.checkVisibility(), xs.checkVisibility()], y: (y.top + y.height / 2 - c.top) / c.height,
             x: (x.left + x.width / 2 - c.left) / c.width, spans: [y.width / c.width, x.height / c.height],
             colour: getComputedStyle(ys).backgroundColor };
  }))));
})"""

# Pixels of the model view's canvas in the theme's text colour (the dividers are drawn in it; labels are dimmer).
FG_PIXELS = """() => {
  const root = document.querySelector(".attnwidget"), c = root.querySelector("canvas.aw-model-canvas");
  const d = PIXELS(c);
  let n = 0;
  for (let i = 0; i < d.length; i += 4) if (d[i] === 255 && d[i + 1] === 255 && d[i + 2] === 255) n++;
  return { n, width: c.width, ratio: c.width / c.getBoundingClientRect().width };
}""".replace("PIXELS", PIXELS)


def test_the_heads_thumbnails_draw_the_divider_at_s_of_n(browser, tmp_path):
    page = open_copy(browser, tmp_path, "heads", sentence_b_start=S, display_mode="dark")
    cards = page.evaluate(HEADS)
    assert len(cards) == 2
    for card in cards:
        assert card["shown"] == [True, True]
        assert abs(card["y"] - S / len(TOKENS)) < 0.02 and abs(card["x"] - S / len(TOKENS)) < 0.02, card
        assert card["spans"] == [1, 1] and card["colour"] == f"rgb{tuple(DARK_FG)}", card
    page.close()
    page = open_copy(browser, tmp_path, "heads-one", display_mode="dark")  # one sentence: no divider
    assert [c["shown"] for c in page.evaluate(HEADS)] == [[False, False]] * 2
    page.close()


def test_the_model_thumbnails_draw_the_divider(browser, tmp_path):
    counts = {}
    for name, kwargs in (("two", {"sentence_b_start": S}), ("one", {})):
        page = open_copy(browser, tmp_path, f"model-{name}", make=model_view, ready=".attnwidget canvas.aw-model-canvas",
                         display_mode="dark", **kwargs)
        counts[name] = page.evaluate(FG_PIXELS)
        page.close()
    # 2 layers × (2 heads + their mean) thumbnails, each crossed by two lines at least 40 px long
    assert counts["two"]["n"] - counts["one"]["n"] >= 6 * 2 * 40 * counts["two"]["ratio"], counts
    assert browser.console_errors == [], browser.console_errors
