// Decoding of the synced `_data` / `_exact` traits (see attnwidget/codec.py). DOM-free.

const EMPTY = new Uint8Array(0);

function decodeBase64(s) {
  if (typeof atob === "function") {
    const bin = atob(s.replace(/\s+/g, ""));
    const out = new Uint8Array(bin.length);
    for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
    return out;
  }
  // eslint-disable-next-line no-undef
  return new Uint8Array(Buffer.from(s, "base64"));
}

/** Bytes of a binary field: DataView (live kernel), ArrayBuffer, any typed array, base64 string. */
export function toBytes(x) {
  if (x == null) return EMPTY;
  if (x instanceof Uint8Array) return x;
  if (ArrayBuffer.isView(x)) return new Uint8Array(x.buffer, x.byteOffset, x.byteLength);
  if (x instanceof ArrayBuffer) return new Uint8Array(x);
  if (typeof SharedArrayBuffer !== "undefined" && x instanceof SharedArrayBuffer) return new Uint8Array(x);
  if (typeof x === "string") return x.length ? decodeBase64(x) : EMPTY;
  if (Array.isArray(x)) return Uint8Array.from(x);
  if (typeof x === "object" && x.buffer !== undefined) return toBytes(x.buffer);
  throw new TypeError(`attnwidget: cannot read binary data from ${Object.prototype.toString.call(x)}`);
}

/** Little-endian float32 values of a binary field (copies when unaligned or on big-endian hosts). */
export function toFloat32(x) {
  const b = toBytes(x);
  const n = b.byteLength >> 2;
  if (LITTLE_ENDIAN && b.byteOffset % 4 === 0) return new Float32Array(b.buffer, b.byteOffset, n);
  const dv = new DataView(b.buffer, b.byteOffset, n * 4);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = dv.getFloat32(i * 4, true);
  return out;
}

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** Value of a quantized byte. */
export function dequantize(q, lo, hi) {
  return lo + (q * (hi - lo)) / 255;
}

function num(x, dflt) {
  const v = Number(x);
  return Number.isFinite(v) ? v : dflt;
}

/**
 * Decode `_data`. Returns null when there is nothing to show.
 * Result: {H, Q, K, q: Uint8Array(H*Q*K), lo, hi, probability, mask: Uint8Array(Q*K)|null,
 *          nonfinite, headMax: number[], headEntropy: number[]}
 */
export function decodeData(d) {
  if (!d || !Array.isArray(d.shape) || d.shape.length !== 3) return null;
  const [H, Q, K] = d.shape.map((v) => Math.max(0, Math.trunc(Number(v)) || 0));
  if (!H || !Q || !K) return null;
  if (d.mode === "sparse") return decodeSparse(d, H, Q, K);
  const q = toBytes(d.q);
  if (q.length < H * Q * K) {
    throw new Error(`attnwidget: _data.q has ${q.length} bytes, shape ${H}x${Q}x${K} needs ${H * Q * K}`);
  }
  let mask = toBytes(d.mask);
  mask = mask.length >= Q * K ? mask : null;
  const lo = num(d.lo, 0);
  let hi = num(d.hi, 1);
  if (!(hi > lo)) hi = lo + 1;
  const arr = (a) => (Array.isArray(a) ? a.map((v) => num(v, NaN)) : new Array(H).fill(NaN));
  return {
    H, Q, K, q, lo, hi, mask,
    probability: Boolean(d.probability),
    nonfinite: Math.max(0, Math.trunc(num(d.nonfinite, 0))),
    headMax: arr(d.head_max),
    headEntropy: arr(d.head_entropy),
  };
}

/** Little-endian unsigned ints of `bits` (16 or 32) from bytes; a view when aligned, else a copy. */
function toUints(x, bits) {
  const b = toBytes(x), size = bits / 8, n = Math.floor(b.byteLength / size);
  const Arr = bits === 16 ? Uint16Array : Uint32Array;
  if (LITTLE_ENDIAN && b.byteOffset % size === 0) return new Arr(b.buffer, b.byteOffset, n);
  const dv = new DataView(b.buffer, b.byteOffset, n * size), out = new Arr(n);
  for (let i = 0; i < n; i++) out[i] = bits === 16 ? dv.getUint16(i * 2, true) : dv.getUint32(i * 4, true);
  return out;
}

/**
 * Sparse `_data` (attnwidget/codec.py sparse_encode): each query's top-k keys per head and a
 * max-pooled overview. Result: {sparse: true, H, Q, K, k, idx, val: Uint8Array(H*Q*k), pool:
 * Uint8Array(H*Pq*Pk), Pq, Pk, bq, bk, maskKind, poolMask: Uint8Array(Pq*Pk)|null (1 = some cell
 * attended), mask: null, masked: bool, lo, hi, ...}.
 */
function decodeSparse(d, H, Q, K) {
  const k = Math.max(1, Math.trunc(num(d.k, 16)));
  const idx = toUints(d.idx, Number(d.idx_bits) === 32 ? 32 : 16);
  const val = toBytes(d.val);
  if (idx.length < H * Q * k || val.length < H * Q * k) {
    throw new Error(`attnwidget: sparse _data has ${idx.length} indices and ${val.length} values, shape ${H}x${Q}x${k} needs ${H * Q * k}`);
  }
  const [bq, bk] = (Array.isArray(d.pool_block) ? d.pool_block : [1, 1]).map((v) => Math.max(1, Math.trunc(Number(v)) || 1));
  const Pq = Math.ceil(Q / bq), Pk = Math.ceil(K / bk);
  const pool = toBytes(d.pool);
  if (pool.length < H * Pq * Pk) throw new Error(`attnwidget: _data.pool has ${pool.length} bytes, needs ${H * Pq * Pk}`);
  const maskKind = d.mask_kind === "causal" || d.mask_kind === "pooled" ? d.mask_kind : "none";
  let poolMask = null;
  if (maskKind === "pooled") {
    poolMask = toBytes(d.pool_mask);
    if (poolMask.length < Pq * Pk) poolMask = null;
  } else if (maskKind === "causal") { // block (a, b) has an attended cell when its first key <= its last query
    poolMask = new Uint8Array(Pq * Pk);
    for (let a = 0; a < Pq; a++) for (let b = 0; b < Pk; b++) poolMask[a * Pk + b] = b * bk <= Math.min(Q, (a + 1) * bq) - 1 ? 1 : 0;
  }
  const lo = num(d.lo, 0);
  let hi = num(d.hi, 1);
  if (!(hi > lo)) hi = lo + 1;
  const arr = (a) => (Array.isArray(a) ? a.map((v) => num(v, NaN)) : new Array(H).fill(NaN));
  return {
    sparse: true, H, Q, K, k, idx, val, pool, Pq, Pk, bq, bk, maskKind, poolMask, lo, hi,
    mask: null, masked: maskKind !== "none",
    probability: Boolean(d.probability),
    nonfinite: Math.max(0, Math.trunc(num(d.nonfinite, 0))),
    headMax: arr(d.head_max),
    headEntropy: arr(d.head_entropy),
  };
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

/** Decode `_exact`: {query, key, row: Float32Array(H*K)|null, col: Float32Array(H*Q)|null}. */
export function decodeExact(e, data) {
  const out = { query: null, key: null, row: null, col: null };
  if (!e) return out;
  out.query = Number.isInteger(e.query) ? e.query : null;
  out.key = Number.isInteger(e.key) ? e.key : null;
  if (out.query !== null && e.row != null) {
    const r = toFloat32(e.row);
    if (!data || r.length >= data.H * data.K) out.row = r;
  }
  if (out.key !== null && e.col != null) {
    const c = toFloat32(e.col);
    if (!data || c.length >= data.H * data.Q) out.col = c;
  }
  return out;
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

/** Format a weight for display (4 significant decimals, scientific for tiny/huge raw scores). */
export function formatValue(v) {
  if (!Number.isFinite(v)) return String(v);
  const a = Math.abs(v);
  if (a !== 0 && (a < 1e-3 || a >= 1e5)) return v.toExponential(3);
  return v.toFixed(4);
}
