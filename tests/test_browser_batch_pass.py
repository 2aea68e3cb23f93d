"""Another batch item of a layer from queries and keys, picked in a real JupyterLab: the kernel makes it in a
tile pass (seconds at 16,384 tokens) in a thread of its own (attnwidget/batchjob.py), and the batch picker's
label says how far it is ("batch (computing… N%)", js/busy.js) until the item's data come; then the label is
"batch" again and the kernel shows item 1. The picker's next choice stops a pass: back on the item shown,
the kernel makes nothing more."""

from __future__ import annotations

import re

import pytest

from browser_support import LIVE, lab_notebook

pytestmark = pytest.mark.browser

T, H, D = 16_384, 8, 32
CELLS = [f"""import numpy as np
from attnwidget import AttentionWidget
rng = np.random.default_rng(4)
q = rng.standard_normal((3, {H}, {T}, {D}), dtype=np.float32)
k = rng.standard_normal((3, {H}, {T}, {D}), dtype=np.float32)
w = AttentionWidget.from_qk(q, k, [f"t{{i}}" for i in range({T})])
w""", "print('BATCH', w.batch, w._batch_progress, len(w.scores._summaries))"]
WATCH = """(l) => { window.__labels = [];
  new MutationObserver(() => window.__labels.push(l.textContent)).observe(l, { subtree: true, childList: true, characterData: true }); }"""


def test_picking_another_batch_item_shows_the_kernels_progress_then_the_item(tmp_path):
    with lab_notebook(tmp_path, "batch.ipynb", CELLS) as (browser, page, nb, _):
        nb.run(0, timeout=300_000)
        root = page.locator(LIVE).first
        root.locator(".aw-tok-query").first.wait_for(timeout=60_000)
        picker = root.locator('select[aria-label="batch item"]')
        label = picker.locator("xpath=preceding-sibling::span[1]")
        assert label.text_content() == "batch"
        label.evaluate(WATCH)
        picker.select_option("1")
        page.wait_for_function("() => window.__labels.length > 0 && window.__labels.at(-1) === 'batch'", timeout=120_000)
        texts = page.evaluate("() => window.__labels")
        shares = [int(m.group(1)) for s in texts if (m := re.fullmatch(r"batch \(computing… (\d+)%\)", s))]
        assert len(shares) >= 2 and shares == sorted(shares), texts  # the pass's figures, in order
        assert "BATCH 1 None 2" in nb.run(1), texts  # the kernel shows item 1, items 0 and 1 made, nothing running
        # item 2 asked for, then item 1 again while the kernel makes it: the pass stops, item 1 stays
        label.evaluate(WATCH)
        picker.select_option("2")
        page.wait_for_function("() => /computing… \\d+%/.test(window.__labels.at(-1) || '')", timeout=120_000)
        picker.select_option("1")
        page.wait_for_function("() => window.__labels.at(-1) === 'batch'", timeout=60_000)
        # the stopped pass ends at its next report (its _batch_progress then goes back to None): item 2 not made
        for _ in range(60):
            out = nb.run(1)
            if "BATCH 1 None" in out:
                break
            page.wait_for_timeout(500)
        assert "BATCH 1 None 2" in out, (out, page.evaluate("() => window.__labels"))
        assert picker.input_value() == "1" and label.text_content() == "batch"
        assert browser.console_errors == [], browser.console_errors
