// Which lines the graph draws: threshold, top-k per token, automatic cap, aggregation. DOM-free.

import { drain } from "./steps.js";

export const DEFAULT_CAP = 100000;
/** Head codes of a difference's lines (signed data, lo < 0 < hi): drawn by sign, not by head. */
export const SIGN_POS = -2, SIGN_NEG = -3;

/** Visible heads: sorted, unique, in range. */
export function visibleHeads(heads, H) {
  const out = [...new Set((heads || []).filter((h) => Number.isInteger(h) && h >= 0 && h < H))];
  return out.sort((a, b) => a - b);
}

/** Smallest quantized byte that passes `threshold` (fraction 0..1 of [lo, hi]); never 0. */
export function thresholdByte(threshold) {
  const t = Math.min(1, Math.max(0, Number(threshold) || 0));
  return Math.max(1, Math.ceil(t * 255 - 1e-9));
}

/**
 * Aggregate over `heads` ("mean" | "max"): Float32Array(Q*K) of quantized units (0..255).
 * With mode "none" or a single head, the head's bytes are returned as floats.
 */
export function aggregate(data, heads, mode) {
  const { Q, K, q } = data;
  const n = Q * K;
  const out = new Float32Array(n);
  if (!heads.length) return out;
  if (mode === "max") {
    for (const h of heads) {
      const off = h * n;
      for (let c = 0; c < n; c++) if (q[off + c] > out[c]) out[c] = q[off + c];
    }
  } else {
    for (const h of heads) {
      const off = h * n;
      for (let c = 0; c < n; c++) out[c] += q[off + c];
    }
    if (heads.length > 1) for (let c = 0; c < n; c++) out[c] /= heads.length;
  }
  return out;
}

/** Indices of the `k` largest entries of vals[off .. off+len) that pass `keep(j)` (descending). */
function topIndices(vals, off, len, k, minV, keep) {
  const idx = [];
  for (let j = 0; j < len; j++) {
    const v = vals[off + j];
    if (v < minV || !keep(j)) continue;
    if (idx.length < k) {
      idx.push(j);
      for (let p = idx.length - 1; p > 0 && vals[off + idx[p]] > vals[off + idx[p - 1]]; p--) {
        const t = idx[p]; idx[p] = idx[p - 1]; idx[p - 1] = t;
      }
    } else if (v > vals[off + idx[k - 1]]) {
      idx[k - 1] = j;
      for (let p = k - 1; p > 0 && vals[off + idx[p]] > vals[off + idx[p - 1]]; p--) {
        const t = idx[p]; idx[p] = idx[p - 1]; idx[p - 1] = t;
      }
    }
  }
  return idx;
}

/**
 * Select lines. opts: {heads, threshold, topK, aggregate: "none"|"mean"|"max", cap}.
 * Returns {n, head: Int16Array (-1 = aggregate), query: Int32Array, key: Int32Array,
 *          weight: Float32Array (0..255 quantized units), capped: bool, topK: effective k (0 = all),
 *          total: lines that passed the threshold before any top-k}.
 */
export function selectLines(data, opts = {}) {
  return drain(selectLinesSteps(data, opts));
}

/** Values a step of selectLinesSteps reads, about (1.5 ms of a 2-core machine's time). */
export const STEP_VALUES = 1 << 16;

/**
 * selectLines in steps: a generator that yields after about STEP_VALUES of the (heads, Q, K) values and returns
 * selectLines' result, so that a hidden graph chooses its lines in idle time without one long task (40-70 ms at
 * T = 512 with 8 heads). Sparse data are one step.
 */
export function* selectLinesSteps(data, opts = {}) {
  if (data.sparse) return selectSparseLines(data, opts);
  const { H, Q, K, mask } = data;
  const rows = Math.max(1, Math.floor(STEP_VALUES / Math.max(1, K))); // query rows per step
  const heads = visibleHeads(opts.heads ?? [...Array(H).keys()], H);
  const mode = opts.aggregate === "mean" || opts.aggregate === "max" ? opts.aggregate : "none";
  const cap = opts.cap ?? DEFAULT_CAP;
  const minV = thresholdByte(opts.threshold);
  const keep = mask ? null : () => true;
  // Planes of values: one per visible head, or one aggregate plane.
  let planes;
  if (mode === "none") planes = heads.map((h) => ({ head: h, vals: data.q, off: h * Q * K }));
  else planes = heads.length ? [{ head: -1, vals: aggregate(data, heads, mode), off: 0 }] : [];
  const signed = data.lo < 0 && data.hi > 0;
  if (signed) planes = planes.map((p) => bySign(p, Q * K, (-data.lo * 255) / (data.hi - data.lo)));

  // Count what passes the threshold.
  let total = 0;
  for (const p of planes) {
    for (let i = 0; i < Q; i++) {
      const base = p.off + i * K;
      for (let j = 0; j < K; j++) {
        if (p.vals[base + j] >= minV && (!mask || mask[i * K + j])) total++;
      }
      if ((i + 1) % rows === 0) yield;
    }
  }
  let k = Math.max(0, Math.trunc(Number(opts.topK) || 0));
  let capped = false;
  const bound = (kk) => (kk > 0 ? Math.min(total, planes.length * Q * Math.min(kk, K)) : total);
  if (bound(k) > cap) {
    capped = true;
    const auto = Math.max(1, Math.floor(cap / Math.max(1, planes.length * Q)));
    k = k > 0 ? Math.min(k, auto) : auto;
  }
  const n0 = bound(k);
  const head = new Int16Array(n0), query = new Int32Array(n0), key = new Int32Array(n0);
  const weight = new Float32Array(n0);
  let n = 0;
  for (const p of planes) {
    for (let i = 0; i < Q && n < n0; i++) {
      const base = p.off + i * K;
      const ok = mask ? (j) => mask[i * K + j] !== 0 : keep;
      if (k > 0 && k < K) {
        for (const j of topIndices(p.vals, base, K, k, minV, ok)) {
          if (n >= n0) break;
          head[n] = p.sign ? signCode(p, base + j) : p.head; query[n] = i; key[n] = j; weight[n] = p.vals[base + j]; n++;
        }
      } else {
        for (let j = 0; j < K && n < n0; j++) {
          const v = p.vals[base + j];
          if (v < minV || !ok(j)) continue;
          head[n] = p.sign ? signCode(p, base + j) : p.head; query[n] = i; key[n] = j; weight[n] = v; n++;
        }
      }
      if ((i + 1) % rows === 0) yield;
    }
  }
  return {
    n,
    head: head.subarray(0, n), query: query.subarray(0, n), key: key.subarray(0, n),
    weight: weight.subarray(0, n), capped, topK: k, total, heads, aggregate: mode, signed,
  };
}

/**
 * A plane of signed values (bytes over [lo, hi] with 0 at byte `zero`) as magnitudes 0..255 (|value|
 * over the larger side's extent) and signs, so the threshold, top-k and opacity read |difference|.
 */
function bySign(p, n, zero) {
  const ext = Math.max(zero, 255 - zero) || 1, vals = new Float32Array(n), sign = new Int8Array(n);
  for (let c = 0; c < n; c++) {
    const x = p.vals[p.off + c] - zero;
    vals[c] = (Math.abs(x) * 255) / ext;
    sign[c] = x >= 0 ? 1 : -1;
  }
  return { head: p.head, vals, off: 0, sign };
}

const signCode = (p, c) => (p.sign[c] > 0 ? SIGN_POS : SIGN_NEG);

/**
 * Sparse data (each query's top-k keys per head): lines from those lists, with the same options and
 * result as selectLines. "mean"/"max" aggregate the heads' lists (a key missing from a head's list
 * counts 0 there, so the mean is a lower bound). `total`: top-k entries that pass the threshold.
 */
export function selectSparseLines(data, opts = {}) {
  const { H, Q, k: kk, idx, val } = data;
  const heads = visibleHeads(opts.heads ?? [...Array(H).keys()], H);
  const mode = opts.aggregate === "mean" || opts.aggregate === "max" ? opts.aggregate : "none";
  const cap = opts.cap ?? DEFAULT_CAP;
  const minV = thresholdByte(opts.threshold);
  const nPlanes = mode === "none" ? heads.length : heads.length ? 1 : 0;
  let total = 0;
  for (const hd of heads) {
    const end = (hd + 1) * Q * kk;
    for (let c = hd * Q * kk; c < end; c++) if (val[c] >= minV) total++;
  }
  let k = Math.max(0, Math.trunc(Number(opts.topK) || 0));
  let capped = false;
  const bound = (x) => Math.min(total, nPlanes * Q * (x > 0 ? Math.min(x, kk) : kk));
  if (bound(k) > cap) {
    capped = true;
    const auto = Math.max(1, Math.floor(cap / Math.max(1, nPlanes * Q)));
    k = k > 0 ? Math.min(k, auto) : auto;
  }
  const per = k > 0 ? Math.min(k, kk) : kk;
  const n0 = nPlanes * Q * per;
  const head = new Int16Array(n0), query = new Int32Array(n0), key = new Int32Array(n0), weight = new Float32Array(n0);
  let n = 0;
  if (mode === "none") {
    for (const hd of heads) {
      for (let i = 0; i < Q; i++) {
        const off = (hd * Q + i) * kk;
        for (let c = 0; c < per; c++) {
          const v = val[off + c];
          if (v < minV) break; // sorted: the rest are smaller
          head[n] = hd; query[n] = i; key[n] = idx[off + c]; weight[n] = v; n++;
        }
      }
    }
  } else if (heads.length) {
    const acc = new Map();
    for (let i = 0; i < Q; i++) {
      acc.clear();
      for (const hd of heads) {
        const off = (hd * Q + i) * kk;
        for (let c = 0; c < kk; c++) {
          const j = idx[off + c], v = val[off + c];
          if (!v) break;
          const prev = acc.get(j) ?? 0;
          acc.set(j, mode === "max" ? Math.max(prev, v) : prev + v);
        }
      }
      const cand = [];
      for (const [j, v0] of acc) { const v = mode === "max" ? v0 : v0 / heads.length; if (v >= minV) cand.push([j, v]); }
      cand.sort((a, b) => b[1] - a[1]);
      for (let c = 0; c < Math.min(per, cand.length); c++) { head[n] = -1; query[n] = i; key[n] = cand[c][0]; weight[n] = cand[c][1]; n++; }
    }
  }
  return {
    n, head: head.subarray(0, n), query: query.subarray(0, n), key: key.subarray(0, n),
    weight: weight.subarray(0, n), capped, topK: k, total, heads, aggregate: mode, sparse: true,
  };
}

/**
 * Lines of the pinned token from its exact float32 row/column (`_exact`, every key or query):
 * side "query" (row: H*K values) or "key" (column: H*Q values). Same options; `topK` per head.
 */
export function selectExactLines(data, values, side, index, opts = {}) {
  const { H, lo, hi } = data;
  const n = side === "query" ? data.K : data.Q;
  const heads = visibleHeads(opts.heads ?? [...Array(H).keys()], H);
  const mode = opts.aggregate === "mean" || opts.aggregate === "max" ? opts.aggregate : "none";
  const minV = thresholdByte(opts.threshold);
  const scale = 255 / (hi - lo);
  const masked = opts.isMasked || (() => false);
  const planes = [];
  const q = (v) => (Number.isFinite(v) ? Math.min(255, Math.max(0, (v - lo) * scale)) : v > 0 ? 255 : 0);
  if (mode === "none") {
    for (const hd of heads) planes.push({ head: hd, w: Float32Array.from({ length: n }, (_, t) => q(values[hd * n + t])) });
  } else if (heads.length) {
    const w = new Float32Array(n);
    for (const hd of heads) for (let t = 0; t < n; t++) { const v = q(values[hd * n + t]); w[t] = mode === "max" ? Math.max(w[t], v) : w[t] + v; }
    if (mode === "mean") for (let t = 0; t < n; t++) w[t] /= heads.length;
    planes.push({ head: -1, w });
  }
  const k = Math.max(0, Math.trunc(Number(opts.topK) || 0));
  const out = { head: [], query: [], key: [], weight: [] };
  for (const p of planes) {
    let ts = [];
    for (let t = 0; t < n; t++) {
      if (Math.round(p.w[t]) < minV) continue;
      if (masked(side === "query" ? index : t, side === "query" ? t : index)) continue;
      ts.push(t);
    }
    if (k > 0 && ts.length > k) ts = ts.sort((a, b) => p.w[b] - p.w[a]).slice(0, k);
    for (const t of ts) {
      out.head.push(p.head); out.query.push(side === "query" ? index : t); out.key.push(side === "query" ? t : index); out.weight.push(p.w[t]);
    }
  }
  return { n: out.head.length, head: Int16Array.from(out.head), query: Int32Array.from(out.query), key: Int32Array.from(out.key),
    weight: Float32Array.from(out.weight), heads, aggregate: mode, side, index };
}
