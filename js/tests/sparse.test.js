import { test } from "node:test";
import assert from "node:assert/strict";
import { decodeData, decodeExact } from "../protocol.js";
import { bestValue, isMasked, topKByte } from "../values.js";
import { selectLines, selectExactLines } from "../lines.js";

// H=1, Q=2, K=5, k=2: query 0 -> keys 3 (200), 1 (100); query 1 -> keys 0 (90), 4 (10)
function make(extra = {}) {
  const idx = new Uint16Array([3, 1, 0, 4]);
  return decodeData({ mode: "sparse", shape: [1, 2, 5], k: 2, idx_bits: 16, idx: new DataView(idx.buffer),
    val: new Uint8Array([200, 100, 90, 10]), pool: new Uint8Array([200, 90]), pool_block: [1, 5], pool_shape: [2, 1],
    lo: 0, hi: 1, probability: true, mask_kind: "none", nonfinite: 0, head_max: [0.8], head_entropy: [1], ...extra });
}

test("sparse decode: top-k lookups, the floor, pooled shape", () => {
  const d = make();
  assert.equal(d.sparse, true);
  assert.deepEqual([d.Pq, d.Pk, d.bq, d.bk, d.k], [2, 1, 1, 5, 2]);
  assert.equal(topKByte(d, 0, 0, 3), 200);
  assert.equal(topKByte(d, 0, 0, 2), -1);
  assert.deepEqual(bestValue(d, null, 0, 0, 1), { value: 100 / 255, exact: false });
  assert.deepEqual(bestValue(d, null, 0, 0, 2), { value: 100 / 255, exact: false, below: true });
  const ex = decodeExact({ query: 0, key: null, row: new Float32Array([0.1, 0.2, 0.05, 0.6, 0.05]).buffer }, d);
  assert.equal(bestValue(d, ex, 0, 0, 2).exact, true);
  assert.ok(Math.abs(bestValue(d, ex, 0, 0, 2).value - 0.05) < 1e-7);
  assert.throws(() => decodeData({ mode: "sparse", shape: [1, 2, 5], k: 2, idx: new Uint8Array(2), val: new Uint8Array(4), pool: new Uint8Array(2), pool_block: [1, 5] }), /needs 4/);
});

test("sparse masks: causal from the shape, pooled from pool_mask", () => {
  const c = make({ mask_kind: "causal", pool_block: [1, 1], pool: new Uint8Array(10) });
  assert.equal(isMasked(c, 0, 1), true);
  assert.equal(isMasked(c, 1, 1), false);
  assert.deepEqual([...c.poolMask], [1, 0, 0, 0, 0, 1, 1, 0, 0, 0]);
  const p = make({ mask_kind: "pooled", pool_mask: new Uint8Array([1, 0]) });
  assert.equal(isMasked(p, 0, 4), false);
  assert.equal(isMasked(p, 1, 0), true);
  assert.equal(p.masked, true);
});

test("sparse lines: threshold, top-k, aggregate, exact lines of the pinned token", () => {
  const d = make();
  const s = selectLines(d, {});
  assert.equal(s.sparse, true);
  assert.deepEqual(Array.from({ length: s.n }, (_, c) => `${s.query[c]}>${s.key[c]}:${s.weight[c]}`), ["0>3:200", "0>1:100", "1>0:90", "1>4:10"]);
  assert.equal(selectLines(d, { threshold: 0.3 }).n, 3);
  assert.equal(selectLines(d, { topK: 1 }).n, 2);
  const capped = selectLines(d, { cap: 2 });
  assert.equal(capped.capped, true);
  assert.equal(capped.n, 2);
  const agg = selectLines(d, { aggregate: "max" });
  assert.deepEqual([...agg.head], [-1, -1, -1, -1]);
  const col = new Float32Array([0.5, 0.001]); // key 3 pinned: exact column over 2 queries
  const e = selectExactLines(d, col, "key", 3, { threshold: 0 });
  assert.equal(e.n, 1);
  assert.deepEqual([e.query[0], e.key[0]], [0, 3]);
});
