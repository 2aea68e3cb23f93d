import { test } from "node:test";
import assert from "node:assert/strict";

import { createWait, STALE_AFTER } from "../explainwait.js";

/** setTimeout / clearTimeout on a clock the test moves by hand. */
function clock() {
  let now = 0, id = 0;
  const due = new Map();
  return {
    setTimeout: (f, ms) => { due.set(++id, [now + ms, f]); return id; },
    clearTimeout: (k) => due.delete(k),
    advance(ms) {
      now += ms;
      for (const [k, [at, f]] of [...due]) if (at <= now) { due.delete(k); f(); }
    },
    pending: () => due.size,
  };
}

test("a pin is late only after the wait, and says so once", () => {
  const c = clock();
  let calls = 0;
  const w = createWait(() => calls++, STALE_AFTER, c);
  assert.equal(w.late("0|0|5|0"), false);
  c.advance(STALE_AFTER - 1);
  assert.equal(w.late("0|0|5|0"), false);
  assert.equal(calls, 0);
  c.advance(1);
  assert.equal(calls, 1);
  assert.equal(w.late("0|0|5|0"), true);
  assert.equal(c.pending(), 0);
});

test("a new pin starts the clock again; the numbers arriving stop it", () => {
  const c = clock();
  let calls = 0;
  const w = createWait(() => calls++, 100, c);
  w.late("a");
  c.advance(80);
  assert.equal(w.late("b"), false); // another pin before the first was late
  c.advance(80);
  assert.equal(calls, 0);
  assert.equal(w.late(null), false); // its numbers came
  assert.equal(c.pending(), 0);
  c.advance(1000);
  assert.equal(calls, 0);
  w.late("b");
  c.advance(100);
  assert.equal(w.late("b"), true);
  assert.equal(w.late(null), false);
  assert.equal(w.late("b"), false); // the same pin again later waits anew
  w.stop();
  assert.equal(c.pending(), 0);
});
