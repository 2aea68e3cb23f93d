"""Issue 7: a widget of 8 heads × 4096² in a real JupyterLab: it renders, a click pins a token in
Python, and no websocket message exceeds the Jupyter server's 10 MiB limit (sparse `_data`)."""

from __future__ import annotations

import pytest

from browser_support import LIVE, MESSAGE_LIMIT, lab_notebook, pinned
from harness import PIXELS

pytestmark = pytest.mark.browser

MAKE = """import numpy as np
from attnwidget import AttentionWidget
rng = np.random.default_rng(0)
s = np.empty((8, 4096, 4096), np.float32)  # one float32 array, filled head by head
for hd in range(8):
    x = rng.standard_normal((4096, 4096), dtype=np.float32) * 2
    x -= x.max(-1, keepdims=True); np.exp(x, out=x); x /= x.sum(-1, keepdims=True)
    s[hd] = x
    del x
w = AttentionWidget(s, [f"t{i}" for i in range(4096)])
w"""
CELLS = [MAKE, "print('STATE', w.selected_query, w._data['mode'], w._exact.get('query'))"]

PAINTED = """(root) => {
  const c = root.querySelector('canvas.aw-lines');
  const d = PIXELS(c);
  let n = 0;
  for (let i = 3; i < d.length; i += 4) if (d[i] > 0) n++;
  return [n, c.height, root.querySelectorAll('button.aw-tok').length];
}""".replace("PIXELS", PIXELS)


def test_4096_tokens_render_pin_and_stay_under_the_message_limit(tmp_path):
    with lab_notebook(tmp_path, "scale.ipynb", CELLS) as (browser, page, nb, sizes):
        nb.run(0, timeout=150_000)
        root = page.locator(LIVE).first
        root.locator('[data-side="query"][data-index="3"]').wait_for(timeout=60_000)
        page.wait_for_function(f"(r) => ({PAINTED})(r)[0] > 500", arg=root.element_handle(), timeout=10_000)
        painted, canvas_h, buttons = root.evaluate(PAINTED)
        assert canvas_h <= 2 * 700, canvas_h  # the viewport, not 4096 rows
        assert buttons < 400, buttons  # only the visible rows have buttons
        tok = root.locator('[data-side="query"][data-index="3"]')
        tok.click()
        assert pinned(tok, True)
        out = nb.run(1)
        assert "STATE 3 sparse 3" in out, out
        assert sizes and max(sizes) < MESSAGE_LIMIT, max(sizes)
        assert browser.console_errors == [], browser.console_errors
