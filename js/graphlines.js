// Graph view, the lines: each line's opacity, lines bucketed by colour and opacity step, a path per bucket
// (graphpaint.js says which lines, onto which canvas). DOM-free: any 2D context, or the SVG recorder.

import { linesOf, mergeLines } from "./linesof.js";
import { drain } from "./steps.js";
import { rgbToHex, parseColor } from "./colors.js";

const LEVELS = 20;
const HEAD_OFFSET = 4; // bucket keys stay positive for the aggregate (-1) and sign (-2, -3) codes

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
  drain(paintLinesSteps(ctx, g));
}

/** Lines read between two yields of paintLinesSteps (about 6 ms of a 2-core machine's time). */
export const STEP_LINES = 8192;
/** Lines stroked between two painted steps of paintLinesSteps: each such step is rasterized in its idle callback
 * (layers.js layerSteps hands the canvas over), about 5 µs a line at T = 64 (8,192 lines took 37-49 ms there,
 * an idle callback which an input arriving then waited for; 2,048: 8-13 ms). */
export const STEP_STROKES = 2048;

/** paintLines in steps: yields every STEP_LINES lines read, and after a bucket's path once STEP_STROKES lines were
 * stroked since the last yield (a path is never split: lines of one path do not darken where they cross). */
export function* paintLinesSteps(ctx, g) {
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
      else for (let c = 0; c < s.n; c++) { if (!isOn(s, c, active)) put(c); if ((c + 1) % STEP_LINES === 0) yield; }
    }
    const buckets = (on && g.merge && g.nh > 1 && merged(items, g.color)) || bucketed(items, g.color);
    yield* strokeBuckets(ctx, g, buckets, (on ? 2 : sel.n > 5000 ? 1 : 1.4) * (g.unit || 1), on ? g.hairlines : 0);
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
function* strokeBuckets(ctx, g, buckets, width, r) {
  const strands = r ? Math.max(1, Math.round(width * r)) : 1;
  const offsets = Array.from({ length: strands }, (_, k) => (k - (strands - 1) / 2) / (r || 1));
  let stroked = 0;
  for (const b of [...buckets.values()].sort((p, q) => p.lvl - q.lvl)) {
    // all of the state a path needs, set for each: a step's canvas may be handed over in between (layers.js)
    Object.assign(ctx, { lineCap: "round", lineWidth: r ? 1 / r : width, globalAlpha: b.lvl / LEVELS, strokeStyle: b.color });
    ctx.beginPath();
    for (let c = 0; c < b.ya.length; c++) for (const o of offsets) { ctx.moveTo(g.x0, b.ya[c] + o); ctx.lineTo(g.x1, b.yb[c] + o); }
    ctx.stroke();
    if ((stroked += b.ya.length) >= STEP_STROKES) { stroked = 0; yield true; } // true: painted (layers.js)
  }
}

