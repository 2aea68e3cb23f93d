"""The graph's token columns keep their scroll across a view switch (js/graph.js): a 400-token ``to_html``
copy in Chromium, scrolled far down, shown again after the matrix tab. The scroller keeps its offset, the
token buttons in the page are the rows in view (the columns keep only those and a few more), and a
trusted click on one of them pins that token. The frame that shows the graph again reads no layout: its
offset is checked the frame after (``recheckScroll``)."""

from __future__ import annotations

import numpy as np
import pytest

from attnwidget import AttentionWidget
from harness import away_and_back

pytestmark = pytest.mark.browser

T = 400
SCROLL = 3_000

IN_VIEW = """(root) => {
  const s = root.querySelector('.aw-graph-scroll'), box = s.getBoundingClientRect();
  const rows = [...root.querySelectorAll('.aw-tok-query')].map((b) => ({ i: Number(b.dataset.index), r: b.getBoundingClientRect() }));
  return { top: s.scrollTop, indices: rows.map((x) => x.i),
           shown: rows.filter((x) => x.r.bottom > box.top && x.r.top < box.bottom).map((x) => x.i) };
}"""


def test_the_graph_keeps_its_scroll_and_token_window_across_a_view_switch(browser, tmp_path):
    rng = np.random.default_rng(2)
    w = rng.random((1, 2, T, T)).astype(np.float32)
    path = tmp_path / "long.html"
    AttentionWidget(w / w.sum(-1, keepdims=True), [f"tok{i}" for i in range(T)], view="graph").to_html(path)
    page = browser.new_page()
    page.goto(path.as_uri())
    root = page.locator(".attnwidget").first
    root.locator(".aw-tok-query").first.wait_for(timeout=10_000)
    root.locator(".aw-graph-scroll").evaluate(f"(s) => {{ s.scrollTop = {SCROLL}; }}")
    page.wait_for_timeout(200)  # the scroll event, then the frame that fills the rows in view
    before = root.evaluate(IN_VIEW)
    assert before["top"] == SCROLL and min(before["shown"]) > 100, before
    reads = away_and_back(page, root, ".aw-graph-scroll", "graph", "matrix")
    assert "frame that shows it" not in reads, "the frame that shows the graph read its scroll"
    after = root.evaluate(IN_VIEW)
    assert after["top"] == SCROLL, after
    assert after["shown"] == before["shown"], (before["shown"], after["shown"])
    assert max(after["indices"]) - min(after["indices"]) < 120, "only the rows in view, and a few more, are in the page"
    target = after["shown"][len(after["shown"]) // 2]
    root.locator(f'.aw-tok-query[data-index="{target}"]').click()
    page.wait_for_function("(i) => document.querySelector('.attnwidget').attnwidget.app.get('selected_query') === i", arg=target,
                           timeout=5_000)
    page.close()
