import { test } from "node:test";
import assert from "node:assert/strict";
import { toBytes, toFloat32, decodeData, decodeExact } from "../protocol.js";
import { valueAt, bestValue, isMasked, dequantize } from "../values.js";

// Mirror of attnwidget/codec.py quantize(): round((x - lo) * 255 / (hi - lo)), clipped.
function quantize(vals, lo, hi) {
  return Uint8Array.from(vals, (x) => Math.min(255, Math.max(0, Math.round((x - lo) * (255 / (hi - lo))))));
}

function rng(seed) {
  let s = seed >>> 0;
  return () => ((s = (s * 1664525 + 1013904223) >>> 0) / 2 ** 32);
}

test("dequantize error is at most 1/510 for probabilities", () => {
  const r = rng(1);
  const vals = Array.from({ length: 5000 }, r);
  const data = decodeData({ q: quantize(vals, 0, 1), shape: [2, 50, 50], lo: 0, hi: 1, probability: true, mask: new Uint8Array(0) });
  let maxErr = 0;
  for (let h = 0; h < 2; h++) for (let i = 0; i < 50; i++) for (let j = 0; j < 50; j++) {
    maxErr = Math.max(maxErr, Math.abs(valueAt(data, h, i, j) - vals[(h * 50 + i) * 50 + j]));
  }
  assert.ok(maxErr <= 1 / 510 + 1e-12, `max error ${maxErr}`);
  assert.ok(maxErr > 1 / 600, "random values should come close to the bound");
  assert.equal(data.probability, true);
  assert.equal(data.mask, null);
});

test("affine range for raw scores", () => {
  const lo = -3.5, hi = 7.25;
  const r = rng(2);
  const vals = Array.from({ length: 1000 }, () => lo + r() * (hi - lo));
  const q = quantize(vals, lo, hi);
  for (let c = 0; c < vals.length; c++) {
    assert.ok(Math.abs(dequantize(q[c], lo, hi) - vals[c]) <= (hi - lo) / 510 + 1e-9);
  }
  assert.equal(dequantize(0, lo, hi), lo);
  assert.equal(dequantize(255, lo, hi), hi);
});

test("DataView with byteOffset != 0 reads only its window", () => {
  const buf = new ArrayBuffer(64);
  const all = new Uint8Array(buf);
  for (let i = 0; i < 64; i++) all[i] = i;
  const dv = new DataView(buf, 10, 12);
  const b = toBytes(dv);
  assert.equal(b.length, 12);
  assert.equal(b[0], 10);
  assert.equal(b[11], 21);
  const data = decodeData({ q: dv, shape: [1, 3, 4], lo: 0, hi: 1, mask: new DataView(buf, 0, 0) });
  assert.equal(data.q[0], 10);
  assert.equal(valueAt(data, 0, 2, 3), 21 / 255);
});

test("toBytes accepts ArrayBuffer, Uint8Array, base64, arrays, null", () => {
  assert.deepEqual([...toBytes(new Uint8Array([1, 2, 3]).buffer)], [1, 2, 3]);
  assert.deepEqual([...toBytes(new Uint8Array([4, 5]))], [4, 5]);
  assert.deepEqual([...toBytes(Buffer.from([0, 128, 255, 7]).toString("base64"))], [0, 128, 255, 7]);
  assert.deepEqual([...toBytes([9, 8])], [9, 8]);
  assert.equal(toBytes(null).length, 0);
  assert.equal(toBytes("").length, 0);
  const data = decodeData({ q: Buffer.from([0, 255, 51, 102]).toString("base64"), shape: [1, 2, 2], lo: 0, hi: 1, mask: "AQABAQ==" });
  assert.equal(valueAt(data, 0, 1, 0), 0.2);
  assert.deepEqual([...data.mask], [1, 0, 1, 1]);
  assert.equal(isMasked(data, 0, 1), true);
  assert.equal(isMasked(data, 0, 0), false);
});

test("float32 row/col decode, aligned and unaligned", () => {
  const row = new Float32Array([0.125, 0.25, 0.5, 0.123456, 1e-7, 0.75]); // H=2, K=3
  const bytes = new Uint8Array(row.buffer);
  const shifted = new Uint8Array(bytes.length + 3);
  shifted.set(bytes, 3);
  const dvUnaligned = new DataView(shifted.buffer, 3, bytes.length);
  assert.deepEqual([...toFloat32(dvUnaligned)], [...row]);
  assert.deepEqual([...toFloat32(Buffer.from(bytes).toString("base64"))], [...row]);
  const data = decodeData({ q: new Uint8Array(2 * 4 * 3), shape: [2, 4, 3], lo: 0, hi: 1 });
  const col = new Float32Array([1, 2, 3, 4, 5, 6, 7, 8]); // H=2, Q=4
  const ex = decodeExact({ query: 1, key: 2, row: new DataView(row.buffer), col: col.buffer }, data);
  assert.equal(ex.query, 1);
  assert.equal(ex.key, 2);
  assert.equal(bestValue(data, ex, 1, 1, 0).value, row[3]);
  assert.equal(bestValue(data, ex, 1, 1, 0).exact, true);
  assert.equal(bestValue(data, ex, 1, 3, 2).value, 8);
  assert.deepEqual(bestValue(data, ex, 0, 0, 0), { value: 0, exact: false });
  const none = decodeExact({ query: null, key: null }, data);
  assert.equal(none.row, null);
  assert.equal(none.col, null);
});

test("decodeData rejects short buffers and tolerates empty data", () => {
  assert.equal(decodeData({}), null);
  assert.equal(decodeData(null), null);
  assert.throws(() => decodeData({ q: new Uint8Array(3), shape: [1, 2, 2] }), /needs 4/);
});
