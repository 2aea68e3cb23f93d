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

/** Size a canvas's backing store and CSS box; returns the 2D context scaled to CSS pixels. */
export function sizeCanvas(canvas, size) {
  if (canvas.width !== size.width) canvas.width = size.width;
  if (canvas.height !== size.height) canvas.height = size.height;
  canvas.style.width = `${size.cssW}px`;
  canvas.style.height = `${size.cssH}px`;
  const ctx = canvas.getContext("2d");
  ctx.setTransform(size.ratio, 0, 0, size.ratio, 0, 0);
  return ctx;
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
