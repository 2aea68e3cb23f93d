"""The model view's grid on a static page: its columns at many heads."""

from __future__ import annotations

import numpy as np
import pytest

from attnwidget import AttentionWidget
from harness import PIXELS

pytestmark = pytest.mark.browser


INK_BETWEEN = """(li) => {
  const root = document.querySelector(".attnwidget"), model = root.attnwidget.views.model;
  const c = root.querySelector("canvas.aw-model-canvas"), r = c.width / c.getBoundingClientRect().width, px = PIXELS(c);
  const at = (x, y) => { const p = 4 * (Math.round(y * r) * c.width + Math.round(x * r)); return [px[p], px[p + 1], px[p + 2]].join(); };
  const out = [];
  for (let h = 0; h < 15; h++) { // the gap between heads h and h + 1, from the thumbnails' middle down past their figures
    const a = model.locate(li, h), b = model.locate(li, h + 1), x = (a.x + b.x) / 2, bg = at(x, a.y);
    let ink = 0;
    for (let y = a.y; y < Math.min(a.y + 60, c.height / r - 1); y++) if (at(x, y) !== bg) ink++;
    out.push(ink);
  }
  return out;
}""".replace("PIXELS", PIXELS)


def test_many_heads_keep_their_figures_apart(browser, tmp_path):
    """16 heads in a 1000 px page: the figures under each thumbnail ("2.2 · 0.31") and the head names need more
    width than the columns had; they ran into each other. The columns now take the width the figures need (the
    grid scrolls where the page is too narrow), so the gap between two columns holds no ink."""
    def w(seed):
        x = np.exp(np.random.default_rng(seed).standard_normal((1, 16, 12, 12)))
        return (x / x.sum(-1, keepdims=True)).astype("float32")

    path = tmp_path / "heads16.html"
    AttentionWidget([w(0), w(1)], [f"t{i}" for i in range(12)], view="model").to_html(path)
    pg = browser.new_page(width=1000, height=700)
    pg.goto(path.as_uri())
    pg.wait_for_function("() => document.querySelector('.attnwidget')?.attnwidget.views.model.locate(1, 0)", timeout=10_000)
    ink = pg.evaluate(INK_BETWEEN, 1)
    pg.close()
    assert ink == [0] * 15, ink
