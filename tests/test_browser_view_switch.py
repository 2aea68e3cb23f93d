"""A hidden view keeps its layout, out of sight, reach and flow (js/styles.css, `.aw-view[hidden]`), and is
shown once (the graph twice), for one frame and unseen, ahead of its first showing (js/warm.js).

The views are not dropped with ``display: none`` when another is shown (which made a tab's click lay the
view out anew: 13-16 ms from the click to the screen on the graph and explain tabs): a hidden one is
``content-visibility: hidden`` (not rendered, its layout kept), ``visibility: hidden`` and out of the flow.
So it must be none of painted, hit by the pointer, reached by Tab, or given room; and a tab's click that
shows a view again lays out a few objects, not the view (read from Chrome's trace of a trusted click). A
hidden graph builds its tokens and paints its lines once the page is idle (js/graph.js prepare), so that its
tab's first click does not (at T = 512, 144 ms in that click's frame); but not again when only the heads
change while it is hidden (a head card's click solos its head: the graph redrawn after each delayed the next
input by 40-64 ms).
"""

from __future__ import annotations

import json
from collections import Counter

import numpy as np
import pytest

from attnwidget import AttentionWidget
from harness import PIXELS, SETTLE, centre

pytestmark = pytest.mark.browser

T = 24
VIEWS = ("graph", "matrix", "heads", "model")
STATE = """() => {
  const root = document.querySelector('.attnwidget'), body = root.querySelector('.aw-body');
  const views = [...body.children], shown = views.filter((v) => !v.hidden);
  const r = shown[0].getBoundingClientRect();
  const hit = document.elementFromPoint(r.left + r.width / 2, r.top + Math.min(r.height, 200) / 2);
  return { shown: shown.map((v) => v.className), seen: views.filter((v) => v.checkVisibility({ visibilityProperty: true })).map((v) => v.className),
           hitShown: Boolean(hit && shown[0].contains(hit)), bodyH: body.offsetHeight, shownH: shown[0].offsetHeight };
}"""


def open_copy(browser, tmp_path, layers: int, heads: int, view: str, init: str | None = None):
    """A ``to_html`` copy of ``layers`` layers of random weights ``(1, heads, T, T)``, first shown in ``view``, open in a
    page (``init``: a script run before the page's own, at DOMContentLoaded)."""
    w = np.random.default_rng(layers * 10 + heads).random((layers, 1, heads, T, T)).astype(np.float32)
    w /= w.sum(-1, keepdims=True)
    path = tmp_path / f"{view}-{layers}x{heads}.html"
    AttentionWidget(list(w) if layers > 1 else w[0], [f"w{i}" for i in range(T)], view=view).to_html(path)
    page = browser.new_page()
    if init:
        page.add_init_script(script=f"document.addEventListener('DOMContentLoaded', {init})")
    page.goto(path.as_uri())
    return page


@pytest.fixture
def page(browser, tmp_path):
    page = open_copy(browser, tmp_path, layers=2, heads=4, view="graph")
    page.locator(".attnwidget .aw-tok-query").first.wait_for(timeout=10_000)
    # the hidden views shown once unseen (js/warm.js) before any is checked: one frame of that would count as seen
    page.wait_for_function("() => !document.querySelector('.attnwidget').attnwidget.warming()", timeout=10_000)
    yield page
    page.close()


def show(page, view):
    page.locator(f'.attnwidget button[data-view="{view}"]').click()
    page.wait_for_function("(v) => document.querySelector('.attnwidget').attnwidget.app.get('view') === v", arg=view)
    page.evaluate(SETTLE)


def test_a_hidden_view_is_not_seen_hit_reached_by_tab_or_given_room(page):
    for view in VIEWS:
        show(page, view)
        s = page.evaluate(STATE)
        assert s["shown"] == s["seen"] == [f"aw-{view} aw-view"], s
        assert s["hitShown"], f"{view}: the pointer at the view's middle hits another view"
        assert abs(s["bodyH"] - s["shownH"]) <= 1, f"{view}: hidden views take room ({s})"
        page.locator(f'.attnwidget button[data-view="{view}"]').focus()
        for _ in range(40):  # Tab from the tabs through the toolbar and the view, and on out of the widget
            page.keyboard.press("Tab")
            where = page.evaluate("() => { const a = document.activeElement; return a.closest('[hidden]') ? a.outerHTML.slice(0, 80) : null; }")
            assert where is None, f"{view} shown: Tab reached {where} in a hidden view"


def traced_tab_click(browser, page, view) -> list[dict]:
    """A trusted click on ``view``'s tab (the pointer there beforehand), traced: the trace's events."""
    x, y = centre(page.locator(f'.attnwidget button[data-view="{view}"]'))
    page.mouse.move(x, y)
    page.evaluate(SETTLE)
    browser.browser.start_tracing(page=page, categories=["devtools.timeline"])
    page.mouse.click(x, y)
    page.evaluate(SETTLE)
    return json.loads(browser.browser.stop_tracing())["traceEvents"]


def laid_out(browser, page, view) -> dict:
    """{dirty, total} objects of the largest layout that a click on ``view``'s tab made."""
    layouts = [e["args"]["beginData"] for e in traced_tab_click(browser, page, view) if e.get("name") == "Layout" and e.get("ph") == "X"]
    assert layouts, "the click laid nothing out"
    top = max(layouts, key=lambda d: d["dirtyObjects"])
    return {"dirty": top["dirtyObjects"], "total": top["totalObjects"]}


def restyled(browser, page, view) -> int:
    """How many elements a click on ``view``'s tab restyled (the most of one style recalc)."""
    return max((e["args"].get("elementCount", 0) for e in traced_tab_click(browser, page, view) if e.get("name") == "UpdateLayoutTree"), default=0)


def test_a_first_showing_after_the_warm_up_restyles_few_elements(browser, tmp_path):
    """The warm-up (js/warm.js) changes no inherited property of the view but visibility: with pointer-events or
    inert set and unset there, the first showing restyled every element of the view (tried: 255 of the graph's
    at T = 4,096)."""
    page = open_copy(browser, tmp_path, layers=2, heads=4, view="model")
    page.locator(".attnwidget canvas.aw-model-canvas").wait_for(timeout=10_000)
    page.wait_for_function("() => !document.querySelector('.attnwidget').attnwidget.warming()", timeout=10_000)
    elements = page.evaluate("() => document.querySelectorAll('.attnwidget .aw-graph *').length")
    got = restyled(browser, page, "graph")
    page.close()
    assert got < elements / 4, f"the graph's first showing restyled {got} elements (it has {elements})"


def test_a_tab_click_shows_a_view_without_laying_it_out_again(browser, page):
    for view in VIEWS:  # each view shown, drawn and laid out once
        show(page, view)
    for view in ("graph", "heads"):  # the views of most objects here: token buttons, cards
        show(page, "matrix")
        got = laid_out(browser, page, view)
        # the view's own objects are not laid out again, only the tabs and the body around it: a fraction of
        # the page's (with display: none, 187 of 252 on the graph's click)
        assert got["dirty"] < got["total"] / 4, f"{view}'s tab laid out {got['dirty']} of the page's {got['total']} objects"


HIDDEN_GRAPH = """() => {
  const g = document.querySelector('.attnwidget .aw-graph'), c = g?.querySelector('canvas.aw-lines');
  if (!c) return { hidden: null, tokens: 0, painted: 0 }; // not rendered yet
  const px = PIXELS(c);
  let painted = 0;
  for (let i = 3; i < px.length; i += 4) if (px[i]) painted++;
  return { hidden: g.hidden, tokens: g.querySelectorAll('.aw-tok-query').length, painted };
}""".replace("PIXELS", PIXELS)


def test_a_hidden_graph_builds_and_paints_itself_when_the_page_is_idle(browser, tmp_path):
    page = open_copy(browser, tmp_path, layers=1, heads=2, view="matrix")
    page.locator(".attnwidget canvas.aw-matrix-canvas").wait_for(timeout=10_000)
    page.wait_for_function(f"() => ({HIDDEN_GRAPH})().painted > 0", timeout=10_000)  # a few idle callbacks, each at the latest after 1 s
    got = page.evaluate(HIDDEN_GRAPH)
    assert got["hidden"] and got["tokens"] == T and got["painted"] > 1000, got  # every token, lines drawn, unseen
    page.close()


GRAPH_PAINTS = """() => {
  window.__graphPaints = 0;
  const wrap = (P, name) => {
    const f = P[name];
    P[name] = function (...a) { if (String(this.canvas?.className).startsWith('aw-lines')) window.__graphPaints++; return f.apply(this, a); };
  };
  for (const name of ["stroke", "fillRect", "drawImage", "putImageData"]) wrap(CanvasRenderingContext2D.prototype, name);
  wrap(ImageBitmapRenderingContext.prototype, "transferFromImageBitmap");
}"""


def test_a_hidden_graph_is_not_redrawn_when_a_head_card_solos_a_head(browser, tmp_path):
    page = open_copy(browser, tmp_path, layers=1, heads=4, view="heads")
    page.locator(".attnwidget button.aw-head-card").first.wait_for(timeout=10_000)
    page.wait_for_function(f"() => ({HIDDEN_GRAPH})().painted > 1000", timeout=10_000)  # prepared once
    page.evaluate(GRAPH_PAINTS)
    for card in (1, 2):
        page.locator(f'.attnwidget button.aw-head-card[data-head="{card}"]').click()  # the matrix, head 1 alone
        page.wait_for_function("() => document.querySelector('.attnwidget').attnwidget.app.get('view') === 'matrix'")
        show(page, "heads")
        page.wait_for_timeout(1200)  # idle time (an idle callback runs within 1 s)
    heads = page.evaluate("() => document.querySelector('.attnwidget').attnwidget.app.get('heads')")
    assert heads == [2] and page.evaluate("() => window.__graphPaints") == 0, heads
    show(page, "graph")  # shown, it draws what it missed: head 2's lines only
    assert page.evaluate("() => window.__graphPaints") > 0
    page.close()


# Every class change of a view, with the frame it came in and, while it is warmed, what the page shows there
WARM_RECORD = """() => {
  window.__frame = 0;
  const tick = () => { window.__frame++; requestAnimationFrame(tick); };
  requestAnimationFrame(tick);
  window.__warm = [];
  const scrollH = () => document.scrollingElement.scrollHeight;
  new MutationObserver((records) => {
    for (const m of records) {
      const v = m.target;
      if (!v.classList?.contains('aw-view') || v.classList.contains('aw-warm') === m.oldValue?.includes('aw-warm')) continue;
      const r = v.getBoundingClientRect(), body = v.parentElement.getBoundingClientRect();
      const hit = document.elementFromPoint(r.left + r.width / 2, r.top + Math.min(r.height, 100) / 2);
      window.__warm.push({ view: v.className.replace(/ ?aw-(view|warm)/g, ''), on: v.classList.contains('aw-warm'), frame: window.__frame,
        hidden: v.hidden, ariaHidden: v.getAttribute('aria-hidden'), hit: Boolean(hit && v.contains(hit)), seen: v.checkVisibility({ visibilityProperty: true }),
        opacity: +getComputedStyle(v).opacity, within: r.bottom <= body.bottom + 1, scrollH: scrollH() });
    }
  }).observe(document, { subtree: true, attributes: true, attributeFilter: ['class'], attributeOldValue: true });
}"""


def test_a_hidden_view_is_shown_once_for_a_frame_out_of_sight_and_reach_after_its_preparation(browser, tmp_path):
    """A view that prepares itself while hidden is then shown for one frame (js/warm.js), so that its first
    showing finds the compositor's layers made: seen (visibility) but nearly transparent, aria-hidden, not hit,
    clipped to the body (the page's height unchanged); once only, and never for the view on screen."""
    page = open_copy(browser, tmp_path, layers=2, heads=4, view="graph", init=WARM_RECORD)
    page.wait_for_function("() => new Set(window.__warm.filter((r) => !r.on).map((r) => r.view)).size >= 4", timeout=10_000)
    page.wait_for_timeout(1200)  # another would come in idle time
    rec = page.evaluate("() => window.__warm")
    on = {r["view"]: r for r in rec if r["on"]}
    off = {r["view"]: r for r in rec if not r["on"]}
    # the views that prepare while hidden (not the graph on screen)
    assert sorted(on) == sorted(off) == ["aw-explain", "aw-heads", "aw-matrix", "aw-model"], rec
    assert len(rec) == 8, rec  # once each
    for view, r in on.items():
        assert r["hidden"] and r["ariaHidden"] == "true" and r["seen"] and not r["hit"] and r["within"] and r["opacity"] < 0.01, r
        assert 1 <= off[view]["frame"] - r["frame"] <= 3 and off[view]["ariaHidden"] is None, (r, off[view])
        assert r["scrollH"] == off[view]["scrollH"], (r, off[view])
    show(page, "matrix")
    show(page, "graph")
    page.wait_for_timeout(1200)
    assert len(page.evaluate("() => window.__warm")) == 8  # shown or warmed once: never again
    page.close()


def test_a_hidden_graph_is_shown_twice_unseen_each_after_the_last_the_other_views_once(browser, tmp_path):
    """The graph's canvases are 2D (js/graphpaint.js onto): Chromium hands such a canvas's pixels to the compositor
    anew at each of its first two showings, so a hidden graph is warmed twice (js/warm.js). Traced (T = 512): the
    commit of its tab's first click made its canvas resource in 1.38 ms warmed once, 0.09 ms warmed twice."""
    page = open_copy(browser, tmp_path, layers=2, heads=4, view="model", init=WARM_RECORD)
    page.locator(".attnwidget canvas.aw-model-canvas").wait_for(timeout=10_000)
    page.wait_for_function("() => !document.querySelector('.attnwidget').attnwidget.warming()", timeout=10_000)
    page.wait_for_timeout(1200)  # another would come in idle time
    rec = page.evaluate("() => window.__warm")
    page.close()
    assert Counter(r["view"] for r in rec if r["on"]) == {"aw-graph": 2, "aw-matrix": 1, "aw-heads": 1, "aw-explain": 1}, rec
    graph = [r for r in rec if r["view"] == "aw-graph"]
    assert [r["on"] for r in graph] == [True, False, True, False], graph
    for on, off in (graph[:2], graph[2:]):
        assert on["hidden"] and on["ariaHidden"] == "true" and on["seen"] and not on["hit"] and on["opacity"] < 0.01, on
        assert 1 <= off["frame"] - on["frame"] <= 3 and off["ariaHidden"] is None, (on, off)


def test_the_heads_tab_first_click_writes_nothing_in_its_view(browser, tmp_path):
    """Behind the graph the heads view builds its cards and sizes, colours and labels them in idle time (js/heads.js
    prepareCards): its tab's first click shows them as they are (the 33 writes it made restyled that frame), and
    the thumbnails are sized as the view shown draws them."""
    page = open_copy(browser, tmp_path, layers=1, heads=4, view="graph")
    ready = "() => [...document.querySelectorAll('.attnwidget canvas.aw-thumb')].filter((c) => c.style.width).length === 4"
    page.wait_for_function(ready, timeout=10_000)
    # what is written inside the view (not its own hidden, class or aria-hidden: shown, or shown once unseen, warm.js)
    page.evaluate("""() => { const v = document.querySelector('.attnwidget .aw-heads'); window.__writes = [];
      new MutationObserver((rs) => { for (const m of rs) if (m.target !== v) window.__writes.push(m.type + ' ' + (m.attributeName || '') + ' ' + m.target.className); })
        .observe(v, { subtree: true, attributes: true, childList: true, characterData: true }); }""")
    sizes = page.evaluate("() => [...document.querySelectorAll('.attnwidget canvas.aw-thumb')].map((c) => c.style.width)")
    show(page, "heads")
    assert page.evaluate("() => document.querySelector('.attnwidget .aw-heads').checkVisibility()")
    assert page.evaluate("() => window.__writes") == []
    show(page, "matrix")
    page.evaluate("() => document.querySelector('.attnwidget').attnwidget.views.heads.draw()")  # drawn shown anew: the same sizes
    assert page.evaluate("() => [...document.querySelectorAll('.attnwidget canvas.aw-thumb')].map((c) => c.style.width)") == sizes
    page.close()


MODEL_PAINTS = """() => { window.__modelPaints = 0;
  const f = ImageBitmapRenderingContext.prototype.transferFromImageBitmap;
  ImageBitmapRenderingContext.prototype.transferFromImageBitmap = function (...a) {
    if (this.canvas.classList.contains('aw-model-canvas')) window.__modelPaints++; return f.apply(this, a); }; }"""


def test_the_model_tab_first_click_paints_nothing(browser, tmp_path):
    """Behind the graph the model view paints its grid in idle time (js/modelview.js PREPARE_ON): its tab's first
    click shows the grid as painted, and paints it again only when what it shows changed."""
    page = open_copy(browser, tmp_path, layers=2, heads=4, view="graph")
    page.locator(".attnwidget .aw-tok-query").first.wait_for(timeout=10_000)
    page.wait_for_function("() => !document.querySelector('.attnwidget').attnwidget.warming()", timeout=10_000)
    size = page.evaluate("() => { const c = document.querySelector('.attnwidget canvas.aw-model-canvas'); return [c.width, c.height]; }")
    page.evaluate(MODEL_PAINTS)
    show(page, "model")
    assert page.evaluate("() => window.__modelPaints") == 0 and size[0] > 200 and size[1] > 100, size
    page.locator('.attnwidget button[data-view="graph"]').click()
    page.evaluate("() => document.querySelector('.attnwidget').attnwidget.app.set({ layer: 1 })")  # what it shows changed
    show(page, "model")
    assert page.evaluate("() => window.__modelPaints") == 1
    page.close()
