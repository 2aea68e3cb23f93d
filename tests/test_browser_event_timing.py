"""The benchmark's responsiveness method works: Chrome's Event Timing API, observed from the page,
reports a real click whose handler is slow, and the harness gives each click its own entries.

The timing targets themselves live in ``benchmarks/bench_browser.py``; this only checks the probe.
"""

from __future__ import annotations

import pathlib
import sys

import pytest

from harness import Browser, centre, observe_event_timing, trusted_click

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "benchmarks"))
from browser.event_inputs import trusted_key, trusted_move  # noqa: E402 - the benchmark's hovers and key presses

pytestmark = pytest.mark.browser

PAGE = """<!doctype html><meta charset="utf-8"><title>event timing</title>
<button id="slow" style="width:200px;height:60px">slow</button>
<button id="fast" style="width:200px;height:60px">fast</button>
<div id="hover" style="width:200px;height:60px">hover</div>
<script>
  slow.addEventListener("click", () => {  // busy for 50 ms, then change what is painted
    const t = performance.now();
    while (performance.now() - t < 50) {}
    slow.textContent = "slow " + t.toFixed(0);
  });
  fast.addEventListener("click", () => { fast.textContent = "fast " + performance.now().toFixed(0); });
  const busy = (el, what) => { const t = performance.now(); while (performance.now() - t < 50) {} el.textContent = what + " " + t.toFixed(0); };
  hover.addEventListener("mouseover", () => busy(hover, "hovered"));
  slow.addEventListener("keydown", (e) => { if (e.key === "ArrowDown") busy(slow, "key"); });
</script>"""


@pytest.fixture(scope="module")
def page(tmp_path_factory):
    path = tmp_path_factory.mktemp("event-timing") / "page.html"
    path.write_text(PAGE)
    browser = Browser()
    try:
        page = browser.new_page()
        observe_event_timing(page)
        page.goto(path.as_uri())
        yield page
        assert browser.blocked == [] and browser.console_errors == []
    finally:
        browser.close()


def test_a_slow_click_handler_is_reported(page):
    entries = trusted_click(page, *centre(page.locator("#slow")))
    clicks = [e for e in entries if e["name"] == "click"]
    assert clicks, entries
    # 50 ms in the handler, then a frame: at least 48 ms once rounded to the API's 8 ms
    assert clicks[0]["processing"] >= 50 and clicks[0]["duration"] >= 48, clicks
    assert clicks[0]["interaction"] > 0  # a click is an interaction, as INP counts them


def test_each_click_gets_only_its_own_entries(page):
    trusted_click(page, *centre(page.locator("#slow")))
    fast = trusted_click(page, *centre(page.locator("#fast")))
    assert all(e["processing"] < 50 for e in fast), fast  # the slow click's entries are not the fast one's
    assert "fast " in page.locator("#fast").text_content()  # the click was real: its handler ran


def test_a_slow_hover_is_reported(page):
    entries = trusted_move(page, *centre(page.locator("#hover")))  # in from the page's margin, as the benchmark hovers
    over = [e for e in entries if e["name"] in ("mouseover", "pointerover")]
    assert over and max(e["duration"] for e in over) >= 48, entries
    assert "hovered " in page.locator("#hover").text_content()


def test_a_slow_key_handler_is_reported(page):
    page.focus("#slow")
    entries = trusted_key(page, "ArrowDown")
    keys = [e for e in entries if e["name"] == "keydown"]
    assert keys and keys[0]["processing"] >= 50 and keys[0]["duration"] >= 48, entries
    assert "key " in page.locator("#slow").text_content()
