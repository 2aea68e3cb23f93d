// Model view's grid: its geometry (a row per layer, a column per head and one for the mean, the legend and
// head names above), layer names wrapped to their column, and the tokens a thumbnail cell covers.

import { clamp, truncateToWidth } from "./layout.js";
import { layersInMode } from "./protocol.js";

export const GAP = 6, HEAD_H = 18, STATS_H = 13, PAD = 4, LEGEND_H = 30;

/** Short label of a layer path: without a trailing "/mha". */
export const shortName = (name) => String(name).replace(/\/mha$/, "");

/** A layer name in lines of at most `width` (by `measure`), broken after "/" where it can be; the last line cut. */
export function wrapName(name, width, measure, maxLines = 3) {
  const parts = String(name).split(/(?<=\/)/), lines = [];
  let cur = "";
  for (const p of parts) {
    if (cur && measure(cur + p) > width) { lines.push(cur); cur = p; } else cur += p;
  }
  if (cur) lines.push(cur);
  const out = lines.slice(0, maxLines);
  if (lines.length > maxLines) out[maxLines - 1] += lines.slice(maxLines).join("");
  return out.map((l) => truncateToWidth(l, width, measure));
}

/** Token index ranges a thumbnail cell (r, c) of an h × w thumbnail covers for Q queries, K keys (overview.py's blocks). */
export function thumbBlock(r, c, th, tw, Q, K) {
  const start = (i, n, m) => Math.floor((i * n) / m);
  return { q0: start(r, Q, th), q1: start(r + 1, Q, th) - 1, k0: start(c, K, tw), k1: start(c + 1, K, tw) - 1 };
}

/** The grid's geometry for the layers `ov` (protocol.decodeOverview) at the widget's width and scale. */
export function gridLayout(app, ov) {
  const ui = app.ui, u = ui.scale;
  const rows = layersInMode(app.schema, ov.layers.map((l) => l.kind), app.get("mode"));
  const maxH = Math.max(1, ...rows.map((i) => ov.layers[i].H));
  const width = ui.width - 8 * u;
  const labelW = Math.round(clamp(width * 0.22, 110 * u, 230 * u));
  const cell = Math.floor(clamp((width - labelW - PAD * u) / (maxH + 1) - GAP * u, 34 * u, 96 * u));
  const labels = rows.map((i) => wrapName(shortName(ov.layers[i].name), labelW - 10 * u, ui.measureSmall));
  const rowH = Math.max(cell, (labels.reduce((a, l) => Math.max(a, l.length), 1) + 1) * 13 * u) + STATS_H * u + GAP * u;
  const top = (LEGEND_H + HEAD_H) * u;
  return { rows, maxH, labels, labelW, cell, rowH, top, u, totalW: Math.max(width, labelW + (maxH + 1) * (cell + GAP * u) + PAD * u), totalH: top + rows.length * rowH + PAD * u };
}

/** Rectangle of (row r, column c) in CSS pixels; column maxH is the mean of the heads. */
export const box = (m, r, c) => ({ x: m.labelW + c * (m.cell + GAP * m.u), y: m.top + r * m.rowH, w: m.cell, h: m.cell });

/** Where a layer's thumbnail is drawn inside its box (kept to the layer's aspect). */
export function imageRect(b, l) {
  const aspect = l.h / l.w, dw = aspect > 1 ? b.w / aspect : b.w, dh = aspect > 1 ? b.h : b.h * aspect;
  return { x: b.x + (b.w - dw) / 2, y: b.y + (b.h - dh) / 2, w: dw, h: dh };
}
