// Small DOM helpers. Text always goes through textContent / text nodes, never innerHTML.

/** Create an element: attrs (class, text, style object, other attributes), children (nodes/strings). */
export function h(tag, attrs = {}, children = []) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v == null || v === false) continue;
    if (k === "class") e.className = v;
    else if (k === "text") e.textContent = String(v);
    else if (k === "style" && typeof v === "object") Object.assign(e.style, v);
    else e.setAttribute(k, v === true ? "" : String(v));
  }
  for (const c of children) if (c != null) e.append(c); // strings become text nodes
  return e;
}

/** `fn` once the page is idle, unless one of `job`'s ({idle: 0}) waits already; dropped with the render
 * (`dis`, its Disposer). For work a hidden view does ahead of the click that shows it. */
export function onIdle(job, dis, fn) {
  if (job.idle) return;
  job.idle = idleLater((deadline) => { job.idle = 0; fn(deadline); });
  job.off ??= dis.add(() => { if (job.idle) cancelIdle(job.idle); });
}

/** A hidden view (`v`: {app, el, st}) drawn by `draw(v)` once the page is idle, so that its tab's first click
 * finds it built: the first time it is hidden, then again when what it missed (`missed.changes`) holds one of
 * the traits `on`; not if it was shown since (its own frame drew it). What it missed is caught up in one idle
 * callback and the draw made in another, so that an input waits for one of them at most. `ahead.choose()` and
 * `ahead.paint()`, if given, return the steps (a generator, or null: none) of work the catch-up and the draw
 * would otherwise do in one piece, run before each in slices of idle time (the graph at T = 512 chooses its
 * lines, 40-70 ms in one piece, and paints them, 50-55 ms). */
export function prepareWhenIdle(v, missed, on, draw, ahead = {}) {
  if (v.st.prepared && !on.some((d) => missed.changes.has(d))) return;
  v.st.prepared = true;
  const { job } = v.st, dis = v.app.dis, hidden = () => v.el.hidden;
  // steps() in slices, then next() in an idle callback of its own
  const after = (steps, next) => {
    const s = steps?.();
    if (s) stepWhenIdle(job, dis, s, () => onIdle(job, dis, next), hidden); else onIdle(job, dis, next);
  };
  const drawn = () => {
    if (!hidden()) return;
    missed.catchUp(); // what came since the first step, if anything
    draw(v);
  };
  const caught = () => {
    if (!hidden()) return;
    missed.catchUp();
    after(ahead.paint, drawn);
  };
  after(ahead.choose, caught);
}

/** The most time (ms) stepWhenIdle takes of an idle callback: its deadline may leave 50 ms, which an input
 * arriving then would wait for. */
export const SLICE_MS = 6;

/** Steps of the generator `steps` for up to SLICE_MS of an idle callback while its `deadline` (none: a timer's
 * callback) leaves time, and one at least: a callback that comes after its timeout has no time left, and would
 * otherwise make no step, ever, on a page never idle. True once `steps` has ended. */
export function runSlice(steps, deadline) {
  const end = performance.now() + SLICE_MS;
  let r;
  do r = steps.next(); while (!r.done && performance.now() < end && (!deadline || deadline.timeRemaining() > 1));
  return Boolean(r.done);
}

/** The generator `steps` run in idle time, a slice per idle callback (runSlice), then `done()`; given up as soon
 * as `go()` is false (a view shown does the work in its own frame). */
export function stepWhenIdle(job, dis, steps, done, go) {
  onIdle(job, dis, function slice(deadline) {
    if (!go()) return;
    if (runSlice(steps, deadline)) done(); else onIdle(job, dis, slice);
  });
}

/** Whether `v`'s preparation (prepareWhenIdle) waits for an idle period still. */
export const preparing = (v) => Boolean(v.st.job.idle);

/** `f` when the page is idle, at the latest after a second; returns the id cancelIdle takes. */
export function idleLater(f) {
  return globalThis.requestIdleCallback ? requestIdleCallback(f, { timeout: 1000 }) : setTimeout(f, 30);
}

export function cancelIdle(id) {
  (globalThis.cancelIdleCallback || clearTimeout)(id);
}

/** `fn()` the frame after this one, unless `el` (or a view around it) is hidden by then: the page is laid out
 * at that point, so reads of its layout cost nothing, where in the frame that wrote the page each would lay it
 * out once more. Returns the frame's id. */
export function afterLayout(el, fn) {
  return requestAnimationFrame(() => { if (!el.closest("[hidden]")) fn(); });
}

/** A scroller shown again keeps its offset in Chromium, but not in every browser, and none says so by a scroll
 * event; a read in the frame that shows it lays the page out. So: read the frame after (afterLayout), and
 * `moved(top)` when it differs from `known()`. */
export function recheckScroll(scroller, known, moved) {
  afterLayout(scroller, () => { if (scroller.scrollTop !== known()) moved(scroller.scrollTop); });
}

/** Collects cleanups (listeners, observers, timers, frames) for one render. */
export class Disposer {
  constructor() { this.fns = []; }
  add(fn) { this.fns.push(fn); return fn; }
  listen(target, type, fn, opts) {
    target.addEventListener(type, fn, opts);
    return this.add(() => target.removeEventListener(type, fn, opts));
  }
  dispose() {
    const fns = this.fns.splice(0).reverse();
    for (const fn of fns) {
      try { fn(); } catch (err) { console.error("attnwidget cleanup:", err); }
    }
  }
}

/**
 * Paint `paint(ctx)` at `size` ({width, height} of the backing store; from layout.js canvasSize also its CSS
 * box cssW × cssH and `ratio`, by which ctx is scaled to CSS pixels) and show it on `canvas`.
 * Where the browser has them, the pixels are drawn on an OffscreenCanvas and handed to the canvas as one
 * ImageBitmap ("bitmaprenderer"): Chromium without a GPU copies a shown 2D canvas's pixels at every frame
 * it commits, painted or not, and at the frame that shows it again (about a millisecond for 1240 × 800;
 * benchmarks/bench_view_switch.py), while a bitmap is handed over once. `bitmap: false` (decided at a
 * canvas's first paint), elsewhere, and for a canvas whose 2D context was taken before: the canvas's own 2D
 * context, for canvases painted at every hover or key, where a new bitmap each time costs more than the
 * copy. The canvas is cleared first either way.
 */
export function paintCanvas(canvas, size, paint, { bitmap: asBitmap = true } = {}) {
  if (canvas.width !== size.width) canvas.width = size.width;
  if (canvas.height !== size.height) canvas.height = size.height;
  if (size.cssW != null) setAttrs(canvas, { style: { width: `${size.cssW}px`, height: `${size.cssH}px` } });
  const bitmap = canvas.__awBitmap ?? (canvas.__awBitmap = asBitmap && bitmapContext(canvas));
  const target = bitmap ? new OffscreenCanvas(size.width, size.height) : canvas, ctx = target.getContext("2d");
  ctx.setTransform(1, 0, 0, 1, 0, 0);
  ctx.clearRect(0, 0, size.width, size.height);
  const r = size.ratio ?? 1;
  ctx.setTransform(r, 0, 0, r, 0, 0);
  paint(ctx);
  if (bitmap) bitmap.transferFromImageBitmap(target.transferToImageBitmap());
}

function bitmapContext(canvas) {
  if (typeof OffscreenCanvas !== "function" || !OffscreenCanvas.prototype.transferToImageBitmap) return false;
  return canvas.getContext("bitmaprenderer") || false; // null when the canvas has a 2D context already
}

/** A text measurer for a CSS font (cached per font string, canvas-based). */
export function measurer(font) {
  const c = document.createElement("canvas").getContext("2d");
  c.font = font;
  const cache = new Map();
  return (s) => {
    let w = cache.get(s);
    if (w === undefined) {
      w = c.measureText(s).width;
      if (cache.size < 5000) cache.set(s, w);
    }
    return w;
  };
}

// What setText / setAttrs last wrote to an element (they alone write those): compared in JS, so an
// unchanged cell is neither read back from the DOM nor written (and not re-laid out or repainted).
const written = (el) => el.__awWritten || (el.__awWritten = Object.create(null));

/** Set an element's text only when it differs from what was last set. */
export function setText(el, text) {
  const s = String(text), w = written(el);
  if (w.text === s) return;
  w.text = s;
  // a lone text node: change its data, "" too (no node made or dropped: the next text only changes data)
  const t = el.firstChild;
  if (t && t.nodeType === 3 && !t.nextSibling) t.data = s; else el.textContent = s;
}

/** Hide or show an element, writing `hidden` only when it changes (a write restyles it even when equal). */
export function setHidden(el, hidden) {
  if (el.hidden !== hidden) el.hidden = hidden;
}

/** A select's or input's value, written only when it differs (a write restyles it even when equal). */
export function setValue(el, value) {
  if (el.value !== value) el.value = value;
}

/** Set attributes as h() does (null / false: removed, true: present; "class"; "style": an object of
 * properties), each only when it differs from what was last set. */
export function setAttrs(el, attrs) {
  const w = written(el);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "style") {
      for (const [p, x] of Object.entries(v)) if (w[`style.${p}`] !== x) { el.style[p] = x; w[`style.${p}`] = x; }
      continue;
    }
    const s = v == null || v === false ? null : v === true ? "" : String(v);
    if (w[k] === s) continue;
    w[k] = s;
    if (k === "class") el.className = s ?? "";
    else if (s === null) el.removeAttribute(k);
    else el.setAttribute(k, s);
  }
}
