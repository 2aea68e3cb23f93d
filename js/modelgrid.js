// Model view's grid: its geometry (a row per layer, a column per head and one for the mean, the legend and
// head names above), layer names wrapped to their column, and the tokens a thumbnail cell covers.

import { clamp, truncateToWidth } from "./layout.js";
import { layersInMode } from "./protocol.js";
import { formatStat } from "./format.js";

export const GAP = 6, HEAD_H = 18, STATS_H = 13, PAD = 4, LEGEND_H = 30;
/** The figures under a thumbnail are written this size (CSS px at scale 1); ui.measureSmall measures at 11. */
export const STATS_PX = 9.5;

/** Width (CSS px) of `text` in the figures' font. */
const statsWidth = (ui, text) => ui.measureSmall(text) * (STATS_PX / 11);

/** Head c's figures under its thumbnail in layer `l`: "H 2.18 · max 0.31" where its column (`pitch`) has
 * room, else "2.2 · 0.31". */
export function statsText(ui, l, c, pitch) {
  const long = `H ${formatStat(l.entropy[c], 2)} · max ${formatStat(l.max[c], 2)}`;
  return statsWidth(ui, long) <= pitch - 2 ? long : `${formatStat(l.entropy[c], 1)} · ${formatStat(l.max[c], 2)}`;
}

/** The narrowest column (CSS px) whose figures' short form and head name do not run into the next. */
function leastPitch(ui, maxH) {
  return Math.ceil(Math.max(statsWidth(ui, "0.00 · 0.00"), ui.measureSmall(`head ${maxH - 1}`)) + GAP * ui.scale);
}

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

/** The grid's geometry for the layers `ov` (protocol.decodeOverview) at the widget's width and scale. `room`
 * (CSS px, 0: none): the height a slide leaves the grid, which its rows fit by smaller thumbnails, down to the
 * least size (past that the view scrolls). */
export function gridLayout(app, ov, room = 0) {
  const ui = app.ui, u = ui.scale;
  const rows = layersInMode(app.schema, ov.layers.map((l) => l.kind), app.get("mode"));
  const maxH = Math.max(1, ...rows.map((i) => ov.layers[i].H));
  const width = ui.width - 8 * u;
  let labelW = Math.round(clamp(width * 0.22, 110 * u, 230 * u));
  const top = (LEGEND_H + HEAD_H) * u, gap = GAP * u, cols = maxH + 1;
  let cell = Math.floor(clamp((width - labelW - PAD * u) / cols - gap, 34 * u, 96 * u)), pitch = cell + gap;
  const least = leastPitch(ui, maxH);
  if (room) ({ cell, pitch, labelW } = slideColumns({ room, top, rows: rows.length, cols, cell, labelW, width, least, u }));
  else if (pitch < least) { // many heads: columns as wide as their figures, the layer names narrower first, then a scroll
    pitch = least;
    labelW = Math.round(clamp(width - PAD * u - cols * pitch, 110 * u, labelW));
  }
  const labels = rows.map((i) => wrapName(shortName(ov.layers[i].name), labelW - 10 * u, ui.measureSmall));
  const rowH = Math.max(cell, (labels.reduce((a, l) => Math.max(a, l.length), 1) + 1) * 13 * u) + STATS_H * u + gap;
  return { rows, maxH, labels, labelW, cell, pitch, rowH, top, u, totalW: Math.max(width, labelW + cols * pitch + PAD * u), totalH: top + rows.length * rowH + PAD * u };
}

/** On a slide: thumbnails (`cell`) as large as lets every row fit the height `room` (down to 30 px a scale), in
 * columns (`pitch`) as wide as their figures' short form needs; the width left over goes to the layer names
 * (up to half the width), which then take fewer lines. */
function slideColumns({ room, top, rows, cols, cell, labelW, width, least, u }) {
  const gap = GAP * u, widest = Math.max(cell + gap, least);
  const fit = Math.floor(clamp((room - top - PAD * u) / rows - STATS_H * u - gap, Math.min(30 * u, cell), cell));
  const names = Math.round(clamp(width - PAD * u - cols * Math.max(fit + gap, least), labelW, width / 2));
  return { cell: fit, labelW: names, pitch: Math.min(widest, Math.max(fit + gap, (width - PAD * u - names) / cols)) };
}

/** Rectangle of (row r, column c) in CSS pixels, centred in its column; column maxH is the mean of the heads. */
export const box = (m, r, c) => ({ x: m.labelW + c * m.pitch + (m.pitch - GAP * m.u - m.cell) / 2, y: m.top + r * m.rowH, w: m.cell, h: m.cell });

/** Where a layer's thumbnail is drawn inside its box (kept to the layer's aspect). */
export function imageRect(b, l) {
  const aspect = l.h / l.w, dw = aspect > 1 ? b.w / aspect : b.w, dh = aspect > 1 ? b.h : b.h * aspect;
  return { x: b.x + (b.w - dw) / 2, y: b.y + (b.h - dh) / 2, w: dw, h: dh };
}
