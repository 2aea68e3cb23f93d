"""A pin writes to the page only what it changes: a Keras layer of 8 heads over 64 tokens, exported with
``to_html`` and opened in Debian's Chromium, one page per view. A MutationObserver records every write
while another query is pinned: none outside the view, none that leaves a value as it was. Such a write
still costs: the browser restyles (and often lays out and repaints) what it touches, which cost the
explain view's click a frame on most clicks.
"""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.browser

T = 64
VIEWS = ("explain", "graph", "matrix", "heads")

# Set the model's traits `first`, then record what setting `then` writes: {kind, name (attribute), inside
# (in `view`'s element), node (tag.classes), same (the write left the value as it was)}.
RECORD = """async ([view, first, then]) => {
  const root = document.querySelector('.attnwidget'), { app, views } = root.attnwidget;
  const frame = () => new Promise((r) => requestAnimationFrame(() => setTimeout(r, 30)));
  app.set(first); await frame(); await frame();
  const seen = [], el = (n) => (n.nodeType === 1 ? n : n.parentNode);
  // a text replaced by the same text (textContent written again); other nodes added or removed are changes
  const texts = (nodes) => (Array.from(nodes).every((n) => n.nodeType === 3) ? Array.from(nodes, (n) => n.data).join("") : null);
  const same = (m) => m.type === "attributes" ? m.oldValue === m.target.getAttribute(m.attributeName)
    : m.type === "characterData" ? m.oldValue === m.target.data
    : texts(m.removedNodes) !== null && texts(m.removedNodes) === texts(m.addedNodes);
  const mo = new MutationObserver((l) => { for (const m of l) {
    const e = el(m.target);
    seen.push({ kind: m.type, name: m.attributeName || "", inside: views[view].el.contains(e),
      node: e.tagName.toLowerCase() + "." + [...e.classList].join("."), same: same(m) });
  } });
  mo.observe(root, { subtree: true, attributes: true, childList: true, characterData: true, attributeOldValue: true, characterDataOldValue: true });
  app.set(then); await frame(); await frame();
  mo.disconnect();
  return seen; }"""


# The page's first frames, then what the hidden views prepare in idle time (the graph's lines, in steps, the
# matrix's heat maps: js/dom.js prepareWhenIdle, js/matrixprep.js) and their warm-ups (js/warm.js, which come
# after), then two idle periods: all done before a write is recorded.
SETTLED = """() => new Promise((done) => {
  const root = document.querySelector('.attnwidget');
  const idle = () => requestIdleCallback(() => requestIdleCallback(done, { timeout: 3000 }), { timeout: 3000 });
  const wait = () => (root.attnwidget.warming() ? setTimeout(wait, 50) : idle());
  requestAnimationFrame(() => requestAnimationFrame(wait));
})"""


@pytest.fixture(scope="module")
def pages(tmp_path_factory):
    """{view: the page of a 64-token Keras layer shown in that view}."""
    import attnwidget

    res = attnwidget.attention(kind="global", num_heads=8, key_dim=16, max_tokens=T, query=" ".join(f"t{i}" for i in range(T)))
    out = {}
    work = tmp_path_factory.mktemp("pin-writes")
    for view in VIEWS:
        res.widget.view = view
        out[view] = work / f"{view}.html"
        res.to_html(out[view], max_weights=None)
    return out


@pytest.mark.parametrize("view", VIEWS)
def test_a_pin_writes_only_inside_its_view_and_only_what_changed(browser, pages, view):
    page = browser.new_page()
    page.goto(pages[view].as_uri())
    page.locator(f".attnwidget .aw-{view}").first.wait_for(timeout=10_000)
    page.evaluate(SETTLED)
    seen = page.evaluate(RECORD, [view, {"selected_query": 3, "selected_key": None}, {"selected_query": 10, "selected_key": None}])
    page.close()
    outside = [s for s in seen if not s["inside"]]
    assert not outside, f"a pin in the {view} view wrote outside it: {outside}"
    unchanged = [s for s in seen if s["same"]]
    assert not unchanged, f"{len(unchanged)} writes left their value as it was, e.g. {unchanged[:3]}"
    if view == "explain":
        tokens = [s for s in seen if s["node"].startswith("button.aw-explain-tok")]
        assert len(tokens) == 4, f"the two query tokens' class and aria-pressed, no others: {tokens}"
    if view == "heads":
        assert not seen, f"the heads view shows no pin, and a pin wrote {seen}"


def test_a_view_switch_writes_only_what_changed(browser, pages):
    """The heads view to each other view: the controls and views write no value they already hold."""
    page = browser.new_page()
    page.goto(pages["heads"].as_uri())
    page.locator(".attnwidget .aw-heads").first.wait_for(timeout=10_000)
    page.evaluate(SETTLED)
    for view in ("graph", "matrix", "explain"):
        seen = page.evaluate(RECORD, [view, {"view": "heads"}, {"view": view}])
        unchanged = [s for s in seen if s["same"]]
        assert not unchanged, f"heads → {view}: {len(unchanged)} writes left their value as it was, e.g. {unchanged[:3]}"
    page.close()


HOVER_RECORD = """() => { const root = document.querySelector('.attnwidget'); window.__seen = [];
  window.__mo = new MutationObserver((l) => { for (const m of l) window.__seen.push({ kind: m.type, name: m.attributeName || '',
    node: m.target.className || '', same: m.type === 'attributes' && m.oldValue === m.target.getAttribute(m.attributeName) }); });
  window.__mo.observe(root, { subtree: true, attributes: true, attributeOldValue: true }); }"""


def test_a_matrix_hover_moves_its_outline_onto_the_cell(browser, pages):
    """The pointer from one cell to another: the outline sits on the second, and only what moved is written."""
    page = browser.new_page()
    page.goto(pages["matrix"].as_uri())
    heat = page.locator(".attnwidget canvas.aw-matrix-heat:not([hidden])").first
    heat.wait_for(timeout=10_000)
    box = heat.bounding_box()
    cell = lambda i, j: (box["x"] + (j + 0.5) * box["width"] / T, box["y"] + (i + 0.5) * box["height"] / T)  # noqa: E731
    page.mouse.move(*cell(2, 3))
    page.evaluate(SETTLED)  # the hidden views' idle preparation and warm-up (js/warm.js) done before recording
    page.evaluate(HOVER_RECORD)
    x, y = cell(40, 20)
    page.mouse.move(x, y)
    page.wait_for_timeout(150)
    seen = page.evaluate("() => { window.__mo.disconnect(); return window.__seen; }")
    outline = page.locator(".attnwidget .aw-matrix-hover").bounding_box()
    page.close()
    assert outline["x"] < x < outline["x"] + outline["width"] and outline["y"] < y < outline["y"] + outline["height"], (outline, x, y)
    assert outline["width"] < 3 * box["width"] / T, "one cell's outline"
    assert [s for s in seen if "aw-matrix-hover" in s["node"]], "the outline moved"
    assert not [s for s in seen if s["same"]], seen
