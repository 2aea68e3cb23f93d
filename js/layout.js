// Pure geometry: token columns, row heights, label truncation, hit testing, canvas sizing.

export const ROW_MAX = 20;
export const ROW_MIN = 14;
export const GRAPH_MAX_HEIGHT = 640;
/** The gap between two segments (segment_start) in the graph, in rows. */
export const GAP_ROWS = 0.45;

export function clamp(v, lo, hi) {
  return Math.min(hi, Math.max(lo, v));
}

/**
 * Layout of the graph's two token columns. Rows shrink from `rowMax` to `rowMin` to fit
 * `maxHeight`; beyond that the content is taller than the viewport and scrolls.
 * The shorter column is centred against the longer one. `segment` (segment_start): a column of more
 * tokens than that leaves a gap before its row `segment`, under half a row (a y past the gap still
 * floors to its own row, as graph.js's arrow keys compute).
 * Returns {rowH, contentH, viewH, query: {n, top, gapAt, gap}, key: {...}} (gapAt -1: no gap).
 */
export function graphLayout(nQuery, nKey, { maxHeight = GRAPH_MAX_HEIGHT, pad = 6, rowMax = ROW_MAX, rowMin = ROW_MIN, segment = -1 } = {}) {
  const n = Math.max(1, nQuery, nKey);
  const split = (m) => Number.isInteger(segment) && segment > 0 && segment < m;
  const gapped = split(nQuery) || split(nKey);
  const rowH = clamp(Math.floor((maxHeight - 2 * pad) / (n + (gapped ? GAP_ROWS : 0))), rowMin, rowMax);
  const gap = gapped ? Math.max(1, Math.floor(rowH * GAP_ROWS)) : 0;
  const contentH = n * rowH + gap + 2 * pad;
  const col = (m) => {
    const at = split(m) ? segment : -1, own = m * rowH + (at > 0 ? gap : 0);
    return { n: m, top: pad + (n * rowH + gap - own) / 2, gapAt: at, gap: at > 0 ? gap : 0 };
  };
  return { rowH, contentH, viewH: Math.min(contentH, maxHeight), query: col(nQuery), key: col(nKey), pad };
}

/** Content y of offset `off` from a column's top with the gap taken out (a y inside it: the gap's start). */
function ungapped(col, rowH, off) {
  const at = col.gapAt > 0 ? col.gapAt * rowH : Infinity;
  return off < at ? off : Math.max(at, off - col.gap);
}

/** Vertical centre of row i of a column (content coordinates). */
export function rowCenter(col, rowH, i) {
  return col.top + (i + 0.5) * rowH + (col.gapAt > 0 && i >= col.gapAt ? col.gap : 0);
}

/** Top of row i of a column (content coordinates). */
export function rowTop(col, rowH, i) {
  return rowCenter(col, rowH, i) - rowH / 2;
}

/** Middle of the gap between two segments (content coordinates), or null without one. */
export function segmentY(col, rowH) {
  return col.gapAt > 0 ? col.top + col.gapAt * rowH + col.gap / 2 : null;
}

/** Index of the row under content coordinate y, or -1 (also in the gap between segments). */
export function rowAt(col, rowH, y) {
  const off = y - col.top, at = col.gapAt > 0 ? col.gapAt * rowH : Infinity;
  if (off >= at && off < at + col.gap) return -1;
  const i = Math.floor(ungapped(col, rowH, off) / rowH);
  return i >= 0 && i < col.n ? i : -1;
}

/** Rows of a column intersecting [y0, y1) (content coordinates): [first, last] (last exclusive). */
export function visibleRows(col, rowH, y0, y1) {
  const a = clamp(Math.floor(ungapped(col, rowH, y0 - col.top) / rowH), 0, col.n);
  const b = clamp(Math.ceil(ungapped(col, rowH, y1 - col.top) / rowH), 0, col.n);
  return [a, b];
}

/** Longest token text drawn (labels, tooltips); the rest is cut with an ellipsis. */
export const TOKEN_CHARS = 80;
const BIDI_CONTROLS = /[\u202A-\u202E\u2066-\u2069]/;

/**
 * Display text of a token: "∅" for empty strings, visible marks for whitespace-only tokens, at most
 * TOKEN_CHARS characters. A token with bidi controls (an override such as U+202E) is isolated
 * (FSI … PDI, its own isolates dropped), so it cannot reorder the text around it in a tooltip.
 */
export function displayToken(s) {
  const t = s == null ? "" : String(s);
  if (t === "") return "∅";
  if (/^\s+$/.test(t)) return truncate(t.replace(/ /g, "␣").replace(/\n/g, "↵").replace(/\t/g, "⇥"), TOKEN_CHARS);
  const shown = truncate(t.replace(/\n/g, "↵"), TOKEN_CHARS);
  return BIDI_CONTROLS.test(shown) ? `\u2068${shown.replace(/[\u2066-\u2069]/g, "")}\u2069` : shown;
}

/** Truncate to at most `max` characters (code points), ending with an ellipsis when cut. */
export function truncate(s, max) {
  const str = String(s);
  if (str.length <= max) return str;
  // A code point is at most 2 UTF-16 units: the first 2·max + 2 units tell whether to cut (a long token stays cheap).
  const chars = Array.from(str.length > 2 * max + 2 ? str.slice(0, 2 * max + 2) : str);
  if (chars.length <= max) return str;
  if (max <= 1) return "…";
  return chars.slice(0, max - 1).join("") + "…";
}

/** Truncate so that measure(text) <= width (measure: string -> px). */
export function truncateToWidth(s, width, measure) {
  const str = String(s);
  if (measure(str) <= width) return str;
  const chars = Array.from(str);
  let lo = 0, hi = chars.length;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (measure(chars.slice(0, mid).join("") + "…") <= width) lo = mid; else hi = mid - 1;
  }
  return chars.slice(0, lo).join("") + "…";
}

/** Width of a label column: the widest label + padding, within [min, max]. */
export function labelColumnWidth(labels, measure, { min = 36, max = 160, padding = 22 } = {}) {
  let w = 0;
  for (const s of labels) w = Math.max(w, measure(s));
  return Math.ceil(clamp(w + padding, min, max));
}

/** Backing-store size of a canvas of CSS size (w, h) at devicePixelRatio dpr (capped area). */
export function canvasSize(w, h, dpr = 1, maxPixels = 16e6) {
  let r = Math.max(1, dpr || 1);
  const cw = Math.max(1, Math.round(w)), ch = Math.max(1, Math.round(h));
  if (cw * ch * r * r > maxPixels) r = Math.max(0.25, Math.sqrt(maxPixels / (cw * ch)));
  return { cssW: cw, cssH: ch, width: Math.max(1, Math.round(cw * r)), height: Math.max(1, Math.round(ch * r)), ratio: r };
}

/**
 * Matrix geometry for Q x K cells in `width` px: label margins, cell sizes. Column labels wider than
 * their column are rotated (and only then thinned, when even rotated ones would overlap). Rows are as
 * tall as columns are wide, within `maxHeight` for all rows; `maxTotal` (a slide's height left for the
 * whole canvas) makes them shorter still, but not below a readable row. `unit`: the scale of the
 * fixed margins. Returns {left, top, cw, ch, w, h, rotate, labelEveryQ, labelEveryK, legendY, totalH, totalW}.
 */
export function matrixLayout(Q, K, width, { leftLabel = 80, keyLabel = 80, maxCell = 36, maxHeight = 720, maxTotal = 0, fontPx = 12,
  legendH = 46, unit = 1 } = {}) {
  const left = Math.ceil(leftLabel) + 8 * unit;
  const avail = Math.max(K, width - left - 16 * unit);
  const cw = clamp(avail / K, 1, maxCell);
  const rotate = keyLabel + 6 * unit > cw;
  const top = (rotate ? Math.ceil(Math.min(keyLabel, 120 * unit) * 0.8) : fontPx) + 12 * unit;
  let ch = Math.min(cw, maxHeight / Q);
  if (maxTotal > 0) ch = Math.min(ch, Math.max((maxTotal - top - 14 * unit - legendH) / Q, Math.min(cw, fontPx + unit)));
  ch = clamp(ch, 1, maxCell);
  const w = cw * K, h = ch * Q;
  const labelEveryQ = Math.max(1, Math.ceil((fontPx + 1) / ch));
  const labelEveryK = Math.max(1, Math.ceil((rotate ? fontPx + 1 : keyLabel + 6 * unit) / cw));
  const legendY = top + h + 14 * unit;
  return { left, top, cw, ch, w, h, rotate, labelEveryQ, labelEveryK, legendY, totalH: legendY + legendH, totalW: Math.max(width, left + w + 16 * unit) };
}

/** Cell under (x, y) in matrix canvas coordinates: {i, j} or null. */
export function cellAt(m, Q, K, x, y) {
  const j = Math.floor((x - m.left) / m.cw), i = Math.floor((y - m.top) / m.ch);
  return i >= 0 && i < Q && j >= 0 && j < K ? { i, j } : null;
}

/** Columns of the heads grid for `n` thumbnails in `width` px: {cols, size}. */
export function gridLayout(n, width, { min = 120, max = 200, gap = 10 } = {}) {
  const cols = Math.max(1, Math.min(n, Math.floor((width + gap) / (min + gap))));
  const size = Math.floor(clamp((width - gap * (cols - 1)) / cols, min * 0.6, max));
  return { cols, size };
}

/**
 * The heads grid on a slide, whose height is fixed: for `n` cards in `width` × `room` px, the columns and the
 * card form with the largest thumbnails whose text breaks no name or figure. A card puts its text under its
 * thumbnail, or beside it (`side`) where that leaves a larger one (a row of eight narrow cards on a slide).
 * text: {narrow, wide, h1, h2}: the text's width with each figure on a line of its own and with both on one
 * line, and its height with one and with two lines of figures. pad: a card's padding and border (both sides);
 * gap: between cards; inner: between a thumbnail and its text. Returns {cols, size: a column's width,
 * thumb: the thumbnail's box, side}, or null where no thumbnail of `min` px fits.
 */
export function slideCards(n, width, room, { text, pad, gap, inner, min }) {
  let best = null;
  for (let cols = 1; cols <= n; cols++) {
    const rows = Math.ceil(n / cols), size = Math.floor((width - gap * (cols - 1)) / cols);
    const box = size - pad, rowH = (room - gap * (rows - 1)) / rows - pad; // a card's inside
    const under = box >= text.narrow ? Math.min(box, rowH - inner - (box >= text.wide ? text.h1 : text.h2)) : -1;
    const beside = text.h2 <= rowH ? Math.min(box - inner - text.narrow, rowH) : -1;
    for (const [t, side] of [[under, false], [beside, true]]) {
      const thumb = Math.floor(t); // a tie goes to the text under, the form cards have in a notebook
      if (t >= min && (!best || thumb > best.thumb || (thumb === best.thumb && best.side && !side))) best = { cols, size, thumb, side };
    }
  }
  return best;
}
