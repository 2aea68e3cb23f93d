import { test } from "node:test";
import assert from "node:assert/strict";

import { computing } from "../hidekeys.js";

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
