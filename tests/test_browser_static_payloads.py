"""Edited static copies in Chromium (issue #17, item 6): a saved state that claims more than it holds (10⁷
batch items, keys or heads) shows a one-line notice instead of a view, and the tab answers a click within a
second. Beside them: the batch selector of bare scores, and token text that cannot reorder or grow a tooltip.
"""

from __future__ import annotations

import json
import time

import numpy as np
import pytest

from attnwidget import AttentionWidget, codec, export

pytestmark = pytest.mark.browser

PROBE = '<button id="probe" onclick="window.__clicks = (window.__clicks || 0) + 1">probe</button>'
TOKS = ["the", "cat", "sat", "on", "a", "mat"]


def sm(shape, seed=0):
    x = np.random.default_rng(seed).standard_normal(shape)
    return (np.exp(x) / np.exp(x).sum(-1, keepdims=True)).astype(np.float32)


def model_widget():
    """Two layers (self 2×6×6, cross 3×4×6) and a batch of 2: a copy with _slices, _overview and _layers_meta."""
    return AttentionWidget([sm((2, 2, 6, 6)), sm((2, 3, 4, 6), 1)], [TOKS, TOKS[:4]], [TOKS, TOKS])


def sparse_widget(monkeypatch):
    monkeypatch.setattr(codec, "SPARSE_THRESHOLD", 0)  # every slice travels sparse: top-k keys and a pool
    return AttentionWidget(sm((2, 6, 6)), TOKS)


def write_page(path, widget, edit=None):
    """``widget.to_html()`` with its embedded state passed through ``edit``, and a probe button."""
    page = widget.to_html()
    head, rest = page.split('class="aw-state">', 1)
    state, tail = rest.split("</script>", 1)
    state = json.loads(state)
    if edit:
        edit(state)
    page = f'{head}class="aw-state">{export.script_json(state)}</script>{tail}'
    path.write_text(page.replace("<body>\n", f"<body>\n{PROBE}\n", 1), encoding="utf-8")
    return path


def answers_a_click(page, n: int) -> float:
    """Seconds from the ``n``-th click on the probe button to its handler having run; a hung tab raises
    Playwright's TimeoutError after a second (every step here has a timeout)."""
    t0 = time.perf_counter()
    page.click("#probe", timeout=1_000)
    page.wait_for_function("(n) => window.__clicks === n", arg=n, timeout=1_000)
    return time.perf_counter() - t0


def set_(path, value):
    def edit(state):
        *keys, last = path
        target = state
        for k in keys:
            target = target[k]
        target[last] = value
    return edit


def every_slice(shape):
    def edit(state):
        for d in [state["_data"], *state.get("_slices", {}).values()]:
            if d:  # a copy of several slices carries _data as None (it is one of them)
                d["shape"] = shape
    return edit


EDITS = [
    ("batch-size", model_widget, set_(["info", "batch_size"], 10**7),
     "info.batch_size is 10000000, the copy holds 2 batch items"),
    ("sparse-keys", sparse_widget, every_slice([2, 6, 10**7]),
     "sparse _data claims 10000000 keys, more than 16-bit indices reach"),
    ("overview-heads", model_widget, set_(["_overview", "layers", 0, "H"], 10**7),
     "_overview.q too short for layer layer 0 (204 bytes, 10000000 heads of 6x6)"),
    ("meta-heads", model_widget, set_(["_layers_meta", 1, "H"], 10**7),
     "_layers_meta[1] claims 10000000 heads × 4 × 6 but holds 3 head names, 4 query and 6 key tokens"),
    ("dense-shape", model_widget, every_slice([10**7, 6, 6]),
     '_slices["0,0"].q has 72 bytes, shape 10000000x6x6 needs 360000000'),
    ("slice-bytes", model_widget, set_(["_slices", "1,1", "shape"], [3, 4, 18]),
     '_slices["1,1"].q has 72 bytes, shape 3x4x18 needs 216'),
    ("slice-shape", model_widget, set_(["_slices", "1,1", "shape"], [1, 4, 18]),
     '_slices["1,1"] claims 1x4x18 weights, layer 1 has 3x4x6'),
]


def test_an_unedited_copy_is_drawn_and_answers(browser, tmp_path):
    page = browser.new_page()
    page.goto(write_page(tmp_path / "plain.html", model_widget()).as_uri(), wait_until="domcontentloaded", timeout=10_000)
    assert answers_a_click(page, 1) < 1.0
    page.locator(".attnwidget .aw-tok").first.wait_for(timeout=10_000)
    assert page.locator(".aw-static-note").count() == 0
    assert answers_a_click(page, 2) < 1.0


@pytest.mark.parametrize("name, make, edit, message", EDITS, ids=[e[0] for e in EDITS])
def test_an_edited_copy_shows_a_notice_and_the_tab_answers(browser, tmp_path, monkeypatch, name, make, edit, message):
    path = write_page(tmp_path / f"{name}.html", make(monkeypatch) if make is sparse_widget else make(), edit)
    page = browser.new_page()
    page.goto(path.as_uri(), wait_until="domcontentloaded", timeout=10_000)
    assert answers_a_click(page, 1) < 1.0
    page.wait_for_function("() => /could not show/.test(document.querySelector('.aw-static-note')?.textContent)",
                           timeout=5_000)
    assert page.locator(".aw-static-note").text_content(timeout=1_000) == f"attnwidget: could not show this view ({message})"
    assert page.locator(".aw-mount").inner_html(timeout=1_000) == ""  # nothing drawn
    assert answers_a_click(page, 2) < 1.0
    page.close()


def test_bare_scores_with_a_batch_axis_get_the_batch_selector(browser, tmp_path):
    page = browser.new_page()
    page.goto(write_page(tmp_path / "batch.html", AttentionWidget(sm((3, 2, 6, 6)), TOKS)).as_uri())
    select = page.locator('select[aria-label="batch item"]')
    select.wait_for(state="visible", timeout=10_000)
    assert select.locator("option").count() == 3
    select.select_option("2")
    page.wait_for_timeout(200)
    assert page.locator(".aw-notice-warn").count() == 0
    # no kernel behind a copy: the item is shown at once, and the picker and its label say so
    assert page.evaluate("() => document.querySelector('.attnwidget').attnwidget.app.get('batch')") == 2
    assert select.input_value() == "2" and select.locator("xpath=preceding-sibling::span[1]").text_content() == "batch"


def test_token_text_cannot_reorder_or_grow_a_tooltip(browser, tmp_path):
    toks = ["\u202eevil", "x" * 100_000, "ok"]  # kept whole here: the front end must cap it itself
    w = AttentionWidget(sm((1, 3, 3)), toks, max_token_chars=None, selected_query=0)
    page = browser.new_page()
    page.goto(write_page(tmp_path / "tokens.html", w).as_uri())
    key = page.locator('.attnwidget [data-side="key"][data-index="1"]')
    key.wait_for(timeout=10_000)
    assert len(key.get_attribute("title")) < 400 and key.text_content().endswith("…")
    key.hover()
    tip = page.locator(".aw-tooltip")
    tip.wait_for(state="visible", timeout=5_000)
    title = tip.locator(".aw-tip-title").text_content()
    assert "'\u2068\u202eevil\u2069' → key 1 'xxx" in title  # the override ends inside its isolate
    box = tip.bounding_box()
    assert box["height"] < 300 and box["width"] <= 361, box
    query = page.locator('.attnwidget [data-side="query"][data-index="0"] .aw-tok-text')
    assert query.evaluate("(el) => getComputedStyle(el).unicodeBidi") == "isolate"
