"""Opening the matrix from the heads view (issue 14): while the heads view is shown the matrix paints each
head's heat map in idle time and keeps it; a card's click then shows the kept canvas of that head. Checked
in Chromium on a ``to_html`` copy: the canvas shown is the clicked head's (its darkest cell is the cell that
head weights most, from the NumPy weights), the legend's words name it, one heat map is shown at a time,
and no more canvases are kept than heads (plus the one on screen)."""

from __future__ import annotations

import numpy as np
import pytest

from attnwidget import AttentionWidget
from harness import Browser

pytestmark = pytest.mark.browser

H, T = 4, 24


def weights() -> np.ndarray:
    """(1, H, T, T) softmax-like rows; head k puts 0.9 on one cell of its own, (k + 3, 2k + 1)."""
    rng = np.random.default_rng(5)
    w = rng.uniform(0.2, 1.0, (1, H, T, T)).astype(np.float32)
    w /= w.sum(-1, keepdims=True) / 0.1
    for k in range(H):
        w[0, k, k + 3] *= 0.1 / w[0, k, k + 3].sum()
        w[0, k, k + 3, 2 * k + 1] = 0.9
    return w


SHOWN = """() => {
  const root = document.querySelector(".attnwidget");
  const all = [...root.querySelectorAll("canvas.aw-matrix-heat")], on = all.filter((c) => !c.hidden);
  const c = on[0], px = c.getContext("2d").getImageData(0, 0, c.width, c.height).data;
  let best = -1, lum = Infinity;
  for (let p = 0; p < c.width * c.height; p++) {
    const l = px[4 * p] + px[4 * p + 1] + px[4 * p + 2];
    if (l < lum) { lum = l; best = p; }
  }
  return { canvases: all.length, shown: on.length, darkest: [Math.floor(best / c.width), best % c.width],
           head: root.attnwidget.app.get("head"), view: root.attnwidget.app.get("view"),
           words: [...root.querySelectorAll(".aw-matrix-word")].map((e) => e.textContent).join(" · ") };
}"""


@pytest.fixture(scope="module")
def page(tmp_path_factory):
    path = tmp_path_factory.mktemp("matrix-heads") / "heads.html"
    AttentionWidget(weights(), [f"t{i}" for i in range(T)], view="heads").to_html(path)
    b = Browser()
    pg = b.new_page()
    pg.goto(path.as_uri())
    pg.locator(".attnwidget button.aw-head-card").first.wait_for(timeout=10_000)
    yield pg
    b.close()


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
