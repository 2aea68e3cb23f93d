// A selection's lines read by token (graphpaint.js): the lines of one token, and lines of equal ends merged.
// DOM-free; lines.js makes the selections.

// Lines by token, built once per selection: a click or a hover draws its token's lines without a pass
// over every line (100,000 of them at T = 4096).
const TOKEN_INDEX = new WeakMap();

/** Indices c of the lines of selection `sel` whose `side` ("query" | "key") is token `index` (ascending). */
export function linesOf(sel, side, index) {
  let byside = TOKEN_INDEX.get(sel);
  if (!byside) TOKEN_INDEX.set(sel, (byside = {}));
  const idx = byside[side] || (byside[side] = tokenIndex(sel[side], sel.n));
  return index >= 0 && index + 1 < idx.start.length ? idx.order.subarray(idx.start[index], idx.start[index + 1]) : idx.order.subarray(0, 0);
}

/** Counting sort of line indices by token: the lines of token t are order[start[t] .. start[t + 1]). */
function tokenIndex(tok, n) {
  let m = 0;
  for (let c = 0; c < n; c++) if (tok[c] >= m) m = tok[c] + 1;
  const start = new Int32Array(m + 1), order = new Int32Array(n);
  for (let c = 0; c < n; c++) start[tok[c] + 1]++;
  for (let t = 0; t < m; t++) start[t + 1] += start[t];
  const next = start.slice(0, m);
  for (let c = 0; c < n; c++) order[next[tok[c]]++] = c;
  return { start, order };
}

/**
 * Lines with the same ends (a token's lines to one other token, one per head) as one line each, of the
 * colour and opacity their strokes make drawn over one another (source-over, in the order given): a
 * rasterizer then draws one line where it drew one per head. items: [{ya, yb, rgb: [r, g, b], alpha}]
 * in drawing order. Returns [{ya, yb, rgb, alpha}], the same where no two items share both ends.
 */
export function mergeLines(items) {
  const by = new Map();
  for (const it of items) {
    const k = `${it.ya} ${it.yb}`, a = it.alpha, rest = 1 - a;
    let m = by.get(k);
    if (!m) by.set(k, (m = { ya: it.ya, yb: it.yb, r: 0, g: 0, b: 0, a: 0 }));
    m.r = it.rgb[0] * a + m.r * rest; m.g = it.rgb[1] * a + m.g * rest; m.b = it.rgb[2] * a + m.b * rest;
    m.a = a + m.a * rest;
  }
  return [...by.values()].map((m) => ({ ya: m.ya, yb: m.yb, alpha: m.a, rgb: m.a > 0 ? [m.r / m.a, m.g / m.a, m.b / m.a] : [0, 0, 0] }));
}
