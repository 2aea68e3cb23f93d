import { test } from "node:test";
import assert from "node:assert/strict";
import { prepareWhenIdle, stepWhenIdle, SLICE_MS, Disposer } from "../dom.js";
import { selectLines, selectLinesSteps, STEP_VALUES } from "../lines.js";

/** requestIdleCallback as a queue the test runs by hand: each callback gets a deadline of `ms` ms. */
function idleQueue() {
  const q = [];
  globalThis.requestIdleCallback = (f) => q.push(f);
  globalThis.cancelIdleCallback = () => {};
  return {
    run(ms = 50) { // one idle callback: what it did, in order
      const f = q.shift(), end = performance.now() + ms;
      f({ timeRemaining: () => Math.max(0, end - performance.now()), didTimeout: false });
    },
    get size() { return q.length; },
  };
}

/** A generator of n steps of `ms` ms each (busy), recording each step in `log`. */
function* busySteps(n, ms, log) {
  for (let k = 0; k < n; k++) {
    const end = performance.now() + ms;
    while (performance.now() < end);
    log.push(`step${k}`);
    yield;
  }
}

test("stepWhenIdle runs steps for SLICE_MS of an idle callback at most, though its deadline leaves 50 ms", () => {
  const idle = idleQueue(), log = [], job = { idle: 0 }, dis = new Disposer();
  stepWhenIdle(job, dis, busySteps(20, 1, log), () => log.push("done"), () => true);
  const slices = [];
  while (idle.size) { const before = log.length; idle.run(50); slices.push(log.slice(before).filter((x) => x.startsWith("step")).length); }
  assert.equal(log.at(-1), "done");
  assert.equal(log.filter((x) => x.startsWith("step")).length, 20);
  // steps of 1 ms or more: no callback makes more than SLICE_MS + 1 of them (fewer on a busy machine, never more)
  assert.ok(slices.length >= Math.ceil(20 / (SLICE_MS + 1)) && Math.max(...slices) <= SLICE_MS + 1, JSON.stringify(slices));
  // a callback whose deadline leaves no time still makes a step: the work ends
  const log2 = [];
  stepWhenIdle({ idle: 0 }, dis, busySteps(3, 0, log2), () => log2.push("done"), () => true);
  for (let k = 0; k < 4; k++) idle.run(0);
  assert.deepEqual(log2, ["step0", "step1", "step2", "done"]);
});

test("prepareWhenIdle: the steps ahead, then the catch-up and the draw, each in an idle callback of its own; a view shown stops them", () => {
  const idle = idleQueue(), log = [];
  const v = { app: { dis: new Disposer() }, el: { hidden: true }, st: { job: { idle: 0 } } };
  const missed = { changes: new Set(["_data"]), catchUp: () => log.push("catch-up") };
  const paint = [];
  prepareWhenIdle(v, missed, ["_data"], () => log.push("draw"), { choose: () => busySteps(3, 0, log), paint: () => busySteps(2, 0, paint) });
  const perCallback = [];
  while (idle.size) { const before = [log.length, paint.length]; idle.run(0); perCallback.push([...log.slice(before[0]), ...paint.slice(before[1]).map((p) => `paint ${p}`)]); }
  assert.deepEqual(perCallback, [["step0"], ["step1"], ["step2"], [], ["catch-up"], ["paint step0"], ["paint step1"], [], ["catch-up", "draw"]]);
  // shown half-way: the rest is not done in idle time (the view's own frame draws it)
  const w = { ...v, el: { hidden: true }, st: { job: { idle: 0 } } }, log3 = [];
  prepareWhenIdle(w, { changes: new Set(["_data"]), catchUp: () => log3.push("catch-up") }, ["_data"], () => log3.push("draw"), { choose: () => busySteps(3, 0, log3) });
  idle.run(0);
  w.el.hidden = false;
  while (idle.size) idle.run(0);
  assert.deepEqual(log3, ["step0"]);
});

test("selectLinesSteps yields every STEP_VALUES values or so and returns what selectLines does", () => {
  const H = 3, Q = 96, K = 1024, q = new Uint8Array(H * Q * K);
  for (let c = 0; c < q.length; c++) q[c] = (c * 2654435761) >>> 24;
  for (const opts of [{ threshold: 0.5, topK: 0 }, { threshold: 0.1, topK: 5 }, { heads: [2, 0], aggregate: "mean", topK: 3 }, { cap: 1000 }]) {
    const d = { H, Q, K, q, lo: 0, hi: 1, mask: null }, steps = selectLinesSteps(d, opts);
    let r, yields = 0;
    while (!(r = steps.next()).done) yields++;
    assert.deepEqual(r.value, selectLines(d, opts), JSON.stringify(opts));
    // a yield every `rows` query rows of a plane, in the count and in the choice
    const planes = opts.aggregate === "mean" ? 1 : H, rows = Math.floor(STEP_VALUES / K);
    assert.ok(yields >= planes * Math.floor(Q / rows) && yields <= 2 * planes * Math.ceil(Q / rows), `${yields} steps`);
  }
});
