"""What a pin costs the explain view as the keys grow: a Keras cross-attention layer of 5 queries over S keys.

    .venv/bin/python benchmarks/bench_explain.py [--sizes 64,1024,4096] [--pins 12] [--self-tokens 64]

Each size is one ``to_html`` page of ``attnwidget.attention(kind="cross", num_heads=1, key_dim=8)`` (one
head, so that 4,096 keys fit the 1 MiB of explain data a page carries), opened in Chromium as the benchmarks
launch it (tests/harness.py, headless, ``--disable-gpu``, 1280 × 1000). Per pin
(another query, set from the page's own model), the frame that draws it is timed from a ``requestAnimationFrame``
callback queued before the pin to one queued after it: the script (every view's update and the explain
table's fill), then the style and layout a read of ``offsetHeight`` forces at its end. Then trusted clicks
(Playwright's mouse) on the query strip, with Chrome's Event Timing entries of 16 ms or more
(``PerformanceObserver({type: "event", durationThreshold: 16})``), made as bench_browser.py makes them
(``harness.trusted_click``: the pointer moved onto the button and the page settled first, so that the
hover's work is not the click's), and 8 more traced: the time from the
click's first event dispatch to the swap of the frame that drew it, and that main frame's own time
(benchmarks/browser/frame_trace.py; not in 8 ms steps). Medians of the pins after the first two. A last
row is bench_browser.py's explain page: a layer of 8 heads over 64 tokens, whose strip has 64 queries.
"""

from __future__ import annotations

import argparse
import pathlib
import statistics
import sys
import tempfile

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "tests"))

from harness import Browser, centre, chromium_or_exit, chromium_version, observe_event_timing, trusted_click  # noqa: E402

from browser.frame_trace import click_to_screen  # noqa: E402

PINS = """async (n) => { const { app } = document.querySelector('.attnwidget').attnwidget, out = [];
  const frame = () => new Promise((res) => requestAnimationFrame(() => setTimeout(res, 40)));
  for (let k = 0; k < n; k++) {
    await frame();
    let t0 = 0, t1 = 0, t2 = 0;
    requestAnimationFrame(() => { t0 = performance.now(); });
    app.set({ selected_query: (k * 7) % document.querySelectorAll('.aw-explain-tok').length, selected_key: null });
    await new Promise((res) => requestAnimationFrame(() => { t1 = performance.now(); document.body.offsetHeight; t2 = performance.now(); res(); }));
    out.push([t1 - t0, t2 - t1]);
  }
  return { out, rows: document.querySelectorAll('tr[data-explain-key]').length }; }"""


def page_for(s: int, work: pathlib.Path) -> pathlib.Path:
    import attnwidget

    res = attnwidget.attention(kind="cross", num_heads=1, key_dim=8, max_tokens=max(512, s),
                               query="the animal did not cross", context=" ".join(f"w{i}" for i in range(s)))
    res.widget.view = "explain"
    path = work / f"explain-{s}.html"
    res.to_html(path)
    res.widget.close()
    return path


def self_page(t: int, work: pathlib.Path) -> pathlib.Path:
    """bench_browser.py's explain page: a self-attention layer of 8 heads over t tokens (its strip: t queries)."""
    from browser.workload import explain_page

    return explain_page(t, work)


def measure(browser: Browser, path: pathlib.Path, pins: int, queries: int = 5) -> dict:
    page = browser.new_page()
    observe_event_timing(page)
    page.goto(path.as_uri())
    root = page.locator(".attnwidget").first
    root.locator(".aw-explain-tok").first.wait_for()
    got = page.evaluate(PINS, pins)
    frames = got["out"][2:]
    hits = []
    for k in range(11):  # as bench_browser.py clicks: the pointer moved there and the page settled first
        entries = trusted_click(page, *centre(query_button(root, (k * 7 + 2) % queries)))
        hits.append(max((e["duration"] for e in entries), default=0))
    traced = []
    for k in range(8):
        x, y = centre(query_button(root, (k * 7 + 3) % queries))
        page.mouse.move(x, y)
        page.wait_for_timeout(100)
        traced.append(click_to_screen(browser.browser, page, x, y))
    traced = [t for t in traced if t]
    page.close()
    return {"rows": got["rows"], "script": statistics.median(f[0] for f in frames),
            "layout": statistics.median(f[1] for f in frames), "entries": sum(h >= 16 for h in hits), "worst": max(hits),
            "screen": statistics.median(t["screen"] for t in traced), "main": statistics.median(t["main"] for t in traced)}


def query_button(root, q: int):
    """Query q's button on the strip."""
    return root.locator(f'button[data-explain-query="{q}"]')


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", default="64,1024,4096", help="numbers of keys")
    ap.add_argument("--pins", type=int, default=12, help="pins timed per size")
    ap.add_argument("--self-tokens", type=int, default=64, help="also bench_browser.py's page: 8 heads over this many tokens (0: not)")
    args = ap.parse_args()
    chromium_or_exit()
    print(f"{chromium_version()}; a pin of the explain view, medians of {args.pins - 2} pins, 11 trusted clicks\n")
    print("| keys | rows in the page | script (ms) | style + layout (ms) | clicks with an entry ≥ 16 ms (worst) "
          "| click → screen, traced (ms) | its main frame (ms) |")
    print("|---|---|---|---|---|---|---|")
    browser = Browser()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            for s in (int(x) for x in args.sizes.split(",")):
                r = measure(browser, page_for(s, pathlib.Path(tmp)), args.pins)
                row(f"{s:,}", r)
            if args.self_tokens:
                row(f"{args.self_tokens} (self, 8 heads, {args.self_tokens} queries)",
                    measure(browser, self_page(args.self_tokens, pathlib.Path(tmp)), args.pins, args.self_tokens))
    finally:
        browser.close()


def row(keys: str, r: dict) -> None:
    worst = f"{r['worst']:.0f} ms" if r["worst"] else "none"
    print(f"| {keys} | {r['rows']:,} | {r['script']:.1f} | {r['layout']:.1f} | {r['entries']} of 11 ({worst}) "
          f"| {r['screen']:.1f} | {r['main']:.1f} |", flush=True)


if __name__ == "__main__":
    main()
