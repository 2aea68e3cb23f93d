// Model view: a layer × head grid of small heat maps (one canvas, thumbnails from `_overview`), all on
// one colour scale (legend on top), with each head's entropy and max weight; hovering a thumbnail names
// the tokens under the pointer, a click opens that layer and head in the matrix view (modelinput.js).
// Its geometry is modelgrid.js.

import { h, paintCanvas, prepareWhenIdle, preparing } from "./dom.js";
import { paintedCanvas } from "./export.js";
import { canvasSize, truncateToWidth } from "./layout.js";
import { decodeOverview, segmentFractions } from "./protocol.js";
import { rangeTable, scaleStops } from "./colors.js";
import { formatTick } from "./format.js";
import { heatImage, colorRange, strokeSegments } from "./heatmap.js";
import { matrixShows } from "./headsel.js";
import { AXES } from "./matrix.js";
import { GAP, HEAD_H, STATS_H, STATS_PX, box, imageRect, gridLayout, statsText } from "./modelgrid.js";
import { listen, placeRing } from "./modelinput.js";
import { pixelRatio } from "./uistate.js";

/** While hidden (not on a slide, where the rows fit a height read from the layout), the grid is painted once the
 * page is idle, so that the tab's first click finds it painted (and warm.js can show it once unseen); again when
 * the thumbnails or their colours change. */
const PREPARE_ON = ["_overview", "theme", "color_max"];
/** What the grid shows: its thumbnails and names, colours, the layers of the mode, the current layer and heads. */
const DEPS = [...PREPARE_ON, "layer", "heads", "aggregate", "segment_start", "mode"];

export function createModelView(app) {
  const canvas = h("canvas", { class: "aw-model-canvas", tabindex: "0", role: "img" });
  const hint = h("div", { class: "aw-hint", text: "every layer × head; hover for the tokens, click one to open it in the matrix view (H = mean entropy, max = largest weight)" });
  // the keyboard's focus ring: a box over the canvas, moved without repainting the grid
  const ring = h("div", { class: "aw-model-focus", "aria-hidden": "true", hidden: true, style: { position: "absolute", pointerEvents: "none", boxSizing: "border-box" } });
  const el = h("div", { class: "aw-model" }, [hint, h("div", { class: "aw-model-scroll" }, [h("div", { style: { position: "relative" } }, [canvas, ring])])]);
  const v = { app, el, canvas, ring, hint, st: { ov: null, atlas: null, atlasKey: "", m: null, focus: null, error: null, dirty: true, painted: "", job: { idle: 0 } } };
  listen(v);
  return {
    el, draw: () => draw(v), exportCanvas: (scale) => exportCanvas(v, scale), exportSVG: () => exportSVG(v), destroy() {},
    idle: (shown, missed) => { if (!app.ui.bodyMax) prepareWhenIdle(v, missed, PREPARE_ON, draw); }, preparing: () => preparing(v),
    update(changed) {
      if (changed.has("_overview")) decode(v);
      if (changed.has("theme") || changed.has("color_max")) v.st.atlasKey = "";
      // only what the grid shows repaints it: not which view is shown (its first showing finds it painted in idle time)
      if (DEPS.some((k) => changed.has(k))) v.st.dirty = true;
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
  const { app, st } = v, th = app.ui.theme, u = m.u, rg = st.range, y = 6 * u, bh = 9 * u;
  const text = `${formatTick(rg.hi)} · one scale for every thumbnail${rg.stretched ? ", stretched to the largest" : ""}`;
  // over the thumbnails, moved left where wide layer names (a slide's) would push its words off the canvas
  const room = m.totalW - 8 * u - 6 * u - app.ui.measureSmall(text), lead = app.ui.measureSmall(formatTick(rg.lo)) + 12 * u;
  const w = Math.max(40 * u, Math.min(200 * u, room - lead)), x = Math.max(lead, Math.min(m.labelW, room - w));
  const grad = ctx.createLinearGradient(x, 0, x + w, 0);
  for (const s of scaleStops(rg.lo, rg.hi, 9, th.dark)) grad.addColorStop(s.offset, s.color);
  ctx.fillStyle = grad; ctx.fillRect(x, y, w, bh);
  ctx.strokeStyle = th.border; ctx.lineWidth = 1; ctx.strokeRect(x - 0.5, y - 0.5, w + 1, bh + 1);
  ctx.font = `${11 * u}px ${th.font}`; ctx.textBaseline = "middle"; ctx.fillStyle = th.fg1;
  ctx.textAlign = "right"; ctx.fillText(formatTick(rg.lo), x - 6 * u, y + bh / 2);
  ctx.textAlign = "left";
  ctx.fillText(text, x + w + 6 * u, y + bh / 2);
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
      ctx.fillStyle = th.fg2; ctx.font = `${STATS_PX * u}px ${th.font}`;
      ctx.fillText(statsText(app.ui, l, c, m.pitch), b.x + b.w / 2, b.y + b.h + (STATS_H * u) / 2 + 1);
    }
  }
}

/** Repaint only when a synced trait, the width or the scale changed; the focus ring is a box. */
function draw(v) {
  const { st } = v, ui = v.app.ui, dpr = pixelRatio(ui), key = `${ui.width}|${ui.scale}|${dpr}|${ui.bodyMax}`;
  if (!st.ov) decode(v);
  if (!st.ov) return;
  if (st.dirty || key !== st.painted) {
    atlas(v);
    // on a slide the rows fit what is left under the hint (read only there, as the heads view does)
    const room = ui.bodyMax ? ui.bodyMax - v.hint.offsetHeight - 8 * ui.scale : 0;
    const m = (st.m = gridLayout(v.app, st.ov, room));
    Object.assign(st, { dirty: false, painted: key });
    paintCanvas(v.canvas, canvasSize(m.totalW, m.totalH, dpr), (ctx) => paint(v, ctx, m, false));
    v.canvas.setAttribute("aria-label", `model overview: ${m.rows.length} attention layers × up to ${m.maxH} heads, each ${AXES}`);
  }
  placeRing(v);
}

/** The dashed ring around the thumbnail the keyboard is on, where paint once stroked it. */
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
