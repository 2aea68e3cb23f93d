import { test } from "node:test";
import assert from "node:assert/strict";

import { batchLabel, computing } from "../busy.js";

test("the hide box says how far the kernel is, in whole percent, when it says", () => {
  assert.equal(computing(null), "computing…");
  assert.equal(computing(undefined), "computing…");
  assert.equal(computing(Number.NaN), "computing…");
  assert.equal(computing(0), "computing… 0%");
  assert.equal(computing(0.4199), "computing… 41%"); // never ahead of the kernel
  assert.equal(computing(1), "computing… 100%");
  assert.equal(computing(1.2), "computing… 100%");
  assert.equal(computing(-0.1), "computing… 0%");
});

test("the batch label says how far the kernel is with the item asked for, until it is there or put back", () => {
  const changed = (...names) => new Set(names);
  assert.deepEqual(batchLabel(null, 0, 0.5, changed("_progress")), ["batch", null]); // a pass nobody asked for here (a hide)
  assert.deepEqual(batchLabel(1, 1, null, changed("batch")), ["batch", 1]); // asked; no figure yet
  assert.deepEqual(batchLabel(1, 1, 0.42, changed("_progress")), ["batch (computing… 42%)", 1]);
  assert.deepEqual(batchLabel(1, 1, null, changed("_progress")), ["batch", null]); // the pass ended
  assert.deepEqual(batchLabel(1, 1, 0.9, changed("_data")), ["batch", null]); // its data came
  assert.deepEqual(batchLabel(1, 0, 0.9, changed("batch")), ["batch", null]); // the kernel put item 0 back (a failed pass)
});
