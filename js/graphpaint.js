// Graph view, painting: the lines, weight bars and pin between the token columns, onto a 2D
// context (the screen's canvas, a PNG's or the SVG recorder). `v` is the graph view's context (graph.js).

import { paintCanvas, runSlice } from "./dom.js";
import { rowCenter, segmentY, clamp } from "./layout.js";
import { pinned } from "./graphtokens.js";
import { SIGN_POS, SIGN_NEG } from "./lines.js";
import { diverging, rgbToHex } from "./colors.js";
import { paintLines, paintLinesSteps } from "./graphlines.js";
import { layerSteps, blit, sameDeps, sameItems, whenIdle, paintedImage } from "./layers.js";
import { drain } from "./steps.js";


/** The colour of a line of head `hd`: its head's, the accent for an aggregate, blue / red by sign. */
export function lineColor(app, hd) {
  const dark = app.ui.theme.dark;
  if (hd === SIGN_POS) return rgbToHex(diverging(0.85, dark));
  if (hd === SIGN_NEG) return rgbToHex(diverging(-0.85, dark));
  return hd < 0 ? app.ui.theme.accent : app.headColor(hd);
}

// The lines' band is at most this wide (px at scale 1): wider only flattens them, and grows what every input uploads.
const MAX_MID = 640;

/** Where lines go for a canvas `width` wide scrolled to `scrollTop`: {midW, gutter, x0, x1, yq(i), yk(j), scrollTop}. */
export function geometry(v, width, scrollTop) {
  const { lay, widths } = v.st, u = v.app.ui.scale;
  const midW = clamp(width - widths.query - widths.key, 80 * u, MAX_MID * u);
  const gutter = Math.round(clamp(midW * 0.12, 18 * u, 56 * u));
  return {
    midW, gutter, x0: gutter, x1: midW - gutter, scrollTop,
    yq: (i) => rowCenter(lay.query, lay.rowH, i) - scrollTop,
    yk: (j) => rowCenter(lay.key, lay.rowH, j) - scrollTop,
  };
}

/** The token whose lines stand out: the hovered one (on the pinned side, or with no pin), else the pinned one. */
export function activeToken(app) {
  const p = pinned(app), hv = app.ui.hover;
  return hv && (!p || hv.side === p.side) ? hv : p;
}

/**
 * Everything between the columns, for geometry `g` ({...geometry, yMin, yMax}), onto one 2D context:
 * a PNG's or the SVG recorder, as pinned, without the pointer's hover.
 */
export function paintGraph(v, ctx, g) {
  const { app } = v, th = app.ui.theme, p = pinned(app);
  const lines = linesFor(v, g, p);
  if (lines) paintLines(ctx, lines);
  paintSegments(ctx, v, g);
  const bars = barsFor(v, p, g);
  if (bars) paintBars(ctx, bars, th.border2);
  if (p) {
    const y = p.side === "query" ? g.yq(p.index) : g.yk(p.index);
    paintPin(ctx, p.side === "query" ? g.x0 : g.x1, y, th.accent, th.bg, app.ui.scale);
  }
}

/** What paintLines needs besides the context, with `act` the token whose lines stand out; null without lines. */
function linesFor(v, g, act) {
  const { app, st } = v;
  return st.sel ? { ...g, sel: st.sel, extra: st.extra, nh: st.sel.aggregate === "none" ? st.sel.heads.length : 1,
    color: (hd) => lineColor(app, hd), active: act, unit: app.ui.scale } : null;
}

// ----- the screen -------------------------------------------------------------------------------
// Three canvases stacked (graph.js): "base", every line, or every line faded behind an active token
// (both cached as layers, layers.js; the faded one made in idle time before a first hover needs it);
// "active", the active token's lines and the weight bars beside the other column; "pair", the
// (query, key) pair under the pointer. Each is painted only when what it shows changes: a hover paints
// its token's lines, pinning the hovered token paints nothing (the pin is an element, graph.js).

/** The screen's canvases (v.canvases) for geometry `g` ({...geometry, yMin, yMax, size}). `sliced`: the lines'
 * layer, if it is not painted yet, painted a slice a frame (baseSlice; `wait`: none in this frame), the base canvas
 * left as it is until then, or cleared (`clear`). False while that layer is still to paint. */
export function paintScreen(v, g, { sliced = false, wait = false, clear = false } = {}) {
  const { app, st } = v, th = app.ui.theme, L = st.layers, size = g.size, base = baseDeps(v, g);
  const act = activeToken(app), p = pinned(app), hv = app.ui.hover;
  const pair = p && hv && hv.side !== p.side
    ? { i: p.side === "query" ? p.index : hv.index, j: p.side === "key" ? p.index : hv.index } : null;
  const lines = linesFor(v, g, act);
  const name = act ? "faded" : "plain";
  const image = sliced ? baseSlice(v, g, name, wait) : drain(baseLayer(v, g, name, false));
  if (image && !act && !sameDeps(L.slots.faded, base)) {
    whenIdle(L, () => (sameDeps(L.slots.plain, base) ? baseLayer(v, g, "faded", true) : null)); // in slices
  }
  if (image) onto(v, "base", [name, L.slots[name].serial], size, (c) => { blit(c, image); paintSegments(c, v, g); });
  else if (clear && st.shown.base) onto(v, "base", [], size, () => {}); // a blank canvas is left as it is
  onto(v, "active", act ? [...base, act.side, act.index, app.exact] : [], size, (c) => {
    if (!act) return;
    if (lines) paintLines(c, { ...lines, layer: "active", hairlines: size.ratio, merge: true });
    const bars = barsFor(v, act, g);
    if (bars) paintBars(c, bars, th.border2);
  });
  onto(v, "pair", pair ? [...base, pair.i, pair.j, th.fg] : [], size, (c) => pair && paintPair(c, g, pair, th.fg, app.ui.scale));
  return Boolean(image);
}

/** Canvas `name` of v.canvases, painted by paint(ctx) unless it shows `deps` at `size` already. */
function onto(v, name, deps, size, paint) {
  const canvas = v.canvases[name], all = [...deps, size.width, size.height, size.ratio, size.cssW, size.cssH];
  // no style writes either when it shows them already (a write can make the frame recompute styles)
  if (sameDeps(v.st.shown[name], all) && canvas.width === size.width && canvas.height === size.height) return;
  const hide = deps.length ? "" : "hidden";
  if (canvas.style.visibility !== hide) canvas.style.visibility = hide; // an empty layer: nothing to composite
  v.st.shown[name] = { deps: all };
  // 2D canvases: the active and pair canvases change at every hover and key, and the base at a hover in from
  // outside; a new bitmap each time cost more than the copy (traced, T = 64: hover 10.3 -> 13.4 ms to the screen)
  paintCanvas(canvas, size, paint, { bitmap: false });
}

/** What the plain and faded layers show: the lines, their geometry and scroll position, the colours (theme, palette). */
function baseDeps(v, g) {
  const { st, app } = v;
  return [st.sel, st.extra, st.lay, st.top, g.x0, g.x1, app.ui.theme, app.get("palette"), app.ui.scale, app.data];
}

/** Layer `name` of the base canvas for `g`: "plain", every line, or "faded", every line as behind an active
 * token; painted in steps if `sliced` (layers.js layerSteps: a generator that returns the layer's image), or
 * not at all if it is painted for `g` already. */
function baseLayer(v, g, name, sliced) {
  const lines = linesFor(v, g, null), opts = name === "faded" ? { extra: null, layer: "background" } : {};
  return layerSteps(v.st.layers, name, baseDeps(v, g), g.size, function* (c) { if (lines) yield* paintLinesSteps(c, { ...lines, ...opts }); }, sliced);
}

/** The base canvas's layer for `g` (the screen's, paintScreen's), painted in steps ahead of the frame that shows
 * it: in idle time, while the view is hidden (graph.js). A generator, kept in `v.st.baseJob` so that a frame that
 * shows the view before it ended goes on with it (baseSlice). */
export function paintBaseSteps(v, g) {
  const name = activeToken(v.app) ? "faded" : "plain";
  v.st.baseJob = { name, deps: baseDeps(v, g), size: g.size, steps: baseLayer(v, g, name, true) };
  return v.st.baseJob.steps;
}

/** Layer `name` for `g` a slice (SLICE_MS of its steps) a frame, the next frame asked for, none in this one if
 * `wait`: what the frames that show the view before its preparation ended do (at T = 512, 100,000 lines painted in
 * the frame that shows it took it to 32-88 ms). Goes on with the steps begun in idle time if they paint this layer;
 * the layer's image once painted, else null. */
function baseSlice(v, g, name, wait) {
  const { st } = v, deps = baseDeps(v, g), job = st.baseJob, ready = paintedImage(st.layers, name, deps, g.size);
  if (ready) return ready;
  const same = job && job.name === name && sameItems(job.deps, deps) && job.size.width === g.size.width && job.size.height === g.size.height;
  if (!same) st.baseJob = { name, deps, size: g.size, steps: baseLayer(v, g, name, true) };
  if (wait || !runSlice(st.baseJob.steps)) { v.app.invalidate(); return null; } // the next frame goes on
  st.baseJob = null;
  return paintedImage(st.layers, name, deps, g.size);
}

/** The divider between two segments (segment_start) across the gutters, level with the token columns' own
 * (graphtokens.js), in the theme's border colour; nothing without a gap. */
export function paintSegments(ctx, v, g) {
  const { lay } = v.st, u = v.app.ui.scale, w = Math.max(1, Math.round(u));
  ctx.fillStyle = v.app.ui.theme.border;
  const yq = segmentY(lay.query, lay.rowH), yk = segmentY(lay.key, lay.rowH);
  if (yq != null) ctx.fillRect(0, yq - g.scrollTop - w / 2, g.x0, w);
  if (yk != null) ctx.fillRect(g.x1, yk - g.scrollTop - w / 2, g.midW - g.x1, w);
}

/** Weight bars of the column opposite the active token, for its rows in [yMin, yMax]. */
function barsFor(v, act, g) {
  const { app } = v, d = app.data;
  if (!act || !d) return null;
  const side = act.side === "query" ? "key" : "query", rows = [];
  const n = side === "query" ? d.Q : d.K, y = side === "query" ? g.yq : g.yk;
  for (let t = 0; t < n; t++) {
    const yy = y(t);
    if (yy < g.yMin - 20 || yy > g.yMax + 20) continue;
    const i = side === "query" ? t : act.index, j = side === "key" ? t : act.index;
    const values = app.isMasked(i, j) ? [] : app.barRows(i, j).map((r) => ({ frac: r.frac, color: r.color }));
    rows.push({ y: yy, values });
  }
  return { side, rows, rowH: v.st.lay.rowH, x: side === "key" ? g.x1 + 3 : 3, w: g.gutter - 6 };
}

/** The (query, key) pair under the pointer, emphasised. */
function paintPair(ctx, g, pair, color, unit = 1) {
  Object.assign(ctx, { lineCap: "round", lineWidth: 3.5 * unit, strokeStyle: color });
  ctx.beginPath();
  ctx.moveTo(g.x0, g.yq(pair.i));
  ctx.lineTo(g.x1, g.yk(pair.j));
  ctx.stroke();
}

/**
 * Weight bars beside the tokens of the column opposite the active token.
 * b: {rows: [{y, values: [{frac, color}]}], x, w, rowH}
 */
export function paintBars(ctx, b, track) {
  const fills = new Map(); // one path of rectangles per colour (and opacity): a fill each, not one per bar
  const put = (style, x, y, w, h) => (fills.get(style) || fills.set(style, []).get(style)).push([x, y, w, h]);
  for (const row of b.rows) {
    const n = row.values.length;
    if (!n) continue;
    const bh = Math.max(1, Math.min(5, Math.max(2, b.rowH - 4) / n)), total = bh * n;
    let y = row.y - total / 2;
    put(null, b.x, y, b.w, total);
    for (const v of row.values) {
      const len = Math.max(0, Math.min(1, v.frac)) * b.w;
      put(v.color, b.x, y, Math.max(len, v.frac > 0 ? 1 : 0), Math.max(1, bh - (bh > 2 ? 0.5 : 0)));
      y += bh;
    }
  }
  for (const [style, rects] of fills) { // the tracks first, under the bars
    Object.assign(ctx, { fillStyle: style ?? track, globalAlpha: style ? 1 : 0.6 });
    ctx.beginPath();
    for (const r of rects) ctx.rect(...r);
    ctx.fill();
  }
  ctx.globalAlpha = 1;
}

/** A pin marker (filled circle with a ring) at (x, y). */
export function paintPin(ctx, x, y, color, bg, unit = 1) {
  ctx.beginPath();
  ctx.arc(x, y, 4.5 * unit, 0, Math.PI * 2);
  ctx.fillStyle = color;
  ctx.fill();
  Object.assign(ctx, { lineWidth: 1.5, strokeStyle: bg });
  ctx.stroke();
}
