import { test } from "node:test";
import assert from "node:assert/strict";
import { createHeatCache, prepareHeads, keep, keepOnly, isPainted, HEAT_BUDGET } from "../matrixheat.js";

const settle = () => new Promise((r) => setTimeout(r, 150)); // node has no requestIdleCallback: 30 ms steps
const canvas = (w, h = w) => ({ width: w, height: h, hidden: true, removed: false, remove() { this.removed = true; } });

/** A job of prepareHeads over data `d` (`n` heat maps: its heads, + 1 for their mean) whose paint keeps a 4 × 4
 * canvas and records (name, number). */
function job(cache, d, name, painted, prefix = "h", n = d.H) {
  const key = (hd) => `${prefix}${hd}`;
  return { d, g: { R: 4, C: 4 }, key, n, paint: (hd) => { painted.push(`${name}${hd}`); keep(cache, d, key(hd), canvas(4)); } };
}

test("prepareHeads paints each head not kept, once, and a repeated call starts no new job", async () => {
  const cache = createHeatCache(), d = { H: 3 }, painted = [];
  prepareHeads(cache, [job(cache, d, "a", painted)], "light");
  prepareHeads(cache, [job(cache, d, "a", painted)], "light"); // the next frame asks the same: no new job
  assert.equal(cache.job, 1);
  await settle();
  assert.deepEqual(painted, ["a0", "a1", "a2"]);
  prepareHeads(cache, [job(cache, d, "a", painted)], "light"); // 3 kept now: checked once more, nothing left to paint
  prepareHeads(cache, [job(cache, d, "a", painted)], "light");
  assert.equal(cache.job, 2);
  await settle();
  assert.deepEqual(painted, ["a0", "a1", "a2"]);
  prepareHeads(cache, [job(cache, d, "a", painted, "dark")], "dark"); // other colours: a new job
  assert.equal(cache.job, 3);
  prepareHeads(cache, [job(cache, { H: 3 }, "b", painted)], "dark"); // other data: a new job
  assert.equal(cache.job, 4);
});

test("heat maps of other data stay kept: the data on screen first, then the other layers", async () => {
  const cache = createHeatCache(), d0 = { H: 2 }, d1 = { H: 2 }, painted = [];
  prepareHeads(cache, [job(cache, d1, "one", painted), job(cache, d0, "zero", painted)]);
  await settle();
  assert.deepEqual(painted, ["one0", "one1", "zero0", "zero1"]);
  // back on layer 1, then 0 again: every head of both is still there, under its own data
  for (const d of [d1, d0]) for (const hd of [0, 1]) assert.ok(isPainted(cache, d, `h${hd}`));
  assert.ok(!isPainted(cache, { H: 2 }, "h0")); // equal-looking data of another object is other data
  prepareHeads(cache, [job(cache, d0, "zero", painted), job(cache, d1, "one", painted)]);
  await settle();
  assert.equal(painted.length, 4);
});

test("a job of H + 1 paints the mean (number H) after the heads; asked again with H only, a new job", async () => {
  const cache = createHeatCache(), d = { H: 2 }, painted = [];
  prepareHeads(cache, [job(cache, d, "a", painted, "h", 3), job(cache, { H: 1 }, "b", painted, "h", 2)]);
  await settle();
  assert.deepEqual(painted, ["a0", "a1", "a2", "b0", "b1"]);
  assert.ok(isPainted(cache, d, "h2"));
  const jobs = cache.job;
  prepareHeads(cache, [job(cache, d, "a", painted, "h", 2)]);
  assert.equal(cache.job, jobs + 1);
});

test("past the budget the oldest heat maps go, whatever their data", () => {
  const cache = createHeatCache(), w = HEAT_BUDGET / 4 / 1024, a = { H: 4 }, b = { H: 4 };
  const kept = [0, 1, 2, 3].map((hd) => keep(cache, a, `h${hd}`, canvas(w, 1024)));
  assert.equal(cache.pixels, HEAT_BUDGET);
  const c = keep(cache, b, "h0", canvas(w, 1024));
  assert.ok(!isPainted(cache, a, "h0") && isPainted(cache, a, "h1") && isPainted(cache, b, "h0"));
  assert.ok(kept[0].removed && !c.removed);
  assert.equal(cache.pixels, HEAT_BUDGET);
});

test("keepOnly lets go of every other data's heat maps (a live view's replaced data)", () => {
  const cache = createHeatCache(), a = { H: 2 }, b = { H: 2 };
  const old = [keep(cache, a, "h0", canvas(4)), keep(cache, a, "h1", canvas(4))], mine = keep(cache, b, "h0", canvas(4));
  keepOnly(cache, b);
  assert.ok(!isPainted(cache, a, "h0") && !isPainted(cache, a, "h1") && isPainted(cache, b, "h0"));
  assert.ok(old.every((c) => c.removed) && !mine.removed);
  assert.equal(cache.pixels, 16);
});

test("an idle callback with no time left (past its timeout) still paints a head: the heat maps come on a page never idle", () => {
  const queue = [];
  globalThis.requestIdleCallback = (f) => queue.push(f);
  try {
    const cache = createHeatCache(), d = { H: 3 }, painted = [];
    prepareHeads(cache, [job(cache, d, "a", painted)], "light");
    const perCallback = [];
    while (queue.length) {
      const before = painted.length;
      queue.shift()({ timeRemaining: () => 0, didTimeout: true });
      perCallback.push(painted.length - before);
    }
    assert.deepEqual(perCallback, [1, 1, 1]);
  } finally {
    delete globalThis.requestIdleCallback;
  }
});
