// Edited static copies: every size a payload claims is checked against the bytes it holds before
// anything is allocated (issue #17, item 6), and token text is capped and bidi-isolated for display.
import { test } from "node:test";
import assert from "node:assert/strict";
import { byteLength, toBytes, dataShape, decodeData, decodeOverview, checkLayersMeta } from "../protocol.js";
import { checkState } from "../static.js";
import { displayToken, TOKEN_CHARS } from "../layout.js";

const b64 = (n) => Buffer.from(new Uint8Array(n).fill(7)).toString("base64");

/** `fn` throws an Error matching `re` at once: nothing sized by the claim was allocated. */
function refusedAtOnce(fn, re) {
  const t0 = performance.now();
  assert.throws(fn, re);
  assert.ok(performance.now() - t0 < 50, "refused within 50 ms");
}

test("byteLength counts base64 bytes without decoding, as toBytes decodes them", () => {
  for (let n = 0; n < 12; n++) {
    const s = b64(n);
    assert.equal(byteLength(s), toBytes(s).length, `${n} bytes`);
    assert.equal(byteLength(s.replace(/=+$/, "")), n, `${n} bytes, unpadded`);
  }
  assert.equal(byteLength(new Uint8Array(5)), 5);
  assert.equal(byteLength(null), 0);
});

const dense = { q: b64(2 * 6 * 6), shape: [2, 6, 6], lo: 0, hi: 1, probability: true };
const sparse = { mode: "sparse", shape: [2, 6, 6], k: 6, idx_bits: 16, idx: b64(2 * 6 * 6 * 2), val: b64(72), pool: b64(72), pool_block: [1, 1], lo: 0, hi: 1 };

const CLAIMS = [
  ["dense H×Q×K of 10²¹", { ...dense, shape: [1e7, 1e7, 1e7] }, /_data.q has 72 bytes, shape 10000000x10000000x10000000 needs/],
  ["sparse keys past 16-bit indices", { ...sparse, shape: [2, 6, 1e7] }, /claims 10000000 keys, more than 16-bit indices reach/],
  ["sparse pool of 32-bit keys", { ...sparse, idx_bits: 32, idx: b64(2 * 6 * 6 * 4), shape: [2, 6, 1e7] }, /_data.pool has 72 bytes, needs 120000000/],
  ["sparse heads", { ...sparse, shape: [1e7, 6, 6] }, /sparse _data has 72 indices and 72 values, shape 10000000x6x6 needs/],
  ["sparse k past K", { ...sparse, k: 1e7 }, /keeps 10000000 of 6 keys/],
  ["a shape that is not a size", { ...dense, shape: [2, -6, 6] }, /_data.shape\[1\] is -6, not a size/],
  ["an infinite shape", { ...dense, shape: [2, "1e400", 6] }, /_data.shape\[1\] is "1e400", not a size/],
];

for (const [name, payload, re] of CLAIMS) {
  test(`_data: ${name} is refused before allocating`, () => refusedAtOnce(() => decodeData(payload), re));
}

test("_data that holds its bytes decodes (dense and sparse)", () => {
  assert.deepEqual(dataShape(dense), { H: 2, Q: 6, K: 6 });
  const s = decodeData(sparse);
  assert.deepEqual([s.H, s.Q, s.K, s.k, s.Pq, s.Pk], [2, 6, 6, 6, 6, 6]);
});

test("a constant of huge magnitude still gets a range to draw on (lo + 1 is lo past 2**53)", () => {
  const d = decodeData({ ...dense, lo: 1e30, hi: 1e30, probability: false });
  assert.ok(d.hi > d.lo && Number.isFinite(d.hi - d.lo));
});

const overviewLayer = { name: "l0", kind: "self", H: 2, Q: 6, K: 6, h: 6, w: 6, offset: 0, mean_offset: 72, lo: 0, hi: 1 };
const OVERVIEWS = [
  ["H = 10⁷", { ...overviewLayer, H: 1e7 }, /_overview.q too short for layer l0 \(108 bytes, 10000000 heads of 6x6\)/],
  ["empty thumbnails", { ...overviewLayer, H: 1e7, h: 0 }, /has 10000000 heads of 0x6 thumbnails/],
  ["thumbnails larger than the layer", { ...overviewLayer, w: 1e6 }, /heads of 6x1000000 thumbnails for 6x6/],
  ["a thumbnail wider than a canvas", { ...overviewLayer, H: 1, K: 1e6, h: 1, w: 100000, mean_offset: 0 }, null],
];

for (const [name, layer, re] of OVERVIEWS) {
  test(`_overview: ${name} is refused before allocating`, () => {
    const n = layer.w === 100000 ? 100000 : 108;
    refusedAtOnce(() => decodeOverview({ q: b64(n), layers: [layer] }), re || /more than a canvas holds/);
  });
}

test("_overview that holds its bytes decodes", () => {
  assert.equal(decodeOverview({ q: b64(108), layers: [overviewLayer] }).layers[0].H, 2);
});

const meta = (H) => ({ name: "l", kind: "self", H, Q: 2, K: 2, query_tokens: ["a", "b"], key_tokens: ["a", "b"], head_names: ["h0", "h1"] });

test("_layers_meta: H, Q and K are the lengths of what the layer holds", () => {
  refusedAtOnce(() => checkLayersMeta([meta(2), meta(1e7)]), /_layers_meta\[1\] claims 10000000 heads × 2 × 2 but holds 2 head names, 2 query and 2 key tokens/);
  refusedAtOnce(() => checkLayersMeta([{ ...meta(2), K: 1e7 }]), /claims 2 heads × 2 × 10000000/);
  assert.equal(checkLayersMeta([meta(2)]).length, 1);
  assert.deepEqual(checkLayersMeta(undefined), []);
});

/** A static state of one layer (2 heads, 2 tokens) and a batch of 2. */
function state(extra = {}) {
  const d = { q: b64(8), shape: [2, 2, 2], lo: 0, hi: 1 };
  return { layer: 0, batch: 0, query_tokens: ["a", "b"], key_tokens: ["a", "b"], head_names: ["h0", "h1"], info: { batch_size: 2 },
    _layers_meta: [meta(2)], _data: d, _slices: { "0,0": d, "0,1": d }, _overview: {}, ...extra };
}

test("checkState: a batch size past the slices held is refused", () => {
  refusedAtOnce(() => checkState(state({ info: { batch_size: 1e7 } })), /info.batch_size is 10000000, the copy holds 2 batch items/);
  refusedAtOnce(() => checkState(state({ info: { batch_size: 2 }, _slices: undefined })), /info.batch_size is 2, the copy holds 1 batch item$/);
  refusedAtOnce(() => checkState(state({ info: { batch_size: "lots" } })), /info.batch_size is "lots"/);
});

test("checkState: the batch size of a copy that does not say it comes from its slices (bare scores)", () => {
  const s = state({ info: { kind: "x" } });
  checkState(s);
  assert.deepEqual(s.info, { kind: "x", batch_size: 2 });
});

test("checkState: a slice must have its layer's shape; without _layers_meta, no more than the tokens", () => {
  const wide = { q: b64(2 * 2 * 1e4), shape: [2, 2, 1e4], lo: 0, hi: 1 };
  refusedAtOnce(() => checkState(state({ _slices: { "0,0": wide, "0,1": wide } })), /_slices\["0,0"\] claims 2x2x10000 weights, layer 0 has 2x2x2/);
  refusedAtOnce(() => checkState(state({ _layers_meta: undefined, _data: wide, _slices: undefined, info: {} })), /_data claims 2x2x10000 weights, the copy holds 2 tokens/);
  refusedAtOnce(() => checkState(state({ _overview: { q: b64(8), layers: [{ ...overviewLayer, Q: 2, K: 2, h: 2, w: 2, H: 1e7 }] } })), /_overview.q too short/);
  checkState(state()); // the unedited state passes
});

test("token display: long tokens are cut, bidi controls isolated", () => {
  assert.equal(displayToken("x".repeat(100000)), "x".repeat(TOKEN_CHARS - 1) + "…");
  assert.equal(displayToken("a\u202Ebc"), "\u2068a\u202Ebc\u2069");
  assert.equal(displayToken("a\u2069\u202Eb"), "\u2068a\u202Eb\u2069"); // its own PDI cannot close the isolate early
  assert.equal(displayToken("שלום"), "שלום"); // right-to-left letters alone need no controls
  const t0 = performance.now();
  for (let i = 0; i < 1000; i++) displayToken("y".repeat(100000));
  assert.ok(performance.now() - t0 < 500, "a long token is cut without reading all of it");
});
