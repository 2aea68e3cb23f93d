"""JavaScript the benchmark runs inside the pages: drawing probes, in-page clicks, scrolling a token into view."""

from browser_support import EXPLAINED as SHOWS_PIN
from harness import PIXELS

# Polls every animation frame until ``check`` holds; the time of the next frame after that is the figure.
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

# ours: every 2D drawing call (and a bitmap handed to a canvas) marks its canvas (installed before the page's scripts run); the view has
# drawn when a visible canvas inside .attnwidget got one. Pixels alone cannot tell: with near-uniform
# weights (random logits at large T) every line is fainter than the graph's lowest opacity step, and a
# finished drawing is blank.
OURS_HOOK = """(() => {
  const P = CanvasRenderingContext2D.prototype;
  for (const m of ['clearRect', 'fillRect', 'strokeRect', 'stroke', 'fill', 'drawImage', 'putImageData', 'fillText']) {
    const f = P[m];
    P[m] = function (...a) { if (this.canvas) this.canvas.__benchDrawn = true; return f.apply(this, a); };
  }
  const B = ImageBitmapRenderingContext.prototype, t = B.transferFromImageBitmap; // a canvas shown as one bitmap
  B.transferFromImageBitmap = function (...a) { this.canvas.__benchDrawn = true; return t.apply(this, a); };
})();"""
OURS_DRAWN = """() => [...document.querySelectorAll('.attnwidget canvas')]
  .some((c) => c.__benchDrawn && c.checkVisibility() && c.width * c.height >= 10000)"""
PAINTED = """() => {
  const cs = [...document.querySelectorAll('.attnwidget canvas')].filter((c) => c.checkVisibility() && c.width * c.height >= 10000);
  let n = 0, total = 0;
  for (const c of cs) {
    const u = new Uint32Array(PIXELS(c).buffer);
    total += u.length;
    for (let i = 0; i < u.length; i++) if (u[i] !== 0) n++;
  }
  return [n, total];
}""".replace("PIXELS", PIXELS)

BERTVIZ_DRAWN = "() => document.querySelector('#attention line') !== null"

# Click (or mouseover) inside the page without blocking Playwright: the result lands in window.__click.
CLICK = """(a) => {
  window.__click = null;
  setTimeout(() => {
    let el, init = { bubbles: true, cancelable: true, view: window };
    if (a.selector) el = document.querySelector(a.selector);
    else if (a.textIndex != null) el = document.querySelectorAll(a.textSelector)[a.textIndex];
    else {
      const cs = [...document.querySelectorAll('.attnwidget canvas')].filter((c) => c.checkVisibility());
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

# Changes whenever what the views show changes: the visible canvases' pixels and the matrix's pin boxes.
SHOWN_SUM = """() => {
  const cs = [...document.querySelectorAll('.attnwidget canvas')].filter((c) => c.checkVisibility());
  let s = 0;
  for (const c of cs) {
    const u = new Uint32Array(PIXELS(c).buffer);
    for (let i = 0; i < u.length; i += 7) s = (s * 31 + u[i]) >>> 0;
  }
  // the matrix's pin is boxes over its canvases: where they are, and its labels
  const pin = [...document.querySelectorAll('.attnwidget .aw-matrix-pin')].filter((b) => !b.hidden)
    .map((b) => `${b.className}@${b.style.left},${b.style.top}:${b.textContent}`).join('|');
  return `${s}|${pin}`;
}""".replace("PIXELS", PIXELS)

# The explain view shows query i with its own numbers (tests' browser_support.EXPLAINED: a live kernel sends
# them after the pin; the next input waits for them, untimed).
EXPLAINED = f"(i) => ({SHOWS_PIN})([document.querySelector('.attnwidget'), i, null])"
# The queries whose buttons the explain view's strip shows now (one page of them on a long sequence).
STRIP_QUERIES = "() => [...document.querySelectorAll('.attnwidget button.aw-explain-tok')].map((b) => Number(b.dataset.explainQuery))"
