"""The explain view's table keeps only the rows in view in the page (js/explaintable.js): a Keras
cross-attention layer of 5 queries over 2,000 keys, exported with ``to_html`` and opened in Debian's
Chromium. The rows shown carry Keras's own weights wherever the table is scrolled, the spacers give the
scroller the height of every row, and the columns keep their widths as rows with wider texts scroll in
and as other queries are pinned; under a CSS transform (a reveal.js slide) the rows still land where the
view is.
"""

from __future__ import annotations

import numpy as np
import pytest

from harness import away_and_back

pytestmark = pytest.mark.browser

S = 2000  # far enough that a row height rounded to whole pixels would put the rows off the view
QUERY = 2

ROWS = """(root) => Array.from(root.querySelectorAll('tr[data-explain-key]'), (r) => {
  const b = r.getBoundingClientRect();
  return {j: Number(r.dataset.explainKey), w: Number(r.dataset.weight), top: b.top, bottom: b.bottom}; })"""
WIDTHS = "(root) => Array.from(root.querySelectorAll('.aw-explain-table thead th'), (t) => t.getBoundingClientRect().width)"
BOX = "(el) => { const b = el.getBoundingClientRect(); return {top: b.top, bottom: b.bottom}; }"


@pytest.fixture(scope="module")
def layer(tmp_path_factory):
    """(the page of a layer of 2 heads, 5 queries × S keys, Keras's weights (heads, 5, S), the values V
    (heads, S, value_dim))."""
    import attnwidget

    res = attnwidget.attention(kind="cross", num_heads=2, key_dim=8, max_tokens=S, query="the animal did not cross",
                               context=" ".join(f"w{i}" for i in range(S)))
    assert res.scores.shape == (1, 2, 5, S)
    res.widget.view = "explain"
    path = tmp_path_factory.mktemp("explain-rows") / "explain.html"
    res.to_html(path)
    return path, np.asarray(res.scores[0], dtype=np.float64), np.stack([res.explain(QUERY, head=hd).V for hd in range(2)])


def open_pinned(browser, path, scale: float = 1.0):
    """(page, the widget's root) with QUERY pinned; ``scale``: the page under a CSS transform, as reveal.js
    scales a slide, from before the table's first rows."""
    page = browser.new_page()
    page.goto(path.as_uri())
    if scale != 1:
        page.evaluate(f"() => {{ document.body.style.transformOrigin = '0 0'; document.body.style.transform = 'scale({scale})'; }}")
    root = page.locator(".attnwidget").first
    root.locator(f'button[data-explain-query="{QUERY}"]').click()
    # the rows are there before the pin (its keys, no numbers): wait for the pin's numbers
    page.wait_for_function("([el, q]) => el.querySelector('.aw-explain-table').dataset.shows === `${q},0`"
                           " && el.querySelectorAll('tr[data-explain-key][data-weight]').length > 0",
                           arg=[root.element_handle(), QUERY], timeout=10_000)
    return page, root


@pytest.fixture(scope="module")
def shown(browser, layer):
    """(page, the widget's root, Keras's weights (heads, S) of the pinned query) with the table up."""
    page, root = open_pinned(browser, layer[0])
    yield page, root, layer[1][:, QUERY]
    page.close()


def scroll_to(page, root, top: int) -> list[dict]:
    """Scroll the table to ``top`` px and return its rows once a frame has filled them."""
    root.locator(".aw-explain-scroll").evaluate(f"(s) => {{ s.scrollTop = {top}; }}")
    page.wait_for_timeout(150)  # the scroll event, then the frame it fills
    return root.evaluate(ROWS)


def check_rows(rows, weights, scroller):
    js = [r["j"] for r in rows]
    assert js == list(range(js[0], js[0] + len(js))), "the rows in the page are consecutive keys"
    assert len(rows) < 60, f"{len(rows)} of {S} rows in the page"
    assert max(abs(r["w"] - weights[r["j"]]) for r in rows) < 1e-6  # Keras's weights, row by row
    # the rows cover what the scroller shows, unless they reach the first or the last key
    assert js[0] == 0 or rows[0]["top"] <= scroller["top"], (rows[0], scroller)
    assert js[-1] == S - 1 or rows[-1]["bottom"] >= scroller["bottom"], (rows[-1], scroller)


def test_a_window_of_rows_with_keras_weights_wherever_it_scrolls(shown):
    page, root, weights = shown
    scroller = root.locator(".aw-explain-scroll")
    box = scroller.evaluate(BOX)
    widths = root.evaluate(WIDTHS)
    rows = root.evaluate(ROWS)
    assert rows[0]["j"] == 0
    check_rows(rows, weights[0], box)
    height = rows[1]["top"] - rows[0]["top"]
    # the spacers stand for every row: the scroller is as tall as S rows
    assert abs(scroller.evaluate("(s) => s.scrollHeight") - S * height) < 6 * height
    full = scroller.evaluate("(s) => s.scrollHeight - s.clientHeight")
    for top in (2000, int(full * 0.5), int(full * 0.8), 10**7):
        rows = scroll_to(page, root, top)
        check_rows(rows, weights[0], box)
        assert root.evaluate(WIDTHS) == widths, f"columns moved at scrollTop {top}"
    # at the bottom: the last key, and no gap between it and the row Σ
    assert rows[-1]["j"] == S - 1
    sum_top = root.locator("tr.aw-explain-sum").evaluate(BOX)["top"]
    assert abs(sum_top - rows[-1]["bottom"]) < 1


def test_another_head_refills_the_rows_in_view(shown, layer):
    page, root, weights = shown
    scroll_to(page, root, 20_000)
    root.locator("select.aw-explain-head").select_option("1")
    page.wait_for_function("(el) => el.querySelector('.aw-explain-title').textContent.endsWith('head 1')",
                           arg=root.element_handle(), timeout=10_000)
    page.wait_for_timeout(100)
    rows = root.evaluate(ROWS)
    assert rows[0]["j"] > 800, "the scroll stays where it was"
    check_rows(rows, weights[1], root.locator(".aw-explain-scroll").evaluate(BOX))
    # head 1's value vectors, not the texts of head 0's kept from before (js/explaintable.js keeps them)
    for j, text in root.evaluate(VALUES):
        assert text == value_text(layer[2][1][j]), (j, text)


def test_tab_walks_the_keys_past_the_rows_first_in_the_page(shown):
    """A key still in view keeps its row element, so the focus stays on the key it was given."""
    page, root, _ = shown
    scroll_to(page, root, 0)
    root.locator('button[data-explain-drop="0"]').focus()
    for _ in range(60):
        page.keyboard.press("Tab")
    assert page.evaluate("() => document.activeElement.dataset.explainDrop") == "60"
    page.keyboard.press("Enter")  # the focused key is dropped, and keeps the focus
    page.wait_for_function("(el) => el.querySelector('tr[data-explain-key=\"60\"]')?.dataset.dropped === 'true'",
                           arg=root.element_handle(), timeout=10_000)
    assert page.evaluate("() => document.activeElement.dataset.explainDrop") == "60"
    assert root.evaluate(ROWS)[0]["j"] > 0, "the table scrolled with the focus"


def test_a_scaled_page_places_the_rows_in_layout_pixels(browser, layer):
    """Under a transform (a reveal.js slide), the rows still cover the view wherever it scrolls."""
    page, root = open_pinned(browser, layer[0], scale=0.6)
    box = root.locator(".aw-explain-scroll").evaluate(BOX)
    full = root.locator(".aw-explain-scroll").evaluate("(s) => s.scrollHeight - s.clientHeight")
    for top in (int(full * 0.5), int(full * 0.8)):
        check_rows(scroll_to(page, root, top), layer[1][0, QUERY], box)
    page.close()


STRIP = "(root) => Array.from(root.querySelectorAll('button[data-explain-query]'), (b) => [b.offsetLeft, b.offsetTop, b.offsetWidth])"


def test_other_queries_pinned_in_a_scrolled_table_move_nothing(browser, layer):
    """Each pin refills the rows in view where the table was scrolled to, with that query's weights, and
    moves neither a column nor a query token (the browser would repaint all of them)."""
    page, root = open_pinned(browser, layer[0])
    box = root.locator(".aw-explain-scroll").evaluate(BOX)
    scroll_to(page, root, 30_000)
    widths, strip = root.evaluate(WIDTHS), root.evaluate(STRIP)
    for q in (4, 0, 3, 1):
        root.locator(f'button[data-explain-query="{q}"]').click()
        page.wait_for_function("([el, q]) => el.querySelector('.aw-explain-title').textContent.startsWith(`query ${q} `)",
                               arg=[root.element_handle(), q], timeout=10_000)
        page.wait_for_timeout(100)
        rows = root.evaluate(ROWS)
        assert rows[0]["j"] > 1000, "the scroll stays where it was"
        check_rows(rows, layer[1][0, q], box)
        assert root.evaluate(WIDTHS) == widths, f"columns moved when query {q} was pinned"
        assert root.evaluate(STRIP) == strip, f"query tokens moved when query {q} was pinned"
    page.close()


def test_the_columns_hold_their_widths_from_query_to_query(browser, tmp_path):
    """A self-attention layer over 64 tokens, whose queries' dot products differ in width as text
    (−20.693 and 9.590): stepping through the queries moves no column."""
    import attnwidget

    res = attnwidget.attention(kind="global", num_heads=8, key_dim=16, max_tokens=64, query=" ".join(f"t{i}" for i in range(64)))
    res.widget.view = "explain"
    path = tmp_path / "explain-64.html"
    res.to_html(path, max_weights=None)
    queries = range(0, 64, 3)
    # the widest q·k of a query, as the table writes it: not the same width for all (or the test could not fail)
    widest = {len(f"{np.abs(res.explain(q, head=0).dots).max():.3f}") + bool((res.explain(q, head=0).dots < 0).any()) for q in queries}
    assert len(widest) > 1, widest
    page = browser.new_page()
    page.goto(path.as_uri())
    root = page.locator(".aw-explain").first
    widths = None
    for q in queries:
        root.locator(f'button[data-explain-query="{q}"]').click()
        page.wait_for_function("([el, q]) => el.querySelector('.aw-explain-title').textContent.startsWith(`query ${q} `)",
                               arg=[root.element_handle(), q], timeout=10_000)
        widths = widths or root.evaluate(WIDTHS)
        assert root.evaluate(WIDTHS) == widths, f"columns moved when query {q} was pinned"
    page.close()


VALUES = "(root) => Array.from(root.querySelectorAll('tr[data-explain-key]'), (r) => [Number(r.dataset.explainKey), r.querySelector('.aw-explain-vec').title])"


def value_text(v) -> str:
    """A value vector as the table's title writes it (js/format.js formatVector)."""
    return "[" + ", ".join(f"{x:.2f}".replace("-", "−") for x in v) + "]"


def test_before_a_pin_the_keys_rows_are_there_and_the_first_pin_only_writes_numbers(browser, layer):
    """Nothing pinned: the table shows each key's index, token and value vector (a static copy carries V: the
    same for every query of a head), no numbers, its keys not droppable. The first pin adds no row and no
    node (the row Σ and the output too), and rewrites no value (building and painting them then took that click
    32–47 ms, the value column's texts 4 ms more): it writes Keras's weights into the rows and cells already there."""
    page = browser.new_page()
    page.goto(layer[0].as_uri())
    root = page.locator(".attnwidget").first
    page.wait_for_function("(el) => el.querySelectorAll('tr[data-explain-key]').length > 0", arg=root.element_handle(), timeout=10_000)
    assert root.locator(".aw-explain-table").get_attribute("data-shows") == ""
    # what to do, on the nav's line: the message above the table stays hidden, so the pin moves nothing
    assert root.locator(".aw-explain-hint").text_content().startswith("pin a query token") and root.locator(".aw-explain-message").is_hidden()
    keys = root.evaluate("""(el) => Array.from(el.querySelectorAll('tr[data-explain-key]'), (r) => ({ j: Number(r.dataset.explainKey),
      token: r.querySelector('.aw-explain-drop').textContent, off: r.querySelector('.aw-explain-drop').disabled,
      numbers: Array.from(r.querySelectorAll('.aw-explain-num'), (c) => c.textContent).join(''), w: r.dataset.weight ?? null }))""")
    assert [k["token"] for k in keys] == [f"w{k['j']}" for k in keys] and keys[0]["j"] == 0
    assert all(k["off"] and k["numbers"] == "" and k["w"] is None for k in keys), keys[:2]
    # each key's value vector, head by head (the head picker works before a pin)
    for hd in (1, 0):
        root.locator("select.aw-explain-head").select_option(str(hd))
        page.wait_for_function("([el, t]) => el.querySelector('tr[data-explain-key=\"0\"] .aw-explain-vec').title === t",
                               arg=[root.element_handle(), value_text(layer[2][hd][0])], timeout=10_000)
        assert all(t == value_text(layer[2][hd][j]) for j, t in root.evaluate(VALUES))
    assert root.locator(".aw-explain-table thead th").nth(6).text_content() == f"value vⱼ ({layer[2].shape[2]})"
    root.evaluate("""(el) => { window.__added = []; window.__values = [];
      new MutationObserver((l) => { for (const m of l) {
        window.__added.push(...m.addedNodes);
        if (m.target.closest?.('tbody .aw-explain-vec') || m.target.parentElement?.closest('tbody .aw-explain-vec')) window.__values.push(m.type);
      } }).observe(el.querySelector('.aw-explain-table'), { subtree: true, childList: true, characterData: true, attributes: true }); }""")
    table, widths = root.locator(".aw-explain-table").evaluate(BOX), root.evaluate(WIDTHS)
    root.locator(f'button[data-explain-query="{QUERY}"]').click()
    page.wait_for_function(f"(el) => el.querySelector('.aw-explain-table').dataset.shows === '{QUERY},0'", arg=root.element_handle(), timeout=10_000)
    page.wait_for_timeout(150)  # the frame after the pin measures the rows and places them again
    assert page.evaluate("() => [window.__added.length, window.__values]") == [0, []]
    # nor moves the table or a column (the row Σ's text, bold, widened the weights' before the sizer held it)
    assert root.locator(".aw-explain-table").evaluate(BOX) == table and root.evaluate(WIDTHS) == widths
    check_rows(root.evaluate(ROWS), layer[1][0, QUERY], root.locator(".aw-explain-scroll").evaluate(BOX))
    page.close()


def test_a_release_and_a_new_pin_fill_the_rows_where_the_table_is(browser, layer):
    """Released, the table keeps its place and its keys' rows, without numbers; the next pin's rows still
    cover its view."""
    page, root = open_pinned(browser, layer[0])
    box = root.locator(".aw-explain-scroll").evaluate(BOX)
    scroll_to(page, root, 30_000)
    page.evaluate("() => document.querySelector('.attnwidget').attnwidget.app.release()")
    page.wait_for_function("(el) => el.querySelector('.aw-explain-table').dataset.shows === ''", arg=root.element_handle(), timeout=10_000)
    blank = root.evaluate(ROWS)
    assert not root.locator(".aw-explain-scroll").is_hidden() and all(r["w"] is None or r["w"] != r["w"] for r in blank)
    assert blank[0]["top"] <= box["top"] + 40 <= blank[-1]["bottom"], "the released table's rows left its view"
    root.locator('button[data-explain-query="4"]').click()
    page.wait_for_function("(el) => el.querySelector('.aw-explain-title').textContent.startsWith('query 4 ')",
                           arg=root.element_handle(), timeout=10_000)
    page.wait_for_timeout(100)
    top = root.locator(".aw-explain-scroll").evaluate("(s) => s.scrollTop")
    rows = root.evaluate(ROWS)
    check_rows(rows, layer[1][0, 4], box)
    assert rows[0]["top"] <= box["top"] + 40 or rows[0]["j"] == 0, (top, rows[0])
    page.close()


def test_the_table_shown_again_keeps_its_rows_and_reads_no_layout_in_that_frame(browser, layer):
    """Another view and back: the scroller keeps its offset and its rows (Chromium keeps the offset of a
    scroller shown again; explain.js checks it the frame after, not in the frame that shows the table)."""
    page, root = open_pinned(browser, layer[0])
    before = scroll_to(page, root, 20_000)
    reads = away_and_back(page, root, ".aw-explain-scroll", "explain", "graph")
    assert "frame that shows it" not in reads, "the frame that shows the table read its scroll"
    assert root.locator(".aw-explain-scroll").evaluate("(s) => s.scrollTop") == 20_000
    rows = root.evaluate(ROWS)
    assert [r["j"] for r in rows] == [r["j"] for r in before]
    check_rows(rows, layer[1][0, QUERY], root.locator(".aw-explain-scroll").evaluate(BOX))
    page.close()


def test_a_key_focused_at_the_edge_has_the_next_rows_at_once(shown):
    """Tab onto the last row in the page: the rows after it are filled in the focus's own task, not at the
    scroll event a frame later, so a held Tab cannot run past the rows in the page."""
    page, root, _ = shown
    scroll_to(page, root, 0)
    got = root.evaluate("""(root) => {
      const keys = [...root.querySelectorAll('button[data-explain-drop]')], last = keys[keys.length - 1];
      const j = Number(last.dataset.explainDrop);
      last.focus();
      return { j, next: Boolean(root.querySelector(`button[data-explain-drop="${j + 1}"]`)), focused: document.activeElement === last };
    }""")
    assert got["focused"] and got["next"], got
