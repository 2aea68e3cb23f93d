import { test } from "node:test";
import assert from "node:assert/strict";
import { selectLines, thresholdByte, aggregate, visibleHeads } from "../lines.js";
import { decodeData } from "../protocol.js";

// Hand-made bytes: H=2, Q=2, K=4.
const Q0 = [
  [100, 50, 0, 105],
  [10, 200, 30, 15],
];
const Q1 = [
  [0, 255, 128, 127],
  [60, 60, 60, 75],
];
function make(mask) {
  const q = Uint8Array.from([...Q0.flat(), ...Q1.flat()]);
  return decodeData({ q, shape: [2, 2, 4], lo: 0, hi: 1, probability: true, mask: mask ?? new Uint8Array(0) });
}
const triples = (s) => Array.from({ length: s.n }, (_, c) => `${s.head[c]}:${s.query[c]}>${s.key[c]}`).sort();

test("threshold bytes", () => {
  assert.equal(thresholdByte(0), 1);
  assert.equal(thresholdByte(0.2), 51);
  assert.equal(thresholdByte(1), 255);
  assert.equal(thresholdByte(0.5), 128);
});

test("threshold 0 keeps every non-zero weight", () => {
  const s = selectLines(make(), { heads: [0, 1], threshold: 0 });
  assert.equal(s.n, 14);
  assert.equal(s.capped, false);
  assert.ok(!triples(s).includes("0:0>2"));
  assert.ok(!triples(s).includes("1:0>0"));
});

test("threshold selects exact key sets", () => {
  const s = selectLines(make(), { heads: [0, 1], threshold: 0.4 }); // >= 102
  assert.deepEqual(triples(s), ["0:0>3", "0:1>1", "1:0>1", "1:0>2", "1:0>3"].sort());
  const s2 = selectLines(make(), { heads: [1], threshold: 0.5 }); // >= 128
  assert.deepEqual(triples(s2), ["1:0>1", "1:0>2"]);
});

test("top-k per token and head", () => {
  const s = selectLines(make(), { heads: [0, 1], topK: 1 });
  assert.deepEqual(triples(s), ["0:0>3", "0:1>1", "1:0>1", "1:1>3"]);
  const s2 = selectLines(make(), { heads: [0], topK: 2, threshold: 0.2 }); // >= 51
  assert.deepEqual(triples(s2), ["0:0>0", "0:0>3", "0:1>1"]);
  const s3 = selectLines(make(), { heads: [0], topK: 3 });
  assert.deepEqual(triples(s3), ["0:0>0", "0:0>1", "0:0>3", "0:1>1", "0:1>2", "0:1>3"]);
});

test("mask removes lines", () => {
  const mask = Uint8Array.from([1, 1, 1, 0, 1, 0, 1, 1]);
  const s = selectLines(make(mask), { heads: [0, 1], threshold: 0.4 });
  assert.deepEqual(triples(s), ["1:0>1", "1:0>2"]);
  const s2 = selectLines(make(mask), { heads: [0], topK: 1 });
  assert.deepEqual(triples(s2), ["0:0>0", "0:1>2"]);
});

test("aggregate mean / max", () => {
  const d = make();
  assert.deepEqual([...aggregate(d, [0, 1], "max")], [100, 255, 128, 127, 60, 200, 60, 75]);
  assert.deepEqual([...aggregate(d, [0, 1], "mean")], [50, 152.5, 64, 116, 35, 130, 45, 45]);
  const s = selectLines(d, { heads: [0, 1], aggregate: "max", topK: 1 });
  assert.deepEqual(triples(s), ["-1:0>1", "-1:1>1"]);
  assert.equal(s.weight[0], 255);
  const s2 = selectLines(d, { heads: [0, 1], aggregate: "mean", threshold: 0.45 }); // >= 115
  assert.deepEqual(triples(s2), ["-1:0>1", "-1:0>3", "-1:1>1"]);
});

test("no visible heads, no lines", () => {
  assert.equal(selectLines(make(), { heads: [] }).n, 0);
  assert.deepEqual(visibleHeads([3, 1, 1, -1, 0, 2.5], 2), [0, 1]);
});

test("cap switches to an automatic per-token top-k", () => {
  const H = 4, Q = 100, K = 100;
  const q = new Uint8Array(H * Q * K);
  for (let c = 0; c < q.length; c++) q[c] = 1 + (c * 7919) % 250;
  const d = decodeData({ q, shape: [H, Q, K], lo: 0, hi: 1 });
  const s = selectLines(d, { heads: [0, 1, 2, 3], cap: 1000 });
  assert.equal(s.capped, true);
  assert.equal(s.topK, 2); // floor(1000 / (4 heads * 100 queries))
  assert.equal(s.n, 800);
  assert.ok(s.n <= 1000);
  assert.equal(s.total, H * Q * K);
  // each kept line is the best of its row
  for (let c = 0; c < s.n; c += 2) {
    const h = s.head[c], i = s.query[c];
    const row = Array.from(q.subarray((h * Q + i) * K, (h * Q + i + 1) * K));
    const best = [...row].sort((a, b) => b - a).slice(0, 2);
    assert.deepEqual([s.weight[c], s.weight[c + 1]], best);
  }
  const big = selectLines(d, { heads: [0, 1, 2, 3] });
  assert.equal(big.capped, false);
  assert.equal(big.n, 40000);
  const user = selectLines(d, { heads: [0, 1, 2, 3], topK: 1, cap: 1000 });
  assert.equal(user.capped, false);
  assert.equal(user.n, 400);
});
