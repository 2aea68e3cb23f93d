"""What a view switch costs in this browser, outside attnwidget: Event Timing entries of a 40-line page.

    .venv/bin/python benchmarks/bench_view_switch.py [--clicks 12] [--runs 2]

The page has two panels of the size of our matrix view (1240 × 800 CSS px): eight plain cards, and a
64 × 64 canvas scaled by CSS to 1192 × 720 (``image-rendering: pixelated``, as the matrix's heat map) under
a 1240 × 800 canvas of labels, clear over the cells (as the matrix's frame). A trusted click (Playwright's
mouse) on a panel swaps them in the next animation frame, in one of four ways:

- ``show``: the canvases are shown as they were drawn at load;
- ``repaint``: nothing is swapped; the shown heat map is repainted (64 × 64 new colours);
- ``show + repaint``: the heat map is repainted in the frame that shows it (what the heads view's click
  on a card does: the matrix of another head appears);
- ``repaint, then show``: the heat map is repainted in the frame that hides it, and shown unchanged at
  the next switch.
- ``show, no canvases``: the panel holds 64 lines of text instead of the canvases (the floor of a
  switch of this size with nothing to copy).
- ``show, as bitmaps``: as ``show``, with both canvases handed their pixels once as an ImageBitmap
  (``bitmaprenderer``, as js/dom.js paintCanvas does) instead of keeping a 2D context: Chromium without a
  GPU copies a shown 2D canvas's pixels at the frame that shows it (and at every frame it commits).

For each, the clicks that show the canvases and those that hide them are counted apart: how many had an
Event Timing entry (``PerformanceObserver({type: "event", durationThreshold: 16})``, the input's longest
entry, to the next painted frame), and the entries' durations; then ``--traced`` more clicks that show the
canvases, each traced (benchmarks/browser/frame_trace.py): the median time from the click to the swap of the
frame that drew it, in fractions of a millisecond. Chromium as the benchmarks launch it (tests/harness.py,
headless, ``--disable-gpu``), 1280 × 1000, DPR 1.
"""

from __future__ import annotations

import argparse
import pathlib
import statistics
import sys
import tempfile

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "tests"))

from harness import SETTLE, Browser, chromium_or_exit, chromium_version  # noqa: E402

from browser.frame_trace import click_to_screen  # noqa: E402

PAGE = """<!doctype html><meta charset="utf-8"><title>view switch</title>
<style>body { margin: 20px; font: 13px sans-serif; } #cards, #mat { width: 1240px; height: 800px; }
#cards { display: grid; grid-template-columns: repeat(4, 1fr); gap: 8px; }
#cards div { border: 1px solid #ccc; background: #f6f6f6; } #mat { position: relative; }
#heat { position: absolute; left: 48px; top: 60px; width: 1192px; height: 720px; image-rendering: pixelated; }
#frame { position: relative; }</style>
<div id="cards">CARDS</div>
<div id="mat" hidden><canvas id="heat" width="64" height="64"></canvas><canvas id="frame" width="1240" height="800"></canvas></div>
<script>
const MODE = "MODE_NAME";
const heat = document.getElementById("heat").getContext("2d"), frame = document.getElementById("frame").getContext("2d");
frame.fillStyle = "#fff"; frame.fillRect(0, 0, 1240, 800); frame.clearRect(48, 60, 1192, 720);
frame.fillStyle = "#333"; frame.font = "12px sans-serif";
for (let i = 0; i < 64; i++) frame.fillText("t" + i, 4, 70 + i * 11.25);
let seed = 0;
function paintHeat() {
  seed++;
  for (let i = 0; i < 64; i++) for (let j = 0; j < 64; j++) {
    heat.fillStyle = `hsl(${(i * 7 + j * 3 + seed * 37) % 360},60%,60%)`; heat.fillRect(j, i, 1, 1);
  }
}
paintHeat();
let shown = false;
function swap() {
  if (MODE === "repaint") { paintHeat(); return; }
  shown = !shown;
  mat.hidden = !shown; cards.hidden = shown;
  if (MODE === "show + repaint" && shown) paintHeat();
  if (MODE === "repaint, then show" && !shown) paintHeat();
}
if (MODE === "repaint") { mat.hidden = false; cards.hidden = true; }
if (MODE === "show, as bitmaps") { // the same pixels, handed over once as an ImageBitmap
  for (const id of ["heat", "frame"]) {
    const c = document.getElementById(id), o = new OffscreenCanvas(c.width, c.height), n = c.cloneNode();
    o.getContext("2d").drawImage(c, 0, 0);
    n.getContext("bitmaprenderer").transferFromImageBitmap(o.transferToImageBitmap());
    c.replaceWith(n);
  }
}
if (MODE === "show, no canvases") { // the panel as plain text: 64 lines of labels, no canvas at all
  mat.replaceChildren(...Array.from({ length: 64 }, (_, i) => Object.assign(document.createElement("div"), { textContent: `t${i} ` + "0.12 ".repeat(40) })));
}
for (const el of [cards, mat]) el.addEventListener("click", () => requestAnimationFrame(swap));
window.__entries = [];
new PerformanceObserver((l) => { for (const e of l.getEntries()) window.__entries.push(e.duration); })
  .observe({ type: "event", durationThreshold: 16 });
</script>"""
MODES = ("show", "repaint", "show + repaint", "repaint, then show", "show, no canvases", "show, as bitmaps")


def point_at(page, x: float, y: float) -> tuple[float, float]:
    """The pointer to (x, y) and the page settled, as trusted_click does before a click: hover work is not the click's."""
    page.mouse.move(x, y)
    page.evaluate(SETTLE)
    return x, y


def run_mode(browser: Browser, mode: str, clicks: int, work: pathlib.Path, traced: int = 0) -> dict:
    """{"in": [ms or None], "out": [...], "traced": [ms]}: each click's longest entry (None: none), by whether it
    showed the canvases; then ``traced`` clicks that show them, click to screen."""
    path = work / f"switch-{MODES.index(mode)}.html"
    path.write_text(PAGE.replace("MODE_NAME", mode).replace("CARDS", "".join(f"<div>card {i}</div>" for i in range(8))))
    page = browser.new_page()
    page.goto(path.as_uri())
    page.wait_for_timeout(800)
    out: dict = {"in": [], "out": [], "traced": []}
    for k in range(clicks):
        at = point_at(page, 200 + 17 * k, 200 + 11 * k)
        page.evaluate("window.__entries = []")
        page.mouse.click(*at)
        page.wait_for_timeout(200)
        got = page.evaluate("window.__entries")
        side = "in" if mode == "repaint" or k % 2 == 0 else "out"
        out[side].append(max(got) if got else None)
    for k in range(2 * traced):
        shows = mode == "repaint" or page.evaluate("() => mat.hidden")  # this click shows the canvases
        at = point_at(page, 300 + 13 * k, 300 + 7 * k)
        got = click_to_screen(browser.browser, page, *at) if shows else None
        if not shows:
            page.mouse.click(*at)
        page.wait_for_timeout(200)
        if got:
            out["traced"].append(got["screen"])
    page.context.close()
    return out


def cell(xs: list) -> str:
    if not xs:
        return "—"
    hits = sorted(x for x in xs if x is not None)
    return f"{len(hits)} of {len(xs)}" + (f" ({', '.join(str(int(x)) for x in hits)} ms)" if hits else "")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clicks", type=int, default=12, help="clicks per run (half show, half hide)")
    ap.add_argument("--runs", type=int, default=2, help="runs of each way, each in a fresh page")
    ap.add_argument("--traced", type=int, default=6, help="traced clicks that show the canvases, per run")
    args = ap.parse_args()
    browser = Browser(["--disable-gpu"], executable=chromium_or_exit())
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        try:
            for mode in MODES:
                got: dict = {"in": [], "out": [], "traced": []}
                for _ in range(args.runs):
                    r = run_mode(browser, mode, args.clicks, pathlib.Path(tmp), args.traced)
                    for k in got:
                        got[k] += r[k]
                rows.append((mode, got))
        finally:
            browser.close()
    print(f"{chromium_version()}, headless, --disable-gpu, 1280×1000; clicks with an Event Timing entry ≥ 16 ms\n")
    print("| the click's frame | clicks that show the canvases | clicks that hide them | a showing click to the screen, traced (median ms) |")
    print("|---|---|---|---|")
    for mode, got in rows:
        tr = f"{statistics.median(got['traced']):.1f} ({len(got['traced'])})" if got["traced"] else "—"
        print(f"| {mode} | {cell(got['in'])} | {cell(got['out']) if mode != 'repaint' else 'n/a'} | {tr} |")


if __name__ == "__main__":
    main()
