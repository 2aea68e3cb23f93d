// The layer-switch rule against the cases Python's tests read too (tests/fixtures/layer_switch.json).
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { switchLayer, readSchema, layerPatch, FALLBACK_SCHEMA } from "../protocol.js";

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

test("layerPatch applies the rule between the current layer and the next", () => {
  const state = {
    layer: 0, heads: [1], head: 1, selected_query: 2, selected_key: null, mode: "encoder",
    _layers_meta: [{ kind: "self", H: 2, Q: 3, K: 3 }, { kind: "cross", H: 4, Q: 2, K: 3 }],
  };
  assert.deepEqual(layerPatch(FALLBACK_SCHEMA, model(state), 1), { layer: 1, heads: [1], head: 1, selected_query: null, selected_key: null, mode: "all" });
  assert.deepEqual(layerPatch(FALLBACK_SCHEMA, model({ layer: 0, _layers_meta: [state._layers_meta[0]] }), 5), { layer: 5 });
  assert.deepEqual(layerPatch(FALLBACK_SCHEMA, model({ layer: 0 }), 1), { layer: 1 });
});
