import { test } from "node:test";
import assert from "node:assert/strict";
import { createLayers, layer, sameDeps, whenIdle, dropLayers } from "../layers.js";

// A stand-in OffscreenCanvas: a context that counts clears, a bitmap per transfer.
class FakeOffscreen {
  constructor(w, h) { this.width = w; this.height = h; this.transfers = 0; }
  getContext() { return { setTransform() {}, clearRect() {} }; }
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
