"""One page (ours or BertViz's) in a child process: first drawing, in-page click -> repaint, JS heap.

See the command's docstring (benchmarks/bench_browser.py) for what each figure means.
"""

from __future__ import annotations

import json
import pathlib
import statistics

from .child import Progress, Session, run_child
from .cpu_profile import profile_summary
from .page_scripts import (BERTVIZ_DRAWN, BERTVIZ_REVEAL, SHOWN_SUM, CLICK, OURS_DRAWN, OURS_HOOK, PAINTED, POLL,
                           REVEAL_TOKEN)
from .workload import HEADS

# Which cell of the table a failure in each phase stands in for.
PHASE_KEY = {"load": "draw_ms", "check": "draw_ms", "click": "click_ms", "verify click": "click_ms", "prepare click": "click_ms",
             "heap": "heap_gc_mb", "profile": "profile"}


def load(s: Session, path: pathlib.Path, check: str, timeout_s: float, hook: str = "") -> dict:
    """Navigate to ``path``; return the first-drawing time (ms since navigation start) and load timings."""
    s.page.add_init_script(script=f"{hook}\n({POLL})({json.dumps(check)})")
    s.page.goto(path.as_uri(), wait_until="commit", timeout=timeout_s * 1000)
    s.page.wait_for_function("() => window.__bench && (window.__bench.drawn !== null || window.__bench.error !== null)",
                             timeout=timeout_s * 1000, polling=100)
    b = s.page.evaluate("() => window.__bench")
    if b.get("error"):
        raise RuntimeError(f"drawing check failed: {b['error']}")
    nav = s.page.evaluate("""() => { const n = performance.getEntriesByType('navigation')[0] || {};
        return { responseEnd: n.responseEnd, domInteractive: n.domInteractive, dcl: n.domContentLoadedEventEnd, load: n.loadEventEnd }; }""")
    return {"draw_ms": b["drawn"], "seen_ms": b["seen"], "nav": nav}


def click(s: Session, args: dict, timeout_s: float) -> dict:
    s.page.evaluate(CLICK, args)
    s.page.wait_for_function("() => window.__click !== null", timeout=timeout_s * 1000, polling=50)
    r = s.page.evaluate("() => window.__click")
    if r.get("error"):
        raise RuntimeError(r["error"])
    return r


def heap(s: Session) -> dict:
    before = s.page.evaluate("() => performance.memory ? performance.memory.usedJSHeapSize : null")
    s.cdp.send("HeapProfiler.collectGarbage")
    after = s.page.evaluate("() => performance.memory ? performance.memory.usedJSHeapSize : null")
    s.cdp.send("Performance.enable")
    metrics = {m["name"]: m["value"] for m in s.cdp.send("Performance.getMetrics")["metrics"]}
    return {"heap_mb": before / 2**20 if before else None, "heap_gc_mb": after / 2**20 if after else None,
            "cdp_heap_mb": metrics.get("JSHeapUsedSize", 0) / 2**20, "dom_nodes": int(metrics.get("Nodes", 0))}


def clicks(s: Session, prog: Progress, make_args, t: int, timeout_s: float, verify, reveal: str | None) -> None:
    """Up to 3 clicks (tokens T/4, T/2, 3T/4), each a phase of its own; the median and each total, in ms."""
    totals, handlers, frames = [], [], []
    for k, idx in enumerate((t // 4, t // 2, 3 * t // 4)):
        if reveal:
            prog.phase("prepare click")
            got = s.page.evaluate(reveal, idx)
            if got != "ok":
                raise RuntimeError(got)
        before = verify(s, None)
        prog.phase("click")
        r = click(s, make_args(k, idx), timeout_s)
        prog.phase("verify click")
        if not verify(s, (idx, before)):
            raise RuntimeError(f"the click on token {idx} changed nothing on screen")
        totals.append(r["total"]); handlers.append(r["handler"]); frames.append(r["frame1"])
        prog.update(click_ms=statistics.median(totals), clicks_ms=totals, click_handler_ms=statistics.median(handlers),
                    click_frame1_ms=statistics.median(frames))
        if r["total"] > 5000:
            break




def token_pressed(s: Session, arg):
    if arg is None:
        return None
    idx, _ = arg
    return s.page.evaluate("(i) => { const b = document.querySelector(`.attnwidget [data-side=\"query\"][data-index=\"${i}\"]`);"
                           " return !!b && b.getAttribute('aria-pressed') === 'true'; }", idx)


def canvas_changed(s: Session, arg):
    now = s.page.evaluate(SHOWN_SUM)
    return now if arg is None else now != arg[1]


def bertviz_hovered(s: Session, arg):
    if arg is None:
        return None
    idx, _ = arg
    return s.page.evaluate("""(i) => { const g = document.querySelector('#attention');
        return !!g && g.getAttribute('visibility') === 'hidden' && !!g.querySelector(`line[left-token-index="${i}"][visibility="visible"]`); }""", idx)



def targets(s: Session, spec: dict, t: int, prog: Progress):
    """Check the page drew what it should; return (click arguments for click k on token i, verify, reveal)."""
    if spec["tool"] == "bertviz":
        n = s.page.evaluate("() => document.querySelectorAll('#attention line').length")
        if n != HEADS * t * t:
            raise RuntimeError(f"{n} SVG lines, expected {HEADS * t * t}")
        return (lambda k, i: {"type": "mouseover", "textSelector": "#left text", "textIndex": i}), bertviz_hovered, BERTVIZ_REVEAL
    if spec["view"] == "graph":
        n = s.page.evaluate("() => document.querySelectorAll('.attnwidget [data-side=\"query\"]').length")
        if not n:
            raise RuntimeError("no query token buttons")
        prog.update(query_buttons=n, painted=s.page.evaluate(PAINTED))
        return (lambda k, i: {"type": "click", "selector": f'.attnwidget [data-side="query"][data-index="{i}"]'}), token_pressed, REVEAL_TOKEN
    spots = [(0.5, 0.5), (0.35, 0.4), (0.6, 0.3)]
    return (lambda k, i: {"type": "click", "fx": spots[k][0], "fy": spots[k][1]}), canvas_changed, None


def measure(spec: dict) -> None:
    """Child process: one page in a fresh Chromium; figures go to the progress file as they come."""
    from .bertviz_env import cdn_files

    prog = Progress(pathlib.Path(spec["progress"]))
    t, timeout_s, path = spec["t"], spec["timeout"], pathlib.Path(spec["page"])
    s = None
    try:
        s = Session(serve=cdn_files() if spec["tool"] == "bertviz" else None)
        try:
            if spec.get("profile"):
                blank = path.with_name("blank.html")
                blank.write_text("<!doctype html><title>blank</title>")
                s.page.goto(blank.as_uri())
                s.cdp.send("Profiler.enable")
                s.cdp.send("Profiler.setSamplingInterval", {"interval": 100})
                s.cdp.send("Profiler.start")
            prog.phase("load")
            if spec["tool"] == "bertviz":
                r = load(s, path, BERTVIZ_DRAWN, timeout_s)
            else:
                r = load(s, path, OURS_DRAWN, timeout_s, hook=OURS_HOOK)
            prog.update(**r)
            if spec.get("profile"):
                prog.phase("profile")
                prog.update(profile=profile_summary(s.cdp.send("Profiler.stop")["profile"], r["draw_ms"]))
            prog.phase("check")
            make, verify, reveal = targets(s, spec, t, prog)
            if spec.get("profile"):
                profiled_click(s, prog, make(1, t // 2), reveal, t, timeout_s)
            else:
                clicks(s, prog, make, t, timeout_s, verify, reveal)
                prog.phase("heap")
                prog.update(**heap(s))
            prog.update(blocked=len(s.blocked), served=len(s.served), errors=[e[:300] for e in s.errors[:3]])
            prog.phase("done")
        finally:
            s.close()
    except Exception as exc:  # the parent reads the failure from the progress file
        prog.fail(exc, s.errors if s else [])
        raise


def profiled_click(s: Session, prog: Progress, args: dict, reveal: str | None, t: int, timeout_s: float) -> None:
    """One click on token T/2 under Chromium's CPU profiler."""
    if reveal:
        prog.phase("prepare click")
        s.page.evaluate(reveal, t // 2)
    s.cdp.send("Profiler.start")
    prog.phase("click")
    c = click(s, args, timeout_s)
    prog.update(click_ms=c["total"], click_handler_ms=c["handler"], click_frame1_ms=c["frame1"],
                click_profile=profile_summary(s.cdp.send("Profiler.stop")["profile"], c["total"]))


def measure_in_child(spec: dict, timeout_s: float, work: pathlib.Path) -> dict:
    """:func:`measure` in a child process; a figure that never came holds why in ``failed``."""
    res, why, phase = run_child({**spec, "kind": "page"}, timeout_s, work)
    if why:
        res.setdefault("failed", {})[PHASE_KEY.get(phase, "draw_ms")] = why
        res["failed_phase"] = phase
    for key in ("draw_ms", "click_ms", "heap_gc_mb"):  # what never came: say why in its cell
        if key not in res and why:
            res.setdefault("failed", {}).setdefault(key, "not reached" if key != PHASE_KEY.get(phase) else why)
    return res
