// The matrix's heat maps: one canvas per head and layer at one pixel per cell, kept and reused. While the
// matrix is hidden and the heads or model view is shown, the heads of the data in hand (and, behind the
// model view, of every layer the page holds) are painted in idle time (prepareHeads), so that opening the
// matrix on one of them only puts a canvas painted in an earlier frame on screen: in this browser without a
// GPU, a canvas repainted in the frame that shows it costs that frame its deadline
// (benchmarks/bench_view_switch.py).

import { rangeTable, maskColors } from "./colors.js";
import { heatImage, colorRange } from "./heatmap.js";
import { aggregate } from "./lines.js";
import { h, paintCanvas, idleLater, runSlice } from "./dom.js";

/** Pixels of kept heat maps beyond which the oldest are let go (8 heads × 1024²: 32 MiB). */
export const HEAT_BUDGET = 8 << 20;

export function createHeatCache() {
  return { ids: new WeakMap(), next: 0, map: new Map(), planes: new WeakMap(), pixels: 0, job: 0 };
}

/** The kept heat map's key: which data (by identity: synced.js decodes each `_data` object once) and `key`. */
function keyOf(cache, d, key) {
  if (!cache.ids.has(d)) cache.ids.set(d, ++cache.next);
  return `${cache.ids.get(d)}#${key}`;
}

/** What one heat map shows: `s` (headsel.js matrixShows), the theme, whether colours are stretched. */
export function heatKey(s, dark, stretch) {
  return `${s.kind}|${s.heads.join(",")}|${dark}|${stretch}`;
}

/** The plane `s` shows of grid `g` (bytes, R × C), its colour range and table. */
export function shownPlane(d, g, s, dark, stretch) {
  const n = g.R * g.C, src = d.sparse ? { Q: g.R, K: g.C, q: d.pool } : d;
  const plane = s.kind === "head" ? src.q.subarray(s.head * n, (s.head + 1) * n) : aggregate(src, s.heads, s.kind === "max" ? "max" : "mean");
  const range = colorRange(d.lo, d.hi, plane, g.mask, stretch);
  return { plane, range, table: rangeTable(d.lo, d.hi, range.lo, range.hi, dark) };
}

/** The heat map canvas of `key` for data `d` (kept one, or painted now from `makePlane()`, shownPlane's; a mean
 * or max of heads is made, not sliced: kept with its canvas, planeOf). Heat maps of other data stay kept (a
 * static copy's other layers) until the budget lets the oldest go. */
export function heatCanvas(cache, d, key, g, makePlane, dark) {
  const kept = cache.map.get(keyOf(cache, d, key));
  if (kept) return kept;
  const p = makePlane(), c = h("canvas", { class: "aw-matrix-heat", "aria-hidden": "true" });
  cache.planes.set(c, p);
  paintCanvas(c, { width: g.C, height: g.R }, (ctx) =>
    ctx.putImageData(heatImage(ctx, g.C, g.R, p.plane, p.table, { mask: g.mask, maskColor: maskColors(dark)[0] }), 0, 0));
  c.hidden = true;
  return keep(cache, d, key, c);
}

/** Keep canvas `c` as data `d`'s heat map of `key`; the oldest kept go while the pixels pass the budget
 * (one on screen stays in the page until it is replaced). Returns `c`. */
export function keep(cache, d, key, c) {
  cache.map.set(keyOf(cache, d, key), c);
  cache.pixels += c.width * c.height;
  for (const [k, old] of cache.map) { // the oldest go first; the one just kept stays
    if (cache.pixels <= HEAT_BUDGET || old === c) break;
    cache.map.delete(k);
    cache.pixels -= old.width * old.height;
    if (old.hidden) old.remove();
  }
  return c;
}

/** Let go of the heat maps of every data but `d` (a live view: data the kernel replaced does not come back). */
export function keepOnly(cache, d) {
  const mine = keyOf(cache, d, "");
  for (const [k, c] of cache.map) {
    if (k.startsWith(mine)) continue;
    cache.map.delete(k);
    cache.pixels -= c.width * c.height;
    if (c.hidden) c.remove();
  }
}

/** The plane heat map `c` was painted from (shownPlane's {plane, range, table}). */
export function planeOf(cache, c) {
  return cache.planes.get(c);
}

/** Whether canvas `c` is one of the kept heat maps. */
export function isKept(cache, c) {
  for (const k of cache.map.values()) if (k === c) return true;
  return false;
}

/** Whether data `d`'s heat map of `key` is kept. */
export function isPainted(cache, d, key) {
  return cache.map.has(keyOf(cache, d, key));
}

/**
 * In idle time, paint the heat map of every head of each job's data not kept yet, in slices (dom.js runSlice),
 * the jobs in order (the data on screen first), until they are all kept or the budget is full. A job is
 * {d, g: its grid, n: how many to paint (d.H heads, or one more: their mean), key(hd): heat key of number hd,
 * paint(hd)}. A newer call replaces an older one; a call for what the last one was asked (the same data,
 * colours `sig`, as many kept) returns at once: the views that call it do so every frame they draw.
 */
export function prepareHeads(cache, jobs, sig = "") {
  const want = `${sig}|${jobs.map((j) => `${keyOf(cache, j.d, "")}:${j.g.R}x${j.g.C}:${j.n}`).join(",")}|${cache.map.size}`;
  if (cache.asked === want) return;
  cache.asked = want;
  const job = ++cache.job, steps = paintSteps(cache, jobs);
  const step = (deadline) => {
    if (job === cache.job && !runSlice(steps, deadline)) idleLater(step);
  };
  idleLater(step);
}

/** prepareHeads' painting in steps: a heat map a step (the yield between two), until every job's are kept or
 * the budget is full. */
function* paintSteps(cache, jobs) {
  let painted = false;
  for (const { d, g, key, paint, n: count } of jobs) {
    for (let hd = 0; hd < count; hd++) {
      if (isPainted(cache, d, key(hd))) continue;
      if (painted) { yield; if (isPainted(cache, d, key(hd))) continue; } // a frame may have painted it meanwhile
      if (cache.pixels + g.R * g.C > HEAT_BUDGET) return;
      paint(hd);
      painted = true;
    }
  }
}
