// The one heat-map painter: quantized values (0..255) through a colour table into RGBA pixels,
// used by the matrix, heads and model views.

import { hexToRgb, isDiverging } from "./colors.js";
import { dequantize } from "./values.js";

/**
 * Fill `out` (RGBA bytes, 4 per cell) with the colours of values[offset ..]: `table` is a
 * 256-entry RGB lookup (colors.js scaleTable); fractional values (means) are rounded; cells
 * where `mask` is 0 get `maskColor` ("#rrggbb"). Returns `out`.
 */
export function heatPixels(out, values, table, { offset = 0, mask = null, maskColor = "#000000" } = {}) {
  const n = out.length >> 2, m = hexToRgb(maskColor);
  for (let c = 0; c < n; c++) {
    const o = c * 4;
    if (mask && !mask[c]) { out[o] = m[0]; out[o + 1] = m[1]; out[o + 2] = m[2]; }
    else { const v = Math.round(values[offset + c]) * 3; out[o] = table[v]; out[o + 1] = table[v + 1]; out[o + 2] = table[v + 2]; }
    out[o + 3] = 255;
  }
  return out;
}

/** ImageData of `w` × `h` cells (rows first) painted by heatPixels, made by `ctx`. */
export function heatImage(ctx, w, h, values, table, opts) {
  const img = ctx.createImageData(w, h);
  heatPixels(img.data, values, table, opts);
  return img;
}

/**
 * The values a heat map's colours span: the data's [lo, hi], or, stretched, lo … the largest value of
 * `plane` (quantized bytes over [lo, hi]; cells where `mask` is 0 left out), ± its largest magnitude
 * for signed data. Returns {lo, hi, stretched}.
 */
export function colorRange(lo, hi, plane, mask, stretch) {
  if (!stretch) return { lo, hi, stretched: false };
  let qmin = 255, qmax = 0;
  for (let c = 0; c < plane.length; c++) {
    if (mask && !mask[c]) continue;
    const q = plane[c];
    if (q > qmax) qmax = q;
    if (q < qmin) qmin = q;
  }
  const step = (hi - lo) / 255, vmax = dequantize(qmax, lo, hi), vmin = dequantize(Math.min(qmin, qmax), lo, hi);
  if (isDiverging(lo, hi)) {
    const m = Math.max(Math.abs(vmin), Math.abs(vmax), step);
    return { lo: -m, hi: m, stretched: true };
  }
  return { lo, hi: Math.max(vmax, lo + step), stretched: true };
}
