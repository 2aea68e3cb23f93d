// The wire protocol, front-end side: the schema Python sends (`_schema`), the one layer-switch rule,
// and every decoder of a synced binary field (`_data`, `_exact`, `_overview`, `_explain`, base64).
// DOM-free. tests/fixtures/layer_switch.json holds the rule's cases for this file and Python's.

/** Used only when a model carries no `_schema` (state saved by an older attnwidget). */
export const FALLBACK_SCHEMA = {
  views: [["graph", "Graph"], ["matrix", "Matrix"], ["heads", "Heads"], ["explain", "Explain"], ["model", "Model"]],
  aggregates: [["none", "per head"], ["mean", "mean of heads"], ["max", "max of heads"]],
  modes: [["all", "all", null], ["encoder", "encoder (self)", "self"], ["decoder", "decoder (causal)", "causal"], ["cross", "cross", "cross"]],
  layer_kinds: ["self", "causal", "cross"],
  traits: ["_data", "_exact", "_explain", "_can_explain", "_overview", "_layers_meta", "query_tokens", "key_tokens", "head_names",
    "layer_names", "layer_kinds", "info", "selected_query", "selected_key", "heads", "head", "layer", "batch", "view",
    "threshold", "top_k", "aggregate", "mode", "segment_start", "theme"],
  ui_traits: ["layer", "batch", "view", "heads", "head", "aggregate", "mode", "selected_query", "selected_key",
    "threshold", "top_k", "scale", "color_max", "palette"],
};

/** The traits a layer switch decides together. */
const LAYER_STATE = ["layer", "heads", "head", "selected_query", "selected_key", "mode"];

export function readSchema(model) {
  const s = model.get("_schema");
  return s && Array.isArray(s.views) && Array.isArray(s.modes) ? s : FALLBACK_SCHEMA;
}

/** The layer kind a mode shows (null: every layer). */
export function modeKind(schema, mode) {
  const m = schema.modes.find(([name]) => name === mode);
  return m ? m[2] : null;
}

/** Indices of the layers (of `kinds`, one per layer) that `mode` shows. */
export function layersInMode(schema, kinds, mode) {
  const want = modeKind(schema, mode), idx = kinds.map((_, i) => i);
  return want == null ? idx : idx.filter((i) => kinds[i] === want);
}

/**
 * The layer-switch rule. state: {layer, heads, head, selected_query, selected_key, mode};
 * from / to: {H, Q, K, kind} of the layers (to.layer: the new index). Returns the new state:
 * chosen heads that exist stay chosen (all of them when all were shown or none is left), a pin
 * past the new layer's tokens is released, a mode that does not show the new layer becomes "all".
 */
export function switchLayer(schema, state, from, to) {
  const heads = state.heads || [];
  const kept = heads.filter((h) => h < to.H);
  const want = modeKind(schema, state.mode);
  const inRange = (i, n) => (i != null && i < n ? i : null);
  return {
    layer: to.layer,
    heads: kept.length && heads.length < from.H ? kept : Array.from({ length: to.H }, (_, i) => i),
    head: state.head < to.H ? state.head : 0,
    selected_query: inRange(state.selected_query, to.Q),
    selected_key: inRange(state.selected_key, to.K),
    mode: want == null || want === to.kind ? state.mode : schema.modes.find((m) => m[2] == null)[0],
  };
}

/** The patch that moves `model` to layer `to` by switchLayer, from `_layers_meta` (per layer {name,
 * kind, H, Q, K, query_tokens, key_tokens, head_names}); {layer} alone where a layer is not in it. */
export function layerPatch(schema, model, to) {
  const meta = model.get("_layers_meta") || [], from = meta[model.get("layer") | 0], next = meta[to];
  if (!from || !next) return { layer: to };
  const state = Object.fromEntries(LAYER_STATE.map((k) => [k, model.get(k)]));
  return switchLayer(schema, state, from, { layer: to, H: next.H, Q: next.Q, K: next.K, kind: next.kind });
}

// ----- segment_start, theme: the second segment's first token in a column of n (1..n-1, else -1: one segment),
// and the colours: "light" | "dark" whatever the page's theme, else "auto" (the page's) ---------------------
export const segmentStart = (v, n) => (Number.isInteger(v) && v > 0 && v < n ? v : -1);
/** Where the divider between two segments crosses a Q × K map: {y, x} as shares of its height and width (null: none). */
export function segmentFractions(v, Q, K) {
  const r = segmentStart(v, Q), c = segmentStart(v, K);
  return { y: r > 0 ? r / Q : null, x: c > 0 ? c / K : null };
}
export const themeMode = (v) => (v === "light" || v === "dark" ? v : "auto");

// ----- bytes ----------------------------------------------------------------------------------
const EMPTY = new Uint8Array(0);
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** Bytes of a base64 string (whitespace ignored). */
export function base64Bytes(s) {
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
  if (typeof x === "string") return x.length ? base64Bytes(x) : EMPTY;
  if (Array.isArray(x)) return Uint8Array.from(x);
  if (typeof x === "object" && x.buffer !== undefined) return toBytes(x.buffer);
  throw new TypeError(`attnwidget: cannot read binary data from ${Object.prototype.toString.call(x)}`);
}

/** Bytes a binary field holds, without decoding it (base64: counted from its length). */
export function byteLength(x) {
  if (typeof x !== "string") return toBytes(x).byteLength;
  const s = /\s/.test(x) ? x.replace(/\s+/g, "") : x;
  const pad = s.endsWith("==") ? 2 : s.endsWith("=") ? 1 : 0;
  return Math.max(0, Math.floor((s.length * 3) / 4) - pad);
}

/** A size a payload claims: a whole number >= 0, else an Error naming `what`. */
function count(v, what) {
  const n = Number(v);
  if (!Number.isSafeInteger(n) || n < 0) throw new Error(`attnwidget: ${what} is ${JSON.stringify(v)}, not a size`);
  return n;
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

/** Little-endian unsigned ints of `bits` (16 or 32) from bytes; a view when aligned, else a copy. */
function toUints(x, bits) {
  const b = toBytes(x), size = bits / 8, n = Math.floor(b.byteLength / size);
  const Arr = bits === 16 ? Uint16Array : Uint32Array;
  if (LITTLE_ENDIAN && b.byteOffset % size === 0) return new Arr(b.buffer, b.byteOffset, n);
  const dv = new DataView(b.buffer, b.byteOffset, n * size), out = new Arr(n);
  for (let i = 0; i < n; i++) out[i] = bits === 16 ? dv.getUint16(i * 2, true) : dv.getUint32(i * 4, true);
  return out;
}

const num = (x, dflt) => { const v = Number(x); return Number.isFinite(v) ? v : dflt; };
const int = (x) => (Number.isInteger(x) ? x : Math.trunc(Number(x)));

// ----- _data, _exact ----------------------------------------------------------------------------
/** Fields dense and sparse `_data` share: value range, flags, per-head statistics. */
function dataCommon(d, H) {
  const lo = num(d.lo, 0);
  let hi = num(d.hi, 1);
  if (!(hi > lo)) hi = lo + Math.max(1, Math.abs(lo) * 2 ** -20); // lo + 1 is lo itself past 2**53
  const arr = (a) => (Array.isArray(a) ? a.map((v) => num(v, NaN)) : new Array(H).fill(NaN));
  return { lo, hi, probability: Boolean(d.probability), nonfinite: Math.max(0, Math.trunc(num(d.nonfinite, 0))),
    headMax: arr(d.head_max), headEntropy: arr(d.head_entropy) };
}

/**
 * The sizes `_data` claims, checked against the bytes it holds before anything is decoded or allocated
 * (an edited copy may claim 10⁷ keys). Returns null when there is nothing to show; {H, Q, K} (dense) or
 * {sparse: true, H, Q, K, k, bits, bq, bk, Pq, Pk} (sparse); throws a one-line Error when bytes are missing.
 */
export function dataShape(d) {
  if (!d || !Array.isArray(d.shape) || d.shape.length !== 3) return null;
  const [H, Q, K] = d.shape.map((v, i) => count(v, `_data.shape[${i}]`));
  if (!H || !Q || !K) return null;
  if (d.mode !== "sparse") {
    const n = byteLength(d.q);
    if (n < H * Q * K) throw new Error(`attnwidget: _data.q has ${n} bytes, shape ${H}x${Q}x${K} needs ${H * Q * K}`);
    return { H, Q, K };
  }
  const k = d.k == null ? Math.min(16, K) : count(d.k, "_data.k");
  const bits = Number(d.idx_bits) === 32 ? 32 : 16;
  if (!k || k > K) throw new Error(`attnwidget: sparse _data keeps ${k} of ${K} keys per query`);
  if (bits === 16 && K > 65536) throw new Error(`attnwidget: sparse _data claims ${K} keys, more than 16-bit indices reach`);
  const ni = byteLength(d.idx) / (bits / 8), nv = byteLength(d.val);
  if (ni < H * Q * k || nv < H * Q * k) {
    throw new Error(`attnwidget: sparse _data has ${Math.floor(ni)} indices and ${nv} values, shape ${H}x${Q}x${k} needs ${H * Q * k}`);
  }
  const [bq, bk] = (Array.isArray(d.pool_block) ? d.pool_block : [1, 1]).map((v, i) => Math.max(1, count(v, `_data.pool_block[${i}]`)));
  const Pq = Math.ceil(Q / bq), Pk = Math.ceil(K / bk);
  const np = byteLength(d.pool);
  if (np < H * Pq * Pk) throw new Error(`attnwidget: _data.pool has ${np} bytes, needs ${H * Pq * Pk}`);
  return { sparse: true, H, Q, K, k, bits, bq, bk, Pq, Pk };
}

/**
 * Decode `_data`. Returns null when there is nothing to show.
 * Dense: {H, Q, K, q: Uint8Array(H*Q*K), lo, hi, probability, mask: Uint8Array(Q*K)|null,
 * nonfinite, headMax: number[], headEntropy: number[]}; sparse: see decodeSparse.
 */
export function decodeData(d) {
  const s = dataShape(d);
  if (!s) return null;
  if (s.sparse) return decodeSparse(d, s);
  const { H, Q, K } = s;
  const mask = toBytes(d.mask);
  return { H, Q, K, q: toBytes(d.q), mask: mask.length >= Q * K ? mask : null, ...dataCommon(d, H) };
}

/**
 * Sparse `_data`: each query's top-k keys per head and a max-pooled overview. Result: {sparse: true,
 * H, Q, K, k, idx, val: Uint8Array(H*Q*k), pool: Uint8Array(H*Pq*Pk), Pq, Pk, bq, bk, maskKind,
 * poolMask: Uint8Array(Pq*Pk)|null (1 = some cell attended), mask: null, masked: bool, lo, hi, ...}.
 */
function decodeSparse(d, { H, Q, K, k, bits, bq, bk, Pq, Pk }) {
  const idx = toUints(d.idx, bits), val = toBytes(d.val), pool = toBytes(d.pool);
  const maskKind = d.mask_kind === "causal" || d.mask_kind === "pooled" ? d.mask_kind : "none";
  let poolMask = null;
  if (maskKind === "pooled") {
    poolMask = toBytes(d.pool_mask);
    if (poolMask.length < Pq * Pk) poolMask = null;
  } else if (maskKind === "causal") { // block (a, b) has an attended cell when its first key <= its last query
    poolMask = new Uint8Array(Pq * Pk);
    for (let a = 0; a < Pq; a++) for (let b = 0; b < Pk; b++) poolMask[a * Pk + b] = b * bk <= Math.min(Q, (a + 1) * bq) - 1 ? 1 : 0;
  }
  return { sparse: true, H, Q, K, k, idx, val, pool, Pq, Pk, bq, bk, maskKind, poolMask, mask: null, masked: maskKind !== "none",
    ...dataCommon(d, H) };
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

// ----- _overview, _explain ----------------------------------------------------------------------
/** Largest side of a canvas browsers draw (Chrome's limit): the model view's thumbnails fit in one. */
const CANVAS_MAX = 32767;

/** Decode `_overview` (the model view's thumbnails): {q: Uint8Array, layers: [...]}, or null. */
export function decodeOverview(o) {
  if (!o || !Array.isArray(o.layers) || !o.layers.length) return null;
  const q = toBytes(o.q);
  const layers = o.layers.map((l, i) => overviewLayer(l, i, q.length));
  const side = Math.max(...layers.map((l) => Math.max(l.h, l.w))), cols = Math.max(...layers.map((l) => l.H)) + 1;
  if (cols * side > CANVAS_MAX || layers.length * side > CANVAS_MAX) {
    throw new Error(`attnwidget: _overview has ${layers.length} layers × ${cols - 1} heads of ${side}-pixel thumbnails, more than a canvas holds`);
  }
  return { q, layers };
}

/** One `_overview` layer, its heads and thumbnails checked against the `n` bytes of `q`. */
function overviewLayer(l, i, n) {
  const c = (k) => count(l[k], `_overview.layers[${i}].${k}`);
  const H = c("H"), h = c("h"), w = c("w"), offset = c("offset"), mean = c("mean_offset");
  const Q = l.Q == null ? h : c("Q"), K = l.K == null ? w : c("K");
  if (!H || !h || !w || h > Q || w > K) throw new Error(`attnwidget: _overview.layers[${i}] has ${H} heads of ${h}x${w} thumbnails for ${Q}x${K}`);
  if (offset + H * h * w > n || mean + h * w > n) throw new Error(`attnwidget: _overview.q too short for layer ${l.name} (${n} bytes, ${H} heads of ${h}x${w})`);
  return { ...l, H, h, w, Q, K, offset, mean_offset: mean };
}

/**
 * `_layers_meta` checked: each layer's H, Q and K are the lengths of the head names and tokens it holds
 * (a layer switch allocates by them). Returns the list ([] when absent); throws a one-line Error.
 */
export function checkLayersMeta(meta) {
  if (meta == null) return [];
  if (!Array.isArray(meta)) throw new Error("attnwidget: _layers_meta is not a list");
  meta.forEach((m, i) => {
    const H = count(m?.H, `_layers_meta[${i}].H`), Q = count(m.Q, `_layers_meta[${i}].Q`), K = count(m.K, `_layers_meta[${i}].K`);
    const len = (a) => (Array.isArray(a) ? a.length : 0);
    if (len(m.head_names) !== H || len(m.query_tokens) !== Q || len(m.key_tokens) !== K) {
      throw new Error(`attnwidget: _layers_meta[${i}] claims ${H} heads × ${Q} × ${K} but holds ${len(m.head_names)} head names, ` +
        `${len(m.query_tokens)} query and ${len(m.key_tokens)} key tokens`);
    }
  });
  return meta;
}

/** Decode `_explain` (one query and head, walked through). null when empty; {error} when Python failed. */
export function decodeExplain(e) {
  if (!e || typeof e !== "object" || !Number.isInteger(e.query)) return null;
  const base = { query: e.query, head: int(e.head) || 0, batch: int(e.batch) || 0 };
  if (e.error != null) return { ...base, error: String(e.error) };
  const S = int(e.S), kd = int(e.key_dim), vd = int(e.value_dim);
  if (!(S > 0 && kd > 0 && vd > 0)) throw new Error(`attnwidget: _explain has S=${e.S}, key_dim=${e.key_dim}, value_dim=${e.value_dim}`);
  const f32 = (name, n) => {
    const a = toFloat32(e[name]);
    if (a.length < n) throw new Error(`attnwidget: _explain.${name} has ${a.length} values, needs ${n}`);
    return a;
  };
  const m = toBytes(e.mask);
  return {
    ...base, S, keyDim: kd, valueDim: vd, scale: Number(e.scale),
    dots: f32("dots", S), logits: f32("logits", S), weights: f32("weights", S),
    mask: m.length >= S ? m : null, q: f32("q", kd), V: f32("V", S * vd), output: f32("output", vd),
  };
}
