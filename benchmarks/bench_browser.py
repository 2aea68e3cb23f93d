"""attnwidget against BertViz 1.4.1 in headless Chromium: bytes, first drawing, click -> repaint, JS heap.

One command, from the repository root with the project's venv (the first run also builds BertViz's
own environment, about 1 minute; nothing of it enters the project venv):

    .venv/bin/python benchmarks/bench_browser.py

Options: ``--setup`` (only build BertViz's environment), ``--sizes 64,128`` (default
64,128,256,512,1024,4096), ``--no-bertviz``, ``--bertviz-timeout 60`` (seconds per size and step),
``--ours-timeout 180``, ``--profile 512,4096`` (after the table: where our page spends its time, from
Chromium's CPU profiler over an unminified build of js/), ``--json FILE`` (raw figures).

What is measured, for one layer of 8 heads at each T, on the same weights (seeded standard-normal
logits -> softmax, float32, shape (1, 8, T, T), tokens "t0".."tT-1"):

- bytes per weight: ours, the binary buffers of the widget's synced state as ipywidgets splits them
  (``_remove_buffers(widget.get_state())``, what a kernel sends) and the ``to_html`` page;
  BertViz, the HTML that ``head_view(..., html_action="return")`` returns (its page).
- first drawing: each page loaded from file:// in a fresh headless Chromium (1280 x 1000, DPR 1);
  an init script polls every animation frame (ours: a visible canvas inside ``.attnwidget`` has
  non-blank pixels; BertViz: its ``#attention line`` elements exist) and the time of the next
  animation frame after that, ``performance.now()`` since navigation start, is the figure (one frame,
  ~16 ms, of resolution).
- click -> repaint: a click dispatched inside the page on a query token button (ours,
  ``[data-side="query"][data-index=i]``; matrix view: a click on the heat map) or a mouseover on a
  left token text (BertViz, which highlights on hover and has no click), from just before the dispatch
  to the second animation frame after it (the frame that shows the change has then been produced);
  median of 3 tokens (T/4, T/2, 3T/4), 1 when a repaint takes over 5 s.
- JS heap: ``performance.memory.usedJSHeapSize`` (``--enable-precise-memory-info``) after the clicks,
  then after a forced GC (CDP HeapProfiler.collectGarbage); the table shows the value after GC.

BertViz loads require.js, d3 5.7.0 and jQuery 2.0.0 from a CDN: those requests are answered from the
npm packages requirejs@2.3.6, d3@5.7.0 and jquery@2.1.0 (2.0.0 was never published to npm), kept in
the benchmark environment; every other request that leaves file:// is aborted and counted. A BertViz
size that times out (or fails) ends BertViz's run: larger sizes are not attempted.
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import re
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
import traceback
from urllib.parse import urlparse

import numpy as np

ROOT = pathlib.Path(__file__).resolve().parents[1]
HEADS = 8
SIZES = (64, 128, 256, 512, 1024, 4096)
VIEWPORT = {"width": 1280, "height": 1000}
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--enable-precise-memory-info",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-renderer-backgrounding", "--disable-background-timer-throttling"]
TORCH = "2.13.0"
BERTVIZ = "1.4.1"
CDN_LIBS = {  # what BertViz's page asks the CDN for -> (npm package, file inside it, local name)
    r"/require\.js/2\.3\.6/require\.min\.js$": ("requirejs@2.3.6", "package/require.js", "require.js"),
    r"/d3/5\.7\.0/d3\.min\.js$": ("d3@5.7.0", "package/dist/d3.min.js", "d3.min.js"),
    r"/jquery/2\.0\.0/jquery\.min\.js$": ("jquery@2.1.0", "package/dist/jquery.min.js", "jquery.min.js"),
}


# ----- BertViz's environment ------------------------------------------------------------------
def bench_venv() -> pathlib.Path:
    """``.bench-venv`` in the checkout when git ignores it, else /tmp/bertviz-venv."""
    ignore = ROOT / ".gitignore"
    lines = ignore.read_text().split() if ignore.exists() else []
    return ROOT / ".bench-venv" if any(x.strip("/") == ".bench-venv" for x in lines) else pathlib.Path("/tmp/bertviz-venv")


def venv_python() -> pathlib.Path:
    return bench_venv() / "bin" / "python"


def setup(force: bool = False) -> None:
    """Create BertViz's venv (CPU torch pinned first, then bertviz with torch constrained) and the CDN files."""
    venv = bench_venv()
    py = venv_python()
    ok = py.exists() and subprocess.run([str(py), "-c", "import bertviz, torch"], capture_output=True).returncode == 0
    if force or not ok:
        print(f"setting up BertViz's environment in {venv} (torch=={TORCH} CPU, bertviz=={BERTVIZ}) ...", flush=True)
        base = getattr(sys, "_base_executable", None) or shutil.which("python3") or sys.executable
        subprocess.run([base, "-m", "venv", str(venv)], check=True)
        pip = [str(py), "-m", "pip", "install", "-q", "--disable-pip-version-check"]
        # torch first, pinned: bertviz only asks for torch>=1.0, and the constraint keeps pip from
        # swapping in another (CUDA) build while it resolves bertviz's other dependencies.
        subprocess.run(pip + [f"torch=={TORCH}"], check=True)
        constraints = venv / "constraints.txt"
        constraints.write_text(f"torch=={TORCH}\n")
        subprocess.run(pip + ["-c", str(constraints), f"bertviz=={BERTVIZ}"], check=True)
        got = subprocess.run([str(py), "-c", "import torch; print(torch.__version__)"], capture_output=True, text=True,
                             check=True).stdout.strip()
        if not got.startswith(TORCH) or "+cu" in got:
            raise SystemExit(f"BertViz's environment has torch {got}, expected {TORCH} (CPU build)")
    cdn = venv / "cdn"
    if force or not all((cdn / name).exists() for _, _, name in CDN_LIBS.values()):
        cdn.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory() as tmp:
            specs = [spec for spec, _, _ in CDN_LIBS.values()]
            out = subprocess.run(["npm", "pack", "--silent", *specs], cwd=tmp, capture_output=True, text=True, check=True)
            tarballs = out.stdout.split()
            for (spec, member, name), tgz in zip(CDN_LIBS.values(), tarballs):
                with tarfile.open(pathlib.Path(tmp) / tgz) as tf:
                    (cdn / name).write_bytes(tf.extractfile(member).read())
    print(f"BertViz environment ready: {venv}", flush=True)


# ----- the weights ----------------------------------------------------------------------------
def weights(t: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((1, HEADS, t, t), dtype=np.float32)
    x -= x.max(-1, keepdims=True)
    np.exp(x, out=x)
    x /= x.sum(-1, keepdims=True)
    return x


def tokens(t: int) -> list[str]:
    return [f"t{i}" for i in range(t)]


# ----- Chromium -------------------------------------------------------------------------------
POLL = """(check) => {
  const W = window;
  W.__bench = { seen: null, drawn: null, error: null };
  const test = new Function(`return (${check})();`);
  function tick() {
    const b = W.__bench;
    if (b.seen !== null) { b.drawn = performance.now(); return; }
    try { if (test()) b.seen = performance.now(); } catch (e) { b.error = String(e); }
    requestAnimationFrame(tick);
  }
  requestAnimationFrame(tick);
}"""

# ours: a visible canvas inside .attnwidget with non-blank pixels
OURS_DRAWN = """() => {
  const cs = [...document.querySelectorAll('.attnwidget canvas')].filter((c) => c.offsetParent !== null && c.width * c.height >= 10000);
  for (const c of cs) {
    const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
    const u = new Uint32Array(d.buffer);
    for (let i = 0; i < u.length; i++) if (u[i] !== 0) return true;
  }
  return false;
}"""

BERTVIZ_DRAWN = "() => document.querySelector('#attention line') !== null"

# Click (or mouseover) inside the page without blocking Playwright: the result lands in window.__click.
CLICK = """(a) => {
  window.__click = null;
  setTimeout(() => {
    let el, init = { bubbles: true, cancelable: true, view: window };
    if (a.selector) el = document.querySelector(a.selector);
    else if (a.textIndex != null) el = document.querySelectorAll(a.textSelector)[a.textIndex];
    else {
      const cs = [...document.querySelectorAll('.attnwidget canvas')].filter((c) => c.offsetParent !== null);
      el = cs.sort((p, q) => q.width * q.height - p.width * p.height)[0];
      const r = el.getBoundingClientRect();
      init = { ...init, clientX: r.left + a.fx * r.width, clientY: r.top + a.fy * r.height };
    }
    if (!el) { window.__click = { error: 'no element to click' }; return; }
    const t0 = performance.now();
    el.dispatchEvent(new MouseEvent(a.type, init));
    const t1 = performance.now();
    requestAnimationFrame(() => {
      const t2 = performance.now();
      requestAnimationFrame(() => { window.__click = { handler: t1 - t0, frame1: t2 - t0, total: performance.now() - t0 }; });
    });
  }, 0);
}"""

CANVAS_SUM = """() => {
  const cs = [...document.querySelectorAll('.attnwidget canvas')].filter((c) => c.offsetParent !== null);
  let s = 0;
  for (const c of cs) {
    const u = new Uint32Array(c.getContext('2d').getImageData(0, 0, c.width, c.height).data.buffer);
    for (let i = 0; i < u.length; i += 7) s = (s * 31 + u[i]) >>> 0;
  }
  return s;
}"""


def chromium() -> str:
    path = shutil.which("chromium")
    if not path:
        raise SystemExit("Debian's chromium is needed (apt-get install chromium)")
    return path


def chromium_version() -> str:
    try:
        out = subprocess.run(["/usr/lib/chromium/chromium", "--version"], capture_output=True, text=True, timeout=30).stdout
        return out.strip() or "unknown"
    except Exception:  # noqa: BLE001
        return "unknown"


def is_local(url: str) -> bool:
    p = urlparse(url)
    return p.scheme in ("file", "data", "blob", "about") or p.hostname in ("127.0.0.1", "localhost")


class Session:
    """A fresh Chromium with one page; CDN requests for BertViz's libraries answered locally."""

    def __init__(self, pw, cdn: pathlib.Path | None = None):
        self.browser = pw.chromium.launch(executable_path=chromium(), args=CHROMIUM_ARGS)
        self.context = self.browser.new_context(viewport=VIEWPORT, device_scale_factor=1)
        self.blocked: list[str] = []
        self.served: list[str] = []
        self.errors: list[str] = []
        libs = {}
        if cdn is not None:
            libs = {re.compile(rx): (cdn / name).read_bytes() for rx, (_, _, name) in CDN_LIBS.items()}

        def route(r):
            url = r.request.url
            if is_local(url):
                r.continue_()
                return
            for rx, body in libs.items():
                if rx.search(urlparse(url).path):
                    self.served.append(url)
                    r.fulfill(status=200, body=body, headers={"content-type": "application/javascript",
                                                              "access-control-allow-origin": "*"})
                    return
            self.blocked.append(url)
            r.abort()

        self.context.route("**/*", route)
        self.page = self.context.new_page()
        self.page.on("pageerror", lambda e: self.errors.append(str(e)[:300]))
        self.page.on("console", lambda m: self.errors.append(m.text[:300]) if m.type == "error" else None)
        self.page.on("crash", lambda p: self.errors.append("renderer crashed"))
        self.cdp = self.context.new_cdp_session(self.page)

    def close(self):
        try:
            self.browser.close()
        except Exception:  # noqa: BLE001 - a hung or crashed browser: its process is gone either way
            pass


def load(s: Session, path: pathlib.Path, check: str, timeout_s: float) -> dict:
    """Navigate to ``path``; return the first-drawing time (ms since navigation start) and load timings."""
    s.page.add_init_script(script=f"({POLL})({json.dumps(check)})")
    t0 = time.perf_counter()
    s.page.goto(path.as_uri(), wait_until="commit", timeout=timeout_s * 1000)
    left = max(1.0, timeout_s - (time.perf_counter() - t0))
    s.page.wait_for_function("() => window.__bench && (window.__bench.drawn !== null || window.__bench.error !== null)",
                             timeout=left * 1000, polling=100)
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


def clicks(s: Session, make_args, t: int, timeout_s: float, verify) -> dict:
    """Up to 3 clicks (tokens T/4, T/2, 3T/4); the median and each total, in ms."""
    totals, handlers, frames = [], [], []
    for k, idx in enumerate((t // 4, t // 2, 3 * t // 4)):
        before = verify(s, None)
        r = click(s, make_args(k, idx), timeout_s)
        ok = verify(s, (idx, before))
        if not ok:
            raise RuntimeError(f"the click on token {idx} changed nothing on screen")
        totals.append(r["total"]); handlers.append(r["handler"]); frames.append(r["frame1"])
        if r["total"] > 5000:
            break
    return {"click_ms": statistics.median(totals), "clicks_ms": totals, "click_handler_ms": statistics.median(handlers),
            "click_frame1_ms": statistics.median(frames)}


# ----- the two sides --------------------------------------------------------------------------
def build_ours(w: np.ndarray, t: int, work: pathlib.Path) -> dict:
    from ipywidgets.widgets.widget import _remove_buffers

    from attnwidget import AttentionWidget

    out: dict = {}
    t0 = time.perf_counter()
    widget = AttentionWidget(w, tokens(t))
    out["build_s"] = time.perf_counter() - t0
    state, _, buffers = _remove_buffers(widget.get_state())
    out["buffer_bytes"] = sum(memoryview(b).nbytes for b in buffers)
    out["state_json_bytes"] = len(json.dumps(state, default=str).encode())
    t0 = time.perf_counter()
    page = work / f"ours-graph-{t}.html"
    widget.to_html(page, max_weights=None)
    out["to_html_s"] = time.perf_counter() - t0
    out["page_bytes"] = page.stat().st_size
    widget.close()
    matrix = AttentionWidget(w, tokens(t), view="matrix")
    matrix.to_html(work / f"ours-matrix-{t}.html", max_weights=None)
    matrix.close()
    return out


def token_pressed(s: Session, arg):
    if arg is None:
        return None
    idx, _ = arg
    return s.page.evaluate("(i) => { const b = document.querySelector(`.attnwidget [data-side=\"query\"][data-index=\"${i}\"]`);"
                           " return !!b && b.getAttribute('aria-pressed') === 'true'; }", idx)


def canvas_changed(s: Session, arg):
    now = s.page.evaluate(CANVAS_SUM)
    return now if arg is None else now != arg[1]


def bertviz_hovered(s: Session, arg):
    if arg is None:
        return None
    idx, _ = arg
    return s.page.evaluate("""(i) => { const g = document.querySelector('#attention');
        return !!g && g.getAttribute('visibility') === 'hidden' && !!g.querySelector(`line[left-token-index="${i}"][visibility="visible"]`); }""", idx)


def measure_ours(pw, t: int, view: str, work: pathlib.Path, timeout_s: float) -> dict:
    s = Session(pw)
    try:
        r = load(s, work / f"ours-{view}-{t}.html", OURS_DRAWN, timeout_s)
        if view == "graph":
            n = s.page.evaluate("() => document.querySelectorAll('.attnwidget [data-side=\"query\"]').length")
            if n != t:
                raise RuntimeError(f"{n} query token buttons, expected {t}")
            r.update(clicks(s, lambda k, i: {"type": "click", "selector": f'.attnwidget [data-side="query"][data-index="{i}"]'},
                            t, timeout_s, token_pressed))
        else:
            spots = [(0.5, 0.5), (0.35, 0.4), (0.6, 0.3)]
            r.update(clicks(s, lambda k, i: {"type": "click", "fx": spots[k][0], "fy": spots[k][1]}, t, timeout_s, canvas_changed))
        r.update(heap(s))
        r["blocked"] = len(s.blocked)
        r["errors"] = s.errors[:3]
        return r
    finally:
        s.close()


def build_bertviz(w_path: pathlib.Path, t: int, work: pathlib.Path, timeout_s: float) -> dict:
    page = work / f"bertviz-{t}.html"
    out = subprocess.run([str(venv_python()), str(ROOT / "benchmarks" / "bertviz_page.py"), str(w_path), str(page)],
                         capture_output=True, text=True, timeout=timeout_s * 3)
    if out.returncode != 0:
        raise RuntimeError(f"head_view failed: {out.stderr.strip().splitlines()[-1:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def measure_bertviz(pw, t: int, work: pathlib.Path, timeout_s: float) -> dict:
    s = Session(pw, cdn=bench_venv() / "cdn")
    try:
        r = load(s, work / f"bertviz-{t}.html", BERTVIZ_DRAWN, timeout_s)
        n = s.page.evaluate("() => document.querySelectorAll('#attention line').length")
        if n != HEADS * t * t:
            raise RuntimeError(f"{n} SVG lines, expected {HEADS * t * t}")
        r.update(clicks(s, lambda k, i: {"type": "mouseover", "textSelector": "#left text", "textIndex": i},
                        t, timeout_s, bertviz_hovered))
        r.update(heap(s))
        r["served"] = len(s.served)
        r["blocked"] = len(s.blocked)
        r["errors"] = s.errors[:3]
        return r
    finally:
        s.close()


def failure(exc: BaseException) -> str:
    from playwright.sync_api import TimeoutError as PwTimeout

    if isinstance(exc, (PwTimeout, subprocess.TimeoutExpired)):
        return "timeout"
    msg = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return f"failed: {msg[:160]}"


# ----- the run --------------------------------------------------------------------------------
def run(sizes, do_bertviz: bool, bv_timeout: float, ours_timeout: float) -> dict:
    from playwright.sync_api import sync_playwright

    results: dict = {}
    bertviz_stop = None
    with tempfile.TemporaryDirectory(prefix="bench-browser-") as tmp, sync_playwright() as pw:
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
                    res[view] = {"error": res["ours"]["error"]}
                    continue
                try:
                    res[view] = measure_ours(pw, t, view, work, ours_timeout)
                except Exception as exc:  # noqa: BLE001
                    res[view] = {"error": failure(exc)}
                print(f"ours {view} {res[view].get('draw_ms', res[view].get('error'))}; ", end="", flush=True)
            if not do_bertviz:
                res["bertviz"] = {"error": "not run (--no-bertviz)"}
            elif bertviz_stop:
                res["bertviz"] = {"error": f"not run (T={bertviz_stop} did not finish)"}
            else:
                try:
                    res["bertviz_build"] = build_bertviz(w_path, t, work, bv_timeout)
                    res["bertviz"] = measure_bertviz(pw, t, work, bv_timeout)
                except Exception as exc:  # noqa: BLE001
                    res["bertviz"] = {"error": failure(exc)}
                if "error" in res["bertviz"] or "click_ms" not in res["bertviz"]:
                    bertviz_stop = t
                print(f"bertviz {res['bertviz'].get('draw_ms', res['bertviz'].get('error'))}", end="", flush=True)
            for f in work.glob(f"*-{t}.html"):
                f.unlink()
            w_path.unlink()
            print(f"  ({time.perf_counter() - t0:.0f} s)", flush=True)
    return results


def fmt(v, unit=""):
    if v is None:
        return "—"
    if isinstance(v, str):
        return v
    if v >= 100:
        return f"{v:,.0f}{unit}"
    if v >= 10:
        return f"{v:.1f}{unit}"
    return f"{v:.2f}{unit}"


def ratio(a, b):
    if isinstance(a, (int, float)) and isinstance(b, (int, float)) and b:
        return f"{a / b:.1f}×"
    return "—"


def table(results: dict) -> str:
    rows = ["| T | weights | measure | ours: graph | ours: matrix | BertViz head view | BertViz / ours (graph) |",
            "|---|---|---|---|---|---|---|"]
    for t, res in results.items():
        ours, g, m, bv = res.get("ours", {}), res.get("graph", {}), res.get("matrix", {}), res.get("bertviz", {})
        bvb = res.get("bertviz_build", {})
        wts = res["weights"]
        err = lambda d: d.get("error")  # noqa: E731
        sent = ours["buffer_bytes"] / wts if "buffer_bytes" in ours else err(ours)
        page = ours["page_bytes"] / wts if "page_bytes" in ours else err(ours)
        bv_page = bvb["payload_bytes"] / wts if "payload_bytes" in bvb else err(bv)
        def cell(d, key):  # noqa: E306
            return d[key] if key in d else (err(d) or "—")
        lines = [
            ("bytes sent / weight (ours: widget buffers; BertViz: its HTML)", sent, "—", bv_page),
            ("bytes / weight of the standalone page", page, "(same)", bv_page),
            ("first drawing, ms from navigation", cell(g, "draw_ms"), cell(m, "draw_ms"), cell(bv, "draw_ms")),
            ("click → repainted frame, ms (BertViz: hover)", cell(g, "click_ms"), cell(m, "click_ms"), cell(bv, "click_ms")),
            ("JS heap after GC, MB", cell(g, "heap_gc_mb"), cell(m, "heap_gc_mb"), cell(bv, "heap_gc_mb")),
        ]
        for k, (name, a, b, c) in enumerate(lines):
            rows.append(f"| {t if k == 0 else ''} | {f'{wts:,}' if k == 0 else ''} | {name} | {fmt(a)} | {fmt(b)} | {fmt(c)} | {ratio(c, a)} |")
    return "\n".join(rows)


def details(results: dict) -> str:
    out = []
    for t, res in results.items():
        ours, g, m, bv, bvb = (res.get(k, {}) for k in ("ours", "graph", "matrix", "bertviz", "bertviz_build"))
        parts = [f"T={t}:"]
        if "build_s" in ours:
            over = " (over Jupyter's 10 MiB message limit)" if ours["buffer_bytes"] + ours["state_json_bytes"] > 10 * 2**20 else ""
            parts.append(f"ours: widget {ours['build_s']:.2f} s, to_html {ours['to_html_s']:.2f} s, "
                         f"buffers {ours['buffer_bytes'] / 2**20:.2f} MiB + state JSON {ours['state_json_bytes'] / 1024:.1f} KiB{over}, "
                         f"page {ours['page_bytes'] / 2**20:.2f} MiB;")
        for name, d in (("graph", g), ("matrix", m), ("bertviz", bv)):
            if "draw_ms" in d:
                nav = d.get("nav", {})
                parts.append(f"{name}: html parsed (domInteractive) {fmt(nav.get('domInteractive'))} ms, "
                             f"clicks {', '.join(fmt(x) for x in d.get('clicks_ms', []))} ms (handler {fmt(d.get('click_handler_ms'))}, "
                             f"1st frame {fmt(d.get('click_frame1_ms'))}), heap before GC {fmt(d.get('heap_mb'))} MB, "
                             f"DOM nodes {d.get('dom_nodes')}, blocked {d.get('blocked')}"
                             + (f", CDN files served {d.get('served')}" if "served" in d else "")
                             + (f", errors {d['errors']}" if d.get("errors") else "") + ";")
            elif d.get("error"):
                parts.append(f"{name}: {d['error']};")
        if "gen_s" in bvb:
            parts.append(f"bertviz head_view() {bvb['gen_s']:.2f} s, page {bvb['page_bytes'] / 2**20:.2f} MiB.")
        out.append(" ".join(parts))
    return "\n".join(out)


# ----- where our page spends its time (--profile) -----------------------------------------------
FOCUS = ["boot", "gunzipText", "loadModule", "render", "flush", "decode", "decodeData", "toBytes", "decodeBase64",
         "buildButtons", "placeButtons", "markPinned", "recomputeLines", "selectLines", "topIndices", "draw",
         "paintLines", "paintBars", "barsFor", "labelColumnWidth", "truncateToWidth", "update", "parse", "atob"]


def unminified_static(dest: pathlib.Path) -> pathlib.Path | None:
    """Build js/ without minifying (names kept) into dest; None if the build fails."""
    esbuild = ROOT / "node_modules" / ".bin" / "esbuild"
    try:
        subprocess.run([str(esbuild), "js/widget.js", "--bundle", "--format=esm", "--target=es2020",
                        f"--outfile={dest / 'widget.js'}"], cwd=ROOT, check=True, capture_output=True)
        subprocess.run([str(esbuild), "js/static.js", "--bundle", "--format=iife", "--target=es2020",
                        f"--outfile={dest / 'static.js'}"], cwd=ROOT, check=True, capture_output=True)
        return dest
    except Exception:  # noqa: BLE001
        return None


def profile_summary(prof: dict, wall_ms: float) -> list[str]:
    nodes = {n["id"]: n for n in prof["nodes"]}
    parent = {}
    for n in prof["nodes"]:
        for c in n.get("children", []):
            parent[c] = n["id"]
    deltas = prof["timeDeltas"][1:] + [0]
    self_ms: dict[str, float] = {}
    incl_ms: dict[str, float] = {}
    chain_cache: dict[int, set] = {}

    def label(n):
        cf = n["callFrame"]
        name = cf["functionName"] or "(anonymous)"
        src = cf["url"].rsplit("/", 1)[-1][:20]
        return f"{name} {src}:{cf['lineNumber'] + 1}" if src else name

    def chain(nid):
        if nid not in chain_cache:
            names = set()
            cur = nid
            while cur is not None:
                names.add(nodes[cur]["callFrame"]["functionName"])
                cur = parent.get(cur)
            chain_cache[nid] = names
        return chain_cache[nid]

    for sid, d in zip(prof["samples"], deltas):
        ms = d / 1000
        lab = label(nodes[sid])
        self_ms[lab] = self_ms.get(lab, 0) + ms
        for f in chain(sid) & set(FOCUS):
            incl_ms[f] = incl_ms.get(f, 0) + ms
    top = sorted(self_ms.items(), key=lambda kv: -kv[1])[:14]
    out = [f"  main-thread CPU samples to first drawing: {sum(self_ms.values()):,.0f} ms (first drawing at {wall_ms:,.0f} ms)",
           "  self time: " + "; ".join(f"{k} {v:,.0f}" for k, v in top),
           "  inclusive (ms): " + "; ".join(f"{k} {incl_ms[k]:,.0f}" for k in FOCUS if incl_ms.get(k, 0) >= 1)]
    return out


def profile(sizes, ours_timeout: float) -> str:
    from playwright.sync_api import sync_playwright

    from attnwidget import AttentionWidget, export

    lines = []
    with tempfile.TemporaryDirectory(prefix="bench-profile-") as tmp, sync_playwright() as pw:
        work = pathlib.Path(tmp)
        static = unminified_static(work)
        note = "unminified build of js/" if static else "the minified bundle (the unminified build failed)"
        if static:
            css = ROOT / "attnwidget" / "static" / "widget.css"
            if css.exists() and not (work / "widget.css").exists():
                shutil.copy(css, work / "widget.css")
            export._STATIC = work  # this process only: the page carries the unminified bundle
            export._asset.cache_clear()
        lines.append(f"Where our page spends its time (CPU profile, 100 µs sampling, {note}; profiled separately from the table):")
        for t in sizes:
            for view in ("graph", "matrix"):
                w = weights(t)
                AttentionWidget(w, tokens(t), view=view).to_html(work / f"p-{view}-{t}.html", max_weights=None)
                del w
                s = Session(pw)
                try:
                    blank = work / "blank.html"
                    blank.write_text("<!doctype html><title>blank</title>")
                    s.page.goto(blank.as_uri())
                    s.cdp.send("Profiler.enable")
                    s.cdp.send("Profiler.setSamplingInterval", {"interval": 100})
                    s.cdp.send("Profiler.start")
                    r = load(s, work / f"p-{view}-{t}.html", OURS_DRAWN, ours_timeout)
                    prof = s.cdp.send("Profiler.stop")["profile"]
                    nav = r["nav"]
                    lines.append(f"T={t} {view}: first drawing {r['draw_ms']:,.0f} ms; HTML parsed (domInteractive) "
                                 f"{nav['domInteractive']:,.0f} ms, DOMContentLoaded {nav['dcl']:,.0f} ms")
                    lines += profile_summary(prof, r["draw_ms"])
                    if view == "graph":
                        s.cdp.send("Profiler.start")
                        c = click(s, {"type": "click", "selector": f'.attnwidget [data-side="query"][data-index="{t // 2}"]'}, ours_timeout)
                        prof = s.cdp.send("Profiler.stop")["profile"]
                        lines.append(f"T={t} graph click: {c['total']:,.0f} ms (handler {c['handler']:.1f}, first frame {c['frame1']:,.0f})")
                        lines += profile_summary(prof, c["total"])[1:]
                except Exception as exc:  # noqa: BLE001
                    lines.append(f"T={t} {view}: {failure(exc)}")
                finally:
                    s.close()
                (work / f"p-{view}-{t}.html").unlink()
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--setup", action="store_true", help="only (re)build BertViz's environment")
    ap.add_argument("--sizes", default=",".join(map(str, SIZES)))
    ap.add_argument("--no-bertviz", action="store_true")
    ap.add_argument("--bertviz-timeout", type=float, default=60.0)
    ap.add_argument("--ours-timeout", type=float, default=180.0)
    ap.add_argument("--profile", default="", help="sizes to profile our page at, e.g. 512,4096")
    ap.add_argument("--json", default="", help="write the raw figures here")
    a = ap.parse_args()
    if a.setup:
        setup(force=True)
        return
    sizes = [int(x) for x in a.sizes.split(",") if x]
    if not a.no_bertviz:
        setup()
    bv = subprocess.run([str(venv_python()), "-c", "import bertviz, torch, importlib.metadata as m;"
                         "print(m.version('bertviz'), torch.__version__)"], capture_output=True, text=True).stdout.strip() \
        if not a.no_bertviz else "not run"
    t0 = time.perf_counter()
    results = run(sizes, not a.no_bertviz, a.bertviz_timeout, a.ours_timeout)
    print()
    print(f"machine: {os.cpu_count()} CPUs, {chromium_version()} headless (--disable-gpu, 1280×1000, DPR 1); "
          f"BertViz {bv} (torch CPU); one layer, {HEADS} heads, weights = {HEADS}·T²; "
          f"BertViz time-box {a.bertviz_timeout:.0f} s per size and step")
    print()
    print(table(results))
    print()
    print(details(results))
    print(f"\ntotal {time.perf_counter() - t0:.0f} s")
    if a.profile:
        print()
        print(profile([int(x) for x in a.profile.split(",") if x], a.ours_timeout))
    if a.json:
        pathlib.Path(a.json).write_text(json.dumps({str(k): v for k, v in results.items()}, indent=1, default=str))


if __name__ == "__main__":
    main()
