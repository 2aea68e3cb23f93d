// A static copy restores the live view's last state (the small output Python keeps current), and
// unpacks the explain table a copy carries without its derived fields.
import { test } from "node:test";
import assert from "node:assert/strict";
import { applyUi, unpackExplain, savedUi, UI_TRAITS } from "../restore.js";
import { staticModel } from "../static.js";

const meta = [
  { name: "enc", kind: "self", H: 2, Q: 3, K: 3, query_tokens: ["a", "b", "c"], key_tokens: ["a", "b", "c"], head_names: ["head 0", "head 1"] },
  { name: "cross", kind: "cross", H: 4, Q: 2, K: 3, query_tokens: ["x", "y"], key_tokens: ["a", "b", "c"], head_names: ["head 0", "head 1", "head 2", "head 3"] },
];
const state = () => ({
  layer: 0, batch: 0, view: "graph", heads: [0, 1], head: 0, aggregate: "none", mode: "all", selected_query: null, selected_key: null,
  threshold: 0, top_k: 0, scale: 1, color_max: false, palette: "default", layer_names: ["enc", "cross"], _layers_meta: meta, info: { batch_size: 1 },
  query_tokens: meta[0].query_tokens, key_tokens: meta[0].key_tokens, head_names: meta[0].head_names,
  _slices: { "0,0": { shape: [2, 3, 3], tag: "layer0" }, "1,0": { shape: [4, 2, 3], tag: "layer1" } }, _data: { shape: [2, 3, 3], tag: "layer0" },
});

test("the last view, layer, heads, pin, scale and colours are applied, tokens and data following the layer", () => {
  const model = staticModel(state());
  const saved = { layer: 1, batch: 0, view: "matrix", heads: [3], head: 3, aggregate: "mean", mode: "cross", selected_query: 1,
    selected_key: null, threshold: 0.25, top_k: 2, scale: 1.5, color_max: true, palette: "okabe-ito" };
  const applied = applyUi(model, saved);
  assert.deepEqual(applied.sort(), UI_TRAITS.slice().sort());
  assert.equal(model.get("layer"), 1);
  assert.deepEqual(model.get("query_tokens"), ["x", "y"]);
  assert.equal(model.get("_data").tag, "layer1");
  for (const [k, v] of Object.entries(saved)) assert.deepEqual(model.get(k), v, k);
});

test("values the copy cannot hold are left as they are", () => {
  const model = staticModel(state());
  const applied = applyUi(model, { layer: 7, view: "nope", heads: [5], head: -1, selected_query: 3, top_k: 1.5, scale: 9, color_max: "yes", threshold: 2 });
  assert.deepEqual(applied, []);
  assert.equal(model.get("layer"), 0);
  assert.deepEqual(model.get("heads"), [0, 1]);
  assert.equal(model.get("selected_query"), null);
  // heads are checked against the layer the state moves to
  assert.deepEqual(applyUi(staticModel(state()), { layer: 1, heads: [3] }), ["layer", "heads"]);
  assert.deepEqual(applyUi(staticModel(state()), { heads: [3] }), []);
  assert.deepEqual(applyUi(model, null), []);
});

test("the recorded state is found by the widget's uid", () => {
  const doc = { querySelectorAll: (sel) => (sel.includes('data-aw-uid="ab12"') ? [{ textContent: '{"view": "heads"}' }] : []) };
  assert.deepEqual(savedUi(doc, "ab12"), { view: "heads" });
  assert.equal(savedUi(doc, "ffff"), null);
  assert.equal(savedUi(doc, ""), null);
  const bad = { querySelectorAll: () => [{ textContent: "{not json" }] };
  assert.equal(savedUi(bad, "ab12"), null);
});

const f32 = (a) => new Uint8Array(Float32Array.from(a).buffer);

test("a packed explain table gets its logits, weights and output back", () => {
  const dots = [3, 0.5, 0], scale = 1 / Math.sqrt(3), V = [1, 0, 0, 0, 1, 0, 0, 0, 1];
  const st = { _explain_packed: true, _explain_values: { 0: f32(V) },
    _explain_table: { "0,0": { query: 0, head: 0, batch: 0, S: 3, key_dim: 3, value_dim: 3, scale, dots: f32(dots), mask: Uint8Array.from([1, 1, 1]), q: f32([3, 0.5, 0]) },
      "1,0": { query: 1, head: 0, batch: 0, S: 3, key_dim: 3, value_dim: 3, scale, dots: f32(dots), mask: Uint8Array.from([1, 0, 1]), q: f32([3, 0.5, 0]) } } };
  unpackExplain(st);
  const e = st._explain_table["0,0"];
  assert.deepEqual(Array.from(e.weights, (w) => Number(w.toFixed(3))), [0.708, 0.167, 0.125], "the demo's soft lookup");
  assert.ok(Math.abs(e.logits[0] - 3 * scale) < 1e-6);
  assert.deepEqual(Array.from(e.output, (w) => Number(w.toFixed(3))), [0.708, 0.167, 0.125]);
  const m = st._explain_table["1,0"];
  assert.equal(m.weights[1], 0, "a masked key weighs 0");
  assert.ok(Math.abs(m.weights[0] + m.weights[2] - 1) < 1e-6);
  assert.equal(st._explain_packed, false);
});
