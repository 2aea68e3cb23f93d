import { test } from "node:test";
import assert from "node:assert/strict";
import { heatPixels } from "../heatmap.js";
import { sequentialTable } from "../colors.js";

test("heatPixels: colours from the table at an offset, rounded means, masked cells, opaque", () => {
  const tb = sequentialTable(false);
  const rgb = (q) => [tb[q * 3], tb[q * 3 + 1], tb[q * 3 + 2], 255];
  const out = heatPixels(new Uint8ClampedArray(3 * 4), Float32Array.from([9, 0, 254.6, 10]), tb, { offset: 1, mask: [1, 1, 0], maskColor: "#102030" });
  assert.deepEqual([...out], [...rgb(0), ...rgb(255), 16, 32, 48, 255]);
  assert.deepEqual([...heatPixels(new Uint8ClampedArray(4), new Uint8Array([128]), tb)], rgb(128));
});

test("heatPixels: the packed 32-bit path paints what the byte path paints (masked cells, means, NaN, out of range)", () => {
  const table = new Uint8ClampedArray(768).map((_, i) => (i * 7) % 256);
  const values = new Float32Array([0, 1.4, 2.6, 255, NaN, 300, -1, 128]);
  const mask = Uint8Array.from([1, 1, 0, 1, 1, 1, 1, 1]);
  const fast = heatPixels(new Uint8ClampedArray(32), values, table, { mask, maskColor: "#102030" });
  const slow = heatPixels(new Uint8ClampedArray(33).subarray(1), values, table, { mask, maskColor: "#102030" }); // unaligned: bytes
  assert.deepEqual([...fast], [...slow]);
  assert.deepEqual([...fast.slice(8, 12)], [0x10, 0x20, 0x30, 255]);
});
