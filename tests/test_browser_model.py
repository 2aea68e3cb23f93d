"""A whole Transformer in real JupyterLab + Chromium: the layer selector, encoder/decoder/cross modes,
and the model view (layer × head grid) whose clicks move Python's ``layer`` / ``head``."""

from __future__ import annotations

import pytest

from browser_support import ARTIFACTS, LIVE, notebook_session
from harness import PIXELS

pytestmark = pytest.mark.browser

CELLS = [
    "%load_ext attnwidget",
    "%%attention -o res\nkind: transformer\nnum_layers: 2\nnum_heads: 4\nd_model: 16\n"
    "query: <s> the cat sat on the mat\ncontext: le chat est assis sur le tapis",
    "w = res.widget\nprint('STATE', w.layer, w.head, w.view, w.mode, w.aggregate, len(w.query_tokens), len(w.key_tokens))",
    "res.widget.view = 'model'",
    "long = ' '.join(f'w{i}' for i in range(256))",
    "%%attention -o big --view model\nkind: encoder\nnum_layers: 6\nnum_heads: 8\nd_model: 32\nquery: $long",
    "print('HEADS', res.widget.layer, res.widget.heads)",
    "import os; res.to_html('copy.html'); print('COPY', os.path.abspath('copy.html'))",
    "w = res.widget; w.view = 'graph'; w.layer = 0; w.heads = [0, 1, 2, 3]; w.head = 0",
    "print('STRETCH', big.widget.color_max)",
]


@pytest.fixture(scope="module")
def session(tmp_path_factory):
    yield from notebook_session(tmp_path_factory.mktemp("labmodel"), "model.ipynb", CELLS, run=2, live=1, width=1280, height=1100)


def state(nb, want=None, tries=10):
    """Python's view of the widget; with ``want`` (a prefix), wait for the browser's change to arrive."""
    for _ in range(tries):
        s = nb.run(2).split("STATE", 1)[1].split()
        if want is None or s[:len(want)] == want:
            return s
        nb.page.wait_for_timeout(300)
    return s


def test_layer_selector_and_modes(session):
    nb, browser = session
    root = nb.page.locator(LIVE).first
    layer_sel = root.locator('select[aria-label="layer"]')
    assert layer_sel.locator("option").count() == 6
    assert layer_sel.locator("option").nth(3).inner_text() == "decoder/dec_layers_0/cross_attention/mha"
    assert state(nb) == ["0", "0", "graph", "all", "none", "7", "7"]  # encoder self-attention: the context
    layer_sel.select_option("3")
    assert state(nb, ["3"]) == ["3", "0", "graph", "all", "none", "9", "7"]  # cross: target × context
    nb.page.wait_for_function("(r) => r.querySelectorAll('[data-side=\"key\"]').length === 7 && r.querySelectorAll('[data-side=\"query\"]').length === 9",
                              arg=root.element_handle())
    assert root.locator('[data-side="query"][data-index="0"]').inner_text().strip() == "<"  # the target's "<s>" is 3 tokens
    mode = root.locator('select[aria-label^="which layers"]')
    assert mode.is_visible()
    mode.select_option("decoder")
    assert state(nb, ["2"])[:4] == ["2", "0", "graph", "decoder"]  # moved to the first causal layer
    assert layer_sel.locator("option").count() == 2
    mode.select_option("all")
    assert state(nb, ["2", "0", "graph", "all"])[3] == "all" and layer_sel.locator("option").count() == 6
    assert browser.console_errors == [], browser.console_errors
    assert browser.blocked == [], browser.blocked


def model_shown(nb):
    """Python sets view = 'model' (cell 3); (root, the model canvas) once the browser shows it."""
    root = nb.page.locator(LIVE).first
    nb.run(3)
    tab = root.locator('button[data-view="model"]')
    nb.page.wait_for_function("(el) => el.getAttribute('aria-selected') === 'true'", arg=tab.element_handle(), timeout=10_000)
    return root, root.locator("canvas.aw-model-canvas")


def matrix_shown(page, root):
    """Until the matrix tab is the selected one."""
    page.wait_for_function("(el) => el.getAttribute('aria-selected') === 'true'",
                           arg=root.locator('button[data-view="matrix"]').element_handle(), timeout=10_000)


def test_model_view_click_opens_layer_and_head(session):
    nb, browser = session
    page = nb.page
    root, canvas = model_shown(nb)
    assert canvas.is_visible()
    painted = canvas.evaluate("""(c) => { const d = PIXELS(c);
        const seen = new Set(); for (let i = 0; i < d.length; i += 4 * 7) seen.add(d[i] << 16 | d[i + 1] << 8 | d[i + 2]); return seen.size; }""".replace("PIXELS", PIXELS))
    assert painted > 30  # thumbnails in many colours, not an empty canvas
    ARTIFACTS.mkdir(exist_ok=True)
    root.screenshot(path=str(ARTIFACTS / "lab-model-light.png"))
    pos = root.evaluate("(r) => r.attnwidget.views.model.locate(4, 2)")
    canvas.click(position=pos)
    matrix_shown(page, root)
    assert state(nb, ["4"])[:5] == ["4", "2", "matrix", "all", "none"]
    nb.run(3)
    pos = root.evaluate("(r) => r.attnwidget.views.model.locate(1, 'mean')")
    canvas.click(position=pos)
    matrix_shown(page, root)
    assert state(nb, ["1"])[:5] == ["1", "2", "matrix", "all", "mean"]
    assert browser.console_errors == [], browser.console_errors



def test_model_view_keys_open_a_thumbnail_and_hand_the_focus_over(session):
    """A thumbnail's click does not focus the canvas (it leaves the view); arrows and Enter open one, and
    the keyboard is then on the matrix's canvas."""
    nb, _ = session
    page = nb.page
    root, canvas = model_shown(nb)
    canvas.click(position=root.evaluate("(r) => r.attnwidget.views.model.locate(2, 1)"))
    matrix_shown(page, root)
    # no focus taken on the way (the canvas's, then handed to the matrix's): the mouse leaves it where it was
    assert page.evaluate("() => document.activeElement.className") not in ("aw-model-canvas", "aw-matrix-canvas")
    assert state(nb, ["2"])[:3] == ["2", "1", "matrix"]
    model_shown(nb)
    canvas.focus()
    page.keyboard.press("ArrowRight")  # the ring starts on the shown layer (2), head 0: now head 1
    page.keyboard.press("ArrowRight")
    page.keyboard.press("Enter")
    matrix_shown(page, root)
    page.evaluate("() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)))")
    assert page.evaluate("() => document.activeElement.className") == "aw-matrix-canvas"
    assert state(nb, ["2", "2"])[:3] == ["2", "2", "matrix"]  # (running the probe moves the focus to the notebook)


def test_model_view_is_fast_at_6_layers_by_8_heads(session):
    nb, browser = session
    page = nb.page
    nb.run(4)
    nb.run(5)
    root = page.locator(LIVE).nth(1)
    root.locator("canvas.aw-model-canvas").wait_for(timeout=60_000)
    ms = root.evaluate("""(r) => { const v = r.attnwidget.views.model; v.draw();
        const t0 = performance.now(); for (let i = 0; i < 10; i++) v.draw(); return (performance.now() - t0) / 10; }""")
    assert ms < 50, f"model view redraw took {ms:.1f} ms"
    root.screenshot(path=str(ARTIFACTS / "lab-model-6x8-light.png"))
    assert browser.console_errors == [], browser.console_errors


def test_model_view_stretches_its_colours_from_its_own_toolbar(session):
    """The 6 × 8 model of 256 random tokens (weights near 1/256: pale thumbnails) stretched from the model view's
    own checkbox: Python's ``color_max`` follows, and the thumbnails darken."""
    nb, browser = session
    page = nb.page
    root = page.locator(LIVE).nth(1)
    canvas = root.locator("canvas.aw-model-canvas")
    canvas.wait_for(timeout=60_000)
    ink = f"(c) => {{ const d = {PIXELS}(c); let s = 0; for (let i = 0; i < d.length; i += 4) s += 255 - d[i]; return s / (d.length / 4); }}"
    before = canvas.evaluate(ink)
    box = root.locator('label:has(input.aw-stretch)')
    assert box.is_visible(), "the model view shows no stretch checkbox"
    box.locator("input").click()
    page.wait_for_function("(r) => r.attnwidget.app.get('color_max') === true", arg=root.element_handle(), timeout=10_000)
    page.evaluate("() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)))")
    after = canvas.evaluate(ink)
    assert after > 1.5 * before, (before, after)
    root.screenshot(path=str(ARTIFACTS / "lab-model-6x8-stretched.png"))
    for _ in range(10):
        if "STRETCH True" in nb.run(9):
            break
        page.wait_for_timeout(300)
    assert "STRETCH True" in nb.output(9)
    assert browser.console_errors == [], browser.console_errors


def _solo_then_switch(page, root, layer: int) -> None:
    """Double-click head 2's swatch (solo it), then pick ``layer`` in the layer selector."""
    root.locator('.aw-swatches button[data-head="2"]').dblclick()
    page.wait_for_function("(r) => r.attnwidget.app.get('heads').join() === '2'", arg=root.element_handle(),
                           timeout=10_000)
    root.locator('select[aria-label="layer"]').select_option(str(layer))
    page.wait_for_function(f"(r) => r.attnwidget.app.get('layer') === {layer}", arg=root.element_handle(),
                           timeout=10_000)


def test_live_view_and_static_copy_keep_a_solo_head_across_a_layer_switch(session):
    """One layer-switch rule (js/protocol.js switchLayer = attnwidget/protocol.py switch_layer): a soloed head
    stays soloed when the layer changes, in the live view (Python sees it) and in a to_html copy."""
    nb, browser = session
    page = nb.page
    root = page.locator(LIVE).first
    nb.run(8)  # layer 0, every head shown, graph view
    page.wait_for_function("(r) => r.attnwidget.app.get('heads').length === 4 && r.attnwidget.app.get('layer') === 0",
                           arg=root.element_handle(), timeout=10_000)
    copy = nb.run(7).split("COPY", 1)[1].strip()
    _solo_then_switch(page, root, 4)
    for _ in range(20):
        if "HEADS 4 [2]" in nb.run(6):
            break
        page.wait_for_timeout(300)
    assert "HEADS 4 [2]" in nb.output(6)
    static = browser.new_page(width=1280, height=1000)
    static.goto(f"file://{copy}")
    sroot = static.locator(".attnwidget").first
    sroot.wait_for(timeout=30_000)
    static.wait_for_function("(r) => r.attnwidget && r.attnwidget.app.get('layer') === 0", arg=sroot.element_handle(),
                             timeout=30_000)
    _solo_then_switch(static, sroot, 4)
    assert sroot.evaluate("(r) => [r.attnwidget.app.get('layer'), r.attnwidget.app.get('heads')]") == [4, [2]]
    assert sroot.evaluate("(r) => r.attnwidget.app.get('query_tokens').length") == 9  # tokens followed the layer
    assert browser.console_errors == [], browser.console_errors
