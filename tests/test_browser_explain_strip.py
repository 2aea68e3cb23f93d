"""The explain view's query strip (js/explainstrip.js) in a ``to_html`` page of a Keras layer over 64 tokens,
in Debian's Chromium: the strip is a box of a few lines that scrolls, and the pinned query stays in it as the
arrow keys walk the pin, without a layout read in the frame that marks it."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.browser

T = 64
SHOWN = """(el) => { const s = el.querySelector('.aw-explain-tokens'), b = s.querySelector('.aw-explain-tok.aw-current');
  const sr = s.getBoundingClientRect(), br = b.getBoundingClientRect();
  return { q: Number(b.dataset.explainQuery), inside: br.top >= sr.top - 0.5 && br.bottom <= sr.bottom + 0.5,
           overflows: s.scrollHeight > s.clientHeight }; }"""
# Reads of the strip's scrollTop, each marked with whether the pinned button changed earlier in the same
# animation frame (the pin's frame, where a read lays the page out) or not.
READS = """(el) => {
  const s = el.querySelector('.aw-explain-tokens');
  const pinned = () => s.querySelector('.aw-explain-tok.aw-current')?.dataset.explainQuery;
  const d = Object.getOwnPropertyDescriptor(Element.prototype, 'scrollTop');
  let frame = null, atStart = null;
  window.__reads = [];
  Object.defineProperty(s, 'scrollTop', { configurable: true, set(x) { d.set.call(this, x); },
    get() { window.__reads.push(pinned() === atStart ? 'a later frame' : 'the pin frame'); return d.get.call(this); } });
  const raf = window.requestAnimationFrame;
  window.requestAnimationFrame = (f) => raf((t) => { if (t !== frame) { frame = t; atStart = pinned(); } f(t); });
}"""
TITLE = "([el, q]) => el.querySelector('.aw-explain-title').textContent.startsWith(`query ${q} `)"


@pytest.fixture(scope="module")
def path(tmp_path_factory):
    import attnwidget

    res = attnwidget.attention(kind="global", num_heads=2, key_dim=8, max_tokens=T, query=" ".join(f"word{i}" for i in range(T)))
    res.widget.view = "explain"
    out = tmp_path_factory.mktemp("explain-strip") / "strip.html"
    res.to_html(out, max_weights=None)
    return out


def test_the_pinned_query_stays_in_the_strips_view(browser, path):
    page = browser.new_page()
    page.goto(path.as_uri())
    root = page.locator(".attnwidget").first
    view = root.locator(".aw-explain")
    view.focus()
    page.keyboard.press("ArrowUp")  # nothing pinned: the last query, at the strip's bottom
    page.wait_for_function(TITLE, arg=[root.element_handle(), T - 1])
    page.wait_for_timeout(100)
    got = root.evaluate(SHOWN)
    assert got["overflows"], "the strip must hold more than its box shows, or this test cannot fail"
    assert got == {"q": T - 1, "inside": True, "overflows": True}
    # walking back up past the lines in view, the pin stays in view, and the strip's offset is read only the
    # frame after the pin's (the page is laid out by then)
    root.evaluate(READS)
    for q in range(T - 2, T - 40, -1):
        view.focus()
        page.keyboard.press("ArrowUp")
        page.wait_for_function(TITLE, arg=[root.element_handle(), q])
    page.wait_for_timeout(100)
    assert root.evaluate(SHOWN) == {"q": T - 39, "inside": True, "overflows": True}
    reads = page.evaluate("() => window.__reads")
    assert reads and set(reads) == {"a later frame"}, reads
    page.close()


def test_a_click_on_a_token_in_view_leaves_the_strip_where_it_is(browser, path):
    page = browser.new_page()
    page.goto(path.as_uri())
    root = page.locator(".attnwidget").first
    strip = root.locator(".aw-explain-tokens")
    strip.evaluate("(s) => { s.scrollTop = 30; }")
    top = strip.evaluate("(s) => s.scrollTop")
    assert top > 0
    visible = root.evaluate("""(el) => { const s = el.querySelector('.aw-explain-tokens'), r = s.getBoundingClientRect();
      return Array.from(s.querySelectorAll('.aw-explain-tok')).find((b) => { const x = b.getBoundingClientRect();
        return x.top > r.top + 2 && x.bottom < r.bottom - 2; }).dataset.explainQuery; }""")
    root.locator(f'button[data-explain-query="{visible}"]').click()
    page.wait_for_function(TITLE, arg=[root.element_handle(), int(visible)])
    page.wait_for_timeout(100)
    assert strip.evaluate("(s) => s.scrollTop") == top
    page.close()


def test_the_hidden_view_has_its_strip_and_rows_ready_before_its_tab_is_clicked(browser, path):
    """Pinned in the graph view, the hidden explain view fills its strip and table in idle time; the tab's
    click then adds no element to it, and brings the pinned query into the strip's view."""
    page = browser.new_page()
    page.goto(path.as_uri())
    root = page.locator(".attnwidget").first
    root.locator(".aw-explain-tok").first.wait_for()
    page.evaluate("() => document.querySelector('.attnwidget').attnwidget.app.set({ view: 'graph', selected_query: 60 })")
    page.wait_for_function("""(el) => el.querySelector('.aw-explain').hidden
      && el.querySelectorAll('.aw-explain tr[data-explain-key]').length > 20
      && el.querySelector('.aw-explain-tok.aw-current')?.dataset.explainQuery === '60'""", arg=root.element_handle(), timeout=5_000)
    root.evaluate("""(el) => { window.__added = [];
      new MutationObserver((l) => { for (const m of l) for (const n of m.addedNodes) if (n.nodeType === 1) window.__added.push(n.tagName); })
        .observe(el.querySelector('.aw-explain'), { subtree: true, childList: true }); }""")
    root.locator('button[data-view="explain"]').click()
    page.wait_for_function(TITLE, arg=[root.element_handle(), 60])
    page.evaluate("() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(() => setTimeout(r, 100))))")
    assert page.evaluate("() => window.__added") == []
    assert root.evaluate(SHOWN) == {"q": 60, "inside": True, "overflows": True}
    page.close()
