import { test } from "node:test";
import assert from "node:assert/strict";
import { escapeXml, svgRecorder } from "../export.js";

test("escapeXml escapes the five XML specials and drops control characters", () => {
  assert.equal(escapeXml(`<script>&"it's"</script>`), "&lt;script&gt;&amp;&quot;it&apos;s&quot;&lt;/script&gt;");
  assert.equal(escapeXml("a\u0000b\u0007c\td"), "abc\td");
  assert.equal(escapeXml(42), "42");
});

test("svgRecorder turns canvas calls into SVG elements", () => {
  const els = svgRecorder((ctx) => {
    ctx.globalAlpha = 0.5;
    ctx.strokeStyle = "rgba(10, 20, 30, 0.5)";
    ctx.lineWidth = 2;
    ctx.beginPath(); ctx.moveTo(0, 0); ctx.lineTo(10, 5.5); ctx.stroke();
    ctx.globalAlpha = 1;
    ctx.fillStyle = "#ff0000"; ctx.fillRect(1, 2, 3, 4);
    ctx.save(); ctx.translate(5, 6); ctx.textAlign = "right"; ctx.textBaseline = "middle";
    ctx.fillText("a<b & 'c'", 0, 0); ctx.restore();
    ctx.fillText("plain", 1, 1);
    const g = ctx.createLinearGradient(0, 0, 10, 0); g.addColorStop(0, "#000"); g.addColorStop(1, "#fff");
    ctx.fillStyle = g; ctx.fillRect(0, 0, 10, 1);
  }, (s) => s.length * 6);
  const svg = els.join("\n");
  assert.match(svg, /<path d="M0 0L10 5.5" fill="none" stroke="rgb\(10,20,30\)" stroke-opacity="0.25" stroke-width="2"/);
  assert.match(svg, /<rect x="1" y="2" width="3" height="4" fill="rgb\(255,0,0\)"\/>/);
  assert.match(svg, /text-anchor="end" dominant-baseline="middle"[^>]*transform="matrix\(1 0 0 1 5 6\)">a&lt;b &amp; &apos;c&apos;<\/text>/);
  assert.match(svg, /<text x="1" y="1" text-anchor="start"[^>]*>plain<\/text>/);
  assert.match(svg, /<linearGradient id="g1"[^>]*><stop offset="0" stop-color="#000"\/><stop offset="1" stop-color="#fff"\/><\/linearGradient>/);
  assert.match(svg, /fill="url\(#g1\)"/);
});
