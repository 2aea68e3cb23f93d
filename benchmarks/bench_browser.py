"""attnwidget against BertViz 1.4.1 in headless Chromium: bytes, first drawing, click -> repaint, JS heap.

One command, from the repository root with the project's venv (the first run also builds BertViz's
own environment, about 1 minute; nothing of it enters the project venv):

    .venv/bin/python benchmarks/bench_browser.py

Options: ``--setup`` (only build BertViz's environment), ``--sizes 64,128`` (default
64,128,256,512,1024,4096), ``--no-bertviz``, ``--bertviz-timeout 60`` (seconds per size and step),
``--ours-timeout 120``, ``--profile 512,4096`` (after the table: where our page spends its time, from
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

BertViz loads require.js, d3 5.7.0 and jQuery 2.0.0 from a CDN: those requests are answered from the
npm packages requirejs@2.3.6, d3@5.7.0 and jquery@2.1.0 (2.0.0 was never published to npm), kept in
the benchmark environment; every other request that leaves file:// is aborted and counted. A BertViz
size that times out (or fails) ends BertViz's run: larger sizes are not attempted.
"""

from __future__ import annotations

import argparse
import hashlib
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
    ok = py.exists() and subprocess.run([str(py), "-c", "import bertviz, torch"], check=False, capture_output=True).returncode == 0
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

# ours: every 2D drawing call marks its canvas (installed before the page's scripts run); the view has
# drawn when a visible canvas inside .attnwidget got one. Pixels alone cannot tell: with near-uniform
# weights (random logits at large T) every line is fainter than the graph's lowest opacity step, and a
# finished drawing is blank.
OURS_HOOK = """(() => {
  const P = CanvasRenderingContext2D.prototype;
  for (const m of ['clearRect', 'fillRect', 'strokeRect', 'stroke', 'fill', 'drawImage', 'putImageData', 'fillText']) {
    const f = P[m];
    P[m] = function (...a) { if (this.canvas) this.canvas.__benchDrawn = true; return f.apply(this, a); };
  }
})();"""
OURS_DRAWN = """() => [...document.querySelectorAll('.attnwidget canvas')]
  .some((c) => c.__benchDrawn && c.offsetParent !== null && c.width * c.height >= 10000)"""
PAINTED = """() => {
  const cs = [...document.querySelectorAll('.attnwidget canvas')].filter((c) => c.offsetParent !== null && c.width * c.height >= 10000);
  let n = 0, total = 0;
  for (const c of cs) {
    const u = new Uint32Array(c.getContext('2d').getImageData(0, 0, c.width, c.height).data.buffer);
    total += u.length;
    for (let i = 0; i < u.length; i++) if (u[i] !== 0) n++;
  }
  return [n, total];
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

# Bring query token i into view as a person would (scroll its column), without timing it; works whether
# the view keeps a button for every token or only for the rows in view.
REVEAL_TOKEN = """async (i) => {
  const sel = (k) => document.querySelector(`.attnwidget [data-side="query"][data-index="${k}"]`);
  const raf = () => new Promise((r) => requestAnimationFrame(r));
  if (!sel(i)) {
    const bs = [...document.querySelectorAll('.attnwidget [data-side="query"]')]
      .map((b) => [Number(b.dataset.index), b]).sort((a, b) => a[0] - b[0]);
    if (!bs.length) return 'no query token buttons';
    const [i0, b0] = bs[0], [i1, b1] = bs[bs.length - 1];
    const rowH = i1 > i0 ? (b1.offsetTop - b0.offsetTop) / (i1 - i0) : b0.offsetHeight;
    let sc = b0.parentElement;
    while (sc && !(sc.scrollHeight > sc.clientHeight + 1 && /auto|scroll/.test(getComputedStyle(sc).overflowY))) sc = sc.parentElement;
    if (!sc) return 'token ' + i + ' has no button and no scrolling column';
    const y0 = b0.getBoundingClientRect().top - sc.getBoundingClientRect().top + sc.scrollTop;
    sc.scrollTop = y0 + (i - i0) * rowH - sc.clientHeight / 2;
    for (let k = 0; k < 10 && !sel(i); k++) await raf();
    if (!sel(i)) return 'token ' + i + ' did not appear after scrolling';
  }
  sel(i).scrollIntoView({ block: 'nearest' });
  for (let k = 0; k < 3; k++) await raf();
  return 'ok';
}"""

BERTVIZ_REVEAL = """async (i) => {
  const el = document.querySelectorAll('#left text')[i];
  if (!el) return 'no token text ' + i;
  el.scrollIntoView({ block: 'center' });
  for (let k = 0; k < 3; k++) await new Promise((r) => requestAnimationFrame(r));
  return 'ok';
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
        out = subprocess.run(["/usr/lib/chromium/chromium", "--version"], check=False, capture_output=True, text=True, timeout=30).stdout
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
        except Exception as exc:  # noqa: BLE001 - a hung or crashed browser: its process is gone either way
            self.errors.append(f"close: {exc}"[:200])


class Progress:
    """What a measuring child process has done so far, in a JSON file the parent watches.

    Playwright's own timeouts do not fire while the page's main thread is busy (a wait_for_function
    on BertViz at T = 1024 outlived its 30 s timeout by minutes), so the parent kills the child's
    whole process group when a phase runs past its time-box and keeps what was measured before.
    """

    def __init__(self, path: pathlib.Path):
        self.path = path
        self.data = {"phase": "start", "since": time.time(), "result": {}}
        self._write()

    def _write(self):
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.data, default=str))
        os.replace(tmp, self.path)

    def phase(self, name: str):
        self.data["phase"], self.data["since"] = name, time.time()
        self._write()

    def update(self, **kw):
        self.data["result"].update(kw)
        self._write()


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


# ----- the two sides --------------------------------------------------------------------------
def build_ours(w: np.ndarray, t: int, work: pathlib.Path) -> dict:
    from ipywidgets.widgets.widget import _remove_buffers

    from attnwidget import AttentionWidget

    out: dict = {}
    t0 = time.perf_counter()
    widget = AttentionWidget(w, tokens(t))
    out["build_s"] = time.perf_counter() - t0
    state, paths, buffers = _remove_buffers(widget.get_state())
    out["buffer_bytes"] = sum(memoryview(b).nbytes for b in buffers)
    out["buffers"] = {"/".join(map(str, path)): memoryview(b).nbytes for path, b in zip(paths, buffers)}
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


def measure(spec: dict) -> None:
    """Child process: one page in a fresh Chromium; figures go to the progress file as they come."""
    from playwright.sync_api import sync_playwright

    prog = Progress(pathlib.Path(spec["progress"]))
    t, timeout_s, path = spec["t"], spec["timeout"], pathlib.Path(spec["page"])
    try:
        with sync_playwright() as pw:
            s = Session(pw, cdn=bench_venv() / "cdn" if spec["tool"] == "bertviz" else None)
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
                if spec["tool"] == "bertviz":
                    n = s.page.evaluate("() => document.querySelectorAll('#attention line').length")
                    if n != HEADS * t * t:
                        raise RuntimeError(f"{n} SVG lines, expected {HEADS * t * t}")
                    make = lambda k, i: {"type": "mouseover", "textSelector": "#left text", "textIndex": i}
                    verify, reveal = bertviz_hovered, BERTVIZ_REVEAL
                elif spec["view"] == "graph":
                    n = s.page.evaluate("() => document.querySelectorAll('.attnwidget [data-side=\"query\"]').length")
                    if not n:
                        raise RuntimeError("no query token buttons")
                    prog.update(query_buttons=n, painted=s.page.evaluate(PAINTED))
                    make = lambda k, i: {"type": "click", "selector": f'.attnwidget [data-side="query"][data-index="{i}"]'}
                    verify, reveal = token_pressed, REVEAL_TOKEN
                else:
                    spots = [(0.5, 0.5), (0.35, 0.4), (0.6, 0.3)]
                    make = lambda k, i: {"type": "click", "fx": spots[k][0], "fy": spots[k][1]}
                    verify, reveal = canvas_changed, None
                if spec.get("profile"):
                    if reveal:
                        prog.phase("prepare click")
                        s.page.evaluate(reveal, t // 2)
                    s.cdp.send("Profiler.start")
                    prog.phase("click")
                    c = click(s, make(1, t // 2), timeout_s)
                    prog.update(click_ms=c["total"], click_handler_ms=c["handler"], click_frame1_ms=c["frame1"],
                                click_profile=profile_summary(s.cdp.send("Profiler.stop")["profile"], c["total"]))
                else:
                    clicks(s, prog, make, t, timeout_s, verify, reveal)
                    prog.phase("heap")
                    prog.update(**heap(s))
                prog.update(blocked=len(s.blocked), served=len(s.served), errors=s.errors[:3])
                prog.phase("done")
            finally:
                s.close()
    except Exception as exc:  # the parent reads the failure from the progress file
        prog.data["error"] = failure(exc)
        prog.update(errors=[*prog.data["result"].get("errors", []), *s.errors[:3]] if "s" in locals() else [])
        raise


PHASE_KEY = {"load": "draw_ms", "check": "draw_ms", "click": "click_ms", "verify click": "click_ms", "prepare click": "click_ms", "heap": "heap_gc_mb",
             "profile": "profile"}


def measure_in_child(spec: dict, timeout_s: float, work: pathlib.Path) -> dict:
    """Run :func:`measure` in a child process group; kill it when a phase runs past ``timeout_s``."""
    prog = work / f"progress-{spec['tool']}-{spec.get('view', '')}-{spec['t']}.json"
    log = work / f"{prog.stem}.log"
    spec = {**spec, "progress": str(prog), "timeout": timeout_s}
    with open(log, "w") as lf:
        proc = subprocess.Popen([sys.executable, str(pathlib.Path(__file__).resolve()), "--measure", json.dumps(spec)],
                                cwd=ROOT, stdout=lf, stderr=subprocess.STDOUT, start_new_session=True)
    killed = None
    started = time.time()
    while proc.poll() is None:
        time.sleep(0.2)
        try:
            p = json.loads(prog.read_text())
        except (OSError, ValueError):
            p = {"phase": "start", "since": started}
        limit = timeout_s + (30 if p["phase"] in ("start", "check", "prepare click", "verify click", "heap", "profile") else 5)
        if time.time() - p["since"] > limit:
            killed = p["phase"]
            os.killpg(proc.pid, 9)
            proc.wait()
    try:
        p = json.loads(prog.read_text())
    except (OSError, ValueError):
        p = {"phase": "start", "result": {}}
    res = p.get("result", {})
    why = "timeout" if killed else p.get("error")
    if not why and proc.returncode != 0:
        tail = [x for x in log.read_text(errors="replace").splitlines() if x.strip()][-1:]
        why = f"failed: exit {proc.returncode} {tail}"
    if why:
        phase = killed or p.get("phase")
        res.setdefault("failed", {})[PHASE_KEY.get(phase, "draw_ms")] = why
        res["failed_phase"] = phase
    for key in ("draw_ms", "click_ms", "heap_gc_mb"):  # what never came: say why in its cell
        if key not in res and why:
            res.setdefault("failed", {}).setdefault(key, "not reached" if key != PHASE_KEY.get(p.get("phase")) else why)
    return res


def build_bertviz(w_path: pathlib.Path, t: int, work: pathlib.Path, timeout_s: float) -> dict:
    page = work / f"bertviz-{t}.html"
    out = subprocess.run([str(venv_python()), str(ROOT / "benchmarks" / "bertviz_page.py"), str(w_path), str(page)],
                         check=False, capture_output=True, text=True, timeout=max(120.0, timeout_s * 3))
    if out.returncode != 0:
        raise RuntimeError(f"head_view failed: {out.stderr.strip().splitlines()[-1:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def failure(exc: BaseException) -> str:
    from playwright.sync_api import TimeoutError as PwTimeout

    if isinstance(exc, (PwTimeout, subprocess.TimeoutExpired)):
        return "timeout"
    msg = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return f"failed: {msg[:160]}"


# ----- the run --------------------------------------------------------------------------------
def run(sizes, do_bertviz: bool, bv_timeout: float, ours_timeout: float) -> dict:
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
                    res[view] = {"failed": {k: res["ours"]["error"] for k in ("draw_ms", "click_ms", "heap_gc_mb")}}
                    continue
                res[view] = measure_in_child({"tool": "ours", "view": view, "t": t, "page": str(work / f"ours-{view}-{t}.html")},
                                             ours_timeout, work)
                print(f"ours {view} {cell(res[view], 'draw_ms')}; ", end="", flush=True)
            if not do_bertviz:
                res["bertviz"] = {"failed": dict.fromkeys(("draw_ms", "click_ms", "heap_gc_mb"), "not run")}
            elif bertviz_stop:
                res["bertviz"] = {"failed": dict.fromkeys(("draw_ms", "click_ms", "heap_gc_mb"),
                                                          f"not run (T={bertviz_stop} did not finish)")}
            else:
                try:
                    res["bertviz_build"] = build_bertviz(w_path, t, work, bv_timeout)
                    res["bertviz"] = measure_in_child({"tool": "bertviz", "t": t, "page": str(work / f"bertviz-{t}.html")},
                                                      bv_timeout, work)
                except Exception as exc:  # noqa: BLE001
                    res["bertviz"] = {"failed": dict.fromkeys(("draw_ms", "click_ms", "heap_gc_mb"), failure(exc))}
                if res["bertviz"].get("failed"):
                    bertviz_stop = t
                print(f"bertviz {cell(res['bertviz'], 'draw_ms')}", end="", flush=True)
            for f in work.glob(f"*-{t}.html"):
                f.unlink()
            w_path.unlink()
            print(f"  ({time.perf_counter() - t0:.0f} s)", flush=True)
    return results


def cell(d: dict, key: str):
    if key in d:
        return d[key]
    return d.get("failed", {}).get(key, "—")


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
        sent = ours["buffer_bytes"] / wts if "buffer_bytes" in ours else ours.get("error")
        page = ours["page_bytes"] / wts if "page_bytes" in ours else ours.get("error")
        bv_page = bvb["payload_bytes"] / wts if "payload_bytes" in bvb else cell(bv, "draw_ms")
        lines = [
            ("bytes sent / weight (ours: widget buffers; BertViz: its HTML)", sent, "(same)", bv_page),
            ("bytes / weight of the standalone page", page, "(same)", bv_page),
            ("first drawing, ms from navigation", cell(g, "draw_ms"), cell(m, "draw_ms"), cell(bv, "draw_ms")),
            ("click → repainted frame, ms (BertViz: hover)", cell(g, "click_ms"), cell(m, "click_ms"), cell(bv, "click_ms")),
            ("JS heap after GC, MB", cell(g, "heap_gc_mb"), cell(m, "heap_gc_mb"), cell(bv, "heap_gc_mb")),
        ]
        blank = " (blank: no line above the lowest opacity step)" if g.get("painted", [1])[0] == 0 else ""
        for k, (name, a, b, c) in enumerate(lines):
            note = blank if k == 2 and isinstance(a, (int, float)) else ""
            rows.append(f"| {t if k == 0 else ''} | {f'{wts:,}' if k == 0 else ''} | {name} | {fmt(a)}{note} | {fmt(b)} | {fmt(c)} | {ratio(c, a)} |")
    return "\n".join(rows)


def details(results: dict) -> str:
    out = []
    for t, res in results.items():
        ours, g, m, bv, bvb = (res.get(k, {}) for k in ("ours", "graph", "matrix", "bertviz", "bertviz_build"))
        parts = [f"T={t}:"]
        if "build_s" in ours:
            over = " (over Jupyter's 10 MiB message limit)" if ours["buffer_bytes"] + ours["state_json_bytes"] > 10 * 2**20 else ""
            parts.append(f"ours: widget {ours['build_s']:.2f} s, to_html {ours['to_html_s']:.2f} s, "
                         f"buffers {ours['buffer_bytes'] / 2**20:.2f} MiB ("
                         + ", ".join(f"{k} {v:,}" for k, v in ours.get("buffers", {}).items())
                         + f") + state JSON {ours['state_json_bytes'] / 1024:.1f} KiB{over}, page {ours['page_bytes'] / 2**20:.2f} MiB;")
        elif ours.get("error"):
            parts.append(f"ours: {ours['error']};")
        for name, d in (("graph", g), ("matrix", m), ("bertviz", bv)):
            bits = []
            if "draw_ms" in d:
                nav = d.get("nav", {})
                bits.append(f"HTML parsed (domInteractive) at {fmt(nav.get('domInteractive'))} ms")
            if "clicks_ms" in d:
                bits.append(f"clicks {', '.join(fmt(x) for x in d['clicks_ms'])} ms (median handler {fmt(d.get('click_handler_ms'))}, "
                            f"first frame {fmt(d.get('click_frame1_ms'))})")
            if "query_buttons" in d:
                bits.append(f"query token buttons in the DOM {d['query_buttons']:,}")
            if "painted" in d:
                bits.append(f"non-blank canvas pixels {d['painted'][0]:,} of {d['painted'][1]:,}")
            if "heap_mb" in d:
                bits.append(f"heap before GC {fmt(d['heap_mb'])} MB, DOM nodes {d.get('dom_nodes'):,}")
            if "blocked" in d:
                bits.append(f"requests blocked {d['blocked']}" + (f", CDN files served locally {d['served']}" if d.get("served") else ""))
            if d.get("failed_phase"):
                bits.append(f"stopped in phase '{d['failed_phase']}': {d['failed'].get(PHASE_KEY.get(d['failed_phase'], 'draw_ms'))}")
            if d.get("errors"):
                bits.append(f"page errors {d['errors']}")
            if bits:
                parts.append(f"{name}: " + ", ".join(bits) + ";")
        if "gen_s" in bvb:
            parts.append(f"bertviz: head_view() {bvb['gen_s']:.2f} s, page {bvb['page_bytes'] / 2**20:.2f} MiB.")
        out.append(" ".join(parts))
    return "\n".join(out)


# ----- where our page spends its time (--profile) -----------------------------------------------
FOCUS = ["boot", "gunzipText", "loadModule", "render", "flush", "decode", "decodeData", "toBytes", "decodeBase64",
         "buildButtons", "placeButtons", "markPinned", "recomputeLines", "selectLines", "topIndices", "draw",
         "paintLines", "paintBars", "barsFor", "plane", "paint", "labelColumnWidth", "truncateToWidth", "update",
         "parse", "atob", "replace"]


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
        url = cf["url"]
        src = "bundle" if url.startswith("blob:") else "page" if url.startswith("file:") else ""
        return f"{name} ({src}:{cf['lineNumber'] + 1})" if src else name

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
    top = sorted(((k, v) for k, v in self_ms.items() if k != "(idle)"), key=lambda kv: -kv[1])[:14]
    busy = sum(v for k, v in self_ms.items() if k != "(idle)")
    return [(f"  profiled span: main thread busy {busy:,.0f} ms, idle {self_ms.get('(idle)', 0):,.0f} ms "
             "((program) = native work: HTML parsing, style, layout, paint)"),
            "  self time (ms): " + "; ".join(f"{k} {v:,.0f}" for k, v in top),
            "  inclusive (ms): " + "; ".join(f"{k} {incl_ms[k]:,.0f}" for k in FOCUS if incl_ms.get(k, 0) >= 1)]


def profile(sizes, ours_timeout: float) -> str:
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


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--setup", action="store_true", help="only (re)build BertViz's environment")
    ap.add_argument("--sizes", default=",".join(map(str, SIZES)))
    ap.add_argument("--no-bertviz", action="store_true")
    ap.add_argument("--bertviz-timeout", type=float, default=60.0)
    ap.add_argument("--ours-timeout", type=float, default=120.0)
    ap.add_argument("--profile", default="", help="sizes to profile our page at, e.g. 512,4096")
    ap.add_argument("--json", default="", help="write the raw figures here")
    ap.add_argument("--measure", default="", help=argparse.SUPPRESS)  # internal: one page, in a child process
    a = ap.parse_args()
    if a.measure:
        measure(json.loads(a.measure))
        return
    if a.setup:
        setup(force=True)
        return
    sizes = [int(x) for x in a.sizes.split(",") if x]
    if not a.no_bertviz:
        setup()
    probe = "import bertviz, torch, importlib.metadata as m; print(m.version('bertviz'), 'with torch', torch.__version__)"
    bv = "not run" if a.no_bertviz else subprocess.run([str(venv_python()), "-c", probe], check=False, capture_output=True,
                                                       text=True).stdout.strip()
    t0 = time.perf_counter()
    results = run(sizes, not a.no_bertviz, a.bertviz_timeout, a.ours_timeout)
    print()
    bundle = ROOT / "attnwidget" / "static" / "widget.js"
    front = (f"front end measured: attnwidget/static/widget.js sha256 {hashlib.sha256(bundle.read_bytes()).hexdigest()[:12]}, "
             f"built {time.strftime('%Y-%m-%d %H:%M', time.gmtime(bundle.stat().st_mtime))} UTC") if bundle.exists() else "front end not built"
    print(front)
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
