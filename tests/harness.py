"""Debian's Chromium, driven by Playwright, for the browser tests and the benchmarks alike.

One place finds the browser (a test is skipped when it is missing and fails under ``CI=true``; a
benchmark exits with the same reason), launches it with one set of flags, and cuts the network:
every request that leaves ``file://``, ``data:``, ``blob:``, ``about:`` and 127.0.0.1 is aborted
and listed in ``Browser.blocked``, unless the caller serves it from a local copy (the benchmark's
BertViz page asks a CDN for its libraries).

Benchmarks import it with the tests folder on ``sys.path``::

    sys.path.insert(0, str(ROOT / "tests"))
    from harness import Browser
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Mapping, Sequence
from urllib.parse import urlparse

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
MISSING = "Debian's chromium is not installed (apt-get install chromium)"


def find_chromium() -> str | None:
    return shutil.which("chromium")


def chromium_or_skip() -> str:
    """The browser's path; skip the test when it is missing (fail it under ``CI=true``)."""
    path = find_chromium()
    if path is None:
        import pytest

        reason = f"{MISSING}; browser tests need it"
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI must run the browser tests: {reason}")
        pytest.skip(reason)
    return path


def chromium_or_exit() -> str:
    """The browser's path; for scripts, exit with the reason when it is missing."""
    path = find_chromium()
    if path is None:
        raise SystemExit(f"{MISSING}; the browser benchmarks need it")
    return path


def chromium_version() -> str:
    """"Chromium 156.0.8078.108 built on Debian ..." (asked of the binary: Debian's wrapper script chatters)."""
    try:
        out = subprocess.run(["/usr/lib/chromium/chromium", "--version"], check=False, capture_output=True, text=True,
                             timeout=30).stdout
        return out.strip() or "unknown"
    except Exception:  # noqa: BLE001 - a version is only printed beside the figures
        return "unknown"


def is_local(url: str) -> bool:
    p = urlparse(url)
    return p.scheme in ("file", "data", "blob", "about") or p.hostname in ("127.0.0.1", "localhost")


class Browser:
    """One Chromium; ``new_page()`` gives a page whose outside requests are aborted and listed.

    ``extra_args`` are added to :data:`CHROMIUM_ARGS`; ``executable`` defaults to
    :func:`chromium_or_skip` (tests), scripts pass :func:`chromium_or_exit`.
    """

    def __init__(self, extra_args: Sequence[str] = (), executable: str | None = None):
        from playwright.sync_api import sync_playwright

        path = executable or chromium_or_skip()
        self._pw = sync_playwright().start()
        try:
            self.browser = self._pw.chromium.launch(executable_path=path, args=[*CHROMIUM_ARGS, *extra_args])
        except BaseException:
            self._pw.stop()
            raise
        self.blocked: list[str] = []
        self.served: list[str] = []
        self.console_errors: list[str] = []

    def new_page(self, width=1280, height=1000, color_scheme="light", serve: Mapping[str, bytes] | None = None):
        """A page in a context of its own. ``serve``: regular expression over a URL's path -> the
        JavaScript to answer it with (listed in ``served``) instead of aborting it."""
        context = self.browser.new_context(viewport={"width": width, "height": height},
                                           color_scheme=color_scheme, accept_downloads=True)
        local = {re.compile(rx): body for rx, body in (serve or {}).items()}

        def route(r):
            url = r.request.url
            if is_local(url):
                r.continue_()
                return
            body = next((b for rx, b in local.items() if rx.search(urlparse(url).path)), None)
            if body is None:
                self.blocked.append(url)
                r.abort()
                return
            self.served.append(url)
            r.fulfill(status=200, body=body, headers={"content-type": "application/javascript",
                                                      "access-control-allow-origin": "*"})

        context.route("**/*", route)
        page = context.new_page()
        page.on("pageerror", lambda e: self.console_errors.append(str(e)))
        page.on("dialog", lambda d: (self.console_errors.append(f"dialog: {d.message}"), d.dismiss()))
        return page

    def close(self):
        self.browser.close()
        self._pw.stop()


# A canvas's RGBA pixels, whatever its context: the widget shows some canvases as one ImageBitmap
# ("bitmaprenderer", js/dom.js paintCanvas), which have no 2D context to read; drawn into one, they do.
# In a page script, ``PIXELS(c)`` after ``.replace("PIXELS", PIXELS)``.
PIXELS = """((c) => { const t = document.createElement("canvas"); t.width = c.width; t.height = c.height;
  const x = t.getContext("2d"); x.drawImage(c, 0, 0); return x.getImageData(0, 0, c.width, c.height).data; })"""


# ----- Event Timing: what Chrome reports for a real click (INP uses the same entries) -------------
# Entries come only for events of 16 ms or more (the API's floor), rounded to 8 ms: from the input's
# timestamp to the next frame painted after the handlers ran.
EVENT_TIMING = """(() => {
  const seen = (window.__eventTiming = []);
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      seen.push({ name: e.name, start: e.startTime, duration: e.duration,
                  processing: e.processingEnd - e.processingStart, interaction: e.interactionId });
    }
  }).observe({ type: "event", durationThreshold: 16, buffered: true });
})();"""

# Entries are queued once the frame after the handlers has been presented, and observers hear of
# them in a later task: two frames and a pause cover both.
# Reads of a layout property of one element (``[root, its selector, the view's selector, the property]``,
# e.g. "scrollTop"), each marked with whether the animation frame that made it began with the view hidden:
# the frame that shows the view again, where a read lays the page out. ``window.__reads`` collects them.
LAYOUT_READS = """([root, sel, view, prop]) => {
  const s = root.querySelector(sel), el = root.querySelector(view);
  const d = Object.getOwnPropertyDescriptor(Element.prototype, prop) || Object.getOwnPropertyDescriptor(HTMLElement.prototype, prop);
  window.__reads = [];
  let showing = false;
  Object.defineProperty(s, prop, { configurable: true, set(x) { d.set.call(this, x); },
    get() { window.__reads.push(showing ? 'frame that shows it' : 'other'); return d.get.call(this); } });
  const raf = window.requestAnimationFrame;
  window.requestAnimationFrame = (f) => raf((t) => { const was = showing; showing = el.hidden; try { f(t); } finally { showing = was; } });
}"""

def away_and_back(page, root, scroller: str, view: str, other: str) -> list[str]:
    """The tab of view ``other``, then back to ``view``'s (trusted clicks), while LAYOUT_READS records the
    reads of ``scroller``'s scrollTop; returns them, two frames after the view is shown again."""
    page.evaluate(LAYOUT_READS, [root.element_handle(), scroller, f".aw-{view}", "scrollTop"])
    for name in (other, view):
        root.locator(f'button[data-view="{name}"]').click()
        page.wait_for_function("(v) => document.querySelector('.attnwidget').attnwidget.app.get('view') === v", arg=name)
    page.evaluate("() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)))")
    return page.evaluate("() => window.__reads")


SETTLE = """() => new Promise((done) =>
  requestAnimationFrame(() => requestAnimationFrame(() => setTimeout(done, 120))))"""


def observe_event_timing(page) -> None:
    """From the next navigation on, collect the page's Event Timing entries (install before ``goto``)."""
    page.add_init_script(script=EVENT_TIMING)


def centre(locator) -> tuple[float, float]:
    """Viewport (x, y) of the middle of the element ``locator`` finds: where a trusted click or hover goes."""
    box = locator.bounding_box()
    return box["x"] + box["width"] / 2, box["y"] + box["height"] / 2


def trusted_click(page, x: float, y: float) -> list[dict]:
    """Click at viewport ``(x, y)`` with real (trusted) input; return the event entries it produced.

    The mouse is first moved there and the page left to settle, so hover work (mouseover) is not
    counted as the click's. Each entry: ``name``, ``start`` and ``duration`` (ms), ``processing``
    (ms in the handlers), ``interaction`` (interactionId). An empty list: every event took < 16 ms.
    """
    page.mouse.move(x, y)
    page.evaluate(SETTLE)
    t0 = page.evaluate("() => performance.now()")
    page.mouse.click(x, y)
    page.evaluate(SETTLE)
    return page.evaluate("(t0) => window.__eventTiming.filter((e) => e.start >= t0)", t0)
