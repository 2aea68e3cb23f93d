import { test } from "node:test";
import assert from "node:assert/strict";
import { shortName } from "../modelgrid.js";
import { decodeOverview, layersInMode, FALLBACK_SCHEMA } from "../protocol.js";
import { scaleTable, sequentialTable, isDiverging, scaleStops } from "../colors.js";

const layers = [
  { name: "encoder/enc_layers_0/self_attention/mha", kind: "self", H: 2, Q: 3, K: 3, h: 3, w: 3, offset: 0, mean_offset: 18, lo: 0, hi: 1 },
  { name: "decoder/dec_layers_0/causal_self_attention/mha", kind: "causal", H: 2, Q: 2, K: 2, h: 2, w: 2, offset: 27, mean_offset: 35, lo: 0, hi: 1 },
  { name: "decoder/dec_layers_0/cross_attention/mha", kind: "cross", H: 2, Q: 2, K: 3, h: 2, w: 3, offset: 39, mean_offset: 51, lo: 0, hi: 1 },
];

test("overview decodes one buffer and filters layers by mode", () => {
  const ov = decodeOverview({ q: new Uint8Array(57), layers });
  assert.equal(ov.layers.length, 3);
  const kinds = ov.layers.map((l) => l.kind);
  assert.deepEqual(layersInMode(FALLBACK_SCHEMA, kinds, "all"), [0, 1, 2]);
  assert.deepEqual(layersInMode(FALLBACK_SCHEMA, kinds, "encoder"), [0]);
  assert.deepEqual(layersInMode(FALLBACK_SCHEMA, kinds, "decoder"), [1]);
  assert.deepEqual(layersInMode(FALLBACK_SCHEMA, kinds, "cross"), [2]);
  assert.equal(shortName(layers[0].name), "encoder/enc_layers_0/self_attention");
  assert.throws(() => decodeOverview({ q: new Uint8Array(50), layers }), /too short/);
  assert.equal(decodeOverview({ layers: [] }), null);
});

test("signed ranges get the diverging scale, white at zero", () => {
  assert.equal(isDiverging(-0.5, 0.5), true);
  assert.equal(isDiverging(0, 1), false);
  assert.equal(scaleTable(0, 1), sequentialTable(false));
  const t = scaleTable(-1, 1);
  const zero = Math.round(127.5); // byte of value ~0 for lo = -1, hi = 1
  const [r, g, b] = [t[zero * 3], t[zero * 3 + 1], t[zero * 3 + 2]];
  assert.ok(r > 235 && g > 235 && b > 235, `zero is near white, got ${r},${g},${b}`);
  assert.ok(t[0] > t[2], "negative end is red");
  assert.ok(t[255 * 3 + 2] > t[255 * 3], "positive end is blue");
  // asymmetric range: zero still white, the shorter side fades less far
  const a = scaleTable(-0.2, 1);
  const z = Math.round((0.2 / 1.2) * 255);
  assert.ok(a[z * 3] > 235 && a[z * 3 + 2] > 235);
  assert.ok(a[0] > 200, "-0.2 of ±1 is a light red, not the darkest");
  assert.equal(scaleStops(-1, 1, 3)[1].value, 0);
});
