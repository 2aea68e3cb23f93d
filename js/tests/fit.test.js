import { test } from "node:test";
import assert from "node:assert/strict";
import { rowHeights, widgetBudget, shownZoom } from "../fit.js";

const box = (top, h) => ({ getBoundingClientRect: () => ({ top }), offsetHeight: h });

test("widgets side by side share one row: the slide's height is not split between them", () => {
  assert.deepEqual(rowHeights([box(100, 300), box(101, 280)]), [300]);
  assert.deepEqual(rowHeights([box(100, 300), box(420, 200)]), [300, 200]);
  // one row of two 300 px widgets under 100 px of other content: each may take 720 - 8 - 100
  assert.equal(widgetBudget(720, 400, rowHeights([box(100, 300), box(100, 300)])), 612);
  // stacked, they share it
  assert.equal(widgetBudget(720, 700, rowHeights([box(100, 300), box(400, 300)])), 306);
});

test("shownZoom: how much larger a slide shows the widget than its layout, from 1 (never less) to 3", () => {
  const el = (layout, shown) => ({ offsetWidth: layout, getBoundingClientRect: () => ({ width: shown }) });
  assert.equal(shownZoom(el(1000, 1470)), 1.47); // 1280 × 720 slides on 1920 × 1080
  assert.equal(shownZoom(el(1000, 980)), 1); // a smaller window: the screen's own pixels are enough
  assert.equal(shownZoom(el(1000, 5000)), 3);
  assert.equal(shownZoom(el(0, 0)), 1); // not laid out
});
