// Head palettes (the `palette` trait): every colour stands out on the page, none is a light yellow, and the
// colour-blind safe ones stay apart for readers with protanopia, deuteranopia and tritanopia (Machado,
// Oliveira & Fernandes 2009 at full severity, on linear RGB; CIE76 ΔE), which the default palette does not.
import { test } from "node:test";
import assert from "node:assert/strict";
import { PALETTES, PALETTE_LABELS, headColor, headColors, hexToRgb, contrast, deltaE, MIN_CONTRAST } from "../colors.js";

const CVD = {
  protanopia: [[0.152286, 1.052583, -0.204868], [0.114503, 0.786281, 0.099216], [-0.003882, -0.048116, 1.051998]],
  deuteranopia: [[0.367322, 0.860646, -0.227968], [0.280085, 0.672501, 0.047413], [-0.01182, 0.04294, 0.968881]],
  tritanopia: [[1.255528, -0.076749, -0.178779], [-0.078411, 0.930809, 0.147602], [0.004733, 0.691367, 0.3039]],
};
const lin = (v) => { v /= 255; return v <= 0.04045 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; };
const enc = (v) => 255 * (v <= 0.0031308 ? 12.92 * v : 1.055 * v ** (1 / 2.4) - 0.055);
const simulate = (rgb, m) => { const l = rgb.map(lin); return m.map((r) => enc(Math.min(1, Math.max(0, r[0] * l[0] + r[1] * l[1] + r[2] * l[2])))); };

/** The closest two of `cols` ([r, g, b]) as a reader with `kind` sees them: [ΔE, a, b]. */
function closest(cols, kind) {
  const s = cols.map((c) => simulate(c, CVD[kind]));
  let best = [Infinity, -1, -1];
  for (let a = 0; a < s.length; a++) for (let b = a + 1; b < s.length; b++) { const d = deltaE(s[a], s[b]); if (d < best[0]) best = [d, a, b]; }
  return best;
}

const SAFE = ["okabe-ito", "tol-bright"];
const WHITE = [255, 255, 255], LAB_DARK = [0x11, 0x11, 0x11]; // JupyterLab's dark --jp-layout-color0

test("the palettes are the trait's names, each with a label", () => {
  assert.deepEqual(Object.keys(PALETTES), ["default", "okabe-ito", "tol-bright"]);
  assert.deepEqual(Object.keys(PALETTE_LABELS), Object.keys(PALETTES));
  assert.equal(PALETTES["okabe-ito"].length, 7);
});

for (const name of SAFE) {
  test(`${name}: every head stands out on white and on a dark page, none a light yellow`, () => {
    for (let i = 0; i < 24; i++) {
      const rgb = hexToRgb(headColor(i, false, name));
      assert.ok(contrast(rgb, WHITE) >= MIN_CONTRAST, `head ${i} ${headColor(i, false, name)} on white`);
      const [r, g, b] = rgb, max = Math.max(r, g, b), min = Math.min(r, g, b);
      assert.ok(!(r > 150 && g > 150 && b < 0.6 * Math.min(r, g) && max > 200 && (max + min) / 2 > 150), `head ${i} ${headColor(i, false, name)} is a light yellow`);
      assert.ok(contrast(hexToRgb(headColor(i, true, name)), LAB_DARK) >= 2, `head ${i} ${headColor(i, true, name)} on a dark page`);
    }
    assert.equal(new Set(headColors(24, false, name)).size, 24);
  });

  test(`${name}: its colours stay apart for colour-blind readers (light and dark)`, () => {
    for (const dark of [false, true]) {
      const cols = headColors(PALETTES[name].length, dark, name).map(hexToRgb);
      for (const [kind, least] of [["protanopia", 12], ["deuteranopia", 12], ["tritanopia", 10]]) {
        const [d, a, b] = closest(cols, kind);
        assert.ok(d >= least, `${name} (dark=${dark}) heads ${a} and ${b} under ${kind}: ΔE ${d.toFixed(1)}`);
      }
    }
  });
}

test("the default palette is not colour-blind safe (why the choice exists): red and green merge for deuteranopes", () => {
  const [d, a, b] = closest(headColors(PALETTES.default.length, false).map(hexToRgb), "deuteranopia");
  assert.ok(d < 5, `ΔE ${d.toFixed(1)}`);
  assert.deepEqual([a, b], [2, 4]);
});

test("an unknown palette name (an edited copy) is the default; the default is what it was", () => {
  assert.equal(headColor(3, false, "nope"), headColor(3, false));
  assert.equal(headColor(3, true, "__proto__"), headColor(3, true));
  assert.equal(headColor(0, false, "default"), headColor(0));
  assert.equal(headColor(6, true, "okabe-ito"), "#ffffff", "black is white on a dark page");
  assert.equal(headColor(6, false, "okabe-ito"), "#000000");
});
