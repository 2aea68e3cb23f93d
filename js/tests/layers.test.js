import { test } from "node:test";
import assert from "node:assert/strict";
import { createLayers, layer, layerSteps, sameDeps, sameItems, whenIdle, dropLayers } from "../layers.js";

// A stand-in OffscreenCanvas: a context that counts clears, a bitmap per transfer.
class FakeOffscreen {
  constructor(w, h) { this.width = w; this.height = h; this.transfers = 0; }
  getContext() { return { setTransform() {}, clearRect() {}, save() {}, restore() {}, drawImage: (b) => { this.drawn = b; } }; }
  transferToImageBitmap() { this.transfers++; return { from: this, n: this.transfers, closed: false, close() { this.closed = true; } }; }
}
globalThis.OffscreenCanvas = FakeOffscreen;
const size = { width: 200, height: 100, ratio: 2, cssW: 100, cssH: 50 };

test("a layer is painted again only when its deps or size change", () => {
  const L = createLayers(), sel = {};
  let painted = 0;
  const paint = () => { painted++; };
  const a = layer(L, "plain", [sel, 0], size, paint);
  assert.equal(layer(L, "plain", [sel, 0], size, paint), a);
  assert.equal(painted, 1);
  const b = layer(L, "plain", [sel, 1], size, paint); // scrolled
  assert.notEqual(b, a);
  assert.ok(a.closed, "the bitmap it replaces is let go");
  layer(L, "plain", [sel, 1], { ...size, width: 300, cssW: 150 }, paint);
  layer(L, "plain", [{}, 1], { ...size, width: 300, cssW: 150 }, paint); // another selection, equal but not the same
  assert.equal(painted, 4);
  assert.equal(L.version, 4);
  dropLayers(L);
  assert.deepEqual(L.slots, {});
});

test("sameItems compares mask bytes four at a time, the tail and unaligned views one at a time", () => {
  for (const n of [0, 3, 4, 1027]) {
    const a = Uint8Array.from({ length: n }, (_, i) => (i * 7) % 3 === 0 ? 1 : 0), b = a.slice();
    assert.ok(sameItems(a, b), `equal, ${n} bytes`);
    for (const at of n ? [0, n >> 1, n - 1] : []) {
      const c = a.slice();
      c[at] ^= 1;
      assert.ok(!sameItems(a, c), `byte ${at} of ${n} differs`);
    }
  }
  const buf = new Uint8Array(1030), a = buf.subarray(1, 1026), b = Uint8Array.from(a); // a starts at byte 1
  assert.ok(sameItems(a, b));
  b[1000] = 9;
  assert.ok(!sameItems(a, b));
  assert.ok(!sameItems(new Uint8Array(8), new Uint8Array(9)));
});

test("sameDeps compares element by element", () => {
  assert.ok(sameDeps({ deps: [1, "a", null] }, [1, "a", null]));
  assert.ok(!sameDeps({ deps: [1, "a"] }, [1, "a", null]));
  assert.ok(!sameDeps(undefined, []));
});

test("whenIdle runs the last of the calls made before the page was idle, once", async () => {
  const L = createLayers(), ran = [];
  whenIdle(L, () => ran.push("first"));
  whenIdle(L, () => ran.push("second"));
  await new Promise((r) => setTimeout(r, 80));
  assert.deepEqual(ran, ["second"]);
  whenIdle(L, () => ran.push("third"));
  dropLayers(L); // destroyed before idle: nothing runs
  await new Promise((r) => setTimeout(r, 80));
  assert.deepEqual(ran, ["second"]);
});

test("a layer painted in steps hands over each painting step's bitmap, draws it back, and keeps the last", () => {
  const L = createLayers(), deps = [{}, 0];
  const steps = layerSteps(L, "plain", deps, size, function* () { yield true; yield; yield true; });
  let r, n = 0;
  while (!(r = steps.next()).done) n++;
  const c = L.slots.plain.canvas;
  assert.equal(n, 3);
  assert.equal(c.transfers, 3, "two painting steps and the end");
  assert.equal(r.value, L.slots.plain.image);
  assert.equal(c.drawn.n, 2, "the second step's part drawn back under what follows");
  assert.ok(c.drawn.closed, "a part is let go once the whole is handed over");
});

test("a layer painted in one piece while its steps wait stands: the steps give it up", () => {
  const L = createLayers(), deps = [{}, 0];
  const steps = layerSteps(L, "plain", deps, size, function* () { yield true; yield true; });
  steps.next(); // a step in idle time
  const frame = layer(L, "plain", deps, size, () => {}); // the view shown: its frame paints the layer
  const slot = L.slots.plain, r = steps.next();
  assert.ok(r.done && r.value === frame, "the steps return the frame's layer");
  assert.equal(L.slots.plain, slot);
  assert.equal(L.version, 1, "nothing stored after the frame's");
  assert.ok(!frame.closed);
});

test("whenIdle runs a generator a slice per idle callback; a later call replaces what is left of it", async () => {
  const L = createLayers(), seen = { a: 0, b: 0 }, done = [];
  const spin = (ms) => { const end = performance.now() + ms; while (performance.now() < end); };
  function* steps(name, n) { for (let i = 0; i < n; i++) { spin(1); seen[name]++; yield; } done.push(name); }
  whenIdle(L, () => steps("a", 40)); // 40 ms of steps: more than one slice (dom.js SLICE_MS)
  await new Promise((r) => setTimeout(r, 45)); // the first idle callback (a 30 ms timer here) has run
  assert.ok(seen.a > 0 && seen.a < 40, `one slice: ${seen.a} steps`);
  whenIdle(L, () => steps("b", 3));
  await new Promise((r) => setTimeout(r, 200));
  assert.deepEqual(done, ["b"]); // a's rest dropped
  assert.ok(seen.a < 40 && seen.b === 3, JSON.stringify(seen));
});
