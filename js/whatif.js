// What-if of the explain view: one query's softmax recomputed from its unscaled dots, the layer's scale,
// its mask and the values V, with a temperature, keys left out and the mask lifted. The same arithmetic
// as attnwidget/explain.py's explain(temperature=, drop=, unmask=). DOM-free.

/** The layer's own computation: temperature 1, no key dropped, the mask as the layer applied it. */
export const LAYER_OWN = Object.freeze({ temperature: 1, dropped: Object.freeze([]), unmasked: false });

/** Whether `w` ({temperature, dropped, unmasked}) changes nothing. */
export function isLayerOwn(w) {
  return !w || (w.temperature === 1 && !w.unmasked && !(w.dropped && w.dropped.length));
}

/**
 * Which keys the softmax sees: the mask's (all when `unmasked` or there is no mask), less `dropped`.
 * S: number of keys; mask: Uint8Array(S) (0 = masked) or null. Returns Uint8Array(S) of 0/1.
 */
export function allowedKeys(S, mask, { dropped = [], unmasked = false } = {}) {
  const out = new Uint8Array(S);
  for (let j = 0; j < S; j++) out[j] = unmasked || !mask || mask[j] !== 0 ? 1 : 0;
  for (const j of dropped) if (j >= 0 && j < S) out[j] = 0;
  return out;
}

/**
 * softmax(dotsⱼ · scale / temperature) over the allowed keys, exactly 0 elsewhere (all 0 when none is
 * allowed), and output = Σⱼ wⱼ vⱼ. ex: {S, valueDim, scale, dots (S), mask (S) | null, V (S × valueDim)}
 * (protocol.js decodeExplain). Returns {logits: Float64Array(S) (−∞ where not allowed), weights:
 * Float64Array(S), output: Float64Array(valueDim), allowed: Uint8Array(S)}. Float64, like the NumPy side.
 */
export function whatIf(ex, w = LAYER_OWN) {
  const { S, valueDim: vd, scale, dots, V } = ex;
  const t = w.temperature ?? 1;
  if (!(t > 0) || !Number.isFinite(t)) throw new RangeError(`temperature must be a positive number, got ${t}`);
  const allowed = allowedKeys(S, ex.mask, w);
  const logits = new Float64Array(S), weights = new Float64Array(S), output = new Float64Array(vd);
  let top = -Infinity;
  for (let j = 0; j < S; j++) {
    logits[j] = allowed[j] ? (dots[j] * scale) / t : -Infinity;
    if (logits[j] > top) top = logits[j];
  }
  let sum = 0;
  for (let j = 0; j < S; j++) { weights[j] = allowed[j] ? Math.exp(logits[j] - top) : 0; sum += weights[j]; }
  for (let j = 0; j < S; j++) {
    weights[j] = sum > 0 ? weights[j] / sum : 0;
    if (weights[j]) for (let c = 0; c < vd; c++) output[c] += weights[j] * V[j * vd + c];
  }
  return { logits, weights, output, allowed };
}

/** `dropped` with key `j` added, or taken out when it is there (sorted, as Python's `dropped`). */
export function toggleDrop(dropped, j) {
  const s = new Set(dropped);
  if (s.has(j)) s.delete(j); else s.add(j);
  return [...s].sort((a, b) => a - b);
}
