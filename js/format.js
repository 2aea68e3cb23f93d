// Every number the views write: weights, table cells, statistics, counts, SVG coordinates. DOM-free.

/** A number's text with a true minus sign (U+2212), as every number the views show is written. */
const minus = (s) => s.replace(/^-/, "−");

/** A weight: 4 decimals; scientific for tiny or huge raw scores. */
export function formatValue(v) {
  if (!Number.isFinite(v)) return String(v);
  const a = Math.abs(v);
  return minus(a !== 0 && (a < 1e-3 || a >= 1e5) ? v.toExponential(3) : v.toFixed(4));
}

/** What raw scores (not a softmax's weights: `probability` false) span, said once for the notice and the
 * matrix legend: "not probabilities (raw scores), scale −0.4107 … 0.9353"; "" for probabilities. */
export function rawScale({ probability, lo, hi }) {
  return probability ? "" : `not probabilities (raw scores), scale ${formatValue(lo)} … ${formatValue(hi)}`;
}

/** A weight on a legend: formatValue without trailing zeros. */
export function formatTick(v) {
  return formatValue(v).replace(/(\.\d*?)0+$/, "$1").replace(/\.$/, "");
}

/** A number in a small space: `digits` decimals below 10, else `digits + 1` significant digits. */
export function formatCompact(v, digits) {
  const s = Math.abs(v) < 10 ? v.toFixed(digits) : v.toPrecision(digits + 1);
  // a true minus, as the explain view's numbers; none on a value that rounds to zero ("−0.00")
  return /^-0\.0*$/.test(s) ? s.slice(1) : minus(s);
}

/** A statistic with `digits` decimals; a dash when there is none (not finite). */
export function formatStat(v, digits) {
  return Number.isFinite(v) ? v.toFixed(digits) : "–";
}

/** A count with a comma between thousands, as Python's f"{n:,}" writes it (the messages of both sides agree).
 * Not toLocaleString: its first call loads the locale's data, 17 ms of whichever frame or idle task asks first. */
export function formatCount(n) {
  const s = String(Math.trunc(Math.abs(n))).replace(/\B(?=(\d{3})+$)/g, ",");
  return n < 0 ? `−${s}` : s;
}

/** A number for a table cell: fixed decimals, a true minus sign, −∞, an exponent when huge. */
export function formatNumber(v, digits = 3) {
  if (v === -Infinity) return "−∞";
  if (!Number.isFinite(v)) return String(v);
  if (Math.abs(v) >= 1e5) return v.toExponential(2);
  return minus(v.toFixed(digits));
}

const SHOWN = 6; // vector components written out; the rest are in the full text

/** A vector as "[a, b, …]" (its first components) and the full text for a title. */
export function formatVector(a, digits = 2) {
  const all = Array.from(a, (v) => formatNumber(v, digits));
  const more = all.length - SHOWN;
  return { short: `[${all.slice(0, SHOWN).join(", ")}${more > 0 ? `,\u00a0…\u00a0+${more}` : ""}]`, full: `[${all.join(", ")}]` };
}

/** A coordinate or length in SVG: integers as they are, else at most 2 decimals. */
export function svgNumber(v) {
  return Number.isInteger(v) ? String(v) : v.toFixed(2).replace(/\.?0+$/, "");
}
