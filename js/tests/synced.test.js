import { test } from "node:test";
import assert from "node:assert/strict";
import { createSynced } from "../synced.js";

function fakeModel(state) {
  const log = [];
  return { log, get: (k) => state[k], set: (k, v) => { state[k] = v; log.push(k); }, save_changes: () => log.push("save") };
}

test("setLayer sets the rule's whole patch and the caller's choice in one message", () => {
  const m = fakeModel({
    layer: 0, heads: [0, 1], head: 1, selected_query: 4, selected_key: null, mode: "all", view: "model", aggregate: "mean",
    _layers_meta: [{ kind: "self", H: 2, Q: 5, K: 5 }, { kind: "causal", H: 4, Q: 3, K: 3 }],
  });
  const s = createSynced(m);
  s.setLayer(1, { view: "matrix", head: 3, aggregate: "none" });
  assert.deepEqual(m.log, ["layer", "heads", "head", "selected_query", "selected_key", "mode", "view", "aggregate", "save"]);
  assert.deepEqual([m.get("layer"), m.get("heads"), m.get("head"), m.get("selected_query"), m.get("view")], [1, [0, 1, 2, 3], 3, null, "matrix"]);
});

test("decode keeps the last error and clears the data", () => {
  const m = fakeModel({ _data: { shape: [1, 2, 2], q: new Uint8Array(1) }, _exact: {} });
  const s = createSynced(m);
  const err = console.error;
  console.error = () => {};
  try { s.decode(new Set(["_data"])); } finally { console.error = err; }
  assert.equal(s.data, null);
  assert.match(s.error, /needs 4/);
});
