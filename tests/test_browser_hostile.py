"""Script in token text never runs: in JupyterLab, in a to_html page and in an offline nbconvert export.

A `dialog` handler records any alert(); `window.__pwned` is a canary the hostile tokens would set.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

from browser_support import LIVE, Lab, Notebook, write_notebook

pytestmark = pytest.mark.browser

TOKENS = ["<img src=x onerror=alert(1)>", "</script><script>window.__pwned=1</script>",
          "<!--", "\"'", "<svg onload=window.__pwned=2>", "&lt;b&gt;"]
CELLS = ["%load_ext attnwidget",
         f"toks = {TOKENS!r}",
         "%%attention -o res --select 1\nkind: global\nquery: $toks"]


def assert_harmless(page, browser, root_selector=LIVE):
    root = page.locator(root_selector).first
    root.wait_for(state="attached", timeout=30_000)
    page.wait_for_timeout(500)
    buttons = root.locator('[data-side="query"]').all()
    titles = [b.get_attribute("title").split(": ", 1)[1] for b in buttons]  # "query i: <full token>"
    assert titles == TOKENS  # the exact text, as text
    for b, token in zip(buttons, TOKENS):  # long tokens are cut with an ellipsis on the button
        shown = b.text_content().strip().rstrip("…")
        assert token.startswith(shown) and shown
    assert page.evaluate("() => window.__pwned") is None
    assert root.locator("img, svg[onload], script").count() == 0
    assert [e for e in browser.console_errors if e.startswith("dialog")] == []


def test_in_jupyterlab(browser, tmp_path):
    write_notebook(tmp_path / "hostile.ipynb", CELLS)
    lab = Lab(tmp_path)
    try:
        page = browser.new_page()
        nb = Notebook(page, lab, "hostile.ipynb")
        for i in range(3):
            nb.run(i)
        assert_harmless(page, browser)
        page.locator(LIVE).first.locator('[data-side="query"][data-index="1"]').hover()
        page.wait_for_timeout(300)  # the tooltip shows the token too
        assert page.evaluate("() => window.__pwned") is None
        nb.page.evaluate("() => window.jupyterapp.commands.execute('docmanager:save')")
        page.wait_for_timeout(1000)
    finally:
        lab.stop()
    # the saved notebook, exported offline and opened: still text
    subprocess.run([sys.executable, "-m", "jupyter", "nbconvert", "--to", "attnwidget_html",
                    str(tmp_path / "hostile.ipynb")], check=True, capture_output=True, timeout=300)
    page = browser.new_page()
    page.goto((tmp_path / "hostile.html").as_uri())
    assert_harmless(page, browser, ".attnwidget")  # a page of static copies only


def test_in_a_to_html_page(browser, tmp_path):
    import attnwidget

    res = attnwidget.attention(kind="causal", query=TOKENS, select=0)
    path = tmp_path / "page.html"
    res.to_html(path)
    page = browser.new_page()
    page.goto(path.as_uri())
    assert_harmless(page, browser, ".attnwidget")
    page.locator('[data-side="key"][data-index="0"]').hover()
    page.locator('button[data-view="matrix"]').click()
    box = page.locator(".attnwidget").first.bounding_box()
    for fx, fy in ((0.3, 0.5), (0.5, 0.6), (0.7, 0.7)):  # hover cells: the tooltip names the tokens
        page.mouse.move(box["x"] + fx * box["width"], box["y"] + fy * box["height"])
    page.wait_for_timeout(300)
    assert page.evaluate("() => window.__pwned") is None
