import { test } from "node:test";
import assert from "node:assert/strict";
import { selectLines } from "../lines.js";
import { linesOf } from "../linesof.js";

// 2 heads × 3 queries × 4 keys of bytes, some below the threshold
function data() {
  const H = 2, Q = 3, K = 4, q = new Uint8Array(H * Q * K);
  for (let c = 0; c < q.length; c++) q[c] = (c * 37) % 256;
  return { H, Q, K, q, lo: 0, hi: 1, mask: null };
}

test("linesOf gives exactly the lines of a token, in the selection's order", () => {
  const sel = selectLines(data(), { threshold: 0.2 });
  for (const side of ["query", "key"]) {
    const n = side === "query" ? 3 : 4;
    for (let t = 0; t < n; t++) {
      const want = [];
      for (let c = 0; c < sel.n; c++) if (sel[side][c] === t) want.push(c);
      assert.deepEqual([...linesOf(sel, side, t)], want, `${side} ${t}`);
    }
  }
});

test("linesOf of a token without lines, or out of range, is empty", () => {
  const sel = selectLines(data(), { threshold: 1 });
  assert.equal(linesOf(sel, "query", 0).length, 0);
  const all = selectLines(data(), {});
  assert.equal(linesOf(all, "key", 99).length, 0);
  assert.equal(linesOf(all, "key", -1).length, 0);
});

test("the index is built once per selection and follows a new one", () => {
  const d = data(), a = selectLines(d, {}), b = selectLines(d, { threshold: 0.5 });
  assert.equal(linesOf(a, "query", 1).buffer, linesOf(a, "query", 2).buffer);
  assert.ok(linesOf(b, "query", 1).length < linesOf(a, "query", 1).length);
});
