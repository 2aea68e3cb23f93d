"""The executed demo as `--to attnwidget_slides`, stepped through at a projector's 1280×720 with the network cut
(issue #16): every slide's content inside the slide with all its fragments shown, in each widget's own view and
in the matrix and heads views; token labels of 20 px or more on screen; arrows step the slides unless the widget
was reached with Tab, and a clicker's PageDown / PageUp step them even then; the closing difference opens as a
matrix of the cross attention; the "it" slide shows its whole sentence, and the model slide the encoder's rows;
no line of code or output runs past its box, and no control past its widget's side; on a 1920 × 1080 screen the
canvases are drawn at the size shown; a heads card's name and figures each stay on one line. Screenshots of
every slide and the measurements go to test-artifacts/slides/."""

from __future__ import annotations

import json
import re

import pytest

from browser_support import ARTIFACTS
from harness import Browser
from test_browser_export import executed, nbconvert  # noqa: F401 - the executed demo, shared fixture

pytestmark = pytest.mark.browser
SHOTS = ARTIFACTS / "slides"
MIN_LABEL_PX = 20

# Every widget of the current slide rendered and fitted (its body given the height the slide leaves).
FITTED = """() => { const s = Reveal.getCurrentSlide();
  const boxes = [...s.querySelectorAll('.attnwidget-static')];
  return boxes.every((b) => { const r = b.querySelector('.attnwidget'); return r && r.classList.contains('aw-slides')
    && r.querySelector('.aw-body').style.maxHeight !== ''; }); }"""

# The slide's cells against the slide's box, and the on-screen size of every token label shown.
MEASURE = """() => {
  const s = Reveal.getCurrentSlide(), box = document.querySelector('.reveal .slides').getBoundingClientRect(), k = Reveal.getScale();
  let top = Infinity, bottom = -Infinity, left = Infinity, right = -Infinity;
  for (const c of s.querySelectorAll('.jp-Cell')) {
    const r = c.getBoundingClientRect();
    if (!r.height) continue;
    top = Math.min(top, r.top); bottom = Math.max(bottom, r.bottom); left = Math.min(left, r.left); right = Math.max(right, r.right);
  }
  const labels = [];
  for (const root of s.querySelectorAll('.attnwidget')) {
    const view = root.querySelector('.aw-tab[aria-selected=true]').dataset.view;
    for (const e of root.querySelectorAll('.aw-tok-text, .aw-explain-key, .aw-explain-tok')) {
      if (e.checkVisibility()) labels.push(parseFloat(getComputedStyle(e).fontSize) * k);
    }
    if (view === 'matrix') labels.push(root.attnwidget.views.matrix.shown().labelPx * k);
  }
  // controls and header texts that run past their widget's side (a side-by-side widget is half a slide wide)
  const spill = [];
  for (const root of s.querySelectorAll('.attnwidget')) {
    const R = root.getBoundingClientRect();
    for (const e of root.querySelectorAll('select, button, input, .aw-ctl, .aw-title, .aw-static-mark')) {
      const r = e.getBoundingClientRect();
      if (e.checkVisibility() && (r.right > R.right + 1 || r.left < R.left - 1)) spill.push(`${e.className || e.tagName} '${e.textContent.slice(0, 30)}'`);
    }
  }
  // code and text outputs whose lines run past their box: on a projector what is cut off cannot be scrolled to
  const cut = [...s.querySelectorAll('.jp-Cell pre')].filter((p) => p.checkVisibility() && p.scrollWidth > p.clientWidth + 1)
    .map((p) => p.textContent.split('\\n').reduce((a, b) => (b.length > a.length ? b : a), '').slice(0, 60));
  // a heads card's name or figure ("max 0.766", "entropy 1.75") broken over two lines: on a projector it reads as two
  const broken = [];
  for (const card of s.querySelectorAll('.aw-head-card')) {
    if (!card.checkVisibility()) continue;
    const texts = document.createTreeWalker(card, NodeFilter.SHOW_TEXT);
    for (let t; (t = texts.nextNode());) {
      let at = 0;
      for (const part of t.data.split(' · ')) {
        const r = document.createRange();
        r.setStart(t, at); r.setEnd(t, at + part.length); at += part.length + 3;
        const lines = new Set([...r.getClientRects()].filter((q) => q.width > 0).map((q) => Math.round(q.top)));
        if (part.trim() && lines.size > 1) broken.push(part);
      }
    }
  }
  return { box: [box.top, box.bottom, box.left, box.right], content: [top, bottom, left, right], height: s.scrollHeight, cut, spill, broken,
           views: [...s.querySelectorAll('.attnwidget')].map((r) => r.querySelector('.aw-tab[aria-selected=true]').dataset.view),
           minLabel: labels.length ? Math.min(...labels) : null, fragments: s.querySelectorAll('.fragment').length, scale: k };
}"""


@pytest.fixture(scope="module")
def slides(executed):  # noqa: F811 - the fixture imported above
    return nbconvert(executed, "attnwidget_slides")


@pytest.fixture(scope="module")
def deck(slides):
    browser = Browser()
    page = browser.new_page(width=1280, height=720)
    page.goto(slides.as_uri())
    page.wait_for_function("() => window.Reveal && Reveal.isReady()", timeout=60_000)
    yield page, browser
    browser.close()


def show(page, ix, fragments=999):
    page.evaluate("([ix, f]) => Reveal.slide(ix.h, ix.v, f)", [ix, fragments])
    page.wait_for_function(FITTED, timeout=30_000)
    page.evaluate("() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)))")
    page.wait_for_timeout(900)  # reveal.js's slide transition (0.8 s): the boxes are measured where they end


def inside(m, slack=1.0):
    (st, sb, sl, sr), (ct, cb, cl, cr) = m["box"], m["content"]
    return ct >= st - slack and cb <= sb + slack and cl >= sl - slack and cr <= sr + slack


def test_every_slide_fits_a_projector(deck):
    page, browser = deck
    SHOTS.mkdir(parents=True, exist_ok=True)
    slides = page.evaluate("() => Reveal.getSlides().map((s) => Reveal.getIndices(s))")
    report, widget_slides = [], 0
    for n, ix in enumerate(slides):
        show(page, ix)
        m = page.evaluate(MEASURE)
        page.screenshot(path=str(SHOTS / f"slide-{n:02d}.png"))
        report.append({"slide": n, **ix, **m})
        assert inside(m), f"slide {n} {ix}: content {m['content']} outside the slide {m['box']}"
        assert m["cut"] == [], f"slide {n} {ix}: lines cut off at the slide's edge: {m['cut']}"
        assert m["spill"] == [], f"slide {n} {ix}: past the widget's side: {m['spill']}"
        assert m["broken"] == [], f"slide {n} {ix}: heads cards' texts broken over two lines: {m['broken']}"
        if not m["views"]:
            continue
        widget_slides += 1
        assert m["minLabel"] is None or m["minLabel"] >= MIN_LABEL_PX, f"slide {n}: token labels of {m['minLabel']:.1f} px"
        # the same slide with its widgets switched to the matrix view
        roots = page.locator("section.present:not(.stack) .attnwidget")
        for i in range(roots.count()):
            roots.nth(i).locator('button[data-view="matrix"]').click()
        page.wait_for_timeout(400)
        mm = page.evaluate(MEASURE)
        page.screenshot(path=str(SHOTS / f"slide-{n:02d}-matrix.png"))
        report[-1]["matrix"] = {"content": mm["content"], "height": mm["height"], "minLabel": mm["minLabel"]}
        assert inside(mm), f"slide {n} in the matrix view: content {mm['content']} outside the slide {mm['box']}"
        assert mm["spill"] == [], f"slide {n} in the matrix view: past the widget's side: {mm['spill']}"
        assert mm["minLabel"] >= MIN_LABEL_PX, f"slide {n}, matrix: token labels of {mm['minLabel']:.1f} px"
        # and in the heads view, whose cards take the slide's height (text under or beside each thumbnail)
        for i in range(roots.count()):
            roots.nth(i).locator('button[data-view="heads"]').click()
        page.wait_for_timeout(400)
        mh = page.evaluate(MEASURE)
        page.screenshot(path=str(SHOTS / f"slide-{n:02d}-heads.png"))
        assert inside(mh), f"slide {n} in the heads view: content {mh['content']} outside the slide {mh['box']}"
        assert mh["spill"] == [] and mh["broken"] == [], f"slide {n} in the heads view: {mh['spill']} {mh['broken']}"
        for i, view in enumerate(m["views"]):  # each widget back in its own view, as the later tests find it
            roots.nth(i).locator(f'button[data-view="{view}"]').click()
    (SHOTS / "measure.json").write_text(json.dumps(report, indent=1))
    assert widget_slides >= 11
    assert browser.blocked == [], browser.blocked
    assert browser.console_errors == [], browser.console_errors


def it_slide(page):
    """Show the slide of the "it" view (8 heads, "it" pinned) and return its widget root: the demo's second
    widget of 8 heads × 11 queries (the first is the heads view a few slides before)."""
    ix = page.evaluate("""() => { const r = [...document.querySelectorAll('.attnwidget .aw-header')]
        .filter((h) => h.textContent.includes('8 heads × 11 queries')).pop().closest('.attnwidget');
        return Reveal.getIndices(r.closest('section')); }""")
    show(page, ix, 0)
    root = page.locator("section.present:not(.stack) .attnwidget").first
    root.locator('button[data-view="graph"]').click()  # (the first test left it in the matrix view)
    root.locator('[data-side="query"]').first.wait_for(timeout=10_000)
    return root


def test_the_it_slide_shows_the_whole_sentence(deck):
    """The lecture's Figure 2 ("it" pinned over 8 heads): every token of the sentence in view on its slide, none
    scrolled out of the graph (the "because it was too tired" that the figure is about at its end)."""
    page, _ = deck
    root = it_slide(page)
    rows = root.evaluate("""(r) => { const s = r.querySelector('.aw-graph-scroll');
        return { content: s.scrollHeight, shown: s.clientHeight, Q: r.attnwidget.app.data.Q }; }""")
    assert rows["Q"] == 11
    assert rows["content"] <= rows["shown"] + 1, f"the graph scrolls: {rows['content']} px of rows in {rows['shown']} px"


def test_the_model_slide_fits_its_rows_to_the_slide(deck):
    """"A whole Transformer": the model view sizes its thumbnails to the height its slide leaves. Its six layers
    do not fit at a readable size and scroll; the encoder's two (its "layers" select) fit whole."""
    page, _ = deck
    ix = page.evaluate("""() => Reveal.getIndices([...document.querySelectorAll('.attnwidget')]
        .find((r) => r.querySelector('.aw-tab[aria-selected=true]')?.dataset.view === 'model').closest('section'))""")
    show(page, ix)
    root = page.locator("section.present:not(.stack) .attnwidget").first
    fits = "(r) => { const b = r.querySelector('.aw-body'); return { scroll: b.scrollHeight, shown: b.clientHeight }; }"
    modes = root.locator('select[aria-label^="which layers"]')
    try:
        modes.select_option("encoder")
        page.wait_for_timeout(400)
        enc = root.evaluate(fits)
        assert enc["scroll"] <= enc["shown"] + 1, f"the encoder's two layers scroll: {enc}"
    finally:
        modes.select_option("all")
    page.wait_for_timeout(400)
    every = root.evaluate(fits)
    assert every["scroll"] > every["shown"], every  # six rows: the view scrolls, at the least thumbnail size


def test_arrows_go_to_the_slides_unless_the_widget_was_tabbed_into(deck):
    page, _ = deck
    root = it_slide(page)
    before = page.evaluate("() => Reveal.getIndices()")
    cross = root.locator('[data-side="query"][data-index="3"]')
    cross.click()  # a click pins, and leaves the arrows to the slides
    page.wait_for_function("(el) => el.classList.contains('aw-pinned')", arg=cross.element_handle())
    widget = root.element_handle()  # this widget, though the next slide is shown
    page.keyboard.press("ArrowRight")
    page.wait_for_function("(b) => JSON.stringify(Reveal.getIndices()) !== JSON.stringify(b)", arg=before, timeout=5_000)
    assert widget.evaluate("(r) => r.attnwidget.app.get('selected_query')") == 3  # the pin stayed where it was
    root = it_slide(page)  # back on the slide
    cross = root.locator('[data-side="query"][data-index="3"]')
    cross.click()  # focus on the token again (the click releases the pin)
    page.keyboard.press("Tab")  # keyboard focus: now the arrows are the widget's
    assert page.evaluate("() => document.activeElement.matches(':focus-visible') && document.activeElement.dataset.index") == "4"
    page.keyboard.press("ArrowDown")
    assert page.evaluate("() => document.activeElement.dataset.index") == "5"
    assert page.evaluate("() => Reveal.getIndices()") == before


def test_a_clickers_page_keys_step_the_slides_even_from_inside_a_widget(deck):
    """A presenter's remote sends PageDown / PageUp: they step the slides wherever the focus is in a widget, even
    reached with Tab (whose arrows are the widget's)."""
    page, _ = deck
    for key, step in (("PageDown", 1), ("PageUp", -1)):
        root = it_slide(page)
        at = page.evaluate("() => Reveal.getProgress()")  # fragments count: PageUp may first hide one
        root.locator('[data-side="query"][data-index="3"]').click()
        page.keyboard.press("Tab")
        assert page.evaluate("() => document.activeElement.matches('.attnwidget :focus-visible')")
        page.keyboard.press(key)
        page.wait_for_function("(p) => Reveal.getProgress() !== p", arg=at, timeout=5_000)
        assert (page.evaluate("() => Reveal.getProgress()") - at) * step > 0


# Each shown canvas but the heat maps (one pixel a cell, drawn pixelated on purpose): its pixels against the device
# pixels it covers on screen.
SHARPNESS = """() => [...Reveal.getCurrentSlide().querySelectorAll('.attnwidget canvas')]
  .filter((c) => c.checkVisibility() && getComputedStyle(c).imageRendering !== 'pixelated')
  .map((c) => [c.className, c.width / (c.getBoundingClientRect().width * devicePixelRatio)])"""


def test_a_larger_screen_gets_canvases_drawn_at_its_size(deck, slides):
    """reveal.js scales the 1280 × 720 slides up to a 1920 × 1080 projector: the graph's lines and the matrix's
    labels are drawn at the size they are shown, not blown up from 1280 (blurred)."""
    _, browser = deck  # a page of its own, in the deck's browser (one Playwright a thread)
    page = browser.new_page(width=1920, height=1080)
    try:
        page.goto(slides.as_uri())
        page.wait_for_function("() => window.Reveal && Reveal.isReady() && [...document.querySelectorAll('.attnwidget .aw-header')]"
                               ".some((h) => h.textContent.includes('8 heads × 11 queries'))", timeout=60_000)
        root = it_slide(page)
        assert page.evaluate("() => Reveal.getScale()") > 1.4
        for view in ("graph", "matrix"):
            root.locator(f'button[data-view="{view}"]').click()
            ok = f"() => {{ const r = ({SHARPNESS})(); return r.length >= 1 && r.every(([, k]) => Math.abs(k - 1) < 0.03); }}"
            try:
                page.wait_for_function(ok, timeout=5_000)
            except Exception:  # noqa: BLE001 - the ratios say what is blurred
                raise AssertionError(f"{view}: canvas pixels per screen pixel {page.evaluate(SHARPNESS)}") from None
        assert browser.console_errors == [], browser.console_errors
    finally:
        page.context.close()


def test_the_difference_opens_on_its_largest_change_as_a_matrix(deck):
    page, _ = deck
    last = page.evaluate("() => Reveal.getIndices(Reveal.getSlides().at(-1))")
    show(page, last)
    root = page.locator("section.present:not(.stack) .attnwidget").first
    assert "a − b" in root.locator(".aw-title").inner_text()
    assert root.locator('button[data-view="matrix"]').get_attribute("aria-selected") == "true"
    layer = root.locator('select[aria-label="layer"]')
    assert layer.locator("option:checked").inner_text() == "decoder/dec_layers_0/cross_attention/mha"
    shown = root.evaluate("(r) => r.attnwidget.views.matrix.shown()")
    assert shown["range"]["lo"] < 0 < shown["range"]["hi"]  # the diverging scale: white at 0
    notice = root.locator(".aw-notice").first.inner_text()  # its span, typeset as the explain view's numbers
    assert re.search(r"not probabilities \(raw scores\), scale −\d\.\d{4} … \d\.\d{4}$", notice), notice
    anti = root.evaluate("""(r) => { const d = r.attnwidget.app.data, n = d.Q, z = -d.lo * 255 / (d.hi - d.lo);
        let s = 0; for (let i = 0; i < n; i++) s += d.q[i * n + n - 1 - i] - z; return s / n; }""")
    assert anti > 40  # head 0's anti-diagonal: well above zero (blue)
    root.locator('button[data-view="graph"]').click()
    legend = root.locator(".aw-graph-legend")
    legend.wait_for(timeout=5_000)
    assert "positive (a attends more)" in legend.inner_text() and "negative (b attends more)" in legend.inner_text()
    page.screenshot(path=str(SHOTS / "difference-graph.png"))
