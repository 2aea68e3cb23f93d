"""What a model view click costs when it opens another layer: bench_browser.py's model pages (two layers).

    .venv/bin/python benchmarks/bench_model_layers.py [--sizes 64,512,4096] [--clicks 8] [--bundle DIR]

Each size is bench_browser.py's model page (``to_html`` of two layers of 8 heads over T tokens, seeded
softmax weights; benchmarks/browser/workload.py), opened in Chromium as the benchmarks launch it
(tests/harness.py, headless, ``--disable-gpu``, 1280 × 1000). A click on a thumbnail opens the matrix view
on that layer and head; the model view is put back, untimed, before the next. Two kinds of click:
thumbnails of the layer the matrix shows already ("same layer"), and thumbnails of the other layer, one
click each way in turn ("other layer"). Each click is traced (benchmarks/browser/frame_trace.py): the
time from its first event dispatch to the swap of the frame that drew it, and that main frame's own time;
medians, then how many clicks had a Chrome Event Timing entry of 16 ms or more. ``--bundle DIR``: build the
pages with the ``widget.js`` / ``widget.css`` / ``static.js`` found in DIR instead (another commit's front
end, for a before / after in one run).
"""

from __future__ import annotations

import argparse
import pathlib
import shutil
import statistics
import sys
import tempfile

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "tests"))

from harness import SETTLE, Browser, chromium_or_exit, chromium_version  # noqa: E402

from browser import workload  # noqa: E402
from browser.event_timing import MATRIX_SHOWN, SPOTS  # noqa: E402
from browser.frame_trace import click_to_screen  # noqa: E402

STATIC = pathlib.Path(__file__).resolve().parents[1] / "attnwidget" / "static"
BUNDLE = ("widget.js", "widget.css", "static.js")
OBSERVE = """() => { window.__ev = []; new PerformanceObserver((l) => { for (const e of l.getEntries()) window.__ev.push(e.duration); })
  .observe({ type: "event", durationThreshold: 16 }); }"""
LOCATE = "([l, h]) => document.querySelector('.attnwidget').attnwidget.views.model.locate(l, h)"
LAYER = "() => document.querySelector('.attnwidget').attnwidget.app.get('layer')"


def pages(sizes: list[int], work: pathlib.Path, bundle: pathlib.Path | None) -> dict[int, pathlib.Path]:
    """The model page of each size, built with the package's front end or the one in ``bundle``."""
    saved = work / "saved"
    if bundle:
        saved.mkdir()
        for f in BUNDLE:
            shutil.copy(STATIC / f, saved / f)
            shutil.copy(bundle / f, STATIC / f)
    try:
        return {t: workload.view_page("model", t, work) for t in sizes}
    finally:
        if bundle:
            for f in BUNDLE:
                shutil.copy(saved / f, STATIC / f)


def measure(browser: Browser, path: pathlib.Path, clicks: int) -> dict:
    """{"same": [...], "other": [...]}: each click's {"screen", "main", "entry"} (entry: ms or None)."""
    page = browser.new_page()
    page.goto(path.as_uri())
    canvas = page.locator(".attnwidget canvas.aw-model-canvas")
    canvas.wait_for(timeout=60_000)
    page.wait_for_timeout(1500)  # the matrix's heat maps are painted in idle time
    page.evaluate(OBSERVE)
    out: dict = {"same": [], "other": []}
    for k in range(2 * clicks + 1):
        if page.evaluate(MATRIX_SHOWN):
            page.locator('.attnwidget button[data-view="model"]').click()
            canvas.wait_for(state="visible")
        page.evaluate("(s) => document.querySelector(s).scrollIntoView({ block: 'start' })", ".attnwidget canvas.aw-model-canvas")
        page.wait_for_timeout(400)
        box = canvas.bounding_box()
        kind = "other" if k % 2 else "same"
        layer = page.evaluate(LAYER)
        pos = page.evaluate(LOCATE, [1 - layer if kind == "other" else layer, (k * 3) % workload.HEADS])
        x, y = box["x"] + pos["x"], box["y"] + pos["y"]
        page.mouse.move(x, y)
        page.evaluate(SETTLE)
        page.evaluate("() => { window.__ev = []; }")
        traced = click_to_screen(browser.browser, page, x, y)
        page.wait_for_function(MATRIX_SHOWN, timeout=10_000)
        page.evaluate(SETTLE)
        ev = page.evaluate("() => window.__ev")
        if k and traced:  # the first: the matrix's first draw
            out[kind].append({**traced, "entry": max(ev) if ev else None})
    page.context.close()
    return out


def cell(xs: list[dict]) -> str:
    if not xs:
        return "—"
    hits = [x["entry"] for x in xs if x["entry"]]
    return (f"{statistics.median(x['screen'] for x in xs):.1f} / {statistics.median(x['main'] for x in xs):.1f} "
            f"({len(hits)} of {len(xs)})")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="64,512,4096")
    ap.add_argument("--clicks", type=int, default=8, help="clicks of each kind per size")
    ap.add_argument("--bundle", type=pathlib.Path, help="a directory with another front end's widget.js, widget.css, static.js")
    args = ap.parse_args()
    sizes = [int(s) for s in args.sizes.split(",") if s]
    browser = Browser(["--disable-gpu"], executable=chromium_or_exit())
    with tempfile.TemporaryDirectory() as tmp:
        try:
            built = pages(sizes, pathlib.Path(tmp), args.bundle)
            rows = [(t, measure(browser, built[t], args.clicks)) for t in sizes]
        finally:
            browser.close()
    print(f"{chromium_version()}, headless, --disable-gpu, 1280×1000, front end: {args.bundle or 'this checkout'}")
    print("click → screen / its main frame, traced (ms, medians), and (clicks with an Event Timing entry)\n")
    print("| T | same layer | other layer |")
    print("|---|---|---|")
    for t, r in rows:
        print(f"| {t} | {cell(r['same'])} | {cell(r['other'])} |")


if __name__ == "__main__":
    main()
