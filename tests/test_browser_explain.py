"""The explain view in a real JupyterLab 4 (Debian's Chromium): pin "it", open the tab, read the weights
from the page and compare them with Python's; the keyboard walks the pin; Esc releases it.

Screenshots: ``test-artifacts/lab-explain-light.png`` (global, "it" pinned), ``lab-explain-causal-light.png``
(masked keys), ``lab-explain-dark.png``.
"""

from __future__ import annotations

import json

import pytest

from browser_support import ARTIFACTS, EXPLAINED, LIVE, notebook_session
from conftest import IT_SENTENCE
from test_browser_explain_rows import VALUES, value_text

pytestmark = pytest.mark.browser

LONG = 300  # query tokens: three pages of the explain view's strip
PAGE = 128  # js/explainstrip.js STRIP_PAGE
CELLS = [
    "%load_ext attnwidget\nimport json, numpy as np, attnwidget",
    f"%%attention -o res\nkind: global\nnum_heads: 2\nkey_dim: 512\nquery: {IT_SENTENCE}",
    # probe: the pin, the head, the view and the exact weights Keras returned for them
    "w = res.widget\nq = w.selected_query\n"
    "print('STATE', json.dumps({'q': q, 'head': w.head, 'view': w.view, 'explain': w._explain.get('query'),"
    " 'w': None if q is None else [float(x) for x in res.scores[0, w.head, q]]}))",
    f"%%attention -o cres\nkind: causal\nnum_heads: 2\nkey_dim: 8\nview: explain\nselect: it\nquery: {IT_SENTENCE}",
    "attnwidget.AttentionWidget(np.full((2, 3, 3), 1 / 3), list('abc'), view='explain')",
    # a layer longer than a page of the query strip (js/explainstrip.js STRIP_PAGE), and its weights probe
    f"%%attention -o lres\nkind: global\nnum_heads: 1\nkey_dim: 8\nview: explain\nmax_tokens: {LONG}\n"
    f"query: {' '.join(f't{i}' for i in range(LONG))}",
    "print('LONG', json.dumps([float(x) for x in lres.scores[0, 0, lres.widget.selected_query]]))",
    # a slow kernel: the next pins' numbers take 1.5 s to come (ipykernel answers a widget's messages while a
    # cell runs, so a busy cell would not make them wait); then back to the layer's own speed
    "import time\nw = res.widget\nfast = w._explain_dict\nw._explain_dict = lambda *a: (time.sleep(1.5), fast(*a))[1]",
    "del w._explain_dict",
    # nothing pinned in the explain view: the kernel sends the shown head's values V (the rows show them)
    f"%%attention -o vres\nkind: global\nnum_heads: 2\nkey_dim: 8\nview: explain\nquery: {IT_SENTENCE}",
    "print('VALUES', json.dumps([np.asarray(vres.explain(0, head=hd).V, np.float32).tolist() for hd in range(2)]))",
]
SLOW, FAST = 7, 8
BLANK, BLANK_VALUES = 9, 10

ROWS = """(root) => Array.from(root.querySelectorAll('tr[data-explain-key]'), (r) => ({
  j: Number(r.dataset.explainKey), w: Number(r.dataset.weight), masked: r.dataset.masked === 'true',
  cells: Array.from(r.cells, (c) => c.textContent)}))"""


@pytest.fixture(scope="module")
def session(tmp_path_factory):
    yield from notebook_session(tmp_path_factory.mktemp("lab-explain"), "explain.ipynb", CELLS, run=2, live=1)


def state(nb) -> dict:
    return json.loads(nb.run(2).split("STATE", 1)[1].strip())


def wait_explained(nb, root, query: int, head: int = 0):
    """Until the table shows ``query`` / ``head``'s numbers (browser_support.EXPLAINED)."""
    nb.page.wait_for_function(EXPLAINED, arg=[root.element_handle(), query, head], timeout=20_000)


def test_pin_open_explain_and_read_the_weights(session):
    nb, browser = session
    page = nb.page
    root = page.locator(LIVE).first
    root.locator('[data-side="query"][data-index="7"]').click()  # pin "it" in the graph view
    root.locator('button[data-view="explain"]').click()
    wait_explained(nb, root, 7)
    rows = root.evaluate(ROWS)
    assert [r["cells"][1] for r in rows][7] == "it"
    weights = [r["w"] for r in rows]
    assert abs(sum(weights) - 1) < 1e-5
    total = root.locator("tr.aw-explain-sum").inner_text()
    assert "Σ = 1.000" in total
    py = state(nb)
    assert (py["q"], py["head"], py["view"], py["explain"]) == (7, 0, "explain", 7)
    assert max(abs(a - b) for a, b in zip(weights, py["w"])) < 1e-6, (weights, py["w"])
    # the shown, rounded weights are the same numbers
    assert all(abs(float(r["cells"][4]) - r["w"]) <= 5e-4 for r in rows)
    assert root.locator("[data-explain-output]").inner_text().startswith("[")
    ARTIFACTS.mkdir(exist_ok=True)
    page.wait_for_timeout(200)
    root.screenshot(path=str(ARTIFACTS / "lab-explain-light.png"))
    assert browser.blocked == [] and browser.console_errors == [], (browser.blocked, browser.console_errors)


def test_head_select_and_step_buttons(session):
    nb, _ = session
    root = nb.page.locator(LIVE).first
    root.locator("select.aw-explain-head").select_option("1")
    wait_explained(nb, root, 7, 1)
    py = state(nb)
    assert py["head"] == 1
    assert max(abs(r["w"] - b) for r, b in zip(root.evaluate(ROWS), py["w"])) < 1e-6
    root.locator('button[data-explain-step="-1"]').click()
    wait_explained(nb, root, 6, 1)
    assert state(nb)["q"] == 6
    root.locator('button[data-explain-step="1"]').click()
    wait_explained(nb, root, 7, 1)
    root.locator("select.aw-explain-head").select_option("0")
    wait_explained(nb, root, 7, 0)


def test_arrow_keys_walk_the_pin_and_esc_releases(session):
    nb, _ = session
    page = nb.page
    root = page.locator(LIVE).first
    view = root.locator(".aw-explain")
    view.focus()
    page.keyboard.press("ArrowDown")
    wait_explained(nb, root, 8)
    py = state(nb)
    assert py["q"] == 8 and py["explain"] == 8
    assert max(abs(r["w"] - b) for r, b in zip(root.evaluate(ROWS), py["w"])) < 1e-6
    view.focus()  # running the probe moved the focus to the notebook
    page.keyboard.press("ArrowUp")
    page.keyboard.press("ArrowUp")
    wait_explained(nb, root, 6)
    assert state(nb)["q"] == 6
    view.focus()
    page.keyboard.press("Escape")
    page.wait_for_function("(el) => !el.querySelector('.aw-explain-hint').hidden && el.querySelector('.aw-explain-message').hidden",
                           arg=root.element_handle(), timeout=10_000)
    py = state(nb)
    assert py["q"] is None and py["explain"] is None
    # the token strip pins too
    root.locator('button[data-explain-query="7"]').click()
    wait_explained(nb, root, 7)
    assert state(nb)["q"] == 7


def test_causal_masked_keys_and_bare_scores(session):
    nb, browser = session
    page = nb.page
    nb.run(3)
    nb.run(4)
    roots = page.locator(LIVE)
    roots.nth(2).wait_for(timeout=60_000)
    causal, bare = roots.nth(1), roots.nth(2)
    wait_explained(nb, causal, 7)
    rows = causal.evaluate(ROWS)
    masked = [r["j"] for r in rows if r["masked"]]
    assert masked == [8, 9, 10]
    assert all(r["w"] == 0 and r["cells"][3] == "−∞" for r in rows if r["masked"])
    assert abs(sum(r["w"] for r in rows) - 1) < 1e-5
    page.wait_for_timeout(200)
    causal.screenshot(path=str(ARTIFACTS / "lab-explain-causal-light.png"))
    page.wait_for_function(
        "(el) => el.querySelector('.aw-explain-message').textContent.startsWith('explain needs the layer') && el.textContent.includes('dot_product_attention')",
        arg=bare.element_handle(), timeout=10_000)
    nb.theme("JupyterLab Dark")
    wait_explained(nb, roots.first, 7)
    roots.first.screenshot(path=str(ARTIFACTS / "lab-explain-dark.png"))
    nb.theme("JupyterLab Light")
    assert browser.blocked == [] and browser.console_errors == [], (browser.blocked, browser.console_errors)


def test_a_long_strip_shows_a_page_of_queries_and_follows_the_pin(session):
    """300 queries: the strip holds one page of 128 buttons, ◀ ▶ turn it without moving the pin, a token of
    another page pins with the kernel's weights, and the arrow keys carry the pin (and the strip) across pages."""
    nb, browser = session
    page = nb.page
    before = page.locator(LIVE).count()  # the other tests may have run cells 3 and 4, or not
    nb.run(5)
    root = page.locator(LIVE).nth(before)
    root.locator("button[data-explain-query]").first.wait_for(timeout=60_000)
    shown = "(el) => Array.from(el.querySelectorAll('button[data-explain-query]'), (b) => Number(b.dataset.explainQuery))"
    turns = "(el) => Array.from(el.querySelectorAll('button[data-explain-page]'), (b) => b.hidden ? null : b.textContent)"
    assert root.evaluate(shown) == list(range(PAGE)) and root.evaluate(turns) == [None, "128–255 ▶"]
    strip = root.locator(".aw-explain-tokens")
    assert strip.evaluate("(s) => { s.scrollTop = s.scrollHeight; return s.scrollTop; }") > 0  # the page's last line
    root.locator('button[data-explain-page="1"]').click()
    page.wait_for_function(f"(el) => ({shown})(el)[0] === {PAGE}", arg=root.element_handle(), timeout=10_000)
    page.wait_for_function("(s) => s.scrollTop === 0", arg=strip.element_handle(), timeout=10_000)  # the new page from its top
    assert root.evaluate(shown) == list(range(PAGE, 2 * PAGE)) and root.evaluate(turns) == ["◀ 0–127", "256–299 ▶"]
    root.locator('button[data-explain-query="200"]').click()
    wait_explained(nb, root, 200)
    weights = json.loads(nb.run(6).split("LONG", 1)[1])
    rows = root.evaluate(ROWS)
    assert len(rows) > 20 and max(abs(r["w"] - weights[r["j"]]) for r in rows) < 1e-6
    assert root.locator("button.aw-current[data-explain-query]").evaluate("(b) => [b.dataset.explainQuery, b.getAttribute('aria-pressed')]") == ["200", "true"]
    root.locator('button[data-explain-query="255"]').click()
    wait_explained(nb, root, 255)
    root.locator(".aw-explain").focus()
    page.keyboard.press("ArrowDown")
    wait_explained(nb, root, 256)
    assert root.evaluate(shown) == list(range(2 * PAGE, LONG)) and root.evaluate(turns) == ["◀ 128–255", None]
    assert root.locator("button.aw-current[data-explain-query]").evaluate("(b) => b.dataset.explainQuery") == "256"
    assert browser.blocked == [] and browser.console_errors == [], (browser.blocked, browser.console_errors)


# While the view waits for a pin's numbers: when the click came, when the old numbers were first marked stale,
# and the table's offset in the view at every frame (explainwait.js).
WATCH_WAIT = """(root) => {
  const v = root.querySelector('.aw-explain'), s = root.querySelector('.aw-explain-scroll');
  const rec = window.__wait = { clickAt: null, staleAt: null, tops: [], done: false };
  root.addEventListener('pointerdown', () => { rec.clickAt ??= performance.now(); }, { capture: true });
  new MutationObserver(() => {
    if (!v.classList.contains('aw-stale') || rec.staleAt != null) return;
    rec.staleAt = performance.now();
    const note = root.querySelector('.aw-explain-wait');
    rec.note = note && !note.hidden ? note.textContent : null; // said as the numbers are dimmed
  })
    .observe(v, { attributes: true, attributeFilter: ['class'] });
  const tick = () => {
    const top = Math.round(s.getBoundingClientRect().top - v.getBoundingClientRect().top);
    if (!rec.tops.includes(top)) rec.tops.push(top);
    if (!rec.done) requestAnimationFrame(tick);
  };
  requestAnimationFrame(tick);
}"""


def test_a_slow_kernel_leaves_the_table_in_place_and_then_says_it_waits(session):
    """A pin whose numbers take the kernel 1.5 s: the click's frame leaves the old numbers as they are (a
    kernel that answers within 150 ms changes the table with nothing in between); only then are they dimmed,
    with the wait said over the table's corner, and the table never moves; the pin's own numbers replace them."""
    nb, browser = session
    page = nb.page
    root = page.locator(LIVE).first
    root.evaluate("(r) => r.attnwidget.app.set({ view: 'explain', selected_query: 7, selected_key: null, head: 0 })")
    wait_explained(nb, root, 7)
    nb.run(SLOW)
    root.evaluate(WATCH_WAIT)
    root.locator('button[data-explain-query="9"]').click()
    # the title names the new pin at once, over the old numbers: a wait for the pin's numbers must not take
    # those for them (the table says whose they are)
    root.locator(".aw-explain-title").filter(has_text="query 9 ").wait_for(timeout=1_000)
    assert root.locator(".aw-explain-table").get_attribute("data-shows") == "7,0"
    assert root.evaluate(f"(el) => ({EXPLAINED})([el, 9, 0])") is False
    page.wait_for_function("() => window.__wait.staleAt != null", timeout=1_200)  # the numbers take 1.5 s
    assert root.locator(".aw-explain-title").inner_text().startswith("query 9 ")
    wait_explained(nb, root, 9)
    rec = page.evaluate("() => { window.__wait.done = true; return window.__wait; }")
    assert rec["staleAt"] - rec["clickAt"] >= 150 - 1, rec  # explainwait.STALE_AFTER: not in the click's frame
    assert len(rec["tops"]) == 1, rec  # nothing above the table came or went
    assert (rec["note"] or "").startswith("waiting for the kernel"), rec
    assert root.locator(".aw-explain-wait").is_hidden()
    nb.run(FAST)
    py = state(nb)
    assert py["q"] == 9 and max(abs(r["w"] - b) for r, b in zip(root.evaluate(ROWS), py["w"])) < 1e-6
    assert browser.console_errors == [], browser.console_errors


def test_before_a_pin_the_rows_show_the_kernels_value_vectors(session):
    """A live kernel sends the shown head's V with the explain view, before any pin (it is every query's): the
    rows of keys show each key's value vector, head by head, as a static copy's do."""
    nb, browser = session
    page = nb.page
    before = page.locator(LIVE).count()  # the other tests may have run their cells, or not
    nb.run(BLANK)
    root = page.locator(LIVE).nth(before)
    V = json.loads(nb.run(BLANK_VALUES).split("VALUES", 1)[1])
    for hd in (0, 1):
        if hd:
            root.locator("select.aw-explain-head").select_option(str(hd))
        page.wait_for_function("([el, t]) => el.querySelector('tr[data-explain-key=\"0\"] .aw-explain-vec')?.title === t",
                               arg=[root.element_handle(), value_text(V[hd][0])], timeout=30_000)
        shown = root.evaluate(VALUES)
        assert len(shown) == len(V[hd]) and all(t == value_text(V[hd][j]) for j, t in shown), shown[:2]
        assert root.locator(".aw-explain-table").get_attribute("data-shows") == ""  # nothing pinned
    assert browser.console_errors == [], browser.console_errors
