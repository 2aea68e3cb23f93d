// Cached layers of a view's canvas: bitmaps of the canvas's size, each painted again only when what
// it shows changes (its `deps`); the frames in between copy pixels. A click or a hover then rasterizes
// only what it changed: software 2D canvases (no GPU) spend most of a frame rasterizing paths and text.

import { idleLater, cancelIdle, runSlice } from "./dom.js";
import { drain } from "./steps.js";

/** An empty set of layers for one canvas. */
export function createLayers() {
  return { slots: {}, idle: 0, next: null, version: 0 }; // version: how many layers were painted (a slot's serial)
}

/** Does layer slot L hold a bitmap painted for `deps` (compared element by element, with ===)? */
export function sameDeps(L, deps) {
  return Boolean(L) && sameItems(L.deps, deps);
}

/** Whether two lists (deps, token lists, mask bytes) hold the same items by ===, or are both missing. */
export function sameItems(a, b) {
  if (a === b) return true;
  if (!a || !b || a.length !== b.length) return false;
  let i = 0;
  if (a instanceof Uint8Array && b instanceof Uint8Array && a.byteOffset % 4 === 0 && b.byteOffset % 4 === 0) {
    // a layer switch compares masks of up to Q × K = 1 M bytes: four at a time (~0.5 ms, not ~1.8)
    const n = a.length >> 2, x = new Uint32Array(a.buffer, a.byteOffset, n), y = new Uint32Array(b.buffer, b.byteOffset, n);
    for (let w = 0; w < n; w++) if (x[w] !== y[w]) return false;
    i = n << 2;
  }
  for (; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * Layer `name` of `size` ({width, height: device pixels, ratio: device pixels per CSS pixel, cssW,
 * cssH}), painted by paint(ctx) in CSS pixels onto a transparent bitmap when `deps` differ from its
 * last ones. Returns what to blit().
 */
export function layer(layers, name, deps, size, paint) {
  return drain(layerSteps(layers, name, deps, size, function* (ctx) { paint(ctx); }, false));
}

/**
 * layer() in steps, for idle time: `paint(ctx)` is a generator, and what each of its steps that painted (yields
 * true) is rasterized in that step (an OffscreenCanvas hands its bitmap over, which is drawn back under the next
 * step's paths), not all at the end (the graph's 100,000 lines: 30-40 ms in one piece). `sliced` false: painted
 * in one piece, with no step between (a frame's layer: a hand-over per step would only add to it). Returns what
 * to blit().
 */
export function* layerSteps(layers, name, deps, size, paint, sliced = true) {
  const old = layers.slots[name], ready = paintedImage(layers, name, deps, size);
  if (ready) return ready;
  // painted in steps, on a canvas of its own: a frame may paint this layer in one piece meanwhile (the view
  // shown between two steps, on the slot's canvas), and that one then stands
  let c = sliced ? null : old?.canvas;
  if (!c) c = typeof OffscreenCanvas === "function" ? new OffscreenCanvas(size.width, size.height) : document.createElement("canvas");
  if (c.width !== size.width) c.width = size.width;
  if (c.height !== size.height) c.height = size.height;
  const ctx = c.getContext("2d");
  ctx.setTransform(size.ratio, 0, 0, size.ratio, 0, 0);
  ctx.clearRect(0, 0, size.cssW, size.cssH);
  const steps = paint(ctx);
  let part = null;
  if (!sliced) drain(steps);
  else for (let r = steps.next(); !r.done; r = steps.next()) {
    if (r.value && c.transferToImageBitmap) { // a step that painted (`yield true`), not one that only read
      const done = c.transferToImageBitmap(); // rasterized now, the last part drawn in; the canvas is transparent again
      part?.close();
      blit(ctx, (part = done));
    }
    yield;
    if (layers.slots[name] !== old) { part?.close(); return layers.slots[name].image; } // painted meanwhile
  }
  // An OffscreenCanvas hands its pixels over rasterized now: the frames that show them only copy.
  const image = c.transferToImageBitmap ? c.transferToImageBitmap() : c;
  part?.close();
  if (old && old.image !== image) old.image.close?.();
  layers.slots[name] = { deps, canvas: c, image, width: size.width, height: size.height, ratio: size.ratio, serial: ++layers.version };
  return image;
}

/** The image of layer `name` if it is painted for `deps` at `size`, else null. */
export function paintedImage(layers, name, deps, size) {
  const L = layers.slots[name];
  return sameDeps(L, deps) && L.width === size.width && L.height === size.height && L.ratio === size.ratio ? L.image : null;
}

/** Copy a layer onto `ctx` pixel for pixel, whatever its transform. */
export function blit(ctx, image) {
  ctx.save();
  ctx.setTransform(1, 0, 0, 1, 0, 0);
  ctx.globalAlpha = 1;
  ctx.drawImage(image, 0, 0);
  ctx.restore();
}

/** Run fn once the page is idle; a later call before then replaces it (one pending per set of layers). If fn
 * returns a generator (a layer's steps), its steps run a slice (dom.js runSlice) per idle callback until it ends
 * or a later call replaces it: the graph's faded layer at T = 64 in one piece was a 54-67 ms idle task, which the
 * next key waited for. */
export function whenIdle(layers, fn) {
  layers.next = fn;
  if (layers.idle) return;
  const slice = (deadline) => {
    layers.idle = 0;
    if (layers.next) {
      const next = layers.next;
      layers.next = null;
      const r = next();
      layers.steps = r && typeof r.next === "function" ? r : null;
    }
    if (layers.steps && !runSlice(layers.steps, deadline)) layers.idle = idleLater(slice);
    else layers.steps = null;
  };
  layers.idle = idleLater(slice);
}

/** Let go of the bitmaps and of the idle work (the view is destroyed). */
export function dropLayers(layers) {
  if (layers.idle) cancelIdle(layers.idle);
  layers.idle = 0;
  layers.next = layers.steps = null;
  for (const L of Object.values(layers.slots)) L.image.close?.();
  layers.slots = {};
}
