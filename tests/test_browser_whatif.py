"""What-if in the explain view (issue #13), in a real JupyterLab 4 and in a `to_html` page of the same result
(Debian's Chromium, network cut): the temperature (slider in the notebook, typed in the page), a click that
drops a key, the mask lifted and "reset" change the weights, bars, Σ and output the table shows to NumPy's
``res.explain(q, head, temperature=…, drop=[…], unmask=…)``, to the 3 decimals displayed. The what-if never
reaches Python and starts over on another pin. Also: the palette control (Python sees it, the swatches take
its colours) and the matrix's axis caption.

Screenshots: ``test-artifacts/whatif-lab.png`` (t = 0.5, a key dropped), ``whatif-static.png``; the weights shown
and NumPy's at each step: ``whatif-lab.json``, ``whatif-static.json``.
"""

from __future__ import annotations

import json
import math

import pytest

from browser_support import ARTIFACTS, EXPLAINED, LIVE, notebook_session
from conftest import IT_SENTENCE

pytestmark = pytest.mark.browser

Q, HEAD, DROP, T = 7, 0, 1, 0.5  # pin "it" (keys 8..10 masked: causal), drop "animal", halve the temperature

CELLS = [
    "%load_ext attnwidget\nimport json, numpy as np, attnwidget",
    f"%%attention -o res\nkind: causal\nnum_heads: 2\nkey_dim: 8\nselect: it\nquery: {IT_SENTENCE}",
    # NumPy's numbers for every what-if the test makes, and the offline page of the same result
    f"q, hd, j, t = {Q}, {HEAD}, {DROP}, {T}\n"
    "ex = lambda **kw: res.explain(q, hd, **kw)\n"
    "cases = {'own': {}, 't': dict(temperature=t), 'drop': dict(temperature=t, drop=[j]),\n"
    "         'unmask': dict(temperature=t, drop=[j], unmask=True)}\n"
    "ref = {k: {'w': ex(**kw).weights.tolist(), 'out': ex(**kw).output.tolist()} for k, kw in cases.items()}\n"
    "ref['keras'] = res.scores[0, hd, q].tolist()\n"
    "res.to_html('whatif.html')\n"
    "print('REF', json.dumps(ref))",
    # what Python holds: the explanation it sent (never a what-if) and the palette
    "w = res.widget\nprint('STATE', json.dumps({'q': w.selected_query, 'explain': w._explain.get('query'),"
    " 'temperature': w._explain.get('temperature'), 'dropped': w._explain.get('dropped'), 'palette': w.palette}))",
]

ROWS = """(root) => Array.from(root.querySelectorAll('tr[data-explain-key]'), (r) => ({
  j: Number(r.dataset.explainKey), w: Number(r.dataset.weight), text: r.cells[4].textContent,
  logit: r.cells[3].textContent, dropped: r.dataset.dropped === 'true', masked: r.dataset.masked === 'true',
  bar: ((b) => b.getBoundingClientRect().width / b.offsetWidth)(r.querySelector('.aw-explain-bar'))}))"""
SUM = "(root) => Number(root.querySelector('tr.aw-explain-sum').dataset.explainSum)"
OUTPUT = "(root) => root.querySelector('[data-explain-output]').title"


@pytest.fixture(scope="module")
def session(tmp_path_factory):
    root = tmp_path_factory.mktemp("lab-whatif")
    for nb, browser in notebook_session(root, "whatif.ipynb", CELLS, run=2, live=1):
        ref = json.loads(nb.run(2).split("REF", 1)[1].strip())
        yield nb, browser, ref, root / "whatif.html"


def py_state(nb) -> dict:
    return json.loads(nb.run(3).split("STATE", 1)[1].strip())


def shown_as(text: str, x: float) -> bool:
    """``text`` is ``x`` to 3 decimals (either neighbour where ``x`` sits on a rounding boundary, within 1e-6)."""
    if text == f"{x:.3f}":
        return True
    frac = x * 1000 - math.floor(x * 1000)
    return abs(frac - 0.5) < 1e-3 and abs(float(text) - x) <= 5e-4 + 1e-6


def assert_table(root, want: dict, what: str, dropped=(), masked=(), log=None):
    """The shown weights (text, exact value, bar), Σ and output against NumPy's ``want`` ({w, out});
    ``log`` (a dict) keeps both for test-artifacts."""
    rows = root.evaluate(ROWS)
    if log is not None:
        log[what] = {"shown": [r["text"] for r in rows], "numpy": [round(x, 6) for x in want["w"]]}
    assert len(rows) == len(want["w"]), what
    bad = [(r["j"], r["text"], round(x, 6)) for r, x in zip(rows, want["w"]) if not shown_as(r["text"], x)]
    assert not bad, f"{what}: shown weights differ from NumPy's (key, shown, numpy): {bad}"
    assert max(abs(r["w"] - x) for r, x in zip(rows, want["w"])) < 2e-6, what
    assert max(abs(r["bar"] - x) for r, x in zip(rows, want["w"])) < 1e-4, f"{what}: bars"
    assert [r["j"] for r in rows if r["dropped"]] == list(dropped), what
    assert all(r["text"] == "0.000" and r["logit"] == "−∞" for r in rows if r["j"] in dropped or r["j"] in masked), what
    assert abs(root.evaluate(SUM) - 1) < 1e-6, what
    out = [float(s.replace("−", "-")) for s in root.evaluate(OUTPUT).strip("[]").split(", ")]
    assert max(abs(a - b) for a, b in zip(out, want["out"])) <= 5e-3 + 1e-6, f"{what}: output {out} vs {want['out']}"


def wait_explained(root, query: int):
    root.page.wait_for_function(EXPLAINED, arg=[root.element_handle(), query, None], timeout=20_000)


def wait_note(root, part: str):
    root.page.wait_for_function("([el, s]) => el.querySelector('.aw-explain-whatif-note').textContent.includes(s)",
                                arg=[root.element_handle(), part], timeout=10_000)


def walk_through(root, ref, set_temperature, name: str):
    """The same what-ifs on a live view and on a static copy; Python's own numbers at each step."""
    page, log = root.page, {}
    root.locator('button[data-view="explain"]').click()
    wait_explained(root, Q)
    masked = [8, 9, 10]
    assert_table(root, ref["own"], "the layer's own", masked=masked, log=log)
    assert max(abs(a - b) for a, b in zip(ref["own"]["w"], ref["keras"])) < 1e-5  # NumPy's are Keras's
    assert root.locator("button.aw-explain-reset").is_disabled()

    set_temperature(root)
    wait_note(root, f"logits ÷ {T}")
    assert root.locator("input.aw-explain-temp").input_value() == str(T)
    assert_table(root, ref["t"], f"temperature {T}", masked=masked, log=log)
    assert root.locator("input.aw-explain-tslider").input_value() == "-1"

    root.locator(f'button[data-explain-drop="{DROP}"]').click()
    page.wait_for_function(f"(el) => el.querySelector('tr[data-explain-key=\"{DROP}\"]').dataset.dropped === 'true'",
                           arg=root.element_handle(), timeout=10_000)
    assert_table(root, ref["drop"], f"temperature {T}, key {DROP} dropped", dropped=[DROP], masked=masked, log=log)
    assert root.locator(f'tr[data-explain-key="{DROP}"] .aw-explain-drop').evaluate(
        "(b) => getComputedStyle(b).textDecorationLine") == "line-through"
    ARTIFACTS.mkdir(exist_ok=True)
    page.wait_for_timeout(150)
    root.screenshot(path=str(ARTIFACTS / f"whatif-{name}.png"))

    root.locator("input.aw-explain-unmask").check()
    wait_note(root, "mask lifted")
    assert_table(root, ref["unmask"], "and the mask lifted", dropped=[DROP], log=log)

    root.locator("button.aw-explain-reset").click()
    page.wait_for_function("(el) => el.querySelector('button.aw-explain-reset').disabled", arg=root.element_handle(), timeout=10_000)
    assert_table(root, ref["own"], "reset", masked=masked, log=log)
    assert root.locator("input.aw-explain-temp").input_value() == "1"
    assert not root.locator("input.aw-explain-unmask").is_checked()

    # another pin starts from the layer's own numbers
    set_temperature(root)
    wait_note(root, f"logits ÷ {T}")
    root.locator('button[data-explain-step="1"]').click()
    wait_explained(root, Q + 1)
    assert root.locator("button.aw-explain-reset").is_disabled()
    assert root.locator("input.aw-explain-temp").input_value() == "1"
    root.locator('button[data-explain-step="-1"]').click()
    wait_explained(root, Q)
    assert_table(root, ref["own"], "back on the pin", masked=masked, log=log)
    (ARTIFACTS / f"whatif-{name}.json").write_text(json.dumps(log, indent=1))


def slide(root):
    """The temperature slider moved to log₂ t = −1 (Playwright sets it and fires input)."""
    root.locator("input.aw-explain-tslider").fill("-1")


def typed(root):
    """The temperature typed, key by key."""
    box = root.locator("input.aw-explain-temp")
    box.click()
    box.press("Control+A")
    box.press_sequentially(str(T))


def test_whatif_in_jupyterlab(session):
    nb, browser, ref, _ = session
    root = nb.page.locator(LIVE).first
    walk_through(root, ref, slide, "lab")
    typed(root)  # keys typed into the box are the box's, not the notebook's shortcuts
    wait_note(root, f"logits ÷ {T}")
    assert_table(root, ref["t"], f"temperature {T} typed", masked=[8, 9, 10])
    cells = nb.page.evaluate("() => window.jupyterapp.shell.currentWidget.content.widgets.map((c) => c.model.type)")
    assert cells == ["code"] * len(CELLS)
    py = py_state(nb)  # the what-if stayed in the browser
    assert (py["q"], py["explain"], py["temperature"], py["dropped"]) == (Q, Q, 1.0, [])
    assert browser.blocked == [] and browser.console_errors == [], (browser.blocked, browser.console_errors)


def test_whatif_in_the_offline_page_of_the_same_result(session):
    _, browser, ref, html = session
    page = browser.new_page()
    page.goto(html.as_uri())
    root = page.locator(".attnwidget").first
    root.wait_for(timeout=20_000)
    walk_through(root, ref, typed, "static")
    assert browser.blocked == [] and browser.console_errors == [], (browser.blocked, browser.console_errors)
    page.close()


def test_palette_control_and_axis_caption(session):
    nb, browser, _, _ = session
    root = nb.page.locator(LIVE).first
    swatch = root.locator('.aw-swatches button[data-head="0"] .aw-swatch-dot')  # the control's, not a head card's
    assert swatch.evaluate("(e) => getComputedStyle(e).backgroundColor") == "rgb(78, 121, 167)"  # the default's blue
    root.locator("select.aw-palette").select_option("okabe-ito")
    nb.page.wait_for_function("(e) => getComputedStyle(e).backgroundColor === 'rgb(230, 159, 0)'",  # Okabe–Ito's orange
                              arg=swatch.element_handle(), timeout=10_000)
    assert py_state(nb)["palette"] == "okabe-ito"
    root.locator('button[data-view="matrix"]').click()
    nb.page.wait_for_function("(el) => (el.querySelector('.aw-matrix-canvas').getAttribute('aria-label') || '').includes('query ↓ attends to key →')",
                              arg=root.element_handle(), timeout=10_000)
    assert browser.console_errors == [], browser.console_errors
