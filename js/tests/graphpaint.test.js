import { test } from "node:test";
import assert from "node:assert/strict";
import { selectLines } from "../lines.js";
import { mergeLines } from "../linesof.js";
import { decodeData } from "../protocol.js";
import { graphLayout } from "../layout.js";
import { createLayers } from "../layers.js";
import { headColor } from "../colors.js";
import { geometry, paintScreen } from "../graphpaint.js";
import { paintLines, paintLinesSteps, STEP_STROKES } from "../graphlines.js";

// A 2D context that records what is stroked: per stroke(), its style, opacity and subpaths.
function recorder() {
  const strokes = [];
  let path = [];
  return {
    strokes, lineWidth: 1, lineCap: "butt", globalAlpha: 1, strokeStyle: "#000", fillStyle: "#000",
    setTransform() {}, clearRect() {}, fillRect() {}, save() {}, restore() {}, drawImage() {},
    beginPath() { path = []; }, moveTo(x, y) { path.push([x, y]); }, lineTo() {},
    stroke() { strokes.push({ style: this.strokeStyle, alpha: this.globalAlpha, ys: path.map((p) => p[1]) }); },
  };
}

// Offscreen layers (layers.js) paint onto recorders too; a bitmap per transfer.
globalThis.OffscreenCanvas = class {
  constructor(w, h) { this.width = w; this.height = h; this.ctx = recorder(); }
  getContext() { return this.ctx; }
  transferToImageBitmap() { return { close() {} }; }
};
globalThis.requestIdleCallback = () => 1; // idle work never runs here

function data(H = 3, Q = 4, K = 5) {
  const q = Uint8Array.from({ length: H * Q * K }, (_, c) => 40 + ((c * 37) % 200));
  return decodeData({ q, shape: [H, Q, K], lo: 0, hi: 1, probability: true, mask: new Uint8Array(0) });
}

function view(d) {
  const model = { palette: "default", selected_query: 1, selected_key: null };
  const theme = { dark: false, accent: "#1976d2", fg: "#000000", bg: "#ffffff", border: "#999999", border2: "#cccccc" };
  const app = {
    data: d, exact: null, get: (k) => model[k],
    ui: { theme, scale: 1, hover: null },
    headColor: (hd) => headColor(hd, false, model.palette),
    isMasked: () => false, barRows: () => [],
  };
  // no "bitmaprenderer" (as a canvas with a 2D context already): dom.js paintCanvas paints on the canvas itself
  const canvas = () => ({ width: 0, height: 0, style: {}, ctx: recorder(), getContext(type) { return type === "2d" ? this.ctx : null; } });
  const lay = graphLayout(d.Q, d.K);
  const st = { sel: selectLines(d, { heads: [0, 1, 2], threshold: 0 }), extra: null, lay, top: 0, layers: createLayers(),
    shown: {}, widths: { query: 60, key: 60 } };
  return { app, model, st, canvases: { base: canvas(), active: canvas(), pair: canvas() } };
}

function paint(v) {
  const g = geometry(v, 400, 0), size = { width: 280, height: 200, ratio: 1, cssW: 280, cssH: 200 };
  paintScreen(v, { ...g, yMin: 0, yMax: 200, size });
}

test("a palette change paints the faded layer and the active token's lines again", () => {
  const v = view(data());
  paint(v);
  const faded = v.st.layers.slots.faded.serial, active = v.canvases.active.ctx.strokes.length;
  assert.ok(active > 0, "the pinned token's lines");
  paint(v);
  assert.equal(v.st.layers.slots.faded.serial, faded, "nothing changed: nothing painted");
  assert.equal(v.canvases.active.ctx.strokes.length, active);
  v.model.palette = "okabe-ito";
  paint(v);
  assert.ok(v.st.layers.slots.faded.serial > faded, "the faded lines in the new colours");
  assert.ok(v.canvases.active.ctx.strokes.length > active, "the active lines in the new colours");
  const colours = new Set(v.st.layers.slots.faded.canvas.ctx.strokes.map((s) => s.style));
  assert.ok(colours.has(headColor(0, false, "okabe-ito")));
});

test("no canvas style is written when nothing changed", () => {
  const v = view(data());
  paint(v);
  for (const c of Object.values(v.canvases)) c.style = new Proxy({}, { set() { throw new Error("style write"); } });
  paint(v);
});

test("mergeLines: lines of equal ends composite source-over; lone lines stay as they are", () => {
  const m = mergeLines([
    { ya: 1, yb: 2, rgb: [255, 0, 0], alpha: 0.5 },
    { ya: 1, yb: 3, rgb: [0, 0, 255], alpha: 0.25 },
    { ya: 1, yb: 2, rgb: [0, 255, 0], alpha: 0.5 },
  ]);
  assert.equal(m.length, 2);
  assert.deepEqual(m[1], { ya: 1, yb: 3, alpha: 0.25, rgb: [0, 0, 255] });
  // red at 0.5 under green at 0.5: alpha 0.75, colour (0.25 red + 0.5 green) / 0.75
  assert.equal(m[0].alpha, 0.75);
  assert.deepEqual(m[0].rgb.map(Math.round), [85, 170, 0]);
});

test("merged active lines: one per other token, in the colour the heads' strokes make", () => {
  const v = view(data()), g = geometry(v, 400, 0);
  const lines = { ...g, yMin: 0, yMax: 200, sel: v.st.sel, extra: null, nh: 3, color: (hd) => v.app.headColor(hd),
    active: { side: "query", index: 1 }, unit: 1, layer: "active", hairlines: 1 };
  const plain = recorder(), merged = recorder();
  paintLines(plain, lines);
  paintLines(merged, { ...lines, merge: true });
  const ends = (ctx) => ctx.strokes.flatMap((s) => s.ys.filter((_, k) => k % 2 === 1)); // one strand of two
  assert.equal(ends(plain).length, 3 * 5, "a line per head and key");
  assert.equal(ends(merged).length, 5, "a line per key");
  assert.ok(merged.strokes.every((s, k) => k === 0 || s.alpha >= merged.strokes[k - 1].alpha), "faintest first");
  // one head: nothing to merge, the same strokes
  const one = { ...lines, nh: 1, sel: selectLines(v.app.data, { heads: [2], threshold: 0 }) };
  const a = recorder(), b = recorder();
  paintLines(a, one);
  paintLines(b, { ...one, merge: true });
  assert.deepEqual(b.strokes, a.strokes);
});

test("a stepped paint hands its lines over in parts of about STEP_STROKES, a bucket's path whole", () => {
  const d = data(8, 64, 64), v = view(d), g = geometry(v, 400, 0);
  const sel = selectLines(d, { heads: [0, 1, 2, 3, 4, 5, 6, 7], threshold: 0 });
  const ctx = recorder(), steps = paintLinesSteps(ctx, { ...g, yMin: -1e9, yMax: 1e9, sel, extra: null, nh: 8, color: (hd) => v.app.headColor(hd), active: null, unit: 1 });
  const parts = [];
  let seen = 0;
  for (let r = steps.next(); !r.done; r = steps.next()) {
    if (!r.value) continue; // a step that only read
    const part = ctx.strokes.slice(seen).map((st) => st.ys.length);
    seen = ctx.strokes.length;
    parts.push(part);
  }
  const lines = ctx.strokes.reduce((a, st) => a + st.ys.length, 0);
  assert.ok(lines > 8 * STEP_STROKES, lines);
  // each part passed STEP_STROKES only with its last bucket: a hand-over rasterizes about that many lines
  for (const part of parts) assert.ok(part.slice(0, -1).reduce((a, n) => a + n, 0) < STEP_STROKES, part);
  assert.ok(parts.length >= 4, parts.length);
  // one stroke per bucket (colour and opacity): no path split across parts
  const keys = ctx.strokes.map((st) => `${st.style} ${st.alpha}`);
  assert.equal(new Set(keys).size, keys.length);
});
