import { test } from "node:test";
import assert from "node:assert/strict";

import { createWait, STALE_AFTER } from "../explainwait.js";

// setTimeout on node's mock clock, moved by hand (mock.timers.tick)
const clock = (t) => {
  t.mock.timers.enable({ apis: ["setTimeout"] });
  return t.mock.timers;
};

test("a pin is late only after the wait, and says so once", (t) => {
  const c = clock(t);
  let calls = 0;
  const w = createWait(() => calls++, STALE_AFTER);
  assert.equal(w.late("0|0|5|0"), false);
  c.tick(STALE_AFTER - 1);
  assert.equal(w.late("0|0|5|0"), false);
  assert.equal(calls, 0);
  c.tick(1);
  assert.equal(calls, 1);
  assert.equal(w.late("0|0|5|0"), true);
  c.tick(10 * STALE_AFTER);
  assert.equal(calls, 1);
});

test("a new pin starts the clock again; the numbers arriving stop it", (t) => {
  const c = clock(t);
  let calls = 0;
  const w = createWait(() => calls++, 100);
  w.late("a");
  c.tick(80);
  assert.equal(w.late("b"), false); // another pin before the first was late
  c.tick(80);
  assert.equal(calls, 0);
  assert.equal(w.late(null), false); // its numbers came
  c.tick(1000);
  assert.equal(calls, 0);
  w.late("b");
  c.tick(100);
  assert.equal(w.late("b"), true);
  assert.equal(w.late(null), false);
  assert.equal(w.late("b"), false); // the same pin again later waits anew
  w.stop();
  c.tick(1000);
  assert.equal(calls, 1);
});
