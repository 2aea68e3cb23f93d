// Model view: a layer × head grid of small heat maps (one canvas, thumbnails from `_overview`), all on
// one colour scale (legend on top), with each head's entropy and max weight; hovering a thumbnail names
// the tokens under the pointer, a click opens that layer and head in the matrix view.

import { h, sizeCanvas } from "./dom.js";
import { paintedCanvas } from "./export.js";
import { canvasSize, clamp, truncateToWidth, displayToken } from "./layout.js";
import { decodeOverview, layersInMode, segmentFractions } from "./protocol.js";
import { rangeTable, scaleStops } from "./colors.js";
import { formatStat, formatTick, formatValue } from "./format.js";
import { heatImage, colorRange, strokeSegments } from "./heatmap.js";
import { dequantize } from "./values.js";
import { matrixShows } from "./headsel.js";
import { AXES } from "./matrix.js";

const GAP = 6, HEAD_H = 18, STATS_H = 13, PAD = 4, LEGEND_H = 30;

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

export function createModelView(app) {
  const canvas = h("canvas", { class: "aw-model-canvas", tabindex: "0", role: "img" });
  const hint = h("div", { class: "aw-hint", text: "every layer × head; hover for the tokens, click one to open it in the matrix view (H = mean entropy, max = largest weight)" });
  // the keyboard's focus ring: a box over the canvas, moved without repainting the grid
  const ring = h("div", { class: "aw-model-focus", "aria-hidden": "true", hidden: true, style: { position: "absolute", pointerEvents: "none", boxSizing: "border-box" } });
  const el = h("div", { class: "aw-model" }, [hint, h("div", { class: "aw-model-scroll" }, [h("div", { style: { position: "relative" } }, [canvas, ring])])]);
  const v = { app, canvas, ring, st: { ov: null, atlas: null, atlasKey: "", m: null, focus: null, error: null, dirty: true, painted: "" } };
  listen(v);
  return {
    el, draw: () => draw(v), exportCanvas: (scale) => exportCanvas(v, scale), exportSVG: () => exportSVG(v), destroy() {},
    update(changed) {
      if (changed.has("_overview")) decode(v);
      if (changed.has("theme") || changed.has("color_max")) v.st.atlasKey = "";
      if (changed.size) v.st.dirty = true; // the layer, heads, colours or names may show: repaint
    },
    /** Centre of (layer li, head c; c = "mean" for the mean) in canvas CSS pixels, or null when not shown. */
    locate(li, c) {
      const m = v.st.m, r = m ? m.rows.indexOf(li) : -1;
      if (r < 0) return null;
      const b = box(m, r, c === "mean" ? m.maxH : c);
      return { x: b.x + b.w / 2, y: b.y + b.h / 2 };
    },
    /** The colour range every thumbnail shares: {lo, hi, stretched}. */
    range: () => v.st.range || null,
  };
}

function decode(v) {
  const { st } = v;
  try { st.ov = decodeOverview(v.app.get("_overview")); st.error = null; } catch (err) { st.ov = null; st.error = String(err.message || err); console.error(err); }
  st.atlasKey = "";
}

/** All thumbnails at their own resolution in one offscreen canvas (row = layer, column = head, + mean), on one scale. */
function atlas(v) {
  const { st } = v, ov = st.ov, dark = v.app.ui.theme.dark, stretch = Boolean(v.app.get("color_max"));
  if (st.atlas && st.atlasKey === `${dark}|${stretch}`) return st.atlas;
  const side = Math.max(1, ...ov.layers.map((l) => Math.max(l.h, l.w)));
  const cols = Math.max(...ov.layers.map((l) => l.H)) + 1;
  // overview.py quantizes every layer over one range; stretched, the colours end at the largest thumbnail value
  const { lo, hi } = ov.layers[0];
  st.range = !stretch && ov.layers.every((l) => l.probability) ? { lo: 0, hi: 1, stretched: false } : colorRange(lo, hi, ov.q, null, stretch);
  const tb = rangeTable(lo, hi, st.range.lo, st.range.hi, dark);
  const c = st.atlas || document.createElement("canvas");
  c.width = cols * side; c.height = ov.layers.length * side;
  const ctx = c.getContext("2d");
  ov.layers.forEach((l, li) => {
    const ltb = l.lo === lo && l.hi === hi ? tb : rangeTable(l.lo, l.hi, st.range.lo, st.range.hi, dark);
    for (let hd = 0; hd <= l.H; hd++) {
      const offset = hd === l.H ? l.mean_offset : l.offset + hd * l.h * l.w;
      ctx.putImageData(heatImage(ctx, l.w, l.h, ov.q, ltb, { offset }), (hd === l.H ? cols - 1 : hd) * side, li * side);
    }
  });
  Object.assign(st, { atlas: c, atlasKey: `${dark}|${stretch}`, side, cols });
  return c;
}

function layout(v) {
  const { app } = v, ov = v.st.ov, ui = app.ui, u = ui.scale;
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
const box = (m, r, c) => ({ x: m.labelW + c * (m.cell + GAP * m.u), y: m.top + r * m.rowH, w: m.cell, h: m.cell });

/** Where a layer's thumbnail is drawn inside its box (kept to the layer's aspect). */
function imageRect(b, l) {
  const aspect = l.h / l.w, dw = aspect > 1 ? b.w / aspect : b.w, dh = aspect > 1 ? b.h : b.h * aspect;
  return { x: b.x + (b.w - dw) / 2, y: b.y + (b.h - dh) / 2, w: dw, h: dh };
}

function paint(v, ctx, m, forExport) {
  const th = v.app.ui.theme, u = m.u;
  ctx.fillStyle = th.bg; ctx.fillRect(0, 0, m.totalW, m.totalH);
  ctx.imageSmoothingEnabled = false;
  atlas(v);
  paintLegend(v, ctx, m);
  ctx.font = `${11 * u}px ${th.font}`; ctx.textBaseline = "middle"; ctx.textAlign = "center"; ctx.fillStyle = th.fg2;
  for (let c = 0; c <= m.maxH; c++) {
    const b = box(m, 0, c);
    ctx.fillText(c === m.maxH ? "mean" : `head ${c}`, b.x + m.cell / 2, m.top - (HEAD_H * u) / 2);
  }
  ctx.textAlign = "right"; // in every thumbnail, as in the matrix: rows are queries, columns keys
  ctx.fillText(truncateToWidth(AXES, m.labelW - 10 * u, v.app.ui.measureSmall), m.labelW - 8 * u, m.top - (HEAD_H * u) / 2);
  m.rows.forEach((li, r) => paintRow(v, ctx, m, r, li, forExport));
}

/** One colour bar for every thumbnail, with its range. */
function paintLegend(v, ctx, m) {
  const { app, st } = v, th = app.ui.theme, u = m.u, rg = st.range, x = m.labelW, y = 6 * u, w = Math.min(200 * u, m.totalW - x - 8 * u), bh = 9 * u;
  const grad = ctx.createLinearGradient(x, 0, x + w, 0);
  for (const s of scaleStops(rg.lo, rg.hi, 9, th.dark)) grad.addColorStop(s.offset, s.color);
  ctx.fillStyle = grad; ctx.fillRect(x, y, w, bh);
  ctx.strokeStyle = th.border; ctx.lineWidth = 1; ctx.strokeRect(x - 0.5, y - 0.5, w + 1, bh + 1);
  ctx.font = `${11 * u}px ${th.font}`; ctx.textBaseline = "middle"; ctx.fillStyle = th.fg1;
  ctx.textAlign = "right"; ctx.fillText(formatTick(rg.lo), x - 6 * u, y + bh / 2);
  ctx.textAlign = "left";
  ctx.fillText(`${formatTick(rg.hi)} · one scale for every thumbnail${rg.stretched ? ", stretched to the largest" : ""}`, x + w + 6 * u, y + bh / 2);
}

/** Row r: layer li's name (wrapped) and kind, its heads' thumbnails and statistics, the mean, the marks. */
function paintRow(v, ctx, m, r, li, forExport) {
  const { app, st } = v, th = app.ui.theme, u = m.u, at = st.atlas, l = st.ov.layers[li];
  const curLayer = app.get("layer") | 0, shows = matrixShows(app.get("heads"), l.H, app.get("aggregate"));
  const y0 = m.top + r * m.rowH, seg = segmentFractions(app.get("segment_start"), l.Q, l.K);
  if (li === curLayer && !forExport) { ctx.fillStyle = th.bg2 || "rgba(128,128,128,0.12)"; ctx.fillRect(0, y0 - (GAP * u) / 2, m.totalW, m.rowH); }
  ctx.textAlign = "right"; ctx.textBaseline = "top"; ctx.fillStyle = li === curLayer ? th.accent : th.fg1;
  ctx.font = `${11 * u}px ${th.font}`; // same size as measured, so the wrapped lines fit
  m.labels[r].forEach((line, k) => ctx.fillText(line, m.labelW - 8 * u, y0 + k * 13 * u));
  ctx.font = `${10 * u}px ${th.font}`; ctx.fillStyle = th.fg2;
  ctx.fillText(`${l.kind} · ${l.Q}×${l.K}`, m.labelW - 8 * u, y0 + m.labels[r].length * 13 * u);
  ctx.textAlign = "center"; ctx.textBaseline = "middle";
  for (const c of [...Array(l.H).keys(), m.maxH]) {
    const b = box(m, r, c), mean = c === m.maxH, ir = imageRect(b, l);
    ctx.drawImage(at, (mean ? st.cols - 1 : c) * st.side, li * st.side, l.w, l.h, ir.x, ir.y, ir.w, ir.h);
    strokeSegments(ctx, ir, seg, th.fg, Math.max(1, Math.round(1.5 * u)));
    ctx.strokeStyle = th.border; ctx.lineWidth = 1;
    ctx.strokeRect(ir.x - 0.5, ir.y - 0.5, ir.w + 1, ir.h + 1);
    const current = mean ? shows.kind === "mean" && shows.heads.length === l.H : shows.kind === "head" && shows.head === c;
    if (li === curLayer && current) {
      ctx.strokeStyle = th.accent; ctx.lineWidth = 2.5 * u; ctx.strokeRect(b.x - 2 * u, b.y - 2 * u, b.w + 4 * u, b.h + 4 * u);
    }
    if (!mean) {
      ctx.fillStyle = th.fg2; ctx.font = `${9.5 * u}px ${th.font}`;
      const long = `H ${formatStat(l.entropy[c], 2)} · max ${formatStat(l.max[c], 2)}`;
      const text = app.ui.measureSmall(long) * 0.9 <= m.cell + GAP * u - 2 ? long : `${formatStat(l.entropy[c], 1)} · ${formatStat(l.max[c], 2)}`;
      ctx.fillText(text, b.x + b.w / 2, b.y + b.h + (STATS_H * u) / 2 + 1);
    }
  }
}

/** Repaint only when a synced trait, the width or the scale changed; the focus ring is a box. */
function draw(v) {
  const { st } = v, ui = v.app.ui, dpr = window.devicePixelRatio || 1, key = `${ui.width}|${ui.scale}|${dpr}`;
  if (!st.ov) decode(v);
  if (!st.ov) return;
  if (st.dirty || key !== st.painted) {
    atlas(v);
    const m = (st.m = layout(v));
    Object.assign(st, { dirty: false, painted: key });
    paint(v, sizeCanvas(v.canvas, canvasSize(m.totalW, m.totalH, dpr)), m, false);
    v.canvas.setAttribute("aria-label", `model overview: ${m.rows.length} attention layers × up to ${m.maxH} heads, each ${AXES}`);
  }
  placeRing(v);
}

/** The dashed ring around the thumbnail the keyboard is on, where paint once stroked it. */
function placeRing(v) {
  const { st, ring } = v, m = st.m, f = st.focus, r = m && f ? m.rows.indexOf(f.li) : -1;
  if (r < 0) { ring.hidden = true; return; }
  const b = box(m, r, f.c), u = m.u;
  const at = (x) => `${x - 3.5 * u - 0.5}px`, size = (w) => `${w + 7 * u + 1}px`;
  Object.assign(ring.style, { left: at(b.x), top: at(b.y), width: size(b.w), height: size(b.h), border: `1px dashed ${v.app.ui.theme.fg}` });
  ring.hidden = false;
}

// ----- interaction --------------------------------------------------------------------------------
/** What is under (x, y): a thumbnail {li, c, mean, r, cell: {i, j} of the thumbnail or null}, a layer's name {li, label}, or null. */
function hit(v, e) {
  const { st } = v, m = st.m;
  if (!m || !st.ov) return null;
  const r0 = v.canvas.getBoundingClientRect(), x = e.clientX - r0.left, y = e.clientY - r0.top;
  const r = Math.floor((y - m.top) / m.rowH);
  if (r < 0 || r >= m.rows.length) return null;
  const li = m.rows[r], l = st.ov.layers[li];
  if (x < m.labelW) return { li, label: true };
  const c = Math.floor((x - m.labelW) / (m.cell + GAP * m.u));
  if (c < 0 || c > m.maxH) return null;
  const b = box(m, r, c);
  if (x > b.x + b.w || y > b.y + b.h) return null;
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

function listen(v) {
  const { app, canvas } = v, { dis } = app;
  dis.listen(canvas, "mousemove", (e) => {
    const t = hit(v, e);
    canvas.style.cursor = t && !t.label ? "pointer" : "default";
    if (t) tip(v, t, { x: e.clientX, y: e.clientY }); else app.tooltip.hide();
  });
  dis.listen(canvas, "mouseleave", () => app.tooltip.hide());
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

// ----- export -------------------------------------------------------------------------------------
function exportCanvas(v, scale = 2) {
  const m = v.st.m;
  return v.st.ov && m ? paintedCanvas(m.totalW, m.totalH, scale, (ctx) => paint(v, ctx, m, true)) : null;
}

/** The thumbnails are bitmaps: the SVG carries the painted canvas as one image. */
function exportSVG(v) {
  const cv = exportCanvas(v, 2), m = v.st.m;
  if (!cv) return null;
  return [`<svg xmlns="http://www.w3.org/2000/svg" width="${m.totalW}" height="${m.totalH}" viewBox="0 0 ${m.totalW} ${m.totalH}">`,
    `<image href="${cv.toDataURL("image/png")}" width="${m.totalW}" height="${m.totalH}"/>`, "</svg>"].join("\n");
}
