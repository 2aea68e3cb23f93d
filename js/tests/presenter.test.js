// Issue #16: the presenter scale, slide fitting, matrix head choice, colour range, palette, diff lines,
// the model view's names and blocks, and a static copy restoring the live view's last state.
import { test } from "node:test";
import assert from "node:assert/strict";
import { matrixLayout } from "../layout.js";
import { widgetBudget } from "../fit.js";
import { effectiveScale, PRESENTER_SCALE } from "../uistate.js";
import { matrixShows, shownName, togglePatch, soloPatch, pickPatch, pickValue, headList } from "../headsel.js";
import { colorRange } from "../heatmap.js";
import { rangeTable, scaleTable, headColor, hexToRgb, contrast, MIN_CONTRAST } from "../colors.js";
import { selectLines, SIGN_POS, SIGN_NEG } from "../lines.js";
import { wrapName, thumbBlock } from "../modelgrid.js";
import { legendTicks } from "../matrixpaint.js";

test("column labels rotate before any is left out (the Transformer's cross matrix: 31-32 px labels, 34-36 px columns)", () => {
  for (const keyLabel of [31, 32]) {
    for (const width of [330, 340, 350]) {
      const m = matrixLayout(6, 7, width, { leftLabel: 60, keyLabel, fontPx: 11 });
      assert.ok(m.cw < keyLabel + 6, `cw ${m.cw}`);
      assert.equal(m.rotate, true, `label ${keyLabel}, column ${m.cw}`);
      assert.equal(m.labelEveryK, 1, "every column keeps its label");
    }
  }
  for (let keyLabel = 8; keyLabel <= 110; keyLabel += 3) {
    for (let width = 200; width <= 1400; width += 50) {
      for (const K of [3, 7, 11, 38]) {
        const m = matrixLayout(K, K, width, { leftLabel: 60, keyLabel, fontPx: 11 });
        if (!m.rotate) assert.equal(m.labelEveryK, 1, `horizontal labels are never thinned (label ${keyLabel}, K ${K}, width ${width})`);
        if (m.labelEveryK > 1) assert.ok(m.rotate && m.cw < 12, "only rotated labels in columns narrower than a line are thinned");
      }
    }
  }
});

test("matrix rows shrink to a slide's height, but not below a readable row", () => {
  const free = matrixLayout(11, 11, 1100, { leftLabel: 100, keyLabel: 80, fontPx: 19.25, maxCell: 63, unit: 1.75, legendH: 0, maxHeight: 1260 });
  assert.equal(free.ch, 63);
  const fit = matrixLayout(11, 11, 1100, { leftLabel: 100, keyLabel: 80, fontPx: 19.25, maxCell: 63, unit: 1.75, legendH: 0, maxHeight: 1260, maxTotal: 400 });
  assert.ok(fit.totalH <= 400 + 1, `canvas ${fit.totalH} px in 400`);
  const tight = matrixLayout(38, 38, 1100, { leftLabel: 100, keyLabel: 80, fontPx: 19.25, maxCell: 63, unit: 1.75, legendH: 0, maxHeight: 1260, maxTotal: 300 });
  assert.ok(tight.ch >= 19.25, "rows stay a line tall: the view scrolls instead");
  assert.equal(tight.labelEveryQ, 1);
});

test("a slide's height is shared by its widgets after everything else on it", () => {
  assert.equal(widgetBudget(720, 1300, [900], { margin: 0 }), 720 - 400);
  assert.equal(widgetBudget(720, 1300, [500, 400], { margin: 0 }), Math.floor((720 - 400) / 2));
  assert.equal(widgetBudget(720, 2000, [100], { margin: 0, min: 160 }), 160);
  // the budget does not depend on the widgets' own heights: fitting converges at once
  assert.equal(widgetBudget(720, 1300 - 600, [300], { margin: 0 }), widgetBudget(720, 1300, [900], { margin: 0 }));
});

test("slides default to the presenter scale: token labels of 21 px", () => {
  assert.equal(effectiveScale(1, true, false), PRESENTER_SCALE);
  assert.ok(12 * PRESENTER_SCALE * 0.98 >= 20, "≥ 20 px at reveal.js's 0.98 on 1280×720");
  assert.equal(effectiveScale(1, false, false), 1);
  assert.equal(effectiveScale(2, true, false), 2, "a scale asked for is kept on slides");
  assert.equal(effectiveScale(1, true, true), 1, "the size control overrides the default");
  assert.equal(effectiveScale(99, false, false), 4);
  assert.equal(effectiveScale("x", false, false), 1);
});

test("the matrix shows the head left alone, else the mean (or max) of the visible heads", () => {
  assert.deepEqual(matrixShows([3], 8, "none"), { kind: "head", head: 3, heads: [3] });
  assert.deepEqual(matrixShows([0, 1, 2, 3, 4, 5, 6, 7], 8, "none"), { kind: "mean", heads: [0, 1, 2, 3, 4, 5, 6, 7] });
  assert.equal(matrixShows([1, 2], 8, "max").kind, "max");
  assert.equal(matrixShows([], 8, "none").kind, "none");
  assert.equal(matrixShows([9, 2], 8, "none").kind, "head", "heads past H are not visible");
  const name = (hd) => `head ${hd}`;
  assert.equal(shownName(matrixShows([3], 8, "none"), 8, name), "head 3");
  assert.equal(shownName(matrixShows([0, 1, 2, 3, 4, 5, 6, 7], 8, "none"), 8, name), "mean of all 8 heads");
  assert.equal(shownName(matrixShows([0, 1, 2, 5, 7], 8, "max"), 8, name), "max of heads 0–2, 5, 7");
  assert.equal(headList([0, 1, 3, 4, 6]), "0, 1, 3, 4, 6");
});

test("swatches and the head picker set heads and head together", () => {
  assert.deepEqual(soloPatch([0, 1, 2, 3], 2, 4), { heads: [2], head: 2 });
  assert.deepEqual(soloPatch([2], 2, 4), { heads: [0, 1, 2, 3] }, "soloing the solo head shows every head again");
  assert.deepEqual(togglePatch([0, 1], 0, 4), { heads: [1], head: 1 }, "hiding all but one: that one is the head");
  assert.deepEqual(togglePatch([1], 3, 4), { heads: [1, 3] });
  assert.deepEqual(pickPatch("h5", [0, 1], 8, "none"), { heads: [5], head: 5 });
  assert.deepEqual(pickPatch("mean", [5], 8, "none"), { heads: [0, 1, 2, 3, 4, 5, 6, 7] });
  assert.deepEqual(pickPatch("max", [1, 2], 8, "none"), { heads: [1, 2], aggregate: "max" });
  assert.deepEqual(pickPatch("mean", [1, 2], 8, "max"), { heads: [1, 2], aggregate: "mean" });
  assert.equal(pickValue(matrixShows([5], 8, "none")), "h5");
  assert.equal(pickValue(matrixShows([1, 2], 8, "max")), "max");
});

test("colours stretch to the shown data's max (38 tokens: weights near 1/38 are no longer white)", () => {
  const plane = new Uint8Array(38 * 38).fill(7); // ≈ 0.027
  plane[5] = 51; // 0.2
  assert.deepEqual(colorRange(0, 1, plane, null, false), { lo: 0, hi: 1, stretched: false });
  const r = colorRange(0, 1, plane, null, true);
  assert.ok(Math.abs(r.hi - 0.2) < 1e-9 && r.lo === 0 && r.stretched);
  const fixed = scaleTable(0, 1), stretched = rangeTable(0, 1, r.lo, r.hi);
  assert.deepEqual([...stretched.subarray(51 * 3, 51 * 3 + 3)], [...fixed.subarray(255 * 3, 255 * 3 + 3)], "the max gets the darkest colour");
  assert.ok(stretched[7 * 3] < fixed[7 * 3], "small weights get darker");
  const masked = new Uint8Array(38 * 38).fill(1);
  masked[5] = 0;
  assert.ok(colorRange(0, 1, plane, masked, true).hi < 0.1, "masked cells are left out of the max");
  const signed = colorRange(-1, 1, Uint8Array.from([100, 128, 160]), null, true);
  assert.ok(signed.lo === -signed.hi && signed.hi > 0.2 && signed.hi < 0.3, "signed data: ± the largest magnitude");
});

test("the legend's 0 tick on a diverging scale is left out when it would touch an end", () => {
  const m = (s) => s.length * 7;
  assert.equal(legendTicks(-0.41, 0.94, 200, m).length, 3);
  assert.equal(legendTicks(-0.02, 0.94, 200, m).length, 2);
  assert.equal(legendTicks(0, 1, 200, m).length, 3);
});

test("head colours: none is a light yellow, every one stands out on white", () => {
  for (let i = 0; i < 40; i++) {
    const rgb = hexToRgb(headColor(i));
    assert.ok(contrast(rgb, [255, 255, 255]) >= MIN_CONTRAST, `head ${i} ${headColor(i)}`);
    const [r, g, b] = rgb, max = Math.max(r, g, b), min = Math.min(r, g, b);
    const yellow = r > 150 && g > 150 && b < 0.6 * Math.min(r, g);
    assert.ok(!(yellow && max > 200 && (max + min) / 2 > 150), `head ${i} ${headColor(i)} is a light yellow`);
  }
  assert.notEqual(headColor(5), "#edc948");
});

test("a difference's lines are drawn by sign, their opacity by magnitude", () => {
  // 1 head, 2 queries, 2 keys over [-1, 1]: byte 255 = +1, 0 = -1, 128 ≈ 0
  const data = { H: 1, Q: 2, K: 2, lo: -1, hi: 1, q: Uint8Array.from([255, 128, 0, 140]), mask: null };
  const sel = selectLines(data, { threshold: 0.2 });
  assert.equal(sel.signed, true);
  const lines = Array.from({ length: sel.n }, (_, c) => [sel.query[c], sel.key[c], sel.head[c], Math.round(sel.weight[c])]);
  assert.deepEqual(lines.sort(), [[0, 0, SIGN_POS, 255], [1, 0, SIGN_NEG, 255]].sort(), "near-zero differences are below the threshold");
  const probs = selectLines({ H: 1, Q: 1, K: 2, lo: 0, hi: 1, q: Uint8Array.from([200, 10]), mask: null }, {});
  assert.equal(probs.signed, false);
  assert.equal(probs.head[0], 0);
});

test("model view: layer names wrap after '/', thumbnail cells name their token blocks", () => {
  const m = (s) => s.length * 8;
  assert.deepEqual(wrapName("decoder/dec_layers_0/causal_self_attention", 200, m), ["decoder/dec_layers_0/", "causal_self_attention"]);
  assert.deepEqual(wrapName("encoder/self", 200, m), ["encoder/self"]);
  const lines = wrapName("a/b/c/d/e", 16, m, 3);
  assert.equal(lines.length, 3);
  assert.ok(lines.every((l) => m(l) <= 16));
  assert.deepEqual(thumbBlock(2, 3, 7, 7, 7, 7), { q0: 2, q1: 2, k0: 3, k1: 3 });
  assert.deepEqual(thumbBlock(0, 47, 48, 48, 96, 512), { q0: 0, q1: 1, k0: 501, k1: 511 });
});
