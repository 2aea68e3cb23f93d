// Graph view, painting: the lines, weight bars and pin between the token columns, onto a 2D
// context (the screen's canvas, a PNG's or the SVG recorder). `v` is the graph view's context (graph.js).

import { paintCanvas } from "./dom.js";
import { rowCenter, segmentY, clamp } from "./layout.js";
import { pinned } from "./graphtokens.js";
import { SIGN_POS, SIGN_NEG } from "./lines.js";
import { linesOf, mergeLines } from "./linesof.js";
import { diverging, rgbToHex, parseColor } from "./colors.js";
import { layer, blit, sameDeps, whenIdle } from "./layers.js";

const LEVELS = 20;
const HEAD_OFFSET = 4; // bucket keys stay positive for the aggregate (-1) and sign (-2, -3) codes

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

/** The screen's canvases (v.canvases) for geometry `g` ({...geometry, yMin, yMax, size}). */
export function paintScreen(v, g) {
  const { app, st } = v, th = app.ui.theme, L = st.layers, size = g.size, base = baseDeps(v, g);
  const act = activeToken(app), p = pinned(app), hv = app.ui.hover;
  const pair = p && hv && hv.side !== p.side
    ? { i: p.side === "query" ? p.index : hv.index, j: p.side === "key" ? p.index : hv.index } : null;
  const lines = linesFor(v, g, act);
  const name = act ? "faded" : "plain";
  const image = act ? fadedLayer(L, size, lines, base)
    : layer(L, "plain", base, size, (c) => lines && paintLines(c, { ...lines, active: null }));
  if (!act && !sameDeps(L.slots.faded, base)) {
    whenIdle(L, () => { if (sameDeps(L.slots.plain, base)) fadedLayer(L, size, lines, base); });
  }
  onto(v, "base", [name, L.slots[name].serial], size, (c) => { blit(c, image); paintSegments(c, v, g); });
  onto(v, "active", act ? [...base, act.side, act.index, app.exact] : [], size, (c) => {
    if (!act) return;
    if (lines) paintLines(c, { ...lines, layer: "active", hairlines: size.ratio, merge: true });
    const bars = barsFor(v, act, g);
    if (bars) paintBars(c, bars, th.border2);
  });
  onto(v, "pair", pair ? [...base, pair.i, pair.j, th.fg] : [], size, (c) => pair && paintPair(c, g, pair, th.fg, app.ui.scale));
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

function fadedLayer(L, size, lines, deps) {
  return layer(L, "faded", deps, size, (c) => lines && paintLines(c, { ...lines, active: null, extra: null, layer: "background" }));
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

// ----- lines --------------------------------------------------------------------------------------
/** Is line c attached to the active token? */
function isOn(sel, c, active) {
  return Boolean(active) && (active.side === "query" ? sel.query[c] : sel.key[c]) === active.index;
}

/** Opacity of a line of weight fraction w: BertViz-like w / heads, full weight for the active token. */
export function lineAlpha(w, nh, on, anyActive) {
  if (on) return Math.min(1, 0.12 + 0.88 * w);
  const a = Math.min(1, (1.6 * w) / Math.max(1, Math.sqrt(nh)));
  return anyActive ? a * 0.12 : a;
}

const MAX = new WeakMap(); // selection -> its largest weight (a pass over 100,000 lines at T = 4096)
function maxWeight(s) {
  if (s && !MAX.has(s)) MAX.set(s, s.weight.reduce((m, w) => Math.max(m, w), 0));
  return s ? MAX.get(s) : 0;
}

/**
 * g: {sel, extra, nh, color(head) -> css colour, x0, x1, yq(i), yk(j), yMin, yMax, active, unit, layer,
 *     hairlines (device pixels per CSS pixel: the active token's lines as hairline strands),
 *     merge (the active token's lines to one token, one per head, as one line: mergeLines)}
 * `layer`: "background" = every line faded as behind an active token; "active" = only the active
 * token's lines; default both (or every line, unfaded, with nothing active).
 */
export function paintLines(ctx, g) {
  const { sel, active } = g;
  const anyActive = Boolean(active) || g.layer === "background";
  const passes = g.layer === "background" ? [0] : g.layer === "active" ? [1] : active ? [0, 1] : [0];
  // Opacity is relative to the strongest line drawn: at T = 4096 softmax weights are a few
  // hundredths, and on an absolute scale no line would reach the lowest opacity step.
  const top = Math.max(1, maxWeight(sel), maxWeight(g.extra));
  // `extra` (the pinned token's lines from exact values) replaces that token's lines of `sel`.
  const ex = g.extra && g.extra.n ? g.extra : null;
  ctx.lineCap = "round";
  for (const pass of passes) {
    const on = pass === 1, items = [];
    for (const [s, skip] of [[sel, ex], [ex, null]]) {
      if (!s) continue;
      const put = (c) => {
        if (skip && (skip.side === "query" ? s.query[c] : s.key[c]) === skip.index) return;
        const ya = g.yq(s.query[c]), yb = g.yk(s.key[c]);
        if ((ya < g.yMin && yb < g.yMin) || (ya > g.yMax && yb > g.yMax)) return;
        const lvl = Math.round(lineAlpha(s.weight[c] / top, g.nh, on, anyActive) * LEVELS);
        if (lvl > 0) items.push({ ya, yb, head: s.head[c], lvl });
      };
      if (on) for (const c of linesOf(s, active.side, active.index)) put(c);
      else for (let c = 0; c < s.n; c++) if (!isOn(s, c, active)) put(c);
    }
    const buckets = (on && g.merge && g.nh > 1 && merged(items, g.color)) || bucketed(items, g.color);
    strokeBuckets(ctx, g, buckets, (on ? 2 : sel.n > 5000 ? 1 : 1.4) * (g.unit || 1), on ? g.hairlines : 0);
  }
  ctx.globalAlpha = 1;
}

/** Lines {ya, yb, head, lvl} into buckets of one colour and opacity step each (one path apiece). */
function bucketed(items, color) {
  const buckets = new Map();
  for (const it of items) {
    const key = (it.head + HEAD_OFFSET) * (LEVELS + 1) + it.lvl;
    add(buckets, key, it.lvl, () => color(it.head), it.ya, it.yb);
  }
  return buckets;
}

function add(buckets, key, lvl, color, ya, yb) {
  let b = buckets.get(key);
  if (!b) buckets.set(key, (b = { lvl, color: color(), ya: [], yb: [] }));
  b.ya.push(ya); b.yb.push(yb);
}

/** Lines of equal ends merged (mergeLines, in bucketed()'s drawing order); null if a colour does not parse. */
function merged(items, color) {
  const rgb = new Map(), first = new Map();
  for (const it of items) {
    if (!rgb.has(it.head)) rgb.set(it.head, parseColor(color(it.head)));
    if (!rgb.get(it.head)) return null;
    const key = (it.head + HEAD_OFFSET) * (LEVELS + 1) + it.lvl;
    if (!first.has(key)) first.set(key, first.size);
    it.order = first.get(key);
  }
  items.sort((p, q) => p.lvl - q.lvl || p.order - q.order);
  const buckets = new Map();
  for (const m of mergeLines(items.map((it) => ({ ya: it.ya, yb: it.yb, rgb: rgb.get(it.head), alpha: it.lvl / LEVELS })))) {
    const lvl = Math.round(m.alpha * LEVELS), hex = rgbToHex(m.rgb);
    if (lvl > 0) add(buckets, `${hex} ${lvl}`, lvl, () => hex, m.ya, m.yb);
  }
  return buckets;
}

/**
 * One path per bucket, faintest first, lines `width` wide. `r` (device pixels per CSS pixel, or 0): a
 * line as strands one device pixel apart, each a hairline (1 device pixel wide), which a software
 * rasterizer draws several times faster than one wide antialiased stroke (500 lines: 8 ms, not 25).
 */
function strokeBuckets(ctx, g, buckets, width, r) {
  const strands = r ? Math.max(1, Math.round(width * r)) : 1;
  const offsets = Array.from({ length: strands }, (_, k) => (k - (strands - 1) / 2) / (r || 1));
  ctx.lineWidth = r ? 1 / r : width;
  for (const b of [...buckets.values()].sort((p, q) => p.lvl - q.lvl)) {
    ctx.globalAlpha = b.lvl / LEVELS;
    ctx.strokeStyle = b.color;
    ctx.beginPath();
    for (let c = 0; c < b.ya.length; c++) for (const o of offsets) { ctx.moveTo(g.x0, b.ya[c] + o); ctx.lineTo(g.x1, b.yb[c] + o); }
    ctx.stroke();
  }
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
