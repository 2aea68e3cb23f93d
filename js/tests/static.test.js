import { test } from "node:test";
import assert from "node:assert/strict";
import { staticModel, sliceBytes } from "../static.js";
import { createSynced } from "../synced.js";

function state() {
  return {
    layer: 0, batch: 0, head: 2, heads: [0, 1, 2], selected_query: 4, selected_key: null,
    query_tokens: ["a", "b", "c", "d", "e"], key_tokens: ["a", "b", "c", "d", "e"], head_names: ["h0", "h1", "h2"],
    _data: { id: "0,0" },
    _slices: { "0,0": { id: "0,0" }, "1,0": { id: "1,0" } },
    _layers_meta: [
      { name: "enc", kind: "self", H: 3, Q: 5, K: 5, query_tokens: ["a", "b", "c", "d", "e"], key_tokens: ["a", "b", "c", "d", "e"], head_names: ["h0", "h1", "h2"] },
      { name: "cross", kind: "cross", H: 2, Q: 2, K: 5, query_tokens: ["x", "y"], key_tokens: ["a", "b", "c", "d", "e"], head_names: ["g0", "g1"] },
    ],
    _explain_table: { "4,2": { query: 4, head: 2 }, "3,2": { query: 3, head: 2 } },
    _explain_values: { 2: "V2" },
    _explain_for: [0, 0],
    _explain: {},
  };
}

test("set fires change events and save_changes is harmless", () => {
  const m = staticModel(state());
  const seen = [];
  const cb = () => seen.push(m.get("view"));
  m.on("change:view", cb);
  m.set("view", "matrix");
  m.save_changes();
  m.set("view", "matrix"); // unchanged: no event
  m.off("change:view", cb);
  m.set("view", "graph");
  assert.deepEqual(seen, ["matrix"]);
});

test("a layer change swaps the slice, the tokens and the heads, and drops selections out of range", () => {
  const m = staticModel(state());
  const changed = [];
  for (const k of ["_data", "query_tokens", "head_names", "heads", "selected_query", "head"]) m.on(`change:${k}`, () => changed.push(k));
  createSynced(m).setLayer(1); // as the layer <select> does: the layer-switch rule's patch, set at once
  assert.equal(m.get("_data").id, "1,0");
  assert.deepEqual(m.get("query_tokens"), ["x", "y"]);
  assert.deepEqual(m.get("head_names"), ["g0", "g1"]);
  assert.deepEqual(m.get("heads"), [0, 1]);
  assert.equal(m.get("selected_query"), null); // 4 is past the 2 queries of layer 1
  assert.equal(m.get("head"), 0);
  assert.ok(changed.includes("_data") && changed.includes("query_tokens") && changed.includes("selected_query"));
});

test("the explain table is used for its own layer only", () => {
  const m = staticModel(state());
  m.set("selected_query", 3);
  assert.deepEqual(m.get("_explain"), { query: 3, head: 2, V: "V2" }); // V is carried once per head
  m.set("selected_query", 0);
  assert.deepEqual(m.get("_explain"), {}); // not precomputed
  createSynced(m).setLayer(1);
  m.set("selected_query", 1);
  assert.deepEqual(m.get("_explain"), {});
});

test("the static model applies no rule of its own: a bare layer change swaps only tokens and data", () => {
  const m = staticModel(state());
  m.set("layer", 1);
  assert.equal(m.get("_data").id, "1,0");
  assert.deepEqual(m.get("head_names"), ["g0", "g1"]);
  assert.deepEqual(m.get("heads"), [0, 1, 2]); // heads, head and pins are the layer-switch rule's (synced.js setLayer)
  assert.equal(m.get("selected_query"), 4);
});

test("a slice's base64 fields are decoded once, when its layer is first shown", () => {
  const st = state();
  st._slices["1,0"] = { id: "1,0", q: Buffer.from([1, 2, 3]).toString("base64"), mask: "", shape: [1, 1, 3] };
  const m = staticModel(st);
  m.set("layer", 1);
  const d = m.get("_data");
  assert.ok(d.q instanceof Uint8Array);
  assert.deepEqual([...d.q], [1, 2, 3]);
  assert.equal(d.mask, ""); // empty fields stay as they are
  const q = d.q;
  m.set("layer", 0);
  m.set("layer", 1);
  assert.equal(m.get("_data").q, q); // the same bytes: not decoded again
  assert.equal(sliceBytes(null), null);
});
