"""A lecture in a real JupyterLab 4 driven by Debian's Chromium (issue #16): Enter applies top-k; the matrix's head
picker and the swatches choose the same heads, Python sees both, the legend names what is shown and colours can
stretch to the data's max; and the notebook saved after the lecture reopens without a kernel as it was left."""

from __future__ import annotations

import json
import pathlib
import re
import subprocess
import sys

import nbformat
import pytest

from browser_support import ARTIFACTS, LIVE, Lab, notebook_session
from conftest import IT_SENTENCE

pytestmark = pytest.mark.browser

CELLS = [
    "%load_ext attnwidget",
    f"%%attention -o res --select it\nkind: global\nnum_heads: 4\nkey_dim: 16\nquery: {IT_SENTENCE}",
    "%%attention -o tr --view model\nkind: transformer\nnum_layers: 1\nnum_heads: 2\nd_model: 16\nquery: the cat sat on the mat\n"
    "context: a macska a szőnyegen ült",
    "w = res.widget\nprint('STATE', w.view, w.head, w.heads, w.aggregate, w.color_max, w.top_k, w.selected_query)",
    "t = tr.widget\nprint('TR', t.view, t.layer, t.head, t.heads, t.scale)",
]


@pytest.fixture(scope="module")
def session(tmp_path_factory):
    root = tmp_path_factory.mktemp("lecture")
    for nb, browser in notebook_session(root, "lecture.ipynb", CELLS, run=3, live=2, width=1280, height=1000):
        yield nb, browser, root


def probe(nb, cell: int, tag: str, want: str | None = None, tries: int = 10) -> str:
    """What Python says (cell `cell` prints `tag ...`); with `want`, wait for the browser's change to arrive."""
    for _ in range(tries):
        out = nb.run(cell).split(tag, 1)[1].strip()
        if want is None or out.startswith(want):
            return out
        nb.page.wait_for_timeout(300)
    return out


def app_get(root, name):
    return root.evaluate("(r, n) => r.attnwidget.app.get(n)", name)


def test_enter_applies_top_k_while_the_box_has_focus(session):
    nb, browser, _ = session
    root = nb.page.locator(LIVE).nth(0)
    topk = root.locator("input.aw-topk")
    for value in ("2", "1"):
        topk.click()
        nb.page.keyboard.press("Control+A")
        nb.page.keyboard.type(value)
        nb.page.keyboard.press("Enter")
        assert nb.page.evaluate("() => document.activeElement.classList.contains('aw-topk')")  # no blur needed
        assert app_get(root, "top_k") == int(value) and topk.input_value() == value
    assert probe(nb, 3, "STATE").split()[-2] == "1"  # Python has what the box shows
    assert browser.console_errors == [], browser.console_errors


def shown(root):
    return root.evaluate("(r) => r.attnwidget.views.matrix.shown()")


def test_matrix_head_picker_and_swatches(session):
    nb, browser, _ = session
    page, root = nb.page, nb.page.locator(LIVE).nth(0)
    root.locator('button[data-view="matrix"]').click()
    page.wait_for_function("(r) => r.attnwidget.views.matrix.shown()", arg=root.element_handle())
    assert shown(root)["title"] == "mean of all 4 heads"  # every head visible: their mean, named as such
    pick = root.locator("select.aw-head-pick")
    pick.select_option("h2")
    assert probe(nb, 3, "STATE", "matrix 2 [2] none") .startswith("matrix 2 [2] none")
    assert shown(root)["title"] == "head 2"
    root.locator('.aw-swatch[data-head="0"]').dblclick()  # solo head 0
    assert probe(nb, 3, "STATE", "matrix 0 [0] none").startswith("matrix 0 [0] none")
    assert shown(root)["title"] == "head 0" and pick.input_value() == "h0"
    three = root.locator('.aw-swatch[data-head="3"]')
    three.click()  # show head 3 too: their mean
    page.wait_for_function("(el) => el.getAttribute('aria-pressed') === 'true'", arg=three.element_handle())
    assert probe(nb, 3, "STATE", "matrix 0 [0, 3]").startswith("matrix 0 [0, 3] none")
    assert shown(root)["title"] == "mean of heads 0, 3" and pick.input_value() == "mean"
    pick.select_option("max")
    assert probe(nb, 3, "STATE", "matrix 0 [0, 3] max").startswith("matrix 0 [0, 3] max")
    assert shown(root)["title"] == "max of heads 0, 3"
    legend_before = shown(root)["range"]
    root.locator("input.aw-stretch").click()
    assert probe(nb, 3, "STATE", "matrix 0 [0, 3] max True").startswith("matrix 0 [0, 3] max True")
    r = shown(root)["range"]
    assert legend_before == {"lo": 0, "hi": 1, "stretched": False}
    assert r["stretched"] and 0 < r["hi"] < 1  # the colours end at the largest weight shown
    ARTIFACTS.mkdir(exist_ok=True)
    root.screenshot(path=str(ARTIFACTS / "lecture-matrix-max-stretched.png"))
    assert browser.console_errors == [], browser.console_errors


def ui_outputs(path: pathlib.Path) -> list[dict]:
    """The small outputs that record each widget's last state, from a saved notebook."""
    out = []
    for cell in json.loads(path.read_text())["cells"]:
        for o in cell.get("outputs", []):
            html = "".join(o.get("data", {}).get("text/html", ""))
            m = re.search(r'class="aw-ui" data-aw-uid="(\w+)">(\{.*\})</script>', html)
            if m:
                out.append({"uid": m.group(1), **json.loads(m.group(2))})
    return out


def test_the_saved_notebook_reopens_as_it_was_left(session):
    nb, browser, root_dir = session
    page = nb.page
    tr = page.locator(LIVE).nth(1)
    canvas = tr.locator("canvas.aw-model-canvas")
    canvas.wait_for(timeout=30_000)
    pos = tr.evaluate("(r) => r.attnwidget.views.model.locate(2, 1)")  # the cross attention, head 1
    canvas.click(position=pos)
    assert probe(nb, 4, "TR", "matrix 2 1 [1]").startswith("matrix 2 1 [1] 1.0")
    tr.locator("select.aw-scale").select_option("1.25")
    assert probe(nb, 4, "TR", "matrix 2 1 [1] 1.25").startswith("matrix 2 1 [1] 1.25")
    path = root_dir / "lecture.ipynb"
    page.evaluate("() => window.jupyterapp.commands.execute('docmanager:save')")
    want = {"view": "matrix", "layer": 2, "heads": [1], "head": 1, "scale": 1.25}
    for _ in range(40):  # the small output is current, and saved
        saved = ui_outputs(path)
        if any(all(u.get(k) == v for k, v in want.items()) for u in saved):
            break
        page.wait_for_timeout(500)
        page.evaluate("() => window.jupyterapp.commands.execute('docmanager:save')")
    assert any(all(u.get(k) == v for k, v in want.items()) for u in saved), saved
    res_ui = next(u for u in saved if u["view"] == "matrix" and u["layer"] == 0)
    assert (res_ui["heads"], res_ui["aggregate"], res_ui["color_max"], res_ui["selected_query"]) == ([0, 3], "max", True, 7)
    size = path.stat().st_size
    (ARTIFACTS / "lecture-notebook-size.txt").write_text(f"{size} bytes after the lecture ({len(saved)} widgets)\n")

    # Reopen it as a lecturer would the next day: a fresh JupyterLab, no kernel (and no widget state: Lab's default)
    later = root_dir / "later"
    later.mkdir()
    reopened = later / "reopened.ipynb"
    note = nbformat.read(path, as_version=4)
    note.metadata.pop("kernelspec", None)
    note.metadata.pop("language_info", None)
    note.metadata.pop("widgets", None)
    nbformat.write(note, reopened)
    subprocess.run([str(pathlib.Path(sys.executable).parent / "jupyter"), "trust", str(reopened)], check=True, capture_output=True)
    lab = Lab(later)
    try:
        page2 = browser.new_page(width=1280, height=1000)
        page2.goto(f"{lab.url}/lab/tree/reopened.ipynb?token={lab.token}")
        no_kernel = page2.locator(".jp-Dialog .jp-Dialog-button", has_text="No Kernel")
        no_kernel.wait_for(timeout=60_000)
        no_kernel.click()
        check_reopened(page2)
    finally:
        lab.stop()
    assert browser.console_errors == [], browser.console_errors


def check_reopened(page2):
    """The static copies of the reopened notebook show the view, layer, heads, pin, scale and colours last seen."""
    static = page2.locator(".attnwidget-static .attnwidget")
    static.nth(1).wait_for(state="attached", timeout=60_000)  # cells far down may be laid out only once scrolled to
    page2.wait_for_function("""() => [...document.querySelectorAll('.attnwidget-static .attnwidget')]
        .filter((r) => r.attnwidget && r.attnwidget.views.matrix.shown()).length >= 2""", timeout=60_000)
    copies = [static.nth(i) for i in range(static.count())]
    res_copy = next(c for c in copies if "global" in c.locator(".aw-title").inner_text())
    tr_copy = next(c for c in copies if "transformer" in c.locator(".aw-title").inner_text())
    for copy in (res_copy, tr_copy):
        copy.scroll_into_view_if_needed()
        assert copy.locator('button[data-view="matrix"]').get_attribute("aria-selected") == "true"
        assert copy.locator(".aw-static-mark").is_visible()
        assert "run the cell for live values" in copy.locator(".aw-static-mark").inner_text()
    assert tr_copy.locator('select[aria-label="layer"]').input_value() == "2"
    assert tr_copy.evaluate("(r) => r.attnwidget.views.matrix.shown().title") == "head 1"
    assert tr_copy.locator("select.aw-scale").input_value() == "1.25"
    assert res_copy.evaluate("(r) => r.attnwidget.views.matrix.shown().title") == "max of heads 0, 3"
    assert res_copy.evaluate("(r) => [r.attnwidget.app.get('selected_query'), r.attnwidget.app.get('color_max')]") == [7, True]
    page2.screenshot(path=str(ARTIFACTS / "lecture-reopened.png"))
