// Matrix view, painting: the heat map, masked cells, numbers, labels, crosshair and legend, onto a 2D
// context (the screen's canvas, a PNG's or the SVG recorder). `v` is the matrix view's context
// (matrix.js): st.img (the heat map at one pixel per cell), st.plane (its bytes), st.table (their
// colours), st.range (the values the colours span), st.shows (which heads, headsel.js).

import { truncateToWidth } from "./layout.js";
import { scaleStops, isDiverging, maskColors } from "./colors.js";
import { dequantize } from "./values.js";
import { formatTick, formatCompact, rawScale } from "./format.js";
import { shownName } from "./headsel.js";
import { segmentStart } from "./protocol.js";

export const FONT_PX = 11; // the legend's words
export const LABEL_PX = 12; // token labels: as large as the graph's tokens

/** Cells: tokens (dense), or bq × bk blocks of the max-pooled overview (sparse data). */
export function grid(app) {
  return gridOf(app.data);
}

/** The grid of decoded data `d`: dense, or its pooled overview when sparse. */
export function gridOf(d) {
  return d.sparse ? { R: d.Pq, C: d.Pk, mask: d.poolMask, bq: d.bq, bk: d.bk, sparse: true } : { R: d.Q, C: d.K, mask: d.mask, bq: 1, bk: 1, sparse: false };
}

/** What the matrix shows, in words: "head 3", "mean of all 8 heads". */
export function title(v) {
  return shownName(v.st.shows, v.app.data.H, v.app.headName);
}

function hatchPattern(app, ctx) {
  const [fill, line] = maskColors(app.ui.theme.dark);
  const t = document.createElement("canvas");
  t.width = t.height = 6;
  const c = t.getContext("2d");
  c.fillStyle = fill; c.fillRect(0, 0, 6, 6);
  c.strokeStyle = line; c.lineWidth = 1;
  c.beginPath(); c.moveTo(0, 6); c.lineTo(6, 0); c.moveTo(-1, 1); c.lineTo(1, -1); c.moveTo(5, 7); c.lineTo(7, 5); c.stroke();
  return ctx.createPattern(t, "repeat");
}

/**
 * Everything, in layout `m` (matrix.js layout); `forExport`: without the pointer's hover. On screen
 * (`frame`) the heat map's cells are left clear and the legend out: the heat map is its own small
 * canvas under this one, scaled up by CSS, and the legend its own over it (matrix.js).
 */
export function paint(v, ctx, m, forExport, frame = false) {
  const { app, st } = v, th = app.ui.theme, g = grid(app), u = app.ui.scale;
  ctx.fillStyle = th.bg; ctx.fillRect(0, 0, m.totalW, m.totalH);
  ctx.imageSmoothingEnabled = false;
  if (frame) ctx.clearRect(m.left, m.top, m.w, m.h);
  else ctx.drawImage(st.img, m.left, m.top, m.w, m.h);
  const hatch = g.mask ? hatchFor(v, ctx, forExport) : null;
  if (g.mask && Math.min(m.cw, m.ch) >= 4) {
    ctx.fillStyle = hatch;
    for (let i = 0; i < g.R; i++) {
      for (let j = 0; j < g.C;) {
        if (g.mask[i * g.C + j]) { j++; continue; }
        let e = j;
        while (e < g.C && !g.mask[i * g.C + e]) e++;
        ctx.fillRect(m.left + j * m.cw, m.top + i * m.ch, (e - j) * m.cw, m.ch);
        j = e;
      }
    }
  }
  if (m.cw >= 34 * u && m.ch >= 16 * u && st.shows.kind !== "none") paintNumbers(v, ctx, m, g);
  paintSegments(app, ctx, m, g);
  // on screen the pin (crosshair, bold labels) is boxes over the frame (matrix.js), so a new pin repaints nothing
  const { selQ, selK } = frame ? { selQ: null, selK: null } : selectedCells(app, g);
  paintLabels(app, ctx, m, g, selQ, selK);
  ctx.strokeStyle = th.accent; ctx.lineWidth = 2 * u;
  if (selQ != null && selQ < g.R) ctx.strokeRect(m.left - u, m.top + selQ * m.ch - u, m.w + 2 * u, m.ch + 2 * u);
  if (selK != null && selK < g.C) ctx.strokeRect(m.left + selK * m.cw - u, m.top - u, m.cw + 2 * u, m.h + 2 * u);
  if (st.hover && !forExport) {
    ctx.strokeStyle = th.fg; ctx.lineWidth = 1.5 * u;
    ctx.strokeRect(m.left + st.hover.j * m.cw - 0.5, m.top + st.hover.i * m.ch - 0.5, m.cw + 1, m.ch + 1);
  }
  if (!frame) paintLegend(v, ctx, m, hatch);
}

export function selectedCells(app, g) {
  const sq = app.get("selected_query"), sk = app.get("selected_key");
  return { selQ: sq == null ? sq : Math.floor(sq / g.bq), selK: sk == null ? sk : Math.floor(sk / g.bk) };
}

/** Each cell's number, when the cells are large enough for one. */
function paintNumbers(v, ctx, m, g) {
  const { app, st } = v, d = app.data, th = app.ui.theme, tb = st.table;
  ctx.font = `${10 * app.ui.scale}px ${th.font}`; ctx.textAlign = "center"; ctx.textBaseline = "middle";
  for (let i = 0; i < g.R; i++) for (let j = 0; j < g.C; j++) {
    if (g.mask && !g.mask[i * g.C + j]) continue;
    const q = st.plane[i * g.C + j], c3 = Math.round(q) * 3;
    const x = g.sparse ? dequantize(q, d.lo, d.hi) : v.cellValue(i, j).value;
    ctx.fillStyle = 0.299 * tb[c3] + 0.587 * tb[c3 + 1] + 0.114 * tb[c3 + 2] < 140 ? "#ffffff" : "#1a1a1a";
    ctx.fillText(formatCompact(x, 2), m.left + (j + 0.5) * m.cw, m.top + (i + 0.5) * m.ch);
  }
}

/** The divider between two segments (segment_start): below row and right of column s - 1, in the text colour. */
export function paintSegments(app, ctx, m, g) {
  const s = app.get("segment_start"), r = segmentStart(s, app.data.Q), c = segmentStart(s, app.data.K);
  if (r < 0 && c < 0) return;
  ctx.strokeStyle = app.ui.theme.fg; ctx.lineWidth = Math.max(1, Math.round(2 * app.ui.scale)); // whole pixels: crisp on cell edges
  ctx.beginPath();
  if (r > 0) { const y = m.top + (r / g.bq) * m.ch; ctx.moveTo(m.left, y); ctx.lineTo(m.left + m.w, y); }
  if (c > 0) { const x = m.left + (c / g.bk) * m.cw; ctx.moveTo(x, m.top); ctx.lineTo(x, m.top + m.h); }
  ctx.stroke();
}

/** The labels (drawn every `step` rows or columns of `n`) that the pinned one `sel` leaves out: those nearer than `step`. */
export function hiddenByPin(sel, step, n) {
  const out = [];
  if (sel == null) return out;
  for (let i = Math.max(0, Math.ceil((sel - step + 1) / step) * step); i < Math.min(n, sel + step); i += step) if (i !== sel) out.push(i);
  return out;
}

/** Query labels left, key labels on top (rotated when narrow); the selected ones (selQ, selK) bold in the accent. */
function paintLabels(app, ctx, m, g, selQ, selK) {
  const th = app.ui.theme, u = app.ui.scale, font = `${LABEL_PX * u}px ${th.font}`;
  ctx.textBaseline = "middle"; ctx.textAlign = "right"; ctx.font = font; // once: only the selected label is bold
  const hideQ = hiddenByPin(selQ, m.labelEveryQ, g.R), hideK = hiddenByPin(selK, m.labelEveryK, g.C);
  for (let i = 0; i < g.R; i++) {
    if (i !== selQ && (i % m.labelEveryQ || hideQ.includes(i))) continue;
    ctx.fillStyle = i === selQ ? th.accent : th.fg1;
    if (i === selQ) ctx.font = `bold ${font}`;
    ctx.fillText(truncateToWidth(m.qLabels[i], m.lw, app.ui.measure), m.left - 5 * u, m.top + (i + 0.5) * m.ch);
    if (i === selQ) ctx.font = font;
  }
  for (let j = 0; j < g.C; j++) {
    if (j !== selK && (j % m.labelEveryK || hideK.includes(j))) continue;
    ctx.fillStyle = j === selK ? th.accent : th.fg1;
    const text = truncateToWidth(m.kLabels[j], m.rotate ? m.top * 1.2 - 14 * u : m.kw, app.ui.measure);
    ctx.save(); // restore() below puts the plain font back
    if (j === selK) ctx.font = `bold ${font}`;
    ctx.translate(m.left + (j + 0.5) * m.cw, m.top - 5 * u);
    if (m.rotate) { ctx.rotate(-Math.PI / 3); ctx.textAlign = "left"; } else { ctx.textAlign = "center"; ctx.textBaseline = "bottom"; }
    ctx.fillText(text, 0, 0);
    ctx.restore();
    ctx.textBaseline = "middle"; ctx.textAlign = "right";
  }
}

/** The legend's ticks: both ends, and 0 on a diverging scale unless it would touch an end's label. */
export function legendTicks(lo, hi, width, measure) {
  if (!isDiverging(lo, hi)) return scaleStops(lo, hi, 3).map((s) => ({ offset: s.offset, value: s.value }));
  const ends = [{ offset: 0, value: lo }, { offset: 1, value: hi }], zero = -lo / (hi - lo);
  const room = (s) => Math.abs(zero - s.offset) * width > (measure(formatTick(s.value)) + measure("0")) / 2 + 6;
  return ends.every(room) ? [ends[0], { offset: zero, value: 0 }, ends[1]] : ends;
}

/** The legend's words: what is shown, how it is coloured, what the values are. */
export function legendText(v) {
  const { app, st } = v, d = app.data, r = st.range;
  const scale = r.stretched ? `colours stretched to the shown data's ${isDiverging(r.lo, r.hi) ? "largest magnitude" : "max"}`
    : isDiverging(r.lo, r.hi) ? "blue > 0 > red" : d.probability ? `colours ${formatTick(r.lo)} … ${formatTick(r.hi)}` : "";
  const pooled = d.sparse ? `each cell: max of a ${d.bq}×${d.bk} block` : "";
  const raw = rawScale(d);
  return [title(v), pooled, scale, raw].filter(Boolean).join(" · ");
}

/**
 * Legend geometry in matrix layout `m`: beside the matrix when there is room on its right (words one
 * part a line), else below it (words beside the bar, or on a second line). {side, x, y, barW, keyW,
 * lines: [{text, x, y}], height (below the matrix: 0 when beside)}.
 */
export function legendLayout(app, m, text, masked) {
  const u = app.ui.scale, measure = app.ui.measureSmall, lineH = FONT_PX * u * 1.45;
  const keyW = masked ? 35 * u + measure("masked") : 0, bh = 10 * u;
  const sideX = m.left + m.w + 24 * u, sideW = m.totalW - sideX - 4 * u;
  if (sideW >= 150 * u) {
    const barW = Math.min(200 * u, sideW), parts = text.split(" · ");
    const y0 = m.top + bh + 3 * u + lineH + (masked ? lineH : 0) + 4 * u;
    const lines = parts.map((t, k) => ({ text: truncateToWidth(t, sideW, measure), x: sideX, y: y0 + (k + 0.5) * lineH }));
    return { side: true, x: sideX, y: m.top, barW, keyW, key: masked ? { x: sideX, y: m.top + bh + 3 * u + lineH } : null, lines, height: 0 };
  }
  const barW = Math.min(200 * u, Math.max(120 * u, m.w * 0.5)), textX = m.left + barW + 12 * u + keyW;
  const twoLines = textX + measure(text) > m.totalW - 4 * u;
  const line = twoLines ? { text, x: m.left, y: m.legendY + bh + 3 * u + lineH * 1.3 } : { text, x: textX, y: m.legendY + bh / 2 };
  return { side: false, x: m.left, y: m.legendY, barW, keyW, key: masked ? { x: m.left + barW + 12 * u, y: m.legendY } : null,
    lines: [line], height: (twoLines ? 50 : 32) * u };
}

/** The colour bar with its range, the hatch key, and (`words`; on screen they are text, matrixover.js) the words. */
export function paintLegend(v, ctx, m, hatch, words = true) {
  const { app, st } = v, th = app.ui.theme, u = app.ui.scale, r = st.range, L = m.legend;
  const x = L.x, y = L.y, w = L.barW, bh = 10 * u;
  const grad = ctx.createLinearGradient(x, 0, x + w, 0);
  for (const s of scaleStops(r.lo, r.hi, 9, th.dark)) grad.addColorStop(s.offset, s.color);
  ctx.fillStyle = grad; ctx.fillRect(x, y, w, bh);
  ctx.strokeStyle = th.border; ctx.lineWidth = 1; ctx.strokeRect(x - 0.5, y - 0.5, w + 1, bh + 1);
  ctx.font = `${FONT_PX * u}px ${th.font}`; ctx.fillStyle = th.fg1; ctx.textBaseline = "top";
  const ticks = legendTicks(r.lo, r.hi, w, app.ui.measureSmall);
  ticks.forEach((s, k) => {
    ctx.textAlign = k === 0 ? "left" : k === ticks.length - 1 ? "right" : "center";
    ctx.fillText(formatTick(s.value), x + s.offset * w, y + bh + 3 * u);
  });
  ctx.textAlign = "left"; ctx.textBaseline = "middle";
  if (hatch && L.key) {
    ctx.fillStyle = hatch; ctx.fillRect(L.key.x, L.key.y, 16 * u, bh);
    ctx.strokeRect(L.key.x - 0.5, L.key.y - 0.5, 16 * u + 1, bh + 1);
    ctx.fillStyle = th.fg1; ctx.fillText("masked", L.key.x + 21 * u, L.key.y + bh / 2);
  }
  ctx.fillStyle = th.fg1;
  if (words) for (const line of L.lines) ctx.fillText(line.text, line.x, line.y);
}

/** The hatch pattern of masked cells (cached for the screen). */
export function hatchFor(v, ctx, forExport) {
  const { app, st } = v, th = app.ui.theme;
  if (forExport) return hatchPattern(app, ctx);
  if (st.hatchKey !== `${th.dark}` || !st.hatch) { st.hatch = hatchPattern(app, ctx); st.hatchKey = `${th.dark}`; }
  return st.hatch;
}
