// Matrix view: heat map of one head (the one left visible) or the mean / max of the visible heads,
// rows = queries. Painting is in matrixpaint.js; which heads, in headsel.js.

import { h, paintCanvas } from "./dom.js";
import { matrixLayout, cellAt, canvasSize, labelColumnWidth, clamp } from "./layout.js";
import { dequantize } from "./values.js";
import { formatValue, formatCount } from "./format.js";
import { createHeatCache, heatKey, shownPlane, heatCanvas, planeOf, isKept } from "./matrixheat.js";
import { dropReplaced, prepareHidden } from "./matrixprep.js";
import { svgRecorder, paintedCanvas } from "./export.js";
import { matrixShows } from "./headsel.js";
import { sameItems } from "./layers.js";
import { FONT_PX, LABEL_PX, grid, title, paint, legendText, legendLayout } from "./matrixpaint.js";
import { placePin, placeHover, paintLegendCanvas, placeWords } from "./matrixover.js";
import { pixelRatio } from "./uistate.js";

/** Which axis is which: in the matrix's legend and above the model view's grid of thumbnails. */
export const AXES = "query ↓ attends to key →";

export function createMatrix(app) {
  // three canvases: the heat map at one pixel per cell, scaled up by CSS, under the frame (labels, dividers,
  // pin, masked cells; clear over the cells), and the legend over it; so another head repaints only small ones
  const over = { position: "absolute", pointerEvents: "none", left: "0px", top: "0px" };
  const heat = h("canvas", { class: "aw-matrix-heat", "aria-hidden": "true", style: { ...over, imageRendering: "pixelated" } });
  const legend = h("canvas", { class: "aw-matrix-legend", "aria-hidden": "true", style: over });
  const canvas = h("canvas", { class: "aw-matrix-canvas", tabindex: "0", role: "img", style: { position: "relative" } });
  // the hovered cell's outline: a box over the canvas, moved without repainting the matrix
  const hoverBox = h("div", { class: "aw-matrix-hover", "aria-hidden": "true", hidden: true,
    style: { position: "absolute", pointerEvents: "none", boxSizing: "border-box" } });
  // the pin: its row and column outlines and its two labels, boxes over the frame (placePin)
  const pin = ["qmask", "kmask", "kmask", "row", "col", "qlabel", "klabel"].map((k) => h("div", { class: `aw-matrix-pin aw-matrix-pin-${k}`, "aria-hidden": "true", hidden: true }));
  const notice = h("div", { class: "aw-notice aw-matrix-notice", hidden: true });
  const words = h("div", { class: "aw-matrix-words", "aria-hidden": "true" }); // the legend's words (matrixover.js)
  const stack = h("div", { class: "aw-matrix-stack", style: { position: "relative" } }, [heat, canvas, legend, words, hoverBox, ...pin]);
  const el = h("div", { class: "aw-matrix" }, [notice, h("div", { class: "aw-matrix-scroll" }, [stack])]);
  const v = { app, el, canvas, heat, heats: createHeatCache(), legend, words, hoverBox, pin, notice, st: { img: null, imgKey: "", plane: null, m: null, hover: null, hatch: null, hatchKey: "", dataVersion: 0,
    labelsVersion: 0, labelsMade: 0, labels: null, mask: null, maskVersion: 0, layoutKey: "", frame: "", legendKey: "", dirty: true,
    frameJob: { idle: 0 } } };
  v.cellValue = (i, j) => cellValue(v, i, j);
  listen(v);
  return {
    el, draw: () => draw(v), destroy() {}, focusTarget: () => canvas, // its arrow keys move the pin
    idle: (shown, missed) => prepareHidden(v, shown, missed, draw), // what it will show, prepared in idle time
    update(changed) {
      if (changed.has("_data")) { v.st.dataVersion++; v.st.hover = null; }
      if (changed.has("theme")) v.st.labelsVersion++; // the tokens are compared by content (labels)
      if (changed.size) v.st.dirty = true; // any synced change may show (a pin, exact values, colours): repaint
    },
    /** What is shown: {kind: "head", head} | {kind: "mean" | "max", heads} | {kind: "none"}, its name, colour
     * range, and the CSS pixels of its token labels. */
    shown: () => (app.data && v.st.shows ? { ...v.st.shows, title: title(v), range: v.st.range, labelPx: LABEL_PX * app.ui.scale } : null),
    exportCanvas(scale = 2) {
      const m = v.st.m;
      return app.data && m ? paintedCanvas(m.totalW, m.totalH, scale, (ctx) => paint(v, ctx, m, true)) : null;
    },
    exportSVG() {
      const m = v.st.m;
      if (!app.data || !m) return null;
      const body = svgRecorder((ctx) => paint(v, ctx, m, true), app.ui.measureSmall);
      return [`<svg xmlns="http://www.w3.org/2000/svg" width="${m.totalW}" height="${m.totalH}" viewBox="0 0 ${m.totalW} ${m.totalH}">`, ...body, "</svg>"].join("\n");
    },
  };
}

// ----- what is shown ------------------------------------------------------------------------------
/** The shown plane's bytes (st.plane), colours (st.table over st.range) and heat map (st.img, kept per head):
 * of `s` (headsel.js matrixShows). */
function plane(v, s) {
  const { app, st } = v, d = app.data, dark = app.ui.theme.dark;
  const stretch = Boolean(app.get("color_max"));
  st.shows = s;
  const hk = heatKey(s, dark, stretch), key = `${hk}|${st.dataVersion}`;
  if (key === st.imgKey) return;
  st.imgKey = key;
  const g = grid(app);
  dropReplaced(v);
  // on screen as it is, and drawn scaled into exports; made while hidden where it could be (matrixprep.js)
  const img = heatCanvas(v.heats, d, hk, g, () => shownPlane(d, g, s, dark, stretch), dark);
  const p = planeOf(v.heats, img);
  Object.assign(st, { plane: p.plane, range: p.range, table: p.table });
  if (img !== v.heat) { // the kept canvases stay in the stack, hidden: showing one is cheaper than inserting it
    img.style.cssText = v.heat.style.cssText;
    if (!img.isConnected) v.heat.before(img);
    const old = v.heat;
    img.hidden = false; v.heat = img;
    if (isKept(v.heats, old)) old.hidden = true; else old.remove();
  }
  st.img = img;
}

/** Value (in data units) of cell (i, j) of what is shown, exact when `_exact` covers it. */
function cellValue(v, i, j) {
  const { app } = v, s = v.st.shows;
  if (s.kind === "head") return app.value(s.head, i, j);
  const vals = s.heads.map((hd) => app.value(hd, i, j));
  if (!vals.length) return { value: NaN, exact: false };
  const x = s.kind === "max" ? Math.max(...vals.map((b) => b.value)) : vals.reduce((a, b) => a + b.value, 0) / vals.length;
  return { value: x, exact: vals.every((b) => b.exact) };
}

/** Token labels of the rows and columns and the widths of their columns (measured once per token list: a
 * static copy's other layer brings its own list of the same tokens, which changes nothing painted). */
function labels(v, g) {
  const { app, st } = v, ui = app.ui, u = ui.scale;
  const key = `${st.labelsVersion}|${g.R}|${g.C}|${g.bq}|${g.bk}|${u}`;
  const q = app.get("query_tokens") || [], k = app.get("key_tokens") || [];
  if (st.labels && st.labels.sig === key && sameItems(st.labels.q, q) && sameItems(st.labels.k, k)) return st.labels;
  const qLabels = Array.from({ length: g.R }, (_, i) => app.label("query", i * g.bq));
  const kLabels = Array.from({ length: g.C }, (_, j) => app.label("key", j * g.bk));
  const lw = labelColumnWidth(qLabels, ui.measure, { min: 24 * u, max: 130 * u, padding: 4 * u });
  const kw = labelColumnWidth(kLabels, ui.measure, { min: 10 * u, max: 110 * u, padding: 2 * u });
  st.labels = { sig: key, key: `${key}|${++st.labelsMade}`, q, k, qLabels, kLabels, lw, kw };
  return st.labels;
}

/** The geometry (layout.js matrixLayout) with the legend's; recomputed only when what it depends on changed. */
function layout(v) {
  const { app, st } = v, g = grid(app), ui = app.ui, u = ui.scale;
  const { qLabels, kLabels, lw, kw, key: labelsKey } = labels(v, g);
  const noticeH = ui.bodyMax && !v.notice.hidden ? v.notice.offsetHeight : 0; // it takes room only on a slide: read only there
  const text = `${legendText(v)} · ${AXES}`;
  const key = `${labelsKey}|${Boolean(g.mask)}|${ui.width}|${ui.bodyMax}|${noticeH}|${text}`;
  if (st.m && st.layoutKey === key) return st.m;
  const maxTotal = ui.bodyMax ? ui.bodyMax - noticeH - 4 : 0;
  const opts = { leftLabel: lw, keyLabel: kw, fontPx: LABEL_PX * u, maxCell: 36 * u, maxHeight: 720 * u, maxTotal, unit: u };
  // the legend goes beside the matrix when it leaves room on the right, else below: lay out once to know
  const first = matrixLayout(g.R, g.C, ui.width, { ...opts, legendH: 0 });
  const L = legendLayout(app, first, text, Boolean(g.mask));
  const m = L.side ? first : matrixLayout(g.R, g.C, ui.width, { ...opts, legendH: L.height });
  const legend = L.side ? L : legendLayout(app, m, text, Boolean(g.mask));
  // beside the matrix, the legend may reach below a short one
  const low = legend.side ? Math.max(...legend.lines.map((l) => l.y), legend.y) + FONT_PX * u : 0;
  st.layoutKey = key;
  return { ...m, totalH: Math.max(m.totalH, low), legend, lw, kw, qLabels, kLabels, labelsKey };
}

/** Repaint only when what is painted changed (data, heads, colours, pin, layout, theme); the hover is a box.
 * `only`: one head to draw instead of those the model shows (matrixprep.js, while hidden). */
function draw(v, only = null) {
  const { app, st } = v, d = app.data;
  if (!d) return;
  const s = only ?? matrixShows(app.get("heads"), d.H, app.get("aggregate"));
  const msgs = [];
  if (d.sparse) msgs.push(`${formatCount(d.Q)} × ${formatCount(d.K)} tokens: each cell: max of a ${d.bq}×${d.bk} block (pin a query for its exact row)`);
  if (s.kind === "none") msgs.push("no heads shown: click a head swatch, or pick a head");
  const msg = msgs.join(" · ");
  if (v.notice.textContent !== msg) v.notice.textContent = msg;
  if (v.notice.hidden !== !msgs.length) v.notice.hidden = !msgs.length;
  plane(v, s);
  const m = layout(v), th = app.ui.theme, u = app.ui.scale, dirty = st.dirty, hover = st.hover;
  const dpr = pixelRatio(app.ui);
  const numbers = m.cw >= 34 * u && m.ch >= 16 * u; // cells large enough for their numbers: those are in the frame
  // the frame (labels, dividers, pin, masked cells) is repainted only when what it shows changed, not for another head
  const g = grid(app);
  if (g.mask !== st.mask) { if (!sameItems(g.mask, st.mask)) st.maskVersion++; st.mask = g.mask; } // another layer's equal mask: no repaint
  const frame = [m.labelsKey, dpr, app.get("segment_start"), d.Q, d.K, st.maskVersion, th.bg, th.fg, th.fg1, th.accent, th.border, th.font,
    th.dark, m.left, m.top, m.cw, m.ch, m.w, m.h, m.totalW, m.totalH, m.rotate, m.labelEveryQ, m.labelEveryK, numbers && st.imgKey].join("|");
  // the legend's canvas: bar and ticks, the same for another head unless its colours are stretched; its words are text
  const L = m.legend, r = st.range;
  const legendKey = [frame, r.lo, r.hi, r.stretched, L.side, L.x, L.y, L.barW, L.keyW, Boolean(g.mask)].join("|");
  if (frame !== st.frame || (numbers && dirty)) {
    st.frame = frame; st.hover = null; // the hover is drawn by the box
    try { paintCanvas(v.canvas, canvasSize(m.totalW, m.totalH, dpr), (ctx) => paint(v, ctx, m, false, true)); } finally { st.hover = hover; }
    Object.assign(v.heat.style, { left: `${m.left}px`, top: `${m.top}px`, width: `${m.w}px`, height: `${m.h}px` });
  }
  if (legendKey !== st.legendKey) { st.legendKey = legendKey; paintLegendCanvas(v, m, dpr); }
  placeWords(v, m);
  Object.assign(st, { m, dirty: false });
  const label = `attention matrix, ${title(v)}, ${d.Q} queries by ${d.K} keys (${AXES})${d.sparse ? `, each cell the max of a ${d.bq}×${d.bk} block` : ""}`;
  if (v.canvas.getAttribute("aria-label") !== label) v.canvas.setAttribute("aria-label", label);
  placeHover(v);
  placePin(v);
}

// ----- interaction --------------------------------------------------------------------------------
function hit(v, e) {
  const { app } = v, m = v.st.m;
  if (!app.data || !m) return null;
  const r = v.canvas.getBoundingClientRect(), x = e.clientX - r.left, y = e.clientY - r.top;
  const g = grid(app);
  const c = cellAt(m, g.R, g.C, x, y);
  if (c) return { kind: "cell", ...c };
  if (x < m.left && y >= m.top && y < m.top + m.h) return { kind: "query", i: Math.floor((y - m.top) / m.ch) };
  if (y < m.top && x >= m.left && x < m.left + m.w) return { kind: "key", j: Math.floor((x - m.left) / m.cw) };
  return null;
}

/** "≈ 8-bit, within ±0.0020": how far a dequantized value may be from the exact one (1/510 of the range). */
export function approxNote(d) {
  return `≈ 8-bit, within ±${formatValue((d.hi - d.lo) / 510)} (1/510 of the range)`;
}

function showTip(v, i, j, anchor) {
  const { app } = v;
  if (app.data.sparse) { blockTip(v, i, j, anchor); return; }
  const { value, exact } = cellValue(v, i, j);
  const text = `query '${app.label("query", i)}' → key '${app.label("key", j)}': ${formatValue(value)}`;
  const extra = [title(v), exact ? "exact" : approxNote(app.data)];
  app.tooltip.show(anchor, text, [], `${extra.join(" · ")}${app.isMasked(i, j) ? " · masked" : ""}`);
}

/** Sparse data: block (a, b) holds the max over bq queries × bk keys; exact values for the pinned query. */
function blockTip(v, a, b, anchor) {
  const { app, st } = v, d = app.data, g = grid(app), s = st.shows;
  const i0 = a * g.bq, i1 = Math.min(d.Q, i0 + g.bq) - 1, j0 = b * g.bk, j1 = Math.min(d.K, j0 + g.bk) - 1;
  const lines = [`block max ${formatValue(dequantize(st.plane[a * g.C + b], d.lo, d.hi))} ≈ (8-bit)`];
  const sq = app.get("selected_query"), ex = app.exact;
  if (sq != null && sq >= i0 && sq <= i1 && ex && ex.row && ex.query === sq && s.heads.length) {
    let best = -Infinity, bj = j0;
    for (let j = j0; j <= j1; j++) {
      const vals = s.heads.map((hd) => ex.row[hd * d.K + j]);
      const x = s.kind === "mean" ? vals.reduce((s2, y) => s2 + y, 0) / vals.length : Math.max(...vals);
      if (x > best) { best = x; bj = j; }
    }
    lines.push(`pinned query ${sq} '${app.label("query", sq)}': max ${formatValue(best)} (exact) at key ${bj} '${app.label("key", bj)}'`);
  }
  const text = `queries ${i0}..${i1} ('${app.label("query", i0)}'…) → keys ${j0}..${j1} ('${app.label("key", j0)}'…)`;
  app.tooltip.show(anchor, text, [], `${title(v)} · ${lines.join(" · ")}${g.mask && !g.mask[a * g.C + b] ? " · masked" : ""}`);
}

function listen(v) {
  const { app, canvas, st } = v, { dis } = app;
  dis.listen(canvas, "mousemove", (e) => {
    const t = hit(v, e);
    const cell = t && t.kind === "cell" ? { i: t.i, j: t.j } : null;
    if (cell) showTip(v, cell.i, cell.j, { x: e.clientX, y: e.clientY });
    else app.tooltip.hide();
    if ((cell?.i ?? -1) !== (st.hover?.i ?? -1) || (cell?.j ?? -1) !== (st.hover?.j ?? -1)) { st.hover = cell; placeHover(v); }
    canvas.style.cursor = t ? "pointer" : "default";
  });
  dis.listen(canvas, "mouseleave", () => { st.hover = null; app.tooltip.hide(); placeHover(v); });
  dis.listen(canvas, "click", (e) => { const t = hit(v, e); if (t) onClick(app, t); });
  dis.listen(canvas, "keydown", (e) => { if (!app.slideKeys(e)) onKey(v, e); });
}

/** A cell pins its query and key, a label its token; clicking the pinned one again lets go. */
function onClick(app, t) {
  const q = app.get("selected_query"), k = app.get("selected_key"), g = grid(app);
  if (g.sparse) { // pin the first query / key of the block (its row and column then load exact)
    if (t.i != null) t.i = Math.min(app.data.Q - 1, t.i * g.bq);
    if (t.j != null) t.j = Math.min(app.data.K - 1, t.j * g.bk);
  }
  if (t.kind === "cell") {
    if (q === t.i && k === t.j) app.release(); else app.set({ selected_query: t.i, selected_key: t.j });
  } else if (t.kind === "query") app.set({ selected_query: q === t.i && k == null ? null : t.i, selected_key: null });
  else app.set({ selected_key: k === t.j && q == null ? null : t.j, selected_query: null });
}

/** Arrows move the pinned cell (a block at a time for sparse data). */
function onKey(v, e) {
  const { app } = v, d = app.data;
  const moves = { ArrowUp: [-1, 0], ArrowDown: [1, 0], ArrowLeft: [0, -1], ArrowRight: [0, 1] };
  if (!d || !moves[e.key]) return;
  e.preventDefault();
  const g = grid(app);
  const [di, dj] = moves[e.key].map((x, ax) => x * (ax ? g.bk : g.bq));
  const i = clamp((app.get("selected_query") ?? (di ? -di : 0)) + di, 0, d.Q - 1);
  const j = clamp((app.get("selected_key") ?? (dj ? -dj : 0)) + dj, 0, d.K - 1);
  app.set({ selected_query: i, selected_key: j });
  const m = v.st.m, r = v.canvas.getBoundingClientRect(), a = Math.floor(i / g.bq), b = Math.floor(j / g.bk);
  showTip(v, a, b, { x: r.left + m.left + (b + 1) * m.cw, y: r.top + m.top + (a + 1) * m.ch });
}
