import { test } from "node:test";
import assert from "node:assert/strict";
import { createHeatCache, prepareHeads } from "../matrixheat.js";

const settle = () => new Promise((r) => setTimeout(r, 150)); // node has no requestIdleCallback: 30 ms steps

test("prepareHeads paints each head not kept, once, and a repeated call starts no new job", async () => {
  const cache = createHeatCache(), d = { H: 3 }, g = { R: 4, C: 4 }, key = (hd) => `h${hd}`, painted = [];
  const paint = (hd) => { painted.push(hd); cache.map.set(key(hd), {}); cache.pixels += 16; };
  prepareHeads(cache, d, g, key, paint, "light");
  prepareHeads(cache, d, g, key, paint, "light"); // the next frame asks the same: no new job
  assert.equal(cache.job, 1);
  await settle();
  assert.deepEqual(painted, [0, 1, 2]);
  prepareHeads(cache, d, g, key, paint, "light"); // 3 kept now: checked once more, nothing left to paint
  prepareHeads(cache, d, g, key, paint, "light");
  assert.equal(cache.job, 2);
  await settle();
  assert.deepEqual(painted, [0, 1, 2]);
  prepareHeads(cache, d, g, (hd) => `dark${hd}`, paint, "dark"); // other colours: a new job
  assert.equal(cache.job, 3);
  prepareHeads(cache, { H: 3 }, g, key, paint, "dark"); // other data: a new job
  assert.equal(cache.job, 4);
});
