"""Hidden views prepare themselves in slices of idle time (js/dom.js prepareWhenIdle and stepWhenIdle), so that
an input then waits for one slice, not for the whole preparation. The graph chooses and paints its lines in
steps (js/lines.js selectLinesSteps, js/layers.js layerSteps): its tab's click then finds the lines painted,
the same pixels as a graph painted in one piece in its own frame. The heads view builds its cards a thumbnail
a step. ``to_html`` copies of 8 heads of random weights over 256 tokens (the lines capped at 100,000: several
steps), opened in Debian's Chromium."""

from __future__ import annotations

import numpy as np
import pytest

from attnwidget import AttentionWidget
from harness import PIXELS, SETTLE

pytestmark = pytest.mark.browser

T, HEADS = 256, 8

# strokes onto offscreen layers (js/layers.js), and hand-overs of layers of lines, counted from before the page's own scripts
COUNT = """() => {
  window.__calls = { stroke: 0, transfer: 0 };
  const P = OffscreenCanvasRenderingContext2D.prototype, stroke = P.stroke, transfer = OffscreenCanvas.prototype.transferToImageBitmap;
  P.stroke = function (...a) { window.__calls.stroke++; this.canvas.__lines = true; return stroke.apply(this, a); };
  OffscreenCanvas.prototype.transferToImageBitmap = function () { if (this.__lines) window.__calls.transfer++; return transfer.call(this); };
}"""
LINES = f"() => Array.from({PIXELS}(document.querySelector('.attnwidget canvas.aw-lines')))"
VIEW = "() => document.querySelector('.attnwidget').attnwidget.app.get('view')"


@pytest.fixture(scope="module")
def pages(tmp_path_factory):
    """{view first shown: path} of one widget's copies."""
    w = np.random.default_rng(7).random((1, HEADS, T, T)).astype(np.float32) ** 4
    w /= w.sum(-1, keepdims=True)
    out = {}
    for view in ("graph", "matrix"):
        out[view] = tmp_path_factory.mktemp("steps") / f"{view}.html"
        AttentionWidget(w, [f"w{i}" for i in range(T)], view=view).to_html(out[view])
    return out


def open_page(browser, path):
    page = browser.new_page()
    page.add_init_script(script=f"({COUNT})()")
    page.goto(path.as_uri())
    page.locator(".attnwidget .aw-tok-query").first.wait_for(state="attached", timeout=20_000)
    page.wait_for_function("() => !document.querySelector('.attnwidget').attnwidget.warming()", timeout=20_000)
    page.evaluate(SETTLE)
    return page


def test_a_hidden_graph_paints_in_steps_what_a_shown_one_paints_at_once(browser, pages):
    shown = open_page(browser, pages["graph"])
    once = shown.evaluate("() => window.__calls")
    want = shown.evaluate(LINES)
    shown.close()
    assert sum(want[3::4]) > 0, "the graph painted no line"
    # a frame paints its layer in one piece (one hand-over), then idle time the faded one in steps (js/layers.js whenIdle)
    assert once["transfer"] >= 3, once

    page = open_page(browser, pages["matrix"])
    ahead = page.evaluate("() => window.__calls")
    # painted while hidden, in several steps: each hands its part over (one hand-over for a layer painted at once)
    assert ahead["transfer"] >= 4 and ahead["stroke"] >= once["stroke"], (ahead, once)
    page.evaluate("() => { window.__calls = { stroke: 0, transfer: 0 }; }")
    page.locator('.attnwidget button[data-view="graph"]').click()
    page.wait_for_function(f"() => ({VIEW})() === 'graph'")
    page.evaluate(SETTLE)
    assert page.evaluate("() => window.__calls.stroke") == 0, "the Graph tab's click painted lines: they were not ready"
    got = page.evaluate(LINES)
    page.close()
    assert len(got) == len(want)
    diff = np.abs(np.array(got, dtype=np.int16) - np.array(want, dtype=np.int16))
    assert diff.max() == 0, f"{int((diff > 0).sum())} channels differ, by up to {diff.max()}"


# Every idle callback given a deadline with no time left (as one that comes after its timeout): each stepper
# then makes one step per callback. The thumbnails the heads view adds, counted per idle callback.
ONE_STEP = """() => {
  const ric = window.requestIdleCallback.bind(window);
  window.__callback = 0; window.__thumbs = [];
  window.requestIdleCallback = (f, o) => ric(() => { window.__callback++; f({ timeRemaining: () => 0, didTimeout: true }); }, o);
  new MutationObserver((records) => {
    const added = records.reduce((n, m) => n + [...m.addedNodes].filter((e) => e.classList?.contains('aw-head-card')).length, 0);
    if (added) window.__thumbs.push([window.__callback, added]);
  }).observe(document, { subtree: true, childList: true });
}"""


def test_a_hidden_heads_view_builds_its_cards_a_thumbnail_an_idle_callback(browser, pages):
    page = browser.new_page()
    page.add_init_script(script=f"document.addEventListener('DOMContentLoaded', {ONE_STEP})")
    page.goto(pages["matrix"].as_uri())
    page.wait_for_function("() => document.querySelectorAll('.attnwidget .aw-head-card').length === 8", timeout=30_000)
    per_callback = page.evaluate("() => window.__thumbs")
    # one card (and its thumbnail, 256 × 256 cells) in each of 8 idle callbacks, not all 8 in one
    assert [n for _, n in per_callback] == [1] * HEADS and len({c for c, _ in per_callback}) == HEADS, per_callback
    page.wait_for_function("() => !document.querySelector('.attnwidget').attnwidget.warming()", timeout=30_000)
    page.locator('.attnwidget button[data-view="heads"]').click()
    page.wait_for_function(f"() => ({VIEW})() === 'heads'")
    # built and drawn while hidden: every thumbnail painted, sized
    sizes = page.evaluate("() => [...document.querySelectorAll('.attnwidget canvas.aw-thumb')].map((c) => [c.width, c.height, c.offsetWidth > 8])")
    page.close()
    assert sizes == [[T, T, True]] * HEADS, sizes


# Strokes counted per animation frame, and those made by the time the frame that handles a click or an input is done
# (a rAF asked for after the widget's own handlers).
INPUT_FRAMES = """() => {
  window.__perFrame = [];
  const tick = () => { window.__perFrame.push(window.__calls.stroke); requestAnimationFrame(tick); };
  requestAnimationFrame(tick);
  for (const type of ['click', 'input']) window.addEventListener(type, () => { const s0 = window.__calls.stroke;
    requestAnimationFrame(() => { window.__clickFrame = window.__calls.stroke - s0; window.__clickNotice = NOTICE(); }); });
}"""
NOTICE = "(() => document.querySelector('.attnwidget .aw-graph-notice')?.textContent)"
INPUT_FRAMES = INPUT_FRAMES.replace("NOTICE", NOTICE)
NO_IDLE = "() => { window.requestIdleCallback = () => 0; (INPUT_FRAMES)(); }".replace("INPUT_FRAMES", INPUT_FRAMES)


def test_a_graph_shown_before_it_prepared_paints_its_lines_in_the_frames_after_not_in_its_tabs_frame(browser, pages):
    """Clicked as the page loads, before the hidden graph painted its lines in idle time (none here): the frame that
    shows it paints none, the frames after it paint them a slice each (js/graphpaint.js baseSlice), and the lines
    are then those of a graph painted in one piece (at T = 512 that frame was 32-88 ms with them, 16-24 without)."""
    shown = open_page(browser, pages["graph"])
    want = shown.evaluate(LINES)
    shown.close()
    page = browser.new_page()
    page.add_init_script(script=f"({COUNT})(); document.addEventListener('DOMContentLoaded', {NO_IDLE})")
    page.goto(pages["matrix"].as_uri())
    page.locator(".attnwidget canvas.aw-matrix-canvas").wait_for(timeout=20_000)
    page.evaluate(SETTLE)
    assert page.evaluate("() => window.__calls.stroke") == 0  # nothing painted ahead
    page.locator('.attnwidget button[data-view="graph"]').click()
    page.wait_for_function(f"() => ({VIEW})() === 'graph' && window.__clickFrame !== undefined")
    page.wait_for_function(f"() => {LINES[6:]}.some((x, i) => i % 4 === 3 && x > 0)", timeout=20_000)
    page.evaluate(SETTLE)
    click_frame, per_frame, got = page.evaluate("() => window.__clickFrame"), page.evaluate("() => window.__perFrame"), page.evaluate(LINES)
    page.close()
    assert click_frame == 0, f"the Graph tab's frame stroked {click_frame} paths"
    painting = [b - a for a, b in zip(per_frame, per_frame[1:]) if b > a]
    assert len(painting) >= 3, painting  # a slice a frame
    diff = np.abs(np.array(got, dtype=np.int16) - np.array(want, dtype=np.int16))
    assert diff.max() == 0, f"{int((diff > 0).sum())} channels differ, by up to {diff.max()}"


def test_a_threshold_step_paints_the_new_lines_in_the_frames_after_its_own(browser, pages, tmp_path):
    """The threshold slider's key: the graph keeps the lines it showed in that input's frame, and chooses and paints the
    new ones a slice a frame after it (js/graph.js chooseLines, slicing; at T = 64 rasterizing them in that frame
    took it to 56-128 ms, at 512 choosing them 40-70 ms); they are then those of a copy made with that threshold,
    painted in one piece."""
    w = np.random.default_rng(7).random((1, HEADS, T, T)).astype(np.float32) ** 4
    w /= w.sum(-1, keepdims=True)
    path = tmp_path / "thr.html"
    AttentionWidget(w, [f"w{i}" for i in range(T)], view="graph", threshold=0.01).to_html(path)
    shown = open_page(browser, path)
    want = shown.evaluate(LINES)
    shown.close()
    page = browser.new_page()
    page.add_init_script(script=f"({COUNT})(); document.addEventListener('DOMContentLoaded', {INPUT_FRAMES})")
    page.goto(pages["graph"].as_uri())  # the same weights, threshold 0
    page.locator(".attnwidget .aw-tok-query").first.wait_for(timeout=20_000)
    page.evaluate(SETTLE)
    before, notice = page.evaluate(LINES), page.evaluate(NOTICE)
    page.focus(".attnwidget input[type=range]")
    page.keyboard.press("ArrowRight")
    page.wait_for_function("() => window.__clickFrame !== undefined && document.querySelector('.attnwidget').attnwidget.app.get('threshold') === 0.01")
    page.wait_for_function(f"(b) => {LINES[6:]}.some((x, i) => x !== b[i])", arg=before, timeout=20_000)
    page.evaluate(SETTLE)
    frame, per_frame, got = page.evaluate("() => window.__clickFrame"), page.evaluate("() => window.__perFrame"), page.evaluate(LINES)
    notices = page.evaluate("() => window.__clickNotice"), page.evaluate(NOTICE)
    page.close()
    assert frame == 0, f"the threshold key's frame stroked {frame} paths"
    # the lines chosen after that frame too (8 x 256² values): its notice (how many lines pass) still the old one there
    assert notice and notices[0] == notice != notices[1], (notice, notices)
    assert len([b - a for a, b in zip(per_frame, per_frame[1:]) if b > a]) >= 2, per_frame
    diff = np.abs(np.array(got, dtype=np.int16) - np.array(want, dtype=np.int16))
    assert diff.max() == 0, f"{int((diff > 0).sum())} channels differ, by up to {diff.max()}"
