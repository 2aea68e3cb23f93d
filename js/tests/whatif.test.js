// The explain view's what-if (js/whatif.js) against softmaxes worked out by hand: dots [2, 0, −2] at
// scale ½ are the logits [1, 0, −1]; e¹ + e⁰ + e⁻¹ = 4.0861612696.
import { test } from "node:test";
import assert from "node:assert/strict";
import { whatIf, allowedKeys, isLayerOwn, toggleDrop, LAYER_OWN } from "../whatif.js";
import { whatIfFor, resetWhatIf } from "../uistate.js";

const ex = (mask = null) => ({ S: 3, valueDim: 2, scale: 0.5, dots: Float32Array.from([2, 0, -2]), mask, V: Float32Array.from([1, 0, 0, 1, 1, 1]) });
const close = (a, b, what) => {
  assert.equal(a.length, b.length, what);
  for (let i = 0; i < b.length; i++) assert.ok(Math.abs(a[i] - b[i]) < 1e-9, `${what}[${i}]: ${a[i]} vs ${b[i]}`);
};

test("the layer's own: softmax of dots × scale, output Σ wⱼ vⱼ", () => {
  const r = whatIf(ex());
  close(r.weights, [0.665240956, 0.244728471, 0.090030573], "weights (to 9 decimals)");
  close(r.logits, [1, 0, -1], "logits");
  close(r.output, [0.755271529, 0.334759044], "output = [w0 + w2, w1 + w2]");
});

test("temperature ½ doubles the logits: e², e⁰, e⁻² over their sum", () => {
  const r = whatIf(ex(), { temperature: 0.5, dropped: [], unmasked: false });
  close(r.logits, [2, 0, -2], "logits / t");
  close(r.weights, [0.866813332, 0.117310428, 0.015876240], "weights");
  const flat = whatIf(ex(), { temperature: 1e6, dropped: [], unmasked: false }).weights;
  for (const x of flat) assert.ok(Math.abs(x - 1 / 3) < 1e-6, `a huge temperature is uniform: ${x}`);
});

test("a dropped key gets exactly 0 and the rest share the softmax; Σ stays 1", () => {
  const r = whatIf(ex(), { temperature: 1, dropped: [0], unmasked: false });
  assert.equal(r.weights[0], 0);
  assert.equal(r.logits[0], -Infinity);
  close(r.weights, [0, 0.731058579, 0.268941421], "weights");
  close(r.output, [0.268941421, 1], "output");
  assert.deepEqual(Array.from(r.allowed), [0, 1, 1]);
});

test("the mask holds unless lifted; no key left is all 0, not NaN", () => {
  const masked = whatIf(ex(Uint8Array.from([1, 1, 0])), { temperature: 1, dropped: [], unmasked: false });
  close(masked.weights, [0.731058579, 0.268941421, 0], "masked");
  const lifted = whatIf(ex(Uint8Array.from([1, 1, 0])), { temperature: 1, dropped: [], unmasked: true });
  close(lifted.weights, [0.665240956, 0.244728471, 0.090030573], "lifted");
  const none = whatIf(ex(Uint8Array.from([1, 0, 0])), { temperature: 2, dropped: [0], unmasked: false });
  assert.deepEqual(Array.from(none.weights), [0, 0, 0]);
  assert.deepEqual(Array.from(none.output), [0, 0]);
  assert.throws(() => whatIf(ex(), { temperature: 0, dropped: [] }), /positive/);
  assert.throws(() => whatIf(ex(), { temperature: NaN, dropped: [] }), /positive/);
});

test("allowed keys, toggling a drop, the layer's own", () => {
  assert.deepEqual(Array.from(allowedKeys(4, Uint8Array.from([1, 0, 1, 1]), { dropped: [3, 9] })), [1, 0, 1, 0]);
  assert.deepEqual(toggleDrop([], 2), [2]);
  assert.deepEqual(toggleDrop([4, 2], 1), [1, 2, 4]);
  assert.deepEqual(toggleDrop([1, 2], 2), [1]);
  assert.ok(isLayerOwn(LAYER_OWN));
  assert.ok(!isLayerOwn({ temperature: 0.5, dropped: [], unmasked: false }));
  assert.ok(!isLayerOwn({ temperature: 1, dropped: [0], unmasked: false }));
  assert.ok(!isLayerOwn({ temperature: 1, dropped: [], unmasked: true }));
});

test("the what-if starts over for another pin, head or layer, and on reset", () => {
  const ui = { whatIf: { for: "", ...LAYER_OWN } };
  const w = whatIfFor(ui, "0|0|7|0");
  Object.assign(w, { temperature: 0.5, dropped: [3] });
  assert.equal(whatIfFor(ui, "0|0|7|0").temperature, 0.5, "the same explanation keeps it");
  assert.deepEqual(whatIfFor(ui, "0|0|7|1"), { for: "0|0|7|1", temperature: 1, dropped: [], unmasked: false });
  Object.assign(ui.whatIf, { unmasked: true });
  resetWhatIf(ui);
  assert.deepEqual(ui.whatIf, { for: "0|0|7|1", temperature: 1, dropped: [], unmasked: false });
  assert.ok(Object.isFrozen(LAYER_OWN.dropped), "the default's list is never the one edited");
});
