// The layer-switch rule against the cases Python's tests read too (tests/fixtures/layer_switch.json).
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { switchLayer, readSchema, layersMeta, layerPatch, FALLBACK_SCHEMA } from "../protocol.js";

const fixture = JSON.parse(readFileSync(new URL("../../tests/fixtures/layer_switch.json", import.meta.url), "utf8"));
const model = (state) => ({ get: (k) => state[k] });

for (const c of fixture.cases) {
  test(`layer switch: ${c.name}`, () => {
    const state = structuredClone(c.state);
    assert.deepEqual(switchLayer(fixture.schema, state, c.from, c.to), c.expected);
    assert.deepEqual(state, c.state, "the state passed in is not changed");
  });
}

test("the fallback schema is the fixture's, used only without _schema", () => {
  const { traits, ...rest } = FALLBACK_SCHEMA;
  assert.deepEqual(rest, fixture.schema);
  assert.ok(traits.includes("_data") && traits.includes("layer"));
  assert.equal(readSchema(model({})), FALLBACK_SCHEMA);
  const sent = { ...fixture.schema, views: [["matrix", "Matrix"]], traits: ["_data"] };
  assert.equal(readSchema(model({ _schema: sent })), sent);
});

test("layersMeta: `_layers_meta` when sent, else the overview's shapes and the current layer's tokens", () => {
  const meta = [{ name: "a", kind: "self", H: 2, Q: 3, K: 3, query_tokens: ["x", "y", "z"], key_tokens: ["x", "y", "z"], head_names: ["h0", "h1"] }];
  assert.equal(layersMeta(model({ _layers_meta: meta })), meta);
  const old = model({
    layer: 1, query_tokens: ["p", "q"], key_tokens: ["r", "s", "t"], head_names: ["g0", "g1", "g2", "g3"],
    layer_names: ["enc", "cross"], layer_kinds: ["self", "cross"], _data: { shape: [4, 2, 3] },
    _overview: { layers: [{ name: "enc", kind: "self", H: 2, Q: 3, K: 3, h: 3, w: 3 }, { name: "cross", kind: "cross", H: 4, Q: 2, K: 3, h: 2, w: 3 }] },
  });
  const m = layersMeta(old);
  assert.deepEqual(m[0], { name: "enc", kind: "self", H: 2, Q: 3, K: 3 });
  assert.deepEqual(m[1], { name: "cross", kind: "cross", H: 4, Q: 2, K: 3, query_tokens: ["p", "q"], key_tokens: ["r", "s", "t"], head_names: ["g0", "g1", "g2", "g3"] });
  const single = layersMeta(model({ layer: 0, query_tokens: ["a"], key_tokens: ["a", "b"], head_names: [], layer_kinds: ["cross"], _data: { shape: [3, 1, 2] } }));
  assert.deepEqual([single.length, single[0].H, single[0].Q, single[0].K, single[0].kind], [1, 3, 1, 2, "cross"]);
});

test("layerPatch applies the rule between the current layer and the next", () => {
  const state = {
    layer: 0, heads: [1], head: 1, selected_query: 2, selected_key: null, mode: "encoder",
    _layers_meta: [{ kind: "self", H: 2, Q: 3, K: 3 }, { kind: "cross", H: 4, Q: 2, K: 3 }],
  };
  assert.deepEqual(layerPatch(FALLBACK_SCHEMA, model(state), 1), { layer: 1, heads: [1], head: 1, selected_query: null, selected_key: null, mode: "all" });
  assert.deepEqual(layerPatch(FALLBACK_SCHEMA, model({ layer: 0, _layers_meta: [state._layers_meta[0]] }), 5), { layer: 5 });
});
