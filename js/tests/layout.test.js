import { test } from "node:test";
import assert from "node:assert/strict";
import { graphLayout, rowCenter, rowAt, visibleRows, displayToken, truncate, truncateToWidth, labelColumnWidth, canvasSize, matrixLayout, cellAt, gridLayout, slideCards, ROW_MAX, ROW_MIN } from "../layout.js";

test("graph layout: small self-attention uses the largest rows", () => {
  const g = graphLayout(11, 11);
  assert.equal(g.rowH, ROW_MAX);
  assert.equal(g.contentH, 11 * ROW_MAX + 12);
  assert.equal(g.viewH, g.contentH);
  assert.equal(rowCenter(g.query, g.rowH, 0), 6 + 10);
  assert.equal(rowCenter(g.key, g.rowH, 10), 6 + 10.5 * 20);
});

test("graph layout: cross attention centres the shorter column", () => {
  const g = graphLayout(8, 4);
  assert.equal(g.query.top, 6);
  assert.equal(g.key.top, 6 + 2 * g.rowH);
  assert.equal(rowCenter(g.key, g.rowH, 0) - rowCenter(g.query, g.rowH, 0), 2 * g.rowH);
});

test("graph layout: long sequences shrink rows then scroll", () => {
  const g = graphLayout(40, 40);
  assert.equal(g.rowH, Math.floor((640 - 12) / 40));
  const big = graphLayout(512, 512);
  assert.equal(big.rowH, ROW_MIN);
  assert.equal(big.contentH, 512 * ROW_MIN + 12);
  assert.equal(big.viewH, 640);
  assert.deepEqual(visibleRows(big.query, big.rowH, 0, 640), [0, Math.ceil((640 - 6) / 14)]);
  assert.deepEqual(visibleRows(big.query, big.rowH, 7000, 7640), [Math.floor((7000 - 6) / 14), 512]);
});

test("hit testing rows", () => {
  const g = graphLayout(8, 4);
  assert.equal(rowAt(g.query, g.rowH, 5), -1);
  assert.equal(rowAt(g.query, g.rowH, 6), 0);
  assert.equal(rowAt(g.query, g.rowH, 6 + g.rowH * 7.99), 7);
  assert.equal(rowAt(g.query, g.rowH, 6 + g.rowH * 8), -1);
  assert.equal(rowAt(g.key, g.rowH, 7), -1);
  assert.equal(rowAt(g.key, g.rowH, g.key.top + 1), 0);
  for (let i = 0; i < 4; i++) assert.equal(rowAt(g.key, g.rowH, rowCenter(g.key, g.rowH, i)), i);
});

test("token display and truncation", () => {
  assert.equal(displayToken(""), "∅");
  assert.equal(displayToken(" "), "␣");
  assert.equal(displayToken("a\nb"), "a↵b");
  assert.equal(displayToken("cat"), "cat");
  assert.equal(truncate("abcdefgh", 5), "abcd…");
  assert.equal(truncate("abc", 5), "abc");
  assert.equal(truncate("😀😀😀😀", 3), "😀😀…");
  const m = (s) => s.length * 10;
  assert.equal(truncateToWidth("hello world", 60, m), "hello…");
  assert.equal(truncateToWidth("hi", 60, m), "hi");
  assert.equal(labelColumnWidth(["a", "abcdef"], m), 82);
  assert.equal(labelColumnWidth(["x".repeat(100)], m), 160);
});

test("canvas sizing with devicePixelRatio", () => {
  assert.deepEqual(canvasSize(300, 200, 2), { cssW: 300, cssH: 200, width: 600, height: 400, ratio: 2 });
  const c = canvasSize(4000, 8000, 2, 16e6);
  assert.ok(c.width * c.height <= 16e6 * 1.001);
  assert.equal(c.cssW, 4000);
});

test("matrix layout and cell hit testing", () => {
  const m = matrixLayout(8, 4, 600, { leftLabel: 60, keyLabel: 30 });
  assert.equal(m.cw, 36);
  assert.equal(m.ch, 36);
  assert.equal(m.rotate, false);
  assert.deepEqual(cellAt(m, 8, 4, m.left + 1, m.top + 1), { i: 0, j: 0 });
  assert.deepEqual(cellAt(m, 8, 4, m.left + 3.5 * m.cw, m.top + 7.5 * m.ch), { i: 7, j: 3 });
  assert.equal(cellAt(m, 8, 4, m.left - 1, m.top + 1), null);
  assert.equal(cellAt(m, 8, 4, m.left + 4 * m.cw, m.top + 1), null);
  const big = matrixLayout(512, 512, 800, { leftLabel: 60, keyLabel: 60 });
  assert.ok(big.cw >= 1 && big.cw * 512 <= 800);
  assert.equal(big.rotate, true);
  assert.ok(big.labelEveryQ > 1);
});

test("heads grid", () => {
  assert.deepEqual(gridLayout(12, 800), { cols: 6, size: Math.floor((800 - 50) / 6) });
  assert.equal(gridLayout(2, 800).cols, 2);
  assert.equal(gridLayout(12, 100).cols, 1);
});

test("heads grid on a slide: eight narrow cards become four of two rows with the text beside each thumbnail", () => {
  // the demo's slide of 8 heads at 175 %: 1096 × 340 px left for the cards, text 114 px at its narrowest
  const text = { narrow: 114, wide: 220, h1: 50, h2: 76 }, o = { text, pad: 25, gap: 17, inner: 9, min: 40 };
  const g = slideCards(8, 1096, 340, o);
  assert.deepEqual([g.cols, g.side], [4, true]);
  assert.ok(g.size - o.pad - o.inner - g.thumb >= text.narrow, "the text keeps its narrowest width beside the thumbnail");
  assert.ok(2 * (g.thumb + o.pad) + o.gap <= 340 && g.thumb > 104, "two rows fit the room, thumbnails larger than the 104 px of before");
  // a square room: the text goes under thumbnails as wide as the cards' inside (beside, two columns tie at 137)
  const square = slideCards(8, 700, 700, o);
  assert.deepEqual([square.cols, square.side, square.thumb], [4, false, Math.floor((700 - 3 * 17) / 4) - 25]);
  // no card wide enough for the text under or beside any thumbnail of the least size
  assert.equal(slideCards(8, 200, 100, o), null);
});
