// Model view: a layer × head grid of small heat maps (one canvas, thumbnails from `_overview`),
// with each head's entropy and max weight; a click opens that layer and head in the matrix view.

import { h, sizeCanvas } from "./dom.js";
import { paintedCanvas } from "./export.js";
import { canvasSize, clamp, truncateToWidth } from "./layout.js";
import { decodeOverview, layersInMode } from "./protocol.js";
import { scaleTable } from "./colors.js";
import { formatStat } from "./format.js";
import { heatImage } from "./heatmap.js";

const GAP = 6, HEAD_H = 18, STATS_H = 13, PAD = 4;

/** Short label of a layer path: without a trailing "/mha". */
export function shortName(name) {
  return String(name).replace(/\/mha$/, "");
}

export function createModelView(app) {
  const canvas = h("canvas", { class: "aw-model-canvas", tabindex: "0", role: "img" });
  const hint = h("div", { class: "aw-hint", text: "every layer × head; click one to open it in the matrix view (H = mean entropy, max = largest weight)" });
  const el = h("div", { class: "aw-model" }, [hint, h("div", { class: "aw-model-scroll" }, [canvas])]);
  const v = { app, canvas, st: { ov: null, atlas: null, atlasKey: "", m: null, focus: null, error: null } };
  listen(v);
  return {
    el, draw: () => draw(v), exportCanvas: (scale) => exportCanvas(v, scale), exportSVG: () => exportSVG(v), destroy() {},
    update(changed) {
      if (changed.has("_overview")) decode(v);
      if (changed.has("theme")) v.st.atlasKey = "";
    },
    /** Centre of (layer li, head c; c = "mean" for the mean) in canvas CSS pixels, or null when not shown. */
    locate(li, c) {
      const m = v.st.m, r = m ? m.rows.indexOf(li) : -1;
      if (r < 0) return null;
      const b = box(m, r, c === "mean" ? m.maxH : c);
      return { x: b.x + b.w / 2, y: b.y + b.h / 2 };
    },
  };
}

function decode(v) {
  const { st } = v;
  try { st.ov = decodeOverview(v.app.get("_overview")); st.error = null; } catch (err) { st.ov = null; st.error = String(err.message || err); console.error(err); }
  st.atlasKey = "";
}

/** All thumbnails at their own resolution in one offscreen canvas: row = layer, column = head (+ mean). */
function atlas(v) {
  const { st } = v, ov = st.ov, dark = v.app.ui.theme.dark;
  if (st.atlas && st.atlasKey === `${dark}`) return st.atlas;
  const side = Math.max(1, ...ov.layers.map((l) => Math.max(l.h, l.w)));
  const cols = Math.max(...ov.layers.map((l) => l.H)) + 1;
  const c = st.atlas || document.createElement("canvas");
  c.width = cols * side; c.height = ov.layers.length * side;
  const ctx = c.getContext("2d");
  ov.layers.forEach((l, li) => {
    const tb = scaleTable(l.lo, l.hi, dark);
    for (let hd = 0; hd <= l.H; hd++) {
      const offset = hd === l.H ? l.mean_offset : l.offset + hd * l.h * l.w;
      ctx.putImageData(heatImage(ctx, l.w, l.h, ov.q, tb, { offset }), (hd === l.H ? cols - 1 : hd) * side, li * side);
    }
  });
  Object.assign(st, { atlas: c, atlasKey: `${dark}`, side, cols });
  return c;
}

function layout(v) {
  const { app } = v, ov = v.st.ov;
  const rows = layersInMode(app.schema, ov.layers.map((l) => l.kind), app.get("mode"));
  const maxH = Math.max(1, ...rows.map((i) => ov.layers[i].H));
  const labels = rows.map((i) => shortName(ov.layers[i].name));
  const labelW = clamp(Math.max(60, ...labels.map((s) => app.ui.measureSmall(s))) + 10, 80, 230);
  const width = app.ui.width - 8;
  const cell = Math.floor(clamp((width - labelW - PAD) / (maxH + 1) - GAP, 34, 96));
  const rowH = cell + STATS_H + GAP;
  return { rows, maxH, labels, labelW, cell, rowH, top: HEAD_H, totalW: Math.max(width, labelW + (maxH + 1) * (cell + GAP) + PAD), totalH: HEAD_H + rows.length * rowH + PAD };
}

/** Rectangle of (row r, column c) in CSS pixels; column maxH is the mean of the heads. */
function box(m, r, c) {
  return { x: m.labelW + c * (m.cell + GAP), y: m.top + r * m.rowH, w: m.cell, h: m.cell };
}

function paint(v, ctx, m, forExport) {
  const th = v.app.ui.theme;
  ctx.fillStyle = th.bg; ctx.fillRect(0, 0, m.totalW, m.totalH);
  ctx.imageSmoothingEnabled = false;
  ctx.font = `11px ${th.font}`; ctx.textBaseline = "middle"; ctx.textAlign = "center"; ctx.fillStyle = th.fg2;
  for (let c = 0; c <= m.maxH; c++) {
    const b = box(m, 0, c);
    ctx.fillText(c === m.maxH ? "mean" : `head ${c}`, b.x + m.cell / 2, HEAD_H / 2);
  }
  m.rows.forEach((li, r) => paintRow(v, ctx, m, r, li, forExport));
}

/** Row r: layer li's name and kind, its heads' thumbnails and statistics, the mean, the marks. */
function paintRow(v, ctx, m, r, li, forExport) {
  const { app, st } = v, th = app.ui.theme, at = atlas(v), l = st.ov.layers[li];
  const curLayer = app.get("layer") | 0, curHead = app.get("aggregate") === "none" ? app.get("head") | 0 : -1;
  const y0 = m.top + r * m.rowH;
  if (li === curLayer && !forExport) { ctx.fillStyle = th.bg2 || "rgba(128,128,128,0.12)"; ctx.fillRect(0, y0 - GAP / 2, m.totalW, m.rowH); }
  ctx.textAlign = "right"; ctx.fillStyle = li === curLayer ? th.accent : th.fg1;
  ctx.font = `11px ${th.font}`; // same weight as measured, so the truncation fits
  ctx.fillText(truncateToWidth(m.labels[r], m.labelW - 10, app.ui.measureSmall), m.labelW - 8, y0 + m.cell / 2 - 7);
  ctx.font = `10px ${th.font}`; ctx.fillStyle = th.fg2;
  ctx.fillText(`${l.kind} · ${l.Q}×${l.K}`, m.labelW - 8, y0 + m.cell / 2 + 7);
  ctx.textAlign = "center";
  for (const c of [...Array(l.H).keys(), m.maxH]) {
    const b = box(m, r, c), mean = c === m.maxH;
    const aspect = l.h / l.w;
    const dw = aspect > 1 ? b.w / aspect : b.w, dh = aspect > 1 ? b.h : b.h * aspect;
    ctx.drawImage(at, (mean ? st.cols - 1 : c) * st.side, li * st.side, l.w, l.h, b.x + (b.w - dw) / 2, b.y + (b.h - dh) / 2, dw, dh);
    ctx.strokeStyle = th.border; ctx.lineWidth = 1;
    ctx.strokeRect(b.x + (b.w - dw) / 2 - 0.5, b.y + (b.h - dh) / 2 - 0.5, dw + 1, dh + 1);
    if (li === curLayer && (mean ? app.get("aggregate") === "mean" : c === curHead)) {
      ctx.strokeStyle = th.accent; ctx.lineWidth = 2.5; ctx.strokeRect(b.x - 2, b.y - 2, b.w + 4, b.h + 4);
    }
    if (!forExport && st.focus && st.focus.li === li && st.focus.c === c) {
      ctx.strokeStyle = th.fg; ctx.lineWidth = 1; ctx.setLineDash([3, 2]); ctx.strokeRect(b.x - 3.5, b.y - 3.5, b.w + 7, b.h + 7); ctx.setLineDash([]);
    }
    if (!mean) {
      ctx.fillStyle = th.fg2; ctx.font = `9.5px ${th.font}`;
      const long = `H ${formatStat(l.entropy[c], 2)} · max ${formatStat(l.max[c], 2)}`;
      const text = app.ui.measureSmall(long) * 0.9 <= m.cell + GAP - 2 ? long : `${formatStat(l.entropy[c], 1)} · ${formatStat(l.max[c], 2)}`;
      ctx.fillText(text, b.x + b.w / 2, b.y + b.h + STATS_H / 2 + 1);
    }
  }
}

function draw(v) {
  const { st } = v;
  if (!st.ov) decode(v);
  if (!st.ov) return;
  const m = layout(v);
  st.m = m;
  paint(v, sizeCanvas(v.canvas, canvasSize(m.totalW, m.totalH, window.devicePixelRatio || 1)), m, false);
  v.canvas.setAttribute("aria-label", `model overview: ${m.rows.length} attention layers × up to ${m.maxH} heads`);
}

// ----- interaction --------------------------------------------------------------------------------
function hit(v, e) {
  const { st } = v, m = st.m;
  if (!m || !st.ov) return null;
  const r0 = v.canvas.getBoundingClientRect(), x = e.clientX - r0.left, y = e.clientY - r0.top;
  const r = Math.floor((y - m.top) / m.rowH), c = Math.floor((x - m.labelW) / (m.cell + GAP));
  if (r < 0 || r >= m.rows.length || c < 0 || c > m.maxH) return null;
  const b = box(m, r, c), li = m.rows[r], l = st.ov.layers[li];
  if (x > b.x + b.w || y > b.y + b.h) return null;
  if (c < m.maxH && c >= l.H) return null;
  return { li, c, mean: c === m.maxH, r };
}

/** Open a thumbnail in the matrix view: its layer (by the layer-switch rule), then its head or the mean. */
function open(v, t) {
  const l = v.st.ov.layers[t.li];
  const choice = t.mean ? { aggregate: "mean", heads: [...Array(l.H).keys()] } : { head: t.c, aggregate: "none" };
  v.app.setLayer(t.li, { view: "matrix", ...choice });
}

function tip(v, t, anchor) {
  const l = v.st.ov.layers[t.li];
  const what = t.mean ? `mean of ${l.H} heads` : `head ${t.c}`;
  const stats = t.mean ? "" : ` · entropy ${formatStat(l.entropy[t.c], 3)} · max ${formatStat(l.max[t.c], 3)}`;
  v.app.tooltip.show(anchor, `${l.name}`, [], `${l.kind} attention, ${l.Q} × ${l.K} · ${what}${stats} · click: open in the matrix view`);
}

function listen(v) {
  const { app, canvas } = v, { dis } = app;
  dis.listen(canvas, "mousemove", (e) => {
    const t = hit(v, e);
    canvas.style.cursor = t ? "pointer" : "default";
    if (t) tip(v, t, { x: e.clientX, y: e.clientY }); else app.tooltip.hide();
  });
  dis.listen(canvas, "mouseleave", () => app.tooltip.hide());
  dis.listen(canvas, "click", (e) => { const t = hit(v, e); if (t) open(v, t); });
  dis.listen(canvas, "keydown", (e) => onKey(v, e));
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
  f = { li: m.rows[r], c };
  st.focus = f;
  draw(v);
  const b = box(m, r, c), rc = v.canvas.getBoundingClientRect();
  tip(v, { li: f.li, c, mean: c === m.maxH }, { x: rc.left + b.x + b.w, y: rc.top + b.y + b.h });
}

// ----- export -------------------------------------------------------------------------------------
function exportCanvas(v, scale = 2) {
  const m = v.st.m;
  if (!v.st.ov || !m) return null;
  return paintedCanvas(m.totalW, m.totalH, scale, (ctx) => paint(v, ctx, m, true));
}

/** The thumbnails are bitmaps: the SVG carries the painted canvas as one image. */
function exportSVG(v) {
  const cv = exportCanvas(v, 2);
  if (!cv) return null;
  const m = v.st.m;
  return [`<svg xmlns="http://www.w3.org/2000/svg" width="${m.totalW}" height="${m.totalH}" viewBox="0 0 ${m.totalW} ${m.totalH}">`,
    `<image href="${cv.toDataURL("image/png")}" width="${m.totalW}" height="${m.totalH}"/>`, "</svg>"].join("\n");
}
