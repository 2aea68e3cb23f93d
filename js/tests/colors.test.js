import { test } from "node:test";
import assert from "node:assert/strict";
import { headColor, headColors, hexToRgb, deltaE, luminance, sequential, diverging, legendStops, parseColor, rgbToLab, maskColors } from "../colors.js";

function hue([r, g, b]) {
  r /= 255; g /= 255; b /= 255;
  const mx = Math.max(r, g, b), mn = Math.min(r, g, b), d = mx - mn;
  if (d === 0) return NaN;
  let h = mx === r ? ((g - b) / d) % 6 : mx === g ? (b - r) / d + 2 : (r - g) / d + 4;
  return (h * 60 + 360) % 360;
}

for (const dark of [false, true]) {
  test(`head colours stay distinct beyond 10 heads (dark=${dark})`, () => {
    for (const n of [12, 16, 24]) {
      const cols = headColors(n, dark).map(hexToRgb);
      assert.equal(new Set(headColors(n, dark)).size, n);
      let minDE = Infinity;
      for (let a = 0; a < n; a++) for (let b = a + 1; b < n; b++) minDE = Math.min(minDE, deltaE(cols[a], cols[b]));
      assert.ok(minDE >= (n <= 16 ? 12 : 8), `n=${n}: min deltaE ${minDE.toFixed(1)}`);
    }
    // none is grey
    for (const c of headColors(24, dark).map(hexToRgb)) {
      const lab = rgbToLab(c);
      assert.ok(Math.hypot(lab[1], lab[2]) > 15, `chroma of ${c}`);
    }
  });
}

test("heads 10 and 11 do not repeat heads 0 and 1 (BertViz's category10 does)", () => {
  const hd = (a, b) => { const d = Math.abs(hue(hexToRgb(headColor(a))) - hue(hexToRgb(headColor(b)))); return Math.min(d, 360 - d); };
  assert.ok(deltaE(hexToRgb(headColor(10)), hexToRgb(headColor(0))) > 15);
  assert.ok(deltaE(hexToRgb(headColor(11)), hexToRgb(headColor(1))) > 15);
  // golden-angle spacing: consecutive extra heads are far apart in hue
  for (let i = 10; i < 20; i++) assert.ok(hd(i, i + 1) > 100, `hue distance ${i},${i + 1}`);
});

for (const dark of [false, true]) {
  test(`sequential scale is monotone with fixed endpoints (dark=${dark})`, () => {
    let prev = dark ? -1 : 2;
    for (let k = 0; k <= 100; k++) {
      const L = luminance(sequential(k / 100, dark));
      if (dark) assert.ok(L >= prev - 1e-9, `t=${k / 100}`); else assert.ok(L <= prev + 1e-9, `t=${k / 100}`);
      prev = L;
    }
    assert.deepEqual(sequential(0, dark), hexToRgb(dark ? "#120f1f" : "#f7fbff"));
    assert.deepEqual(sequential(1, dark), hexToRgb(dark ? "#fcfdbf" : "#08306b"));
    assert.deepEqual(sequential(-5, dark), sequential(0, dark));
    assert.deepEqual(sequential(7, dark), sequential(1, dark));
    assert.deepEqual(sequential(NaN, dark), sequential(0, dark));
    // masked cells differ from the zero colour
    assert.ok(deltaE(hexToRgb(maskColors(dark)[0]), sequential(0, dark)) > 10);
  });
}

test("diverging scale: neutral middle, opposite ends", () => {
  const mid = diverging(0);
  assert.ok(Math.max(...mid) - Math.min(...mid) < 12, "middle is neutral");
  const neg = diverging(-1), pos = diverging(1);
  assert.ok(neg[0] > neg[2] && pos[2] > pos[0]);
  assert.ok(luminance(diverging(-0.5)) < luminance(mid) && luminance(diverging(0.5)) < luminance(mid));
});

test("legend stops", () => {
  const s = legendStops(-2, 6, 5);
  assert.deepEqual(s.map((x) => x.value), [-2, 0, 2, 4, 6]);
  assert.deepEqual(s.map((x) => x.offset), [0, 0.25, 0.5, 0.75, 1]);
  assert.equal(s[0].color, "#f7fbff");
  assert.equal(s[4].color, "#08306b");
});

test("parseColor", () => {
  assert.deepEqual(parseColor("#fff"), [255, 255, 255, 1]);
  assert.deepEqual(parseColor("rgb(17, 34, 51)"), [17, 34, 51, 1]);
  assert.deepEqual(parseColor("rgba(0, 0, 0, 0.87)"), [0, 0, 0, 0.87]);
  assert.equal(parseColor("var(--x)"), null);
});
