// BertViz's sentence_b_start (the `segment_start` trait) and display_mode (the `theme` trait): the decoders,
// the graph's gap between two segments, and the colours a forced theme sets on the widget's root.
import { test } from "node:test";
import assert from "node:assert/strict";
import { graphLayout, rowCenter, rowTop, rowAt, visibleRows, segmentY, GAP_ROWS, ROW_MAX } from "../layout.js";
import { segmentStart, segmentFractions, themeMode, FALLBACK_SCHEMA } from "../protocol.js";
import { strokeSegments } from "../heatmap.js";
import { applyTheme } from "../theme.js";

test("segment_start decodes to an index inside the column, else -1", () => {
  assert.equal(segmentStart(3, 5), 3);
  assert.equal(segmentStart(1, 5), 1);
  for (const bad of [-1, 0, 5, 9, 2.5, "3", null, undefined, true]) assert.equal(segmentStart(bad, 5), -1, String(bad));
  assert.ok(FALLBACK_SCHEMA.traits.includes("segment_start") && FALLBACK_SCHEMA.traits.includes("theme"));
});

test("theme decodes to light, dark or auto", () => {
  assert.equal(themeMode("dark"), "dark");
  assert.equal(themeMode("light"), "light");
  for (const other of ["auto", "Dark", "", null, undefined, 1]) assert.equal(themeMode(other), "auto");
});

test("graph layout: tokens s - 1 and s are farther apart than any other neighbours, in both columns", () => {
  const g = graphLayout(8, 8, { segment: 3 });
  const gap = Math.floor(ROW_MAX * GAP_ROWS);
  assert.equal(g.rowH, ROW_MAX);
  assert.equal(g.contentH, 8 * ROW_MAX + gap + 12);
  for (const side of ["query", "key"]) {
    const col = g[side], ys = Array.from({ length: 8 }, (_, i) => rowCenter(col, g.rowH, i));
    const steps = ys.slice(1).map((y, i) => y - ys[i]);
    assert.deepEqual(steps, [20, 20, 20 + gap, 20, 20, 20, 20], side);
    assert.equal(rowTop(col, g.rowH, 3), ys[3] - 10);
    assert.equal(segmentY(col, g.rowH), 6 + 3 * 20 + gap / 2); // the divider: the gap's middle
  }
  assert.equal(segmentY(graphLayout(8, 8).query, ROW_MAX), null);
});

test("graph layout: the gap stays under half a row, so a row's centre floors to its own row", () => {
  for (const n of [5, 40, 600]) {
    const g = graphLayout(n, n, { segment: 2 });
    assert.ok(g.query.gap > 0 && g.query.gap < g.rowH / 2, `${n}: gap ${g.query.gap}, row ${g.rowH}`);
    for (let i = 0; i < n; i += Math.max(1, n >> 3)) {
      const y = rowCenter(g.key, g.rowH, i);
      assert.equal(Math.floor((y - g.query.top) / g.rowH), i); // graph.js's arrow keys
      assert.equal(rowAt(g.query, g.rowH, y), i);
    }
  }
});

test("graph layout: the gap fits the height and is hit-tested as no row", () => {
  const g = graphLayout(40, 40, { segment: 20 });
  assert.ok(g.contentH <= 640, String(g.contentH));
  const y = segmentY(g.query, g.rowH);
  assert.equal(rowAt(g.query, g.rowH, y), -1);
  assert.equal(rowAt(g.query, g.rowH, rowTop(g.query, g.rowH, 20)), 20);
  assert.equal(rowAt(g.query, g.rowH, rowTop(g.query, g.rowH, 20) - 0.5), -1);
  assert.equal(rowAt(g.query, g.rowH, rowTop(g.query, g.rowH, 19) + g.rowH - 0.5), 19);
  assert.deepEqual(visibleRows(g.query, g.rowH, 0, y), [0, 20]);
  assert.deepEqual(visibleRows(g.query, g.rowH, y, g.contentH), [20, 40]);
  assert.deepEqual(visibleRows(g.query, g.rowH, rowTop(g.query, g.rowH, 25), rowTop(g.query, g.rowH, 30)), [25, 30]);
});

test("graph layout: a segment past a column leaves it whole, and cross attention still centres", () => {
  const g = graphLayout(8, 4, { segment: 5 });
  assert.equal(g.query.gapAt, 5);
  assert.equal(g.key.gapAt, -1);
  const gap = g.query.gap;
  // the key column is centred against the query column with its gap
  assert.equal(g.key.top, 6 + (2 * g.rowH * 2 + gap) / 2);
  for (const seg of [-1, 0, 8, undefined]) assert.equal(graphLayout(8, 8, { segment: seg }).contentH, 8 * ROW_MAX + 12);
});

/** A stand-in for the widget's root: the parts of style and dataset applyTheme touches. */
function fakeRoot() {
  const props = new Map();
  return {
    props, dataset: {},
    style: { colorScheme: "", setProperty: (k, v) => props.set(k, v), removeProperty: (k) => props.delete(k) },
  };
}

test("a forced theme sets the --jp-* variables on the root; auto takes them off again", () => {
  const root = fakeRoot();
  applyTheme(root, "dark");
  assert.equal(root.props.get("--jp-layout-color0"), "#111111");
  assert.equal(root.props.get("--jp-ui-font-color0"), "rgba(255, 255, 255, 1)");
  assert.equal(root.style.colorScheme, "dark");
  assert.equal(root.dataset.awTheme, "dark");
  applyTheme(root, "light");
  assert.equal(root.props.get("--jp-layout-color0"), "#ffffff");
  assert.equal(root.style.colorScheme, "light");
  applyTheme(root, "auto");
  assert.equal(root.props.size, 0);
  assert.equal(root.style.colorScheme, "");
  assert.equal(root.dataset.awTheme, undefined);
});

test("thumbnails: the divider crosses a Q × K map at segment_start's share of each side, or not at all", () => {
  assert.deepEqual(segmentFractions(3, 12, 6), { y: 0.25, x: 0.5 });
  assert.deepEqual(segmentFractions(8, 12, 6), { y: 8 / 12, x: null }); // past the keys: a row divider only
  assert.deepEqual(segmentFractions(null, 12, 6), { y: null, x: null });
  const calls = [];
  const ctx = new Proxy({}, { get: (o, k) => (k in o ? o[k] : (...a) => calls.push([k, ...a])), set: (o, k, v) => { o[k] = v; return true; } });
  strokeSegments(ctx, { x: 10, y: 20, w: 60, h: 120 }, segmentFractions(3, 12, 6), "#123", 2);
  assert.deepEqual(calls, [["beginPath"], ["moveTo", 10, 50], ["lineTo", 70, 50], ["moveTo", 40, 20], ["lineTo", 40, 140], ["stroke"]]);
  assert.equal(ctx.strokeStyle, "#123");
  calls.length = 0;
  strokeSegments(ctx, { x: 0, y: 0, w: 10, h: 10 }, segmentFractions(-1, 12, 6), "#123", 2);
  assert.deepEqual(calls, []);
});
