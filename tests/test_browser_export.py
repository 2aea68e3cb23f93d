"""Exports in Debian's Chromium with the network cut: to_html files, nbconvert HTML and slides of the
executed demo, and the executed notebook reopened in JupyterLab without a kernel."""

from __future__ import annotations

import pathlib
import subprocess
import sys

import nbformat
import pytest
from nbclient import NotebookClient

from browser_support import ARTIFACTS, Lab, pinned
from harness import is_local
from test_browser_lab import PAINTED

pytestmark = pytest.mark.browser
ROOT = pathlib.Path(__file__).resolve().parents[1]
# Scripts nbconvert's own stock templates load (not attnwidget's): RequireJS, jQuery, MathJax, reveal.js.
NBCONVERT_CDNS = ("cdnjs.cloudflare.com", "unpkg.com", "cdn.jsdelivr.net")


@pytest.fixture(scope="module")
def executed(tmp_path_factory):
    """demo.ipynb executed by nbclient (widget state saved, as nbclient does by default)."""
    out = tmp_path_factory.mktemp("demo")
    nb = nbformat.read(ROOT / "demo.ipynb", as_version=4)
    NotebookClient(nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(out)}}).execute()
    path = out / "executed.ipynb"
    nbformat.write(nb, path)
    return path


def nbconvert(path: pathlib.Path, to: str) -> pathlib.Path:
    subprocess.run([sys.executable, "-m", "jupyter", "nbconvert", "--to", to, str(path), "--output",
                    f"{path.stem}-{to}"], check=True, capture_output=True, timeout=300)
    return next(path.parent.glob(f"{path.stem}-{to}*.html"))


def the_it_view(page):
    """The view of the "it" sentence with 8 heads whose "it" is pinned by `select` (the demo's ``it_res``).

    Found by what it shows, not by its index: JupyterLab renders a long notebook's cells a few at a time, so
    an index counted before the last cells arrive names another view (the heads view of the same sentence)."""
    page.locator(".attnwidget").first.wait_for(state="attached", timeout=30_000)  # slides hide all but one
    page.wait_for_function("""() => {
        const it = [...document.querySelectorAll('.attnwidget')].filter(r =>
            (r.querySelector('.aw-header')?.textContent || '').includes('8 heads × 11 queries') &&
            [...r.querySelectorAll('[data-side="query"].aw-pinned')].some(t => t.textContent.trim() === 'it'));
        if (it.length) it[it.length - 1].dataset.testView = 'it';
        return it.length > 0;
    }""", timeout=60_000)
    return page.locator('.attnwidget[data-test-view="it"]').last


def check_view(page, browser, name, *, slides=False):
    root = the_it_view(page)
    if slides:  # bring the slide with the view on screen
        page.wait_for_function("() => window.Reveal && Reveal.isReady && Reveal.isReady()", timeout=30_000)
        page.evaluate("(el) => { const s = el.closest('section'); const i = Reveal.getIndices(s); Reveal.slide(i.h, i.v); }",
                      root.element_handle())
        page.wait_for_timeout(800)
    it = root.locator('[data-side="query"]').filter(has_text="it").filter(has_not_text="tired").last
    assert root.locator('[data-side="query"]').count() == 11
    assert root.locator('[data-side="key"]').count() == 11
    assert pinned(it, True)  # pinned by `select: it` before display
    assert root.evaluate(PAINTED) > 500  # lines on the canvas
    it.click()
    assert not pinned(it, False)
    page.wait_for_timeout(400)  # two separate clicks, not a double-click
    it.click()  # a click on "it" pins it
    assert pinned(it, True)
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"export-{name}.png"))
    assert browser.console_errors == [], browser.console_errors


def test_to_html_file_is_interactive_offline(browser, ip, tmp_path):
    path = tmp_path / "it.html"
    ip.run_cell_magic("attention", f"--html {path} --select it",
                      "num_heads: 8\nkey_dim: 64\nquery: The animal didn't cross the street because it was too tired")
    browser.blocked.clear()
    page = browser.new_page()
    page.goto(path.as_uri())
    check_view(page, browser, "to_html")
    # the explain view works without a kernel too (precomputed for short texts)
    page.locator('button[data-view="explain"]').click()
    rows = page.locator("[data-explain-key]")
    rows.first.wait_for(timeout=10_000)
    weights = [float(r.get_attribute("data-weight")) for r in rows.all()]
    assert len(weights) == 11 and abs(sum(weights) - 1) < 1e-3
    page.keyboard.press("Escape")
    assert browser.blocked == []


@pytest.mark.parametrize("to", ["attnwidget_html", "attnwidget_slides"])
def test_offline_exports_of_the_executed_demo(browser, executed, to):
    html = nbconvert(executed, to)
    browser.blocked.clear()
    page = browser.new_page()
    page.goto(html.as_uri())
    check_view(page, browser, to, slides=to.endswith("slides"))
    assert page.locator(".attnwidget").count() >= 6
    assert browser.blocked == []  # not one request left the machine


@pytest.mark.parametrize("to", ["html", "slides"])
def test_stock_nbconvert_exports_show_the_views_with_the_network_cut(browser, executed, to):
    html = nbconvert(executed, to)
    browser.blocked.clear()
    page = browser.new_page()
    page.goto(html.as_uri())
    root = the_it_view(page)
    assert root.locator('[data-side="query"]').count() == 11
    assert root.evaluate(PAINTED) > 500
    # What was cut is nbconvert's own template (its CDN scripts), none of it attnwidget's.
    assert all(any(host in url for host in NBCONVERT_CDNS) for url in browser.blocked), browser.blocked
    page.screenshot(path=str(ARTIFACTS / f"export-stock-{to}.png"))


@pytest.mark.parametrize("state", ["with-widget-state", "without-widget-state"])
def test_reopened_notebook_without_kernel_shows_the_views(browser, executed, tmp_path, state):
    nb = nbformat.read(executed, as_version=4)
    if state == "without-widget-state":  # as JupyterLab saves by default
        nb.metadata.pop("widgets", None)
    nb.metadata.pop("kernelspec", None)  # open with no kernel (without these JupyterLab
    nb.metadata.pop("language_info", None)  # picks a Python kernel by itself)
    path = tmp_path / "reopened.ipynb"
    nbformat.write(nb, path)
    env_python = pathlib.Path(sys.executable).parent
    subprocess.run([str(env_python / "jupyter"), "trust", str(path)], check=True, capture_output=True)
    lab = Lab(tmp_path)
    try:
        browser.blocked.clear()
        page = browser.new_page()
        page.goto(f"{lab.url}/lab/tree/reopened.ipynb?token={lab.token}")
        no_kernel = page.locator(".jp-Dialog .jp-Dialog-button", has_text="No Kernel")
        no_kernel.wait_for(timeout=60_000)
        no_kernel.click()
        page.locator(".jp-Dialog").wait_for(state="detached", timeout=30_000)
        root = the_it_view(page)
        root.scroll_into_view_if_needed()
        it = root.locator('[data-side="query"]').filter(has_text="it").filter(has_not_text="tired").last
        assert pinned(it, True)
        assert root.evaluate(PAINTED) > 500
        it.click()
        assert not pinned(it, False)
        for placeholder in ("Error displaying widget", "Loading widget..."):  # hidden beside a working copy
            shown = page.get_by_text(placeholder)
            assert all(not shown.nth(i).is_visible() for i in range(shown.count())), placeholder
        # one view per widget: the live one restored from widget state, or else the static copy
        visible = page.evaluate("() => [...document.querySelectorAll('.attnwidget')].filter(e => e.offsetParent).length")
        widgets = page.locator(".attnwidget-static").count()  # one static copy per widget the demo shows
        assert widgets >= 10 and visible == widgets
        assert page.locator(".jp-StatusBar-TextItem", has_text="No Kernel").count() == 1
        page.screenshot(path=str(ARTIFACTS / f"reopened-{state}.png"))
        assert [u for u in browser.blocked if not is_local(u)] == []
    finally:
        lab.stop()
