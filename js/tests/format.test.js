import { test } from "node:test";
import assert from "node:assert/strict";
import { rawScale, formatValue, formatTick, formatCompact, formatStat, formatNumber, formatVector, svgNumber, formatCount } from "../format.js";

test("formatValue", () => {
  assert.equal(formatValue(0.23141), "0.2314");
  assert.equal(formatValue(0), "0.0000");
  assert.equal(formatValue(2e-5), "2.000e-5");
  assert.equal(formatValue(-0.41072), "−0.4107");
  assert.equal(formatValue(NaN), "NaN");
});

test("number and vector formatting", () => {
  assert.equal(formatNumber(-Infinity), "−∞");
  assert.equal(formatNumber(-0.5), "−0.500");
  assert.equal(formatNumber(0.12345, 2), "0.12");
  assert.equal(formatVector([1, 2]).short, "[1.00, 2.00]");
  const long = formatVector(Array.from({ length: 10 }, (_, i) => i));
  assert.equal(long.short, "[0.00, 1.00, 2.00, 3.00, 4.00, 5.00,\u00a0…\u00a0+4]");
  assert.ok(long.full.endsWith("9.00]"));
});

test("legend ticks, compact cells, statistics, SVG numbers", () => {
  assert.equal(formatTick(0.5), "0.5");
  assert.equal(formatTick(1), "1");
  assert.equal(formatTick(-0.4107), "−0.4107"); // a diverging legend's low end
  assert.equal(formatTick(2e-5), "2.000e-5");
  assert.equal(formatCompact(0.256, 2), "0.26");
  assert.equal(formatCompact(12.345, 2), "12.3");
  assert.equal(formatCompact(0.12345, 3), "0.123");
  assert.equal(formatCompact(123.45, 3), "123.5");
  assert.equal(formatCompact(-0.204, 2), "−0.20"); // a difference matrix's cell
  assert.equal(formatCompact(-0.001, 2), "0.00"); // rounds to zero: no sign
  assert.equal(formatCompact(-12.345, 2), "−12.3");
  assert.equal(formatStat(1.23456, 2), "1.23");
  assert.equal(formatStat(NaN, 2), "–");
  assert.equal(svgNumber(3), "3");
  assert.equal(svgNumber(5.5), "5.5");
  assert.equal(svgNumber(1 / 3), "0.33");
});

test("rawScale: the span of raw scores with true minus signs; nothing for probabilities", () => {
  assert.equal(rawScale({ probability: false, lo: -0.41072, hi: 0.93531 }), "not probabilities (raw scores), scale −0.4107 … 0.9353");
  assert.equal(rawScale({ probability: false, lo: -2e-5, hi: 3 }), "not probabilities (raw scores), scale −2.000e-5 … 3.0000");
  assert.equal(rawScale({ probability: true, lo: 0, hi: 1 }), "");
});

test("formatCount groups thousands with commas, as Python's f\"{n:,}\"", () => {
  assert.deepEqual([0, 7, 999, 1000, 98304, 1234567, 1e9].map(formatCount), ["0", "7", "999", "1,000", "98,304", "1,234,567", "1,000,000,000"]);
  assert.equal(formatCount(-4096), "−4,096");
});
