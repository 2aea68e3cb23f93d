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

// What setText / setAttrs last wrote to an element (they alone write those): compared in JS, so an
// unchanged cell is neither read back from the DOM nor written (and not re-laid out or repainted).
const written = (el) => el.__awWritten || (el.__awWritten = Object.create(null));

/** Set an element's text only when it differs from what was last set. */
export function setText(el, text) {
  const s = String(text), w = written(el);
  if (w.text === s) return;
  w.text = s;
  const t = el.firstChild; // a lone text node: change its data (no new node)
  if (t && t.nodeType === 3 && !t.nextSibling && s) t.data = s; else el.textContent = s;
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
