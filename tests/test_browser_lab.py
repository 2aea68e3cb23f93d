"""The widget in a real JupyterLab 4 driven by Debian's Chromium: clicks reach Python, Python moves the view.

Screenshots of each view in light and dark theme land in ``test-artifacts/``.
"""

from __future__ import annotations

import pytest

from browser_support import ARTIFACTS, LIVE, pinned, notebook_session
from conftest import IT_SENTENCE
from harness import PIXELS

pytestmark = pytest.mark.browser

CELLS = [
    "%load_ext attnwidget",
    f"%%attention -o res\nkind: global\nnum_heads: 2\nkey_dim: 512\nquery: {IT_SENTENCE}",
    "%%attention -o res2\nkind: cross\nnum_heads: 12\nkey_dim: 2\nquery: [1, 8, 16]\ncontext: [1, 4, 16]",
    "w, w2 = res.widget, res2.widget\nprint('STATE', w.selected_query, w.selected_key, w.heads, w.view, '|', w2.selected_query, w2.heads, w2.view)",
    "res.widget.view = 'matrix'",
    "res.widget.view = 'graph'",
    "res.widget.view = 'heads'",
    "res.widget.selected_query = 2",
    "import numpy as np; from attnwidget import hide\n"
    "print('HIDE', res.widget.hidden_keys, np.allclose(res.widget._data['head_max'], "
    "hide.renormalise(res.scores[0], [0]).max(axis=(1, 2)), atol=1e-6))",
    "import numpy as np; from attnwidget import hide\n"
    "print('PINNED', res.widget.selected_key, res.widget.hidden_keys, np.allclose(res.widget._data['head_max'], "
    "hide.renormalise(res.scores[0], [10]).max(axis=(1, 2)), atol=1e-6))",
]

# Counts painted pixels of the visible canvases of a widget root (not only background).
PAINTED = """(root) => {
  let n = 0;
  for (const c of root.querySelectorAll('canvas')) {
    if (!c.checkVisibility() || !c.width || !c.height) continue;
    const d = PIXELS(c);
    for (let i = 3; i < d.length; i += 4) if (d[i] > 0) n++;
  }
  return n;
}""".replace("PIXELS", PIXELS)


@pytest.fixture(scope="module")
def session(tmp_path_factory):
    yield from notebook_session(tmp_path_factory.mktemp("lab"), "widgets.ipynb", CELLS, run=3, live=2)


def state(nb) -> str:
    out = nb.run(3)
    return out.split("STATE", 1)[1].strip()


def test_two_widgets_render_with_tokens_and_lines(session):
    nb, browser = session
    page = nb.page
    roots = page.locator(LIVE)
    assert roots.count() == 2
    first = roots.nth(0)
    assert first.locator('[data-side="query"]').count() == 11
    assert first.locator('[data-side="key"][data-index="7"]').inner_text().strip() == "it"
    assert roots.nth(1).locator('[data-side="key"]').count() == 4
    assert first.evaluate(PAINTED) > 500
    loading = nb.output(1)
    assert "attnwidget: loading Keras" in loading
    assert "oneDNN" not in loading and "absl" not in loading  # TensorFlow's start-up noise is silenced
    assert browser.blocked == [], browser.blocked
    assert browser.console_errors == [], browser.console_errors


def test_click_pins_and_esc_releases(session):
    nb, _ = session
    it = nb.page.locator(LIVE).nth(0).locator('[data-side="query"][data-index="7"]')
    it.click()
    assert state(nb).startswith("7 None [0, 1] graph | None")
    assert pinned(it, True)
    it.press("Escape")
    assert state(nb).startswith("None None [0, 1] graph")
    it.click()
    it.click()  # a second click releases
    assert state(nb).startswith("None None")


def test_key_click_and_head_solo(session):
    nb, _ = session
    root = nb.page.locator(LIVE).nth(1)
    root.locator('[data-side="key"][data-index="2"]').click()
    swatch = root.locator('.aw-swatch[data-head="11"]')
    swatch.dblclick()
    s = state(nb)
    assert s.endswith("| None [11] graph"), s
    swatch.dblclick()  # again restores all heads
    assert state(nb).endswith(f"| None {list(range(12))} graph")
    three = root.locator('.aw-swatch[data-head="3"]')
    three.click()  # a single click waits out the double-click delay, then toggles
    nb.page.wait_for_function("(el) => el.getAttribute('aria-pressed') === 'false'", arg=three.element_handle())
    assert state(nb).endswith(f"| None {[h for h in range(12) if h != 3]} graph")
    three.click()
    nb.page.wait_for_function("(el) => el.getAttribute('aria-pressed') === 'true'", arg=three.element_handle())
    # the first widget is untouched by all of this
    assert state(nb).startswith("None None [0, 1] graph")


def test_keyboard_path_pins_a_token(session):
    nb, _ = session
    root = nb.page.locator(LIVE).nth(0)
    root.locator('[data-side="query"][data-index="0"]').focus()
    nb.page.keyboard.press("ArrowDown")
    nb.page.keyboard.press("ArrowDown")
    assert nb.page.evaluate("() => document.activeElement.dataset.index") == "2"
    nb.page.keyboard.press("Enter")
    assert state(nb).startswith("2 None")
    # running the probe cell moved the focus to the notebook: give it back to the pinned token
    root.locator('[data-side="query"][data-index="2"]').focus()
    nb.page.keyboard.press("ArrowDown")  # the pin walks with the focus
    assert state(nb).startswith("3 None")
    root.locator('[data-side="query"][data-index="3"]').focus()
    nb.page.keyboard.press("Escape")
    assert state(nb).startswith("None None")


def test_download_png_and_svg_of_the_pinned_view(session):
    nb, _ = session
    root = nb.page.locator(LIVE).nth(0)
    it = root.locator('[data-side="query"][data-index="7"]')
    it.click()
    assert pinned(it, True)
    with nb.page.expect_download() as png:
        root.get_by_role("button", name="PNG").click()
    data = open(png.value.path(), "rb").read()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 5000
    assert png.value.suggested_filename.endswith(".png")
    with nb.page.expect_download() as svg:
        root.get_by_role("button", name="SVG").click()
    text = open(svg.value.path(), encoding="utf-8").read()
    assert text.startswith("<svg") or "<svg" in text[:200]
    assert ">it<" in text and ("<line" in text or "<path" in text)  # the tokens and the pinned token's lines
    it.press("Escape")
    assert state(nb).startswith("None None")


def test_python_moves_the_view_and_screenshots(session):
    nb, _ = session
    page = nb.page
    root = page.locator(LIVE).nth(0)
    ARTIFACTS.mkdir(exist_ok=True)
    nb.run(7)  # selected_query = 2 from Python
    assert pinned(root.locator('[data-side="query"][data-index="2"]'), True)
    for theme in ("JupyterLab Light", "JupyterLab Dark"):
        nb.theme(theme)
        tag = "dark" if "Dark" in theme else "light"
        for cell, view in ((5, "graph"), (4, "matrix"), (6, "heads")):
            nb.run(cell)
            tab = root.locator(f'button[data-view="{view}"]')
            tab.wait_for()
            page.wait_for_function(
                "(el) => el.getAttribute('aria-selected') === 'true'", arg=tab.element_handle(), timeout=10_000)
            page.wait_for_timeout(250)
            assert root.evaluate(PAINTED) > 200, (view, tag)
            root.screenshot(path=str(ARTIFACTS / f"lab-{view}-{tag}.png"))
            if view == "graph":
                page.locator(LIVE).nth(1).screenshot(path=str(ARTIFACTS / f"lab-cross-graph-{tag}.png"))
    nb.theme("JupyterLab Light")
    nb.run(5)
    assert "graph" in state(nb)


def test_the_first_key_is_hidden_with_a_click_and_shown_again(session):
    """The live view offers "hide ‘The’" (the first key, where a sink sits): a click sets hidden_keys in
    Python, which sends each row renormalised without it, and the notice names it; a second click undoes it."""
    nb, _ = session
    root = nb.page.locator(LIVE).nth(0)
    box = root.locator("input.aw-hide-first")
    assert root.locator("label:has(input.aw-hide-first)").inner_text().strip() == "hide ‘The’"
    assert nb.run(8).split("HIDE", 1)[1].split() == ["[]", "False"]
    box.click()
    nb.page.wait_for_function("(r) => [...r.querySelectorAll('.aw-notice')].some((e) => e.textContent.startsWith('key 0 ‘The’ hidden'))",
                              arg=root.element_handle(), timeout=10_000)
    assert nb.run(8).split("HIDE", 1)[1].split() == ["[0]", "True"]
    box.click()
    nb.page.wait_for_function("(r) => ![...r.querySelectorAll('.aw-notice')].some((e) => e.textContent.includes('hidden'))",
                              arg=root.element_handle(), timeout=10_000)
    assert nb.run(8).split("HIDE", 1)[1].split() == ["[]", "False"]


def test_a_pinned_key_is_hidden_with_its_own_checkbox_and_shown_again(session):
    """Any key can be hidden: a key token clicked (pinned) is offered as "hide ‘tired’" beside the first
    key's box; a click hides it in Python (the rows renormalised without it), a second shows it again, and
    the notice's "show them again" shows every hidden key."""
    nb, _ = session
    root = nb.page.locator(LIVE).nth(0)
    pinned_box = root.locator("label:has(input.aw-hide-pinned)")
    assert pinned_box.is_hidden()  # nothing pinned: only the first key's box
    root.locator('[data-side="key"][data-index="10"]').click()
    pinned_box.wait_for(state="visible", timeout=10_000)
    assert pinned_box.inner_text().strip() == "hide ‘tired’"
    assert root.locator("label:has(input.aw-hide-first)").inner_text().strip() == "hide ‘The’"
    root.locator("input.aw-hide-pinned").click()
    nb.page.wait_for_function("(r) => [...r.querySelectorAll('.aw-notice')].some((e) => e.textContent.startsWith('key 10 ‘tired’ hidden'))",
                              arg=root.element_handle(), timeout=10_000)
    root.screenshot(path=str(ARTIFACTS / "lab-graph-key-hidden.png"))
    assert nb.run(9).split("PINNED", 1)[1].split() == ["10", "[10]", "True"]
    assert not root.locator("input.aw-hide-first").is_checked()
    root.locator("input.aw-hide-pinned").click()
    nb.page.wait_for_function("(r) => ![...r.querySelectorAll('.aw-notice')].some((e) => e.textContent.includes('hidden'))",
                              arg=root.element_handle(), timeout=10_000)
    assert nb.run(9).split("PINNED", 1)[1].split() == ["10", "[]", "False"]
    # both hidden, then the notice's button shows them all again
    root.locator("input.aw-hide-first").click()
    root.locator("input.aw-hide-pinned").click()
    nb.page.wait_for_function("(r) => [...r.querySelectorAll('.aw-notice')].some((e) => e.textContent.startsWith('keys 0 ‘The’, 10 ‘tired’ hidden'))",
                              arg=root.element_handle(), timeout=10_000)
    assert nb.run(9).split("PINNED", 1)[1].split()[1:3] == ["[0,", "10]"]
    root.locator("button.aw-show-keys").click()
    nb.page.wait_for_function("(r) => ![...r.querySelectorAll('.aw-notice')].some((e) => e.textContent.includes('hidden'))",
                              arg=root.element_handle(), timeout=10_000)
    assert nb.run(9).split("PINNED", 1)[1].split() == ["10", "[]", "False"]
    assert not root.locator("input.aw-hide-first").is_checked() and not root.locator("input.aw-hide-pinned").is_checked()
