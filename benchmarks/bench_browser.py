"""attnwidget against BertViz 1.4.1 in headless Chromium: bytes, first drawing, click -> repaint, JS heap.

One command, from the repository root with the project's venv (the first run also builds BertViz's
own environment, about 1 minute; nothing of it enters the project venv):

    .venv/bin/python benchmarks/bench_browser.py

Options: ``--setup`` (only build BertViz's environment), ``--sizes 64,128`` (default
64,128,256,512,1024,4096; empty: no table against BertViz), ``--no-bertviz``, ``--bertviz-timeout 60``
(seconds per size and step), ``--ours-timeout 120``, ``--event-sizes 64,512,4096`` (the default; empty:
no Event Timing table), ``--profile 512,4096`` (after the tables: where our page spends its time, from
Chromium's CPU profiler over an unminified build of js/), ``--json FILE`` (raw figures).

What is measured, for one layer of 8 heads at each T, on the same weights (seeded standard-normal
logits -> softmax, float32, shape (1, 8, T, T), tokens "t0".."tT-1"):

- bytes per weight: ours, the binary buffers of the widget's synced state as ipywidgets splits them
  (``_remove_buffers(widget.get_state())``, what a kernel sends) and the ``to_html`` page;
  BertViz, the HTML that ``head_view(..., html_action="return")`` returns (its page).
- first drawing: each page loaded from file:// in a fresh headless Chromium (1280 x 1000, DPR 1);
  an init script polls every animation frame (ours: a visible canvas inside ``.attnwidget`` has
  received a 2D drawing call, since the view draws each frame in one task; BertViz: its
  ``#attention line`` elements exist, all made in one task) and the time of the next animation frame
  after that, ``performance.now()`` since navigation start, is the figure (one frame, ~16 ms, of
  resolution). A view that drew in several frames would be timed at its first.
- click -> repaint: a click dispatched inside the page on a query token button (ours,
  ``[data-side="query"][data-index=i]``; matrix view: a click on the heat map) or a mouseover on a
  left token text (BertViz, which highlights on hover and has no click), from just before the dispatch
  to the second animation frame after it (the frame that shows the change has then been produced);
  median of 3 tokens (T/4, T/2, 3T/4), 1 when a repaint takes over 5 s. Before each click the token is
  scrolled into view (untimed), as a person would, so views that keep buttons only for the rows in
  view work too; each click is checked to have changed the view.
- JS heap: ``performance.memory.usedJSHeapSize`` (``--enable-precise-memory-info``) after the clicks,
  then after a forced GC (CDP HeapProfiler.collectGarbage); the table shows the value after GC.
- trusted clicks, hovers and key presses, as Chrome's Event Timing API reports them (a table of their
  own, ours only, at ``--event-sizes``, views ``--event-views``): 11 real clicks per view on query
  tokens spread over T in the graph, matrix and explain views, on head cards (heads view) and layer ×
  head cells (model view, two layers), and on a page of one button; the explain view also with a live
  kernel, in a JupyterLab ("explain-live": a page carries explain numbers up to T = 64 only); then 11 hovers (the pointer moved
  in onto tokens, cards, cells, thumbnails) and 11 key presses (arrows, Enter) on each; each input's
  longest event entry, input to the next painted frame, 8 ms resolution, none below 16 ms. How, in
  browser/event_timing.py and browser/event_inputs.py.

BertViz loads require.js, d3 5.7.0 and jQuery 2.0.0 from a CDN: those requests are answered from the
npm packages requirejs@2.3.6, d3@5.7.0 and jquery@2.1.0 (2.0.0 was never published to npm), kept in
the benchmark environment; every other request that leaves file:// is aborted and counted (the
tests' harness, tests/harness.py, launches and fences Chromium). A BertViz size that times out (or
fails) ends BertViz's run: larger sizes are not attempted.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import pathlib
import shutil
import tempfile
import time
import traceback

import numpy as np

from browser import ROOT, bertviz_env, event_report, event_timing
from browser.child import failure
from browser.cpu_profile import unminified_static
from browser.page_measure import measure, measure_in_child
from browser.report import cell, details, fmt, table
from browser.workload import HEADS, SIZES, build_ours, tokens, weights
from harness import chromium_version

FIGURES = ("draw_ms", "click_ms", "heap_gc_mb")


def run(sizes, do_bertviz: bool, bv_timeout: float, ours_timeout: float) -> dict:
    """The table against BertViz: {T: {"ours": sizes, "graph", "matrix", "bertviz": figures, ...}}."""
    results: dict = {}
    bertviz_stop = None
    with tempfile.TemporaryDirectory(prefix="bench-browser-") as tmp:
        work = pathlib.Path(tmp)
        for t in sizes:
            res = results[t] = {"weights": HEADS * t * t}
            print(f"T={t}: ", end="", flush=True)
            t0 = time.perf_counter()
            w = weights(t)
            w_path = work / f"w{t}.npy"
            np.save(w_path, w)
            try:
                res["ours"] = build_ours(w, t, work)
            except Exception as exc:  # noqa: BLE001 - a cell of the table says what went wrong
                res["ours"] = {"error": failure(exc)}
                traceback.print_exc()
            del w
            for view in ("graph", "matrix"):
                if "error" in res["ours"]:
                    res[view] = {"failed": dict.fromkeys(FIGURES, res["ours"]["error"])}
                    continue
                res[view] = measure_in_child({"tool": "ours", "view": view, "t": t, "page": str(work / f"ours-{view}-{t}.html")},
                                             ours_timeout, work)
                print(f"ours {view} {fmt(cell(res[view], 'draw_ms'))}; ", end="", flush=True)
            if not do_bertviz:
                res["bertviz"] = {"failed": dict.fromkeys(FIGURES, "not run")}
            elif bertviz_stop:
                res["bertviz"] = {"failed": dict.fromkeys(FIGURES, f"not run (T={bertviz_stop} did not finish)")}
            else:
                try:
                    res["bertviz_build"] = bertviz_env.build_bertviz(w_path, t, work, bv_timeout)
                    res["bertviz"] = measure_in_child({"tool": "bertviz", "t": t, "page": str(work / f"bertviz-{t}.html")},
                                                      bv_timeout, work)
                except Exception as exc:  # noqa: BLE001
                    res["bertviz"] = {"failed": dict.fromkeys(FIGURES, failure(exc))}
                if res["bertviz"].get("failed"):
                    bertviz_stop = t
                print(f"bertviz {fmt(cell(res['bertviz'], 'draw_ms'))}", end="", flush=True)
            for f in work.glob(f"*-{t}.html"):
                f.unlink()
            w_path.unlink()
            print(f"  ({time.perf_counter() - t0:.0f} s)", flush=True)
    return results


def profile(sizes, ours_timeout: float) -> str:
    """Lines on where our page spends its time at each of ``sizes``, from runs of their own."""
    from attnwidget import AttentionWidget, export

    lines = []
    with tempfile.TemporaryDirectory(prefix="bench-profile-") as tmp:
        work = pathlib.Path(tmp)
        static = unminified_static(work)
        note = "an unminified build of js/" if static else "the minified bundle (the unminified build failed)"
        if static:
            css = ROOT / "attnwidget" / "static" / "widget.css"
            if css.exists() and not (work / "widget.css").exists():
                shutil.copy(css, work / "widget.css")
            export._STATIC = work  # this process only: its pages carry the unminified bundle
            export._asset.cache_clear()
        lines.append(f"Where our page spends its time: Chromium's CPU profiler (100 µs samples) over {note}, "
                     "runs of their own after the table (the profiler slows the page down):")
        for t in sizes:
            for view in ("graph", "matrix"):
                w = weights(t)
                page = work / f"p-{view}-{t}.html"
                t0 = time.perf_counter()
                AttentionWidget(w, tokens(t), view=view).to_html(page, max_weights=None)
                py_s = time.perf_counter() - t0
                del w
                r = measure_in_child({"tool": "ours", "view": view, "t": t, "page": str(page), "profile": True}, ours_timeout, work)
                page.unlink()
                if "draw_ms" not in r:
                    lines.append(f"T={t} {view}: {r.get('failed', {}).get('draw_ms')} (stopped in phase '{r.get('failed_phase')}')")
                    continue
                nav = r["nav"]
                lines.append(f"T={t} {view}: widget + to_html in Python {py_s:.1f} s; in the page: first drawing at {r['draw_ms']:,.0f} ms, "
                             f"HTML parsed (domInteractive) at {nav['domInteractive']:,.0f} ms, DOMContentLoaded {nav['dcl']:,.0f} ms")
                lines += r.get("profile", [])
                if "click_ms" in r:
                    lines.append(f"T={t} {view} click → repaint {r['click_ms']:,.0f} ms (handler {r['click_handler_ms']:.1f} ms, "
                                 f"first frame at {r['click_frame1_ms']:,.0f} ms)")
                    lines += r.get("click_profile", [])[:2]
                elif r.get("failed"):
                    lines.append(f"T={t} {view} click: {r['failed'].get('click_ms')}")
    return "\n".join(lines)


def header(bertviz: str, bv_timeout: float) -> str:
    bundle = ROOT / "attnwidget" / "static" / "widget.js"
    front = (f"front end measured: attnwidget/static/widget.js sha256 {hashlib.sha256(bundle.read_bytes()).hexdigest()[:12]}, "
             f"built {time.strftime('%Y-%m-%d %H:%M', time.gmtime(bundle.stat().st_mtime))} UTC") if bundle.exists() else "front end not built"
    return (f"{front}\nmachine: {os.cpu_count()} CPUs, {chromium_version()} headless (--disable-gpu, 1280×1000, DPR 1); "
            f"BertViz {bertviz} (torch CPU); one layer, {HEADS} heads, weights = {HEADS}·T²; "
            f"BertViz time-box {bv_timeout:.0f} s per size and step")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--setup", action="store_true", help="only (re)build BertViz's environment")
    ap.add_argument("--sizes", default=",".join(map(str, SIZES)))
    ap.add_argument("--no-bertviz", action="store_true")
    ap.add_argument("--bertviz-timeout", type=float, default=60.0)
    ap.add_argument("--ours-timeout", type=float, default=120.0)
    ap.add_argument("--event-sizes", default="64,512,4096", help="sizes of the Event Timing table (trusted clicks, hovers, keys)")
    ap.add_argument("--event-views", default=",".join(event_timing.VIEWS), help="views of the Event Timing table (the one button always)")
    ap.add_argument("--profile", default="", help="sizes to profile our page at, e.g. 512,4096")
    ap.add_argument("--json", default="", help="write the raw figures here")
    ap.add_argument("--measure", default="", help=argparse.SUPPRESS)  # internal: one page, in a child process
    a = ap.parse_args()
    if a.measure:
        spec = json.loads(a.measure)
        (event_timing.measure_clicks if spec["kind"] == "events" else measure)(spec)
        return
    if a.setup:
        bertviz_env.setup(force=True)
        return
    sizes, event_sizes = ([int(x) for x in s.split(",") if x] for s in (a.sizes, a.event_sizes))
    do_bertviz = bool(sizes) and not a.no_bertviz
    if do_bertviz:
        bertviz_env.setup()
    t0 = time.perf_counter()
    results = run(sizes, do_bertviz, a.bertviz_timeout, a.ours_timeout)
    event_views = [v for v in a.event_views.split(",") if v in event_timing.VIEWS]
    events = event_timing.run(event_sizes, a.ours_timeout, event_views) if event_sizes else {}
    print()
    print(header(bertviz_env.version() if do_bertviz else "not run", a.bertviz_timeout))
    if results:
        print(f"\n{table(results)}\n\n{details(results)}")
    if events:
        print(f"\nTrusted input (Event Timing API), {event_timing.CLICKS} clicks, {event_timing.HOVERS} hovers and {event_timing.KEYS} "
              "key presses per view: median / worst of each input's longest event entry, ms (\"< 16\": no entry, the API's floor), "
              "and (how many of them had an entry ≥ 16 ms; \"1st\": the page's first input of that kind among them)\n")
        print(f"{event_report.table(events)}\n\n{event_report.first_inputs(events)}\n\n{event_report.details(events)}")
    print(f"\ntotal {time.perf_counter() - t0:.0f} s")
    if a.profile:
        print()
        print(profile([int(x) for x in a.profile.split(",") if x], a.ours_timeout))
    if a.json:
        figures = {**{str(k): v for k, v in results.items()}, "event_timing": {str(k): v for k, v in events.items()}}
        pathlib.Path(a.json).write_text(json.dumps(figures, indent=1, default=str))


if __name__ == "__main__":
    main()
