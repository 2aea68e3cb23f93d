"""side_by_side in a real JupyterLab (Debian's Chromium): two live views in one row, their static row hidden,
each caption under its view as text, and a click in the right view pins a token of that view only."""

from __future__ import annotations

import pytest

from browser_support import LIVE, notebook_session, pinned

pytestmark = pytest.mark.browser

CELLS = [
    "import numpy as np, attnwidget\n"
    "rng = np.random.default_rng(0)\n"
    "def view(n):\n"
    "    w = rng.random((1, 2, n, n)).astype('float32')\n"
    "    return attnwidget.AttentionWidget(w / w.sum(-1, keepdims=True), [f't{i}' for i in range(n)])\n"
    "a, b = view(5), view(6)\n"
    "attnwidget.side_by_side(a, b, captions=['il <b>left</b>', 'elle'])",
    "print('STATE', a.selected_query, b.selected_query)",
]


@pytest.fixture(scope="module")
def session(tmp_path_factory):
    yield from notebook_session(tmp_path_factory.mktemp("sbs"), "row.ipynb", CELLS, run=1, live=2,
                                width=1400, height=900)


def test_two_live_views_side_by_side_with_text_captions(session):
    nb, browser = session
    page = nb.page
    roots = page.locator(LIVE)
    assert roots.count() == 2
    left, right = (roots.nth(i).bounding_box() for i in range(2))
    assert abs(left["y"] - right["y"]) < 2 and left["x"] + left["width"] <= right["x"] + 1  # one row
    assert roots.nth(0).locator('[data-side="query"]').count() == 5
    assert roots.nth(1).locator('[data-side="query"]').count() == 6
    text = nb.output(0)
    assert "il <b>left</b>" in text and "elle" in text        # the caption is text, not markup
    static = page.locator(".aw-row")
    assert static.count() == 1 and not static.is_visible()     # the exports' row is hidden beside live views
    assert browser.console_errors == [], browser.console_errors


def test_a_click_in_the_right_view_pins_its_token_only(session):
    nb, _ = session
    tok = nb.page.locator(LIVE).nth(1).locator('[data-side="query"][data-index="3"]')
    tok.click()
    assert pinned(tok, True)
    assert nb.run(1).split("STATE", 1)[1].strip() == "None 3"


def test_the_static_row_boots_every_copy_from_one_front_end(session, tmp_path):
    """An exported row (side_by_side's static HTML): the first copy carries the front end, and all three render."""
    import numpy as np

    import attnwidget

    rng = np.random.default_rng(1)
    views = []
    for n in (4, 5, 6):
        w = rng.random((1, 2, n, n)).astype("float32")
        views.append(attnwidget.AttentionWidget(w / w.sum(-1, keepdims=True), [f"t{i}" for i in range(n)]))
    row = attnwidget.side_by_side(*views, captions=["a", "b", "c"]).static_html()
    assert row.count('class="aw-bundle"') == 1
    path = tmp_path / "row.html"
    path.write_text(f'<!doctype html><meta charset="utf-8"><body style="width:1800px">{row}</body>', encoding="utf-8")
    browser = session[1]  # the session's Chromium (one Playwright per module)
    page = browser.new_page(width=1900)
    page.goto(path.as_uri())
    roots = page.locator(".attnwidget-static .attnwidget")
    roots.nth(2).wait_for(timeout=10_000)
    assert [roots.nth(i).locator('[data-side="query"]').count() for i in range(3)] == [4, 5, 6]
    roots.nth(2).locator('[data-side="query"][data-index="4"]').click()
    got = page.evaluate("() => [...document.querySelectorAll('.attnwidget-static .attnwidget')].map((r) => r.attnwidget.app.get('selected_query'))")
    assert got == [None, None, 4]
    assert page.locator(".aw-static-note").count() == 0 and browser.console_errors == [], browser.console_errors
