// Matrix view: heat map of one head (or the aggregate of the visible heads), rows = queries.

import { h, sizeCanvas } from "./dom.js";
import { matrixLayout, cellAt, canvasSize, truncateToWidth, labelColumnWidth, clamp } from "./layout.js";
import { aggregate, visibleHeads } from "./lines.js";
import { scaleTable, scaleStops, isDiverging, maskColors } from "./colors.js";
import { dequantize } from "./values.js";
import { formatValue, formatTick, formatCompact, formatCount } from "./format.js";
import { heatImage } from "./heatmap.js";
import { svgRecorder, paintedCanvas } from "./export.js";

const FONT_PX = 11;

export function createMatrix(app) {
  const canvas = h("canvas", { class: "aw-matrix-canvas", tabindex: "0", role: "img" });
  const notice = h("div", { class: "aw-notice aw-matrix-notice", hidden: true });
  const el = h("div", { class: "aw-matrix" }, [notice, h("div", { class: "aw-matrix-scroll" }, [canvas])]);
  const v = { app, canvas, notice, st: { img: null, imgKey: "", plane: null, m: null, hover: null, hatch: null, hatchKey: "", dataVersion: 0 } };
  listen(v);
  return {
    el, draw: () => draw(v), destroy() {},
    update(changed) { if (changed.has("_data")) { v.st.dataVersion++; v.st.hover = null; } },
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
/** Cells: tokens (dense), or bq × bk blocks of the max-pooled overview (sparse data). */
function grid(app) {
  const d = app.data;
  return d.sparse ? { R: d.Pq, C: d.Pk, mask: d.poolMask, bq: d.bq, bk: d.bk, sparse: true } : { R: d.Q, C: d.K, mask: d.mask, bq: 1, bk: 1, sparse: false };
}
const aggMode = (app) => (["mean", "max"].includes(app.get("aggregate")) ? app.get("aggregate") : "none");
const headIndex = (app) => clamp(app.get("head") | 0, 0, Math.max(0, (app.data?.H ?? 1) - 1));
function title(app) {
  const md = aggMode(app);
  if (md === "none") return app.headName(headIndex(app));
  const n = visibleHeads(app.get("heads"), app.data.H).length;
  return `${md} of ${n} visible head${n === 1 ? "" : "s"}`;
}

/** The shown plane's bytes (st.plane) and their heat map (st.img), when what is shown changed. */
function plane(v) {
  const { app, st } = v, d = app.data, md = aggMode(app), dark = app.ui.theme.dark;
  const key = `${md}|${md === "none" ? headIndex(app) : app.get("heads").join(",")}|${dark}|${st.dataVersion}`;
  if (key === st.imgKey) return;
  st.imgKey = key;
  const g = grid(app), n = g.R * g.C, src = d.sparse ? { Q: g.R, K: g.C, q: d.pool } : d;
  st.plane = md === "none" ? src.q.subarray(headIndex(app) * n, (headIndex(app) + 1) * n) : aggregate(src, visibleHeads(app.get("heads"), d.H), md);
  const img = st.img && st.img.width === g.C && st.img.height === g.R ? st.img : document.createElement("canvas");
  img.width = g.C; img.height = g.R;
  const c2 = img.getContext("2d");
  // diverging colours when lo < 0 < hi (differences)
  c2.putImageData(heatImage(c2, g.C, g.R, st.plane, scaleTable(d.lo, d.hi, dark), { mask: g.mask, maskColor: maskColors(dark)[0] }), 0, 0);
  st.img = img;
}

/** Value (in data units) of cell (i, j) of what is shown, exact when `_exact` covers it. */
function cellValue(app, i, j) {
  const md = aggMode(app);
  if (md === "none") return app.value(headIndex(app), i, j);
  const vals = visibleHeads(app.get("heads"), app.data.H).map((hd) => app.value(hd, i, j));
  if (!vals.length) return { value: NaN, exact: false };
  const x = md === "max" ? Math.max(...vals.map((b) => b.value)) : vals.reduce((a, b) => a + b.value, 0) / vals.length;
  return { value: x, exact: vals.every((b) => b.exact) };
}

function layout(app) {
  const g = grid(app);
  const qLabels = Array.from({ length: g.R }, (_, i) => app.label("query", i * g.bq));
  const kLabels = Array.from({ length: g.C }, (_, j) => app.label("key", j * g.bk));
  const lw = labelColumnWidth(qLabels, app.ui.measureSmall, { min: 24, max: 130, padding: 4 });
  const kw = labelColumnWidth(kLabels, app.ui.measureSmall, { min: 10, max: 110, padding: 2 });
  return { ...matrixLayout(g.R, g.C, app.ui.width, { leftLabel: lw, keyLabel: kw, fontPx: FONT_PX, legendH: 40 }), lw, kw, qLabels, kLabels };
}

function draw(v) {
  const { app, st } = v, d = app.data;
  if (!d) return;
  plane(v);
  const m = layout(app);
  st.m = m;
  paint(v, sizeCanvas(v.canvas, canvasSize(m.totalW, m.totalH, window.devicePixelRatio || 1)), m, false);
  v.canvas.setAttribute("aria-label", `attention matrix, ${title(app)}, ${d.Q} queries by ${d.K} keys${d.sparse ? `, each cell the max of a ${d.bq}×${d.bk} block` : ""}`);
  v.notice.hidden = !d.sparse;
  if (d.sparse) v.notice.textContent = `${formatCount(d.Q)} × ${formatCount(d.K)} tokens: each cell: max of a ${d.bq}×${d.bk} block (pin a query for its exact row)`;
}

// ----- painting -----------------------------------------------------------------------------------
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

function paint(v, ctx, m, forExport) {
  const { app, st } = v, th = app.ui.theme, g = grid(app);
  ctx.fillStyle = th.bg; ctx.fillRect(0, 0, m.totalW, m.totalH);
  ctx.imageSmoothingEnabled = false;
  ctx.drawImage(st.img, m.left, m.top, m.w, m.h);
  if (g.mask && Math.min(m.cw, m.ch) >= 4) {
    if (!forExport && (st.hatchKey !== `${th.dark}` || !st.hatch)) { st.hatch = hatchPattern(app, ctx); st.hatchKey = `${th.dark}`; }
    ctx.fillStyle = forExport ? hatchPattern(app, ctx) : st.hatch;
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
  if (m.cw >= 34 && m.ch >= 16) paintNumbers(v, ctx, m, g);
  paintLabels(app, ctx, m, g);
  // crosshair: selected row / column, hovered cell
  const { selQ, selK } = selectedCells(app, g);
  ctx.strokeStyle = th.accent; ctx.lineWidth = 2;
  if (selQ != null && selQ < g.R) ctx.strokeRect(m.left - 1, m.top + selQ * m.ch - 1, m.w + 2, m.ch + 2);
  if (selK != null && selK < g.C) ctx.strokeRect(m.left + selK * m.cw - 1, m.top - 1, m.cw + 2, m.h + 2);
  if (st.hover && !forExport) {
    ctx.strokeStyle = th.fg; ctx.lineWidth = 1.5;
    ctx.strokeRect(m.left + st.hover.j * m.cw - 0.5, m.top + st.hover.i * m.ch - 0.5, m.cw + 1, m.ch + 1);
  }
  paintLegend(app, ctx, m);
}

function selectedCells(app, g) {
  const sq = app.get("selected_query"), sk = app.get("selected_key");
  return { selQ: sq == null ? sq : Math.floor(sq / g.bq), selK: sk == null ? sk : Math.floor(sk / g.bk) };
}

/** Each cell's number, when the cells are large enough for one. */
function paintNumbers(v, ctx, m, g) {
  const { app, st } = v, d = app.data, th = app.ui.theme, tb = scaleTable(d.lo, d.hi, th.dark);
  ctx.font = `10px ${th.font}`; ctx.textAlign = "center"; ctx.textBaseline = "middle";
  for (let i = 0; i < g.R; i++) for (let j = 0; j < g.C; j++) {
    if (g.mask && !g.mask[i * g.C + j]) continue;
    const q = st.plane[i * g.C + j], c3 = Math.round(q) * 3;
    const x = g.sparse ? dequantize(q, d.lo, d.hi) : cellValue(app, i, j).value;
    ctx.fillStyle = 0.299 * tb[c3] + 0.587 * tb[c3 + 1] + 0.114 * tb[c3 + 2] < 140 ? "#ffffff" : "#1a1a1a";
    ctx.fillText(formatCompact(x, 2), m.left + (j + 0.5) * m.cw, m.top + (i + 0.5) * m.ch);
  }
}

/** Query labels left, key labels on top (rotated when narrow); the selected ones bold in the accent. */
function paintLabels(app, ctx, m, g) {
  const th = app.ui.theme, { selQ, selK } = selectedCells(app, g);
  ctx.textBaseline = "middle"; ctx.textAlign = "right";
  for (let i = 0; i < g.R; i++) {
    if (i !== selQ && (i % m.labelEveryQ || (selQ != null && Math.abs(i - selQ) < m.labelEveryQ))) continue;
    ctx.fillStyle = i === selQ ? th.accent : th.fg1;
    ctx.font = `${i === selQ ? "bold " : ""}${FONT_PX}px ${th.font}`;
    ctx.fillText(truncateToWidth(m.qLabels[i], m.lw, app.ui.measureSmall), m.left - 5, m.top + (i + 0.5) * m.ch);
  }
  for (let j = 0; j < g.C; j++) {
    if (j !== selK && (j % m.labelEveryK || (selK != null && Math.abs(j - selK) < m.labelEveryK))) continue;
    ctx.fillStyle = j === selK ? th.accent : th.fg1;
    ctx.font = `${j === selK ? "bold " : ""}${FONT_PX}px ${th.font}`;
    const text = truncateToWidth(m.kLabels[j], m.rotate ? m.top * 1.2 - 14 : m.kw, app.ui.measureSmall);
    ctx.save();
    ctx.translate(m.left + (j + 0.5) * m.cw, m.top - 5);
    if (m.rotate) { ctx.rotate(-Math.PI / 3); ctx.textAlign = "left"; } else { ctx.textAlign = "center"; ctx.textBaseline = "bottom"; }
    ctx.fillText(text, 0, 0);
    ctx.restore();
    ctx.textBaseline = "middle"; ctx.textAlign = "right";
  }
}

function paintLegend(app, ctx, m) {
  const d = app.data, th = app.ui.theme;
  const x = m.left, y = m.legendY, w = Math.min(200, Math.max(120, m.w * 0.5)), bh = 10;
  const grad = ctx.createLinearGradient(x, 0, x + w, 0);
  for (const s of scaleStops(d.lo, d.hi, 9, th.dark)) grad.addColorStop(s.offset, s.color);
  ctx.fillStyle = grad; ctx.fillRect(x, y, w, bh);
  ctx.strokeStyle = th.border; ctx.lineWidth = 1; ctx.strokeRect(x - 0.5, y - 0.5, w + 1, bh + 1);
  ctx.font = `${FONT_PX}px ${th.font}`; ctx.fillStyle = th.fg1; ctx.textBaseline = "top";
  const stops = isDiverging(d.lo, d.hi) // a tick at 0, the white middle of the diverging scale
    ? [{ offset: 0, value: d.lo }, { offset: -d.lo / (d.hi - d.lo), value: 0 }, { offset: 1, value: d.hi }]
    : scaleStops(d.lo, d.hi, 3);
  stops.forEach((s, k) => {
    ctx.textAlign = k === 0 ? "left" : k === stops.length - 1 ? "right" : "center";
    ctx.fillText(formatTick(s.value), x + s.offset * w, y + bh + 3);
  });
  ctx.textAlign = "left"; ctx.textBaseline = "middle";
  let tx = x + w + 12;
  if (grid(app).mask) {
    ctx.fillStyle = hatchPattern(app, ctx); ctx.fillRect(tx, y, 16, bh);
    ctx.strokeRect(tx - 0.5, y - 0.5, 17, bh + 1);
    ctx.fillStyle = th.fg1; ctx.fillText("masked", tx + 21, y + bh / 2);
    tx += 21 + app.ui.measureSmall("masked") + 14;
  }
  ctx.fillStyle = th.fg2;
  const pooled = d.sparse ? ` · each cell: max of a ${d.bq}×${d.bk} block` : "";
  ctx.fillText(`${title(app)}${pooled}${d.probability ? "" : ` · not probabilities (raw scores), scale ${formatValue(d.lo)}..${formatValue(d.hi)}`}`, tx, y + bh / 2);
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

function showTip(v, i, j, anchor) {
  const { app } = v;
  if (app.data.sparse) { blockTip(v, i, j, anchor); return; }
  const { value, exact } = cellValue(app, i, j);
  const text = `query '${app.label("query", i)}' → key '${app.label("key", j)}': ${formatValue(value)}`;
  const extra = [aggMode(app) === "none" ? app.headName(headIndex(app)) : title(app), exact ? "exact" : `≈ (8-bit, ±${formatValue((app.data.hi - app.data.lo) / 510)})`];
  app.tooltip.show(anchor, text, [], `${extra.join(" · ")}${app.isMasked(i, j) ? " · masked" : ""}`);
}

/** Sparse data: block (a, b) holds the max over bq queries × bk keys; exact values for the pinned query. */
function blockTip(v, a, b, anchor) {
  const { app, st } = v, d = app.data, g = grid(app), md = aggMode(app);
  const i0 = a * g.bq, i1 = Math.min(d.Q, i0 + g.bq) - 1, j0 = b * g.bk, j1 = Math.min(d.K, j0 + g.bk) - 1;
  const lines = [`block max ${formatValue(dequantize(st.plane[a * g.C + b], d.lo, d.hi))} ≈ (8-bit)`];
  const sq = app.get("selected_query"), ex = app.exact;
  if (sq != null && sq >= i0 && sq <= i1 && ex && ex.row && ex.query === sq) {
    const hs = md === "none" ? [headIndex(app)] : visibleHeads(app.get("heads"), d.H);
    let best = -Infinity, bj = j0;
    for (let j = j0; j <= j1; j++) {
      const vals = hs.map((hd) => ex.row[hd * d.K + j]);
      const x = md === "mean" ? vals.reduce((s2, y) => s2 + y, 0) / vals.length : Math.max(...vals);
      if (x > best) { best = x; bj = j; }
    }
    lines.push(`pinned query ${sq} '${app.label("query", sq)}': max ${formatValue(best)} (exact) at key ${bj} '${app.label("key", bj)}'`);
  }
  const text = `queries ${i0}..${i1} ('${app.label("query", i0)}'…) → keys ${j0}..${j1} ('${app.label("key", j0)}'…)`;
  app.tooltip.show(anchor, text, [], `${md === "none" ? app.headName(headIndex(app)) : title(app)} · ${lines.join(" · ")}${g.mask && !g.mask[a * g.C + b] ? " · masked" : ""}`);
}

function listen(v) {
  const { app, canvas, st } = v, { dis } = app;
  dis.listen(canvas, "mousemove", (e) => {
    const t = hit(v, e);
    const cell = t && t.kind === "cell" ? { i: t.i, j: t.j } : null;
    if (cell) showTip(v, cell.i, cell.j, { x: e.clientX, y: e.clientY });
    else app.tooltip.hide();
    if ((cell?.i ?? -1) !== (st.hover?.i ?? -1) || (cell?.j ?? -1) !== (st.hover?.j ?? -1)) { st.hover = cell; app.invalidate(); }
    canvas.style.cursor = t ? "pointer" : "default";
  });
  dis.listen(canvas, "mouseleave", () => { st.hover = null; app.tooltip.hide(); app.invalidate(); });
  dis.listen(canvas, "click", (e) => { const t = hit(v, e); if (t) onClick(app, t); });
  dis.listen(canvas, "keydown", (e) => onKey(v, e));
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
