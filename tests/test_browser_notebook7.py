"""The widget in Jupyter Notebook 7 (the other host the slides issue names): it renders, a click
reaches Python, Python moves the view."""

from __future__ import annotations

import pytest

from browser_support import ARTIFACTS, LIVE, Lab, Notebook, pinned, write_notebook
from harness import Browser
from test_browser_lab import PAINTED

pytestmark = pytest.mark.browser

CELLS = ["%load_ext attnwidget",
         "%%attention -o res\nkind: causal\nnum_heads: 4\nkey_dim: 8\nquery: The animal didn't cross the street because it was too tired",
         "print('STATE', res.widget.selected_query, res.widget.view)",
         "res.widget.view = 'matrix'"]


def test_notebook7(tmp_path):
    write_notebook(tmp_path / "nb7.ipynb", CELLS)
    browser = Browser()
    server = Lab(tmp_path, app="notebook")
    try:
        page = browser.new_page()
        nb = Notebook(page, server, "nb7.ipynb", path="notebooks")
        nb.run(0)
        nb.run(1)
        root = page.locator(LIVE).first
        root.wait_for(timeout=60_000)
        assert root.locator('[data-side="query"]').count() == 11
        assert root.evaluate(PAINTED) > 500
        it = root.locator('[data-side="query"][data-index="7"]')
        it.click()
        assert pinned(it, True)
        assert "STATE 7 graph" in nb.run(2)
        nb.run(3)
        page.wait_for_function("(el) => el.getAttribute('aria-selected') === 'true'",
                               arg=root.locator('button[data-view="matrix"]').element_handle(), timeout=10_000)
        ARTIFACTS.mkdir(exist_ok=True)
        root.screenshot(path=str(ARTIFACTS / "notebook7-matrix.png"))
        assert browser.blocked == []
        # Notebook 7 itself throws "Cannot read properties of undefined (reading 'schema')" at start-up
        # with a fresh settings directory, widget or not; anything else is ours.
        assert [e for e in browser.console_errors if "reading 'schema'" not in e] == []
    finally:
        browser.close()
        server.stop()
