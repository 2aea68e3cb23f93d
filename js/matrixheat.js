// The matrix's heat maps: one canvas per head at one pixel per cell, kept and reused. While the matrix is
// hidden and the heads or model view is shown, the heads of the data in hand are painted in idle time
// (prepareHeads), so that opening the matrix on one of them only puts a canvas painted in an earlier frame
// on screen: in this browser without a GPU, a canvas repainted in the frame that shows it costs that frame
// its deadline (benchmarks/bench_view_switch.py).

import { rangeTable, maskColors } from "./colors.js";
import { heatImage, colorRange } from "./heatmap.js";
import { aggregate } from "./lines.js";
import { h } from "./dom.js";

/** Pixels of kept heat maps beyond which the oldest are let go (8 heads × 1024²: 32 MiB). */
export const HEAT_BUDGET = 8 << 20;

export function createHeatCache() {
  return { data: null, map: new Map(), pixels: 0, job: 0 };
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

/** The heat map canvas of `key` for data `d` (kept one, or painted now from `p`, shownPlane's). */
export function heatCanvas(cache, d, key, g, p, dark) {
  if (cache.data !== d) {
    for (const old of cache.map.values()) if (old.hidden) old.remove();
    cache.data = d; cache.map.clear(); cache.pixels = 0;
  }
  const kept = cache.map.get(key);
  if (kept) return kept;
  const c = h("canvas", { class: "aw-matrix-heat", "aria-hidden": "true" });
  c.width = g.C; c.height = g.R;
  const ctx = c.getContext("2d");
  ctx.putImageData(heatImage(ctx, g.C, g.R, p.plane, p.table, { mask: g.mask, maskColor: maskColors(dark)[0] }), 0, 0);
  c.hidden = true;
  cache.map.set(key, c);
  cache.pixels += g.C * g.R;
  for (const [k, old] of cache.map) { // the oldest go first; the one just painted stays
    if (cache.pixels <= HEAT_BUDGET || old === c) break;
    cache.map.delete(k);
    cache.pixels -= old.width * old.height;
    if (old.hidden) old.remove();
  }
  return c;
}

/** Whether canvas `c` is one of the kept heat maps. */
export function isKept(cache, c) {
  for (const k of cache.map.values()) if (k === c) return true;
  return false;
}

/**
 * In idle time, paint the heat map of every head of `d` not kept yet (`headKey(hd)`: its key), a head
 * per idle slice, until they are all kept or the budget is full. A newer call replaces an older one;
 * a call for what the last one was asked (`d`, the colours `sig`, as many kept) returns at once: the
 * views that call it do so every frame they draw.
 */
export function prepareHeads(cache, d, g, headKey, paintHead, sig = "") {
  const want = `${sig}|${g.R}x${g.C}|${cache.map.size}`;
  if (cache.asked && cache.asked.d === d && cache.asked.want === want) return;
  cache.asked = { d, want };
  const job = ++cache.job;
  const later = globalThis.requestIdleCallback ? (f) => requestIdleCallback(f, { timeout: 1000 }) : (f) => setTimeout(f, 30);
  let hd = 0;
  const step = (deadline) => {
    if (job !== cache.job || (cache.data && cache.data !== d)) return;
    while (hd < d.H && (!deadline || deadline.timeRemaining() > 2)) {
      if (cache.pixels + g.R * g.C > HEAT_BUDGET) return;
      if (!cache.map.has(headKey(hd))) paintHead(hd);
      hd++;
    }
    if (hd < d.H) later(step);
  };
  later(step);
}
