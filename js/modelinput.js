// Model view's pointer and keys: what is under the pointer (a thumbnail's cell, a layer's name) and its
// tooltip, a click or Enter opening a thumbnail in the matrix view, arrows moving the focus ring.

import { setHidden } from "./dom.js";
import { clamp, displayToken } from "./layout.js";
import { formatStat, formatValue } from "./format.js";
import { dequantize } from "./values.js";
import { box, imageRect, thumbBlock } from "./modelgrid.js";

/** The keyboard's focus ring: a box over the focused thumbnail (st.focus), or hidden. */
export function placeRing(v) {
  const { st, ring } = v, m = st.m, f = st.focus, r = m && f ? m.rows.indexOf(f.li) : -1;
  if (r < 0) { setHidden(ring, true); return; }
  const b = box(m, r, f.c), u = m.u;
  const at = (x) => `${x - 3.5 * u - 0.5}px`, size = (w) => `${w + 7 * u + 1}px`;
  Object.assign(ring.style, { left: at(b.x), top: at(b.y), width: size(b.w), height: size(b.h), border: `1px dashed ${v.app.ui.theme.fg}` });
  setHidden(ring, false);
}

/** What is under (x, y): a thumbnail {li, c, mean, r, cell: {i, j} of the thumbnail or null}, a layer's name {li, label}, or null. */
function hit(v, e, r0 = v.canvas.getBoundingClientRect()) {
  const { st } = v, m = st.m;
  if (!m || !st.ov) return null;
  const x = e.clientX - r0.left, y = e.clientY - r0.top;
  const r = Math.floor((y - m.top) / m.rowH);
  if (r < 0 || r >= m.rows.length) return null;
  const li = m.rows[r], l = st.ov.layers[li];
  if (x < m.labelW) return { li, label: true };
  const c = Math.floor((x - m.labelW) / m.pitch);
  if (c < 0 || c > m.maxH) return null;
  const b = box(m, r, c);
  if (x < b.x || x > b.x + b.w || y > b.y + b.h) return null; // a column's margins, the figures under
  if (c < m.maxH && c >= l.H) return null;
  const ir = imageRect(b, l);
  const inside = x >= ir.x && x < ir.x + ir.w && y >= ir.y && y < ir.y + ir.h;
  const cell = inside ? { i: Math.floor(((y - ir.y) / ir.h) * l.h), j: Math.floor(((x - ir.x) / ir.w) * l.w) } : null;
  return { li, c, mean: c === m.maxH, r, cell };
}

/** Open a thumbnail in the matrix view: its layer (by the layer-switch rule), then its head alone or the mean. */
function open(v, t) {
  const l = v.st.ov.layers[t.li];
  const choice = t.mean ? { aggregate: "mean", heads: [...Array(l.H).keys()] } : { head: t.c, heads: [t.c] };
  v.app.setLayer(t.li, { view: "matrix", ...choice });
}

/** The tokens of thumbnail cell `cell` of layer li: "query 'it' → key 'animal'", or ranges for a block. */
function cellText(v, li, cell) {
  const { app, st } = v, l = st.ov.layers[li], meta = (app.get("_layers_meta") || [])[li] || {};
  const tok = (side, i) => displayToken(((side === "query" ? meta.query_tokens : meta.key_tokens) || [])[i] ?? `#${i}`);
  const b = thumbBlock(cell.i, cell.j, l.h, l.w, l.Q, l.K);
  const part = (side, a, z) => (a === z ? `${side} ${a} '${tok(side, a)}'` : `${side === "query" ? "queries" : "keys"} ${a}–${z} ('${tok(side, a)}'…'${tok(side, z)}')`);
  return `${part("query", b.q0, b.q1)} → ${part("key", b.k0, b.k1)}`;
}

function tip(v, t, anchor) {
  const { st } = v, l = st.ov.layers[t.li];
  if (t.label) { v.app.tooltip.show(anchor, l.name, [], `${l.kind} attention, ${l.Q} × ${l.K}, ${l.H} heads · click a thumbnail to open it`); return; }
  const what = t.mean ? `mean of ${l.H} heads` : `head ${t.c}`;
  const stats = t.mean ? "" : ` · entropy ${formatStat(l.entropy[t.c], 3)} · max ${formatStat(l.max[t.c], 3)}`;
  let title = l.name, where = "";
  if (t.cell) {
    const off = (t.mean ? l.mean_offset : l.offset + t.c * l.h * l.w) + t.cell.i * l.w + t.cell.j;
    const block = l.h < l.Q || l.w < l.K ? " (mean over the queries of the block, summed over its keys)" : "";
    title = `${cellText(v, t.li, t.cell)}: ${formatValue(dequantize(st.ov.q[off], l.lo, l.hi))}`;
    where = ` · ${l.name}${block}`;
  }
  v.app.tooltip.show(anchor, title, [], `${what}${stats}${where} · ${l.kind} attention, ${l.Q} × ${l.K} · click: open in the matrix view`);
}

export function listen(v) {
  const { app, canvas } = v, { dis } = app;
  // the canvas's spot of the last move and the tooltip's serial after it: a move to the same spot with the tooltip as
  // that move left it (a click's own move) does nothing
  let at = null;
  dis.listen(canvas, "mousemove", (e) => {
    const r = canvas.getBoundingClientRect(), spot = `${e.clientX - r.left},${e.clientY - r.top}`;
    if (at && at.spot === spot && at.serial === app.tooltip.serial) return;
    const t = hit(v, e, r), cursor = t && !t.label ? "pointer" : "default";
    if (canvas.style.cursor !== cursor) canvas.style.cursor = cursor;
    if (t) tip(v, t, { x: e.clientX, y: e.clientY }); else app.tooltip.hide();
    at = { spot, serial: app.tooltip.serial };
  });
  dis.listen(canvas, "mouseleave", () => app.tooltip.hide());
  // a thumbnail's click leaves the view: focusing the canvas on the way (mousedown's default) is work for nothing
  dis.listen(canvas, "mousedown", (e) => { const t = hit(v, e); if (t && !t.label) e.preventDefault(); });
  dis.listen(canvas, "click", (e) => { const t = hit(v, e); if (t && !t.label) open(v, t); });
  dis.listen(canvas, "keydown", (e) => { if (!app.slideKeys(e)) onKey(v, e); });
}

/** Arrows move the focus over the grid, Enter or Space opens the focused thumbnail. */
function onKey(v, e) {
  const { app, st } = v, m = st.m;
  if (!m || !st.ov || !m.rows.length) return;
  let f = st.focus && m.rows.includes(st.focus.li) ? st.focus : { li: m.rows.includes(app.get("layer")) ? app.get("layer") : m.rows[0], c: 0 };
  let r = m.rows.indexOf(f.li), c = f.c;
  if (e.key === "Enter" || e.key === " ") { open(v, { li: f.li, c, mean: c === m.maxH }); e.preventDefault(); return; }
  const mv = { ArrowUp: [-1, 0], ArrowDown: [1, 0], ArrowLeft: [0, -1], ArrowRight: [0, 1] }[e.key];
  if (!mv) return;
  e.preventDefault();
  r = clamp(r + mv[0], 0, m.rows.length - 1);
  const H = st.ov.layers[m.rows[r]].H;
  c = clamp(c + mv[1], 0, m.maxH);
  if (c < m.maxH && c >= H) c = mv[1] > 0 ? m.maxH : H - 1;
  st.focus = f = { li: m.rows[r], c };
  placeRing(v);
  const b = box(m, r, c), rc = v.canvas.getBoundingClientRect();
  tip(v, { li: f.li, c, mean: c === m.maxH }, { x: rc.left + b.x + b.w, y: rc.top + b.y + b.h });
}
