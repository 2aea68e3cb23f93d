// Weights of decoded `_data` (protocol.js decodeData): dequantized bytes, sparse top-k lookups,
// masks, and the exact float32 of `_exact` where it covers a cell. DOM-free.

/** Value of a quantized byte. */
export function dequantize(q, lo, hi) {
  return lo + (q * (hi - lo)) / 255;
}

/** Sparse data: quantized byte of (h, i, j) when j is among query i's top-k keys of head h, else -1. */
export function topKByte(data, h, i, j) {
  const off = (h * data.Q + i) * data.k;
  for (let c = 0; c < data.k; c++) if (data.idx[off + c] === j) return data.val[off + c];
  return -1;
}

/** Sparse data: the smallest of query i's top-k bytes of head h (every other key is at most this). */
export function topKFloor(data, h, i) {
  return data.val[(h * data.Q + i) * data.k + data.k - 1];
}

/** Quantized byte of (head h, query i, key j); sparse data: the top-k byte, or the row's floor. */
export function qAt(data, h, i, j) {
  if (data.sparse) { const b = topKByte(data, h, i, j); return b >= 0 ? b : topKFloor(data, h, i); }
  return data.q[(h * data.Q + i) * data.K + j];
}

/** Dequantized value of (h, i, j). */
export function valueAt(data, h, i, j) {
  return dequantize(qAt(data, h, i, j), data.lo, data.hi);
}

/** True when the mask forbids query i from attending to key j. */
export function isMasked(data, i, j) {
  if (data.sparse) {
    if (data.maskKind === "causal") return j > i;
    // pooled: known masked only when no cell of the block is attended
    return data.poolMask !== null && data.poolMask[Math.floor(i / data.bq) * data.Pk + Math.floor(j / data.bk)] === 0;
  }
  return data.mask !== null && data.mask[i * data.K + j] === 0;
}

/**
 * Best available value of (h, i, j): the exact float32 from `_exact` when it covers the cell
 * (row of the pinned query or column of the pinned key), else the dequantized byte.
 * Returns {value, exact: bool}; sparse data: `below: true` when the key is not among the row's
 * top-k (then `value` is the smallest top-k value, an upper bound).
 */
export function bestValue(data, exact, h, i, j) {
  if (exact) {
    if (exact.row && exact.query === i) return { value: exact.row[h * data.K + j], exact: true };
    if (exact.col && exact.key === j) return { value: exact.col[h * data.Q + i], exact: true };
  }
  if (data.sparse) { // a top-k value, or below the smallest top-k value of the row
    const b = topKByte(data, h, i, j);
    if (b >= 0) return { value: dequantize(b, data.lo, data.hi), exact: false };
    return { value: dequantize(topKFloor(data, h, i), data.lo, data.hi), exact: false, below: true };
  }
  return { value: valueAt(data, h, i, j), exact: false };
}
