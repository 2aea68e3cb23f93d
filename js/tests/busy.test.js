import { test } from "node:test";
import assert from "node:assert/strict";

import { askPass, batchLabel, computing } from "../busy.js";

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

test("the batch label says how far the kernel is with the item asked for, until the kernel settles the request", () => {
  const changed = (...names) => new Set(names);
  assert.deepEqual(batchLabel(null, 0, 0.5, changed("_progress")), ["batch", null]); // a pass nobody asked for here (a hide)
  assert.deepEqual(batchLabel(1, 0, null, changed("view")), ["batch", 1]); // asked; the kernel shows item 0 meanwhile, no figure yet
  assert.deepEqual(batchLabel(1, 0, 0.42, changed("_progress")), ["batch (computing… 42%)", 1]);
  assert.deepEqual(batchLabel(1, 0, null, changed("_progress")), ["batch", 1]); // the pass ended; the item comes next
  assert.deepEqual(batchLabel(1, 1, null, changed("batch", "_data", "_batch_done")), ["batch", null]); // it came
  assert.deepEqual(batchLabel(1, 0, null, changed("_batch_error", "_batch_done")), ["batch", null]); // refused or failed: item 0 stays
  assert.deepEqual(batchLabel(2, 0, 0.3, changed("_data")), ["batch (computing… 30%)", 2]); // another change's data (a hide's)
  assert.deepEqual(batchLabel(1, 1, null, changed("batch", "_data")), ["batch", null]); // a static copy: the item's data
});

test("a pass request carries its value under the kind's key and an integer id (attnwidget/passjob.py)", () => {
  const sent = [];
  const model = { send: (m) => sent.push(m) };
  askPass(model, "batch", 2);
  askPass(model, "hide_keys", [0, 3]);
  assert.deepEqual(sent.map(({ id, ...rest }) => rest), [{ batch: 2 }, { hide_keys: [0, 3] }]);
  for (const { id } of sent) assert.ok(Number.isInteger(id) && id >= 0 && id < 2 ** 31, id);
});
