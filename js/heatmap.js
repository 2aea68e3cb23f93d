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
  if (LITTLE_ENDIAN && out.byteOffset % 4 === 0) { // one 32-bit write a cell, from a table of 256 packed colours
    const px = new Uint32Array(out.buffer, out.byteOffset, n), lut = packed(table), mc = pack(m[0], m[1], m[2]);
    for (let c = 0; c < n; c++) {
      if (mask && !mask[c]) { px[c] = mc; continue; }
      const x = lut[Math.round(values[offset + c])];
      px[c] = x === undefined ? OPAQUE_BLACK : x; // outside 0..255 (NaN): black, as the byte path gives
    }
    return out;
  }
  for (let c = 0; c < n; c++) {
    const o = c * 4;
    if (mask && !mask[c]) { out[o] = m[0]; out[o + 1] = m[1]; out[o + 2] = m[2]; }
    else { const v = Math.round(values[offset + c]) * 3; out[o] = table[v]; out[o + 1] = table[v + 1]; out[o + 2] = table[v + 2]; }
    out[o + 3] = 255;
  }
  return out;
}

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
const pack = (r, g, b) => ((255 << 24) | ((b & 255) << 16) | ((g & 255) << 8) | (r & 255)) >>> 0; // RGBA bytes, little-endian
const OPAQUE_BLACK = pack(0, 0, 0);
const luts = new WeakMap();

/** `table`'s 256 RGB entries as packed RGBA pixels (made once per table). */
function packed(table) {
  let lut = luts.get(table);
  if (!lut) {
    lut = new Uint32Array(256);
    for (let i = 0; i < 256; i++) lut[i] = pack(table[i * 3] ?? 0, table[i * 3 + 1] ?? 0, table[i * 3 + 2] ?? 0);
    luts.set(table, lut);
  }
  return lut;
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

/** The divider between two segments (protocol.js segmentFractions `f`) across a map drawn at {x, y, w, h}. */
export function strokeSegments(ctx, rect, f, color, width) {
  if (f.x == null && f.y == null) return;
  ctx.strokeStyle = color; ctx.lineWidth = width;
  ctx.beginPath();
  if (f.y != null) { const y = rect.y + f.y * rect.h; ctx.moveTo(rect.x, y); ctx.lineTo(rect.x + rect.w, y); }
  if (f.x != null) { const x = rect.x + f.x * rect.w; ctx.moveTo(x, rect.y); ctx.lineTo(x, rect.y + rect.h); }
  ctx.stroke();
}
