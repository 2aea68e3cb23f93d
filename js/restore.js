// A static copy opens as the live view was left: beside the copy, a small output of its own (Python
// keeps it current with update_display, attnwidget/export.py UiRecord) holds the last view, layer,
// heads, pin, scale and colours; the static boot applies it to the copy's model before it renders.
// Also unpacks the explain table a copy carries packed (logits, weights and output left out).

import { FALLBACK_SCHEMA, toFloat32, toBytes } from "./protocol.js";

/** The traits the small output records when an old copy has no `_schema.ui_traits` (Python sends them). */
export const UI_TRAITS = FALLBACK_SCHEMA.ui_traits;

/** The recorded UI of the widget `uid` in `doc` (the last such output), or null. */
export function savedUi(doc, uid) {
  if (!uid || !doc) return null;
  const els = doc.querySelectorAll(`script.aw-ui[data-aw-uid="${String(uid).replace(/[^0-9a-f]/gi, "")}"]`);
  if (!els.length) return null;
  try { return JSON.parse(els[els.length - 1].textContent); } catch { return null; }
}

const isIndex = (x, n) => Number.isInteger(x) && x >= 0 && x < n;

/**
 * Apply `saved` ({trait: value}) to `model` (static.js staticModel), trait by trait, each only when it
 * fits what the copy holds (a layer it has, heads of that layer, a pin among its tokens, a view it
 * offers). Returns the names applied.
 */
export function applyUi(model, saved) {
  if (!saved || typeof saved !== "object") return [];
  const schema = model.get("_schema") && Array.isArray(model.get("_schema").views) ? model.get("_schema") : FALLBACK_SCHEMA;
  const meta = () => (model.get("_layers_meta") || [])[model.get("layer") | 0] || {};
  const nb = Number((model.get("info") || {}).batch_size) || 1;
  const fits = {
    layer: (x) => isIndex(x, (model.get("layer_names") || []).length),
    batch: (x) => isIndex(x, nb),
    view: (x) => schema.views.some(([v]) => v === x),
    heads: (x) => Array.isArray(x) && x.every((h) => isIndex(h, meta().H ?? (model.get("head_names") || []).length)),
    head: (x) => isIndex(x, meta().H ?? (model.get("head_names") || []).length),
    aggregate: (x) => schema.aggregates.some(([v]) => v === x),
    mode: (x) => schema.modes.some(([v]) => v === x),
    selected_query: (x) => x === null || isIndex(x, meta().Q ?? (model.get("query_tokens") || []).length),
    selected_key: (x) => x === null || isIndex(x, meta().K ?? (model.get("key_tokens") || []).length),
    threshold: (x) => typeof x === "number" && x >= 0 && x <= 1,
    top_k: (x) => Number.isInteger(x) && x >= 0,
    scale: (x) => typeof x === "number" && x >= 0.5 && x <= 4,
    palette: (x) => typeof x === "string" && x.length < 40,  // colors.js falls back on a name it does not know
    color_max: (x) => typeof x === "boolean",
  };
  const applied = [];
  for (const k of Array.isArray(schema.ui_traits) ? schema.ui_traits : UI_TRAITS) {
    if (!(k in saved) || !fits[k] || !fits[k](saved[k])) continue;
    if (JSON.stringify(model.get(k)) !== JSON.stringify(saved[k])) model.set(k, saved[k]);
    applied.push(k);
  }
  return applied;
}

/**
 * A packed explain table (export.py leaves out what follows from the rest) made whole again, entry by
 * entry: logits = dots × scale, weights = softmax over the keys the mask allows, output = Σ wⱼ vⱼ with
 * the head's values V. Float32Arrays, which the explain view reads like the bytes Python sends.
 */
export function unpackExplain(state) {
  if (!state || !state._explain_packed || !state._explain_table) return;
  const values = state._explain_values || {};
  // decoded here once, not at every pin (a head's V is S × value_dim floats, the same for all its queries)
  for (const [hd, v] of Object.entries(values)) values[hd] = toFloat32(v);
  for (const e of Object.values(state._explain_table)) {
    if (!e || e.error != null || e.logits != null) continue;
    const S = e.S | 0, vd = e.value_dim | 0, dots = toFloat32(e.dots), mask = toBytes(e.mask), V = values[String(e.head)] ?? new Float32Array(0);
    const ok = (j) => !(mask.length >= S && mask[j] === 0);
    const logits = new Float32Array(S), weights = new Float32Array(S), output = new Float32Array(vd);
    let top = -Infinity;
    for (let j = 0; j < S; j++) { logits[j] = dots[j] * e.scale; if (ok(j) && logits[j] > top) top = logits[j]; }
    let sum = 0;
    for (let j = 0; j < S; j++) { weights[j] = ok(j) ? Math.exp(logits[j] - top) : 0; sum += weights[j]; }
    for (let j = 0; j < S; j++) {
      weights[j] = sum > 0 ? weights[j] / sum : 0;
      if (V.length >= (j + 1) * vd) for (let c = 0; c < vd; c++) output[c] += weights[j] * V[j * vd + c];
    }
    Object.assign(e, { dots, mask, q: toFloat32(e.q), logits, weights, output });
  }
  state._explain_packed = false;
}
