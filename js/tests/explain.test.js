import { test } from "node:test";
import assert from "node:assert/strict";
import { decodeExplain } from "../protocol.js";

const f32 = (a) => new DataView(Float32Array.from(a).buffer); // as a live kernel delivers bytes
const b64 = (a) => Buffer.from(new Uint8Array(Float32Array.from(a).buffer)).toString("base64"); // as a static export

test("decodes the _explain dict of attnwidget/explain.py", () => {
  const e = decodeExplain({
    query: 2, head: 1, batch: 0, S: 3, key_dim: 2, value_dim: 2, scale: Math.SQRT1_2,
    dots: f32([1, 2, 3]), logits: f32([0.7, 1.4, 2.1]), weights: f32([0.2, 0.8, 0]), mask: new DataView(Uint8Array.from([1, 1, 0]).buffer),
    q: f32([0.5, -1]), V: f32([1, 2, 3, 4, 5, 6]), output: f32([2.6, 3.6]),
  });
  assert.equal(e.query, 2); assert.equal(e.head, 1); assert.equal(e.S, 3);
  assert.deepEqual(Array.from(e.V.subarray(2, 4)), [3, 4]);
  assert.deepEqual(Array.from(e.mask), [1, 1, 0]);
  assert.ok(Math.abs(e.weights[1] - 0.8) < 1e-7);
});

test("base64 fields (static export) decode the same; empty and error forms", () => {
  const e = decodeExplain({ query: 0, head: 0, batch: 0, S: 2, key_dim: 1, value_dim: 1, scale: 1,
    dots: b64([1, 2]), logits: b64([1, 2]), weights: b64([0.25, 0.75]), mask: "", q: b64([1]), V: b64([3, 4]), output: b64([3.75]) });
  assert.equal(e.mask, null);
  assert.deepEqual(Array.from(e.output), [3.75]);
  assert.equal(decodeExplain({}), null);
  assert.equal(decodeExplain(null), null);
  assert.deepEqual(decodeExplain({ query: 1, head: 0, batch: 0, error: "explain: no" }), { query: 1, head: 0, batch: 0, error: "explain: no" });
  assert.throws(() => decodeExplain({ query: 0, head: 0, S: 4, key_dim: 1, value_dim: 1, dots: b64([1]) }), /_explain.dots has 1 values, needs 4/);
});
