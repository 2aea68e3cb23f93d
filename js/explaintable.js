// Explain view's table: one row per key j (its token, q·kⱼ, logit, weight, bar and value vⱼ), a row Σ and
// the output. Only the rows in the scroller's view, and a few either side, are in the page: a pin fills
// those (about 40) whatever the number of keys, and a scroll fills the new ones. Spacer rows above and
// below give the scroller the height of all rows; a hidden sizer row holds each column's widest text, so
// columns keep their widths while other rows scroll in. Every number and token goes in by textContent.

import { h, setText, setAttrs, setHidden } from "./dom.js";
import { formatNumber, formatVector, formatStat } from "./format.js";

const COLS = 7;
const SIZER_CLASS = ["", "", "aw-explain-num", "aw-explain-num", "aw-explain-num aw-explain-weight", "", "aw-explain-vec"];
/** A row's height (CSS px) until one is measured (measureRows), the frame after the rows are first shown. */
const ROW_GUESS = 20;
/** Rows filled beyond each edge of the view: a Tab or a wheel step finds its row there. */
const PAD = 8;

/** The table's parts, made once: head, sizer, spacers, the pool of rows, sum and output rows. */
export function createTable(table) {
  const head = h("tr", {}, Array.from({ length: COLS }, () => h("th")));
  // the sizer's cells styled as the rows' (the weights are bold): a column as wide as its widest text
  const sizer = h("tr", { class: "aw-explain-sizer", "aria-hidden": "true" }, Array.from({ length: COLS }, (_, k) => h("td", { class: SIZER_CLASS[k] })));
  const gap = () => h("tr", { class: "aw-explain-gap", "aria-hidden": "true" }, [h("td", { colspan: String(COLS) })]);
  const above = gap(), below = gap();
  const sumCells = Array.from({ length: COLS }, () => h("td"));
  sumCells[1].textContent = "all keys";
  sumCells[4].className = "aw-explain-num aw-explain-weight";
  const out = h("td", { class: "aw-explain-vec", "data-explain-output": "" });
  // as the rows' number cells: a text node from the start, which a pin (or its rehearsal) changes the data of
  sumCells[4].append("");
  out.append("");
  const sum = h("tr", { class: "aw-explain-sum" }, sumCells);
  const outRow = h("tr", { class: "aw-explain-out" }, [h("td"), h("td", { text: "output", title: "the head's output before the output projection" }),
    h("td", { colspan: "4", class: "aw-explain-note", text: "Σⱼ wⱼ · vⱼ (before the output projection)" }), out]);
  const body = h("tbody", {}, [sizer, above, below]);
  table.replaceChildren(h("thead", {}, [head]), body, h("tfoot", {}, [sum, outRow]));
  return { table, head, sizer, above, below, body, sum, sumCell: sumCells[4], out, rows: [], first: 0, rowH: ROW_GUESS, bodyTop: 0, measured: false, rowKey: "", sizerKeys: 0, vtext: null, keyText: null, last: null };
}

/** Row j's elements, made once and reused for whichever key is in view. */
function makeRow() {
  const td = (cls) => h("td", { class: cls });
  // the numbers' cells hold a text node from the start, blank before a pin: a pin changes its data only
  const num = (cls) => { const c = td(cls); c.append(""); return c; };
  const r = { j: td("aw-explain-j"), keyCell: td("aw-explain-key"), dot: num("aw-explain-num"), logit: num("aw-explain-num"),
    weight: num("aw-explain-num aw-explain-weight"), barCell: td("aw-explain-barcell"), vec: td("aw-explain-vec"),
    key: h("button", { type: "button", class: "aw-explain-drop" }), bar: h("div", { class: "aw-explain-bar" }) };
  r.keyCell.append(r.key);
  r.barCell.append(r.bar);
  r.tr = h("tr", {}, [r.j, r.keyCell, r.dot, r.logit, r.weight, r.barCell, r.vec]);
  return r;
}

/** The texts of V's rows, kept while V's numbers stay the same (every query of a head has the same V):
 * {V, vd, texts: key j's vector as text, formatted when first shown, widest: the sizer's}. */
function valueTexts(tb, ex) {
  const c = tb.vtext;
  if (!(c && c.vd === ex.valueDim && sameNumbers(c.V, ex.V))) tb.vtext = { V: ex.V, vd: ex.valueDim, texts: [], widest: null };
  else c.V = ex.V; // the same numbers: the next row finds this array by identity
  return tb.vtext;
}

function valueText(tb, ex, j) {
  return (valueTexts(tb, ex).texts[j] ??= formatVector(ex.V.subarray(j * ex.valueDim, (j + 1) * ex.valueDim)));
}

/** Whether two Float32Arrays hold the same numbers (NaN equal to NaN): a plain loop, S × valueDim long,
 * unless they view the same bytes (a static copy's V, decoded once). */
function sameNumbers(a, b) {
  if (a === b) return true;
  if (a.length !== b.length) return false;
  if (a.buffer === b.buffer && a.byteOffset === b.byteOffset) return true;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i] && !(a[i] !== a[i] && b[i] !== b[i])) return false;
  return true;
}

function fillRow(app, tb, s, j, r) {
  if (s.blank) { blankRow(app, tb, s, j, r); return; }
  const { ex, n, w, color } = s;
  const masked = ex.mask ? ex.mask[j] === 0 : false, lifted = masked && w.unmasked, dropped = w.dropped.includes(j);
  const kept = n.allowed[j] === 1, wt = kept ? n.weights[j] : 0;
  // what only the key, its mask, its drop, V and the tokens decide, written again only when one of them
  // changed: a pin (another query) rewrites the numbers alone
  const vt = valueTexts(tb, ex), toks = app.get("key_tokens"), id = `${j}|${masked}|${lifted}|${dropped}`;
  if (r.id !== id || r.vt !== vt || r.toks !== toks) {
    r.id = id; r.vt = vt; r.toks = toks;
    fillKey(app, r, j, masked, lifted, dropped, valueText(tb, ex, j));
  }
  const weight = String(wt);
  if (r.wt !== weight) { r.wt = weight; r.tr.setAttribute("data-weight", weight); }
  setText(r.dot, formatNumber(ex.dots[j]));
  setText(r.logit, kept ? formatNumber(n.logits[j]) : "−∞");
  setText(r.weight, formatNumber(wt));
  // scaled, not resized: its length changes no layout
  setAttrs(r.bar, { style: { transform: `scaleX(${Math.max(0, Math.min(1, wt))})`, background: color } });
}

/** Row r before a pin: key j's index, token and, where known (`s.vals`: a static copy's V), value vⱼ: what
 * every query's row shares; no numbers, no drop. The pin that follows then writes numbers only: the value
 * column, the widest of the table's, keeps its width. */
function blankRow(app, tb, s, j, r) {
  const toks = app.get("key_tokens"), id = `${j}|blank`, vt = s.vals ? valueTexts(tb, s.vals) : null;
  if (r.id !== id || r.toks !== toks || r.vt !== vt) {
    r.id = id; r.vt = vt; r.toks = toks;
    fillKey(app, r, j, false, false, false, vt ? valueText(tb, s.vals, j) : NO_VECTOR, true);
  }
  if (r.wt !== "") { r.wt = ""; r.tr.removeAttribute("data-weight"); }
  for (const c of [r.dot, r.logit, r.weight]) setText(c, "");
  // the head's colour already: the pin then only scales the bar
  setAttrs(r.bar, { style: { transform: "scaleX(0)", background: s.color } });
}

const NO_VECTOR = { short: "", full: null };

/** Row r's parts that name key j: its class and state, index, token button and value vector `vec`
 * (`blank`: no query pinned, nothing to drop it from). */
function fillKey(app, r, j, masked, lifted, dropped, vec, blank = false) {
  const cls = ["aw-explain-row", masked && !lifted && "aw-masked", lifted && "aw-unmasked", dropped && "aw-dropped"].filter(Boolean).join(" ");
  const why = dropped ? "dropped (what-if): left out of the softmax" : masked && !lifted ? "masked: this query may not attend to this key" : null;
  setAttrs(r.tr, { class: cls, "data-explain-key": j, "aria-rowindex": j + 2, "data-masked": masked ? "true" : "false", "data-dropped": dropped ? "true" : "false" });
  setText(r.j, String(j));
  setText(r.key, app.label("key", j));
  setAttrs(r.key, { "data-explain-drop": j, disabled: blank || (masked && !lifted), "aria-pressed": dropped ? "true" : "false",
    title: blank ? `${app.token("key", j)} · pin a query to see its weight on this key` : `${app.token("key", j)} · click: ${dropped ? "put it back into" : "drop it from"} the softmax` });
  setAttrs(r.logit, { title: why });
  setText(r.vec, vec.short);
  setAttrs(r.vec, { title: vec.full });
}

/** The number of `a` (its first `n`) whose text is longest as formatNumber writes it: the largest magnitude,
 * negative if any is. */
function widest(a, n) {
  let big = 0, neg = false;
  for (let i = 0; i < n; i++) { const x = a[i]; if (Number.isFinite(x)) { big = Math.max(big, Math.abs(x)); neg ||= x < 0; } }
  return neg ? -big : big;
}

/** The text of the widest value vector (the sizer's value column) of `ex`'s S × valueDim V, kept with V's texts. */
function widestValue(tb, ex) {
  return (valueTexts(tb, ex).widest ??= formatVector(new Float32Array(ex.valueDim).fill(widest(ex.V, ex.S * ex.valueDim))).short);
}

/** The narrowest text the number columns hold: up to ±99.999 fits without moving a column. */
const NUMBER_FLOOR = "−00.000";
/** The weight column's: the row Σ's text, which a pin writes into the table's foot. */
const WEIGHT_FLOOR = "Σ = 0.000";

/** The sizer row: each column's widest text over all S keys, so the columns do not move as rows scroll in.
 * The q·k and logit columns keep the widest text they held since the keys last changed (`dots`, `logits`: a
 * pin's widest, "" before one): another query's numbers would move every column after them, and the browser
 * would repaint the whole table (every pin). `value`: the widest value vector's text ("" while V is not known). */
function writeSizer(app, tb, S, dots, logits, value) {
  const held = tb.sizerKeys === S ? tb.sizer.children : null;
  // the text held wins a tie: the same width in tabular digits, and no write
  const wider = (k, t) => [held?.[k].textContent ?? "", t, NUMBER_FLOOR].reduce((a, b) => (b.length > a.length ? b : a));
  const texts = [String(S - 1), longestKey(app, tb, S), wider(2, dots), wider(3, logits), WEIGHT_FLOOR, "", value];
  texts.forEach((t, k) => setText(tb.sizer.children[k], t));
  tb.sizerKeys = S;
}

/** The longest of the S keys' labels, kept while the key tokens are the same list (S labels a pin need not make). */
function longestKey(app, tb, S) {
  const toks = app.get("key_tokens"), c = tb.keyText;
  if (c && c.toks === toks && c.S === S) return c.text;
  let key = "";
  for (let j = 0; j < S; j++) { const l = app.label("key", j); if (l.length > key.length) key = l; }
  tb.keyText = { toks, S, text: key };
  return key;
}

/** The column heads and their titles; the logit's says the temperature `t` when it is not 1. */
const COLUMN_HEADS = (t) => [["j", "key index"], ["key kⱼ", "key token: click to drop it from the softmax (what-if)"], ["q·kⱼ", "dot product, unscaled"],
  [t === 1 ? "logit" : "logit ÷ t", `q·kⱼ × scale (1/√key_dim)${t === 1 ? "" : ` ÷ t (${t}): what the softmax sees`}`],
  ["weight wⱼ", "softmax of the logits"], ["", ""], ["value vⱼ", "the key's value vector (rounded)"]];

/** The column heads at temperature `t`; the value column's names its size `vd` (null: not known yet). */
function writeHeads(tb, t, vd) {
  COLUMN_HEADS(t).forEach(([c, ti], k) => {
    setText(tb.head.children[k], k === 6 && vd != null ? `${c} (${vd})` : c);
    setAttrs(tb.head.children[k], { title: ti || null });
  });
}

/**
 * Fill the table for `ex` (protocol.decodeExplain: S keys, dots (S,), V (S × valueDim)) with the numbers `n`
 * ({logits, weights, allowed, output}) the what-if `w` gives, in the window `geom`: {scrollTop, height},
 * the scroller's scroll offset and the most it shows (CSS px).
 */
export function fillTable(tb, app, ex, n, w, geom) {
  writeHeads(tb, w.temperature, ex.valueDim);
  tb.last = { ex, n, w, color: app.headColor(ex.head) };
  // whose numbers these are: the title names the pin at once, the numbers may come from the kernel later
  setAttrs(tb.table, { "aria-rowcount": ex.S + 3, "data-shows": `${ex.query},${ex.head}` });
  writeSizer(app, tb, ex.S, formatNumber(widest(ex.dots, ex.S)), formatNumber(widest(n.logits, ex.S)), widestValue(tb, ex));
  fillWindow(app, tb, geom);
  let sum = 0;
  for (let j = 0; j < ex.S; j++) if (n.allowed[j]) sum += n.weights[j];
  const out = formatVector(n.output);
  setAttrs(tb.sum, { "data-explain-sum": String(sum) });
  setText(tb.sumCell, `Σ = ${formatStat(sum, 3)}`);
  setText(tb.out, out.short);
  setAttrs(tb.out, { title: out.full });
}

/**
 * The table before a pin: its S keys' rows with their index, token and, when `vals` ({S, V, valueDim}: the
 * head's value vectors, S × valueDim, or null) are known, their value vectors; the numbers left blank; in the window
 * `geom` (fillTable's) and the head's colour `color`. Laid out and painted while nothing is pinned, so the
 * first pin only writes numbers, as every later pin does (building and painting the rows then took that pin
 * 32–47 ms instead of one frame).
 */
export function fillBlank(tb, app, S, geom, vals = null, color = null) {
  writeHeads(tb, 1, vals ? vals.valueDim : null);
  tb.last = { blank: true, ex: { S }, vals, color };
  setAttrs(tb.table, { "aria-rowcount": S + 3, "data-shows": "" });
  // else the widths a pin of these keys left stay
  if (tb.sizerKeys !== S || vals) writeSizer(app, tb, S, "", "", vals ? widestValue(tb, vals) : "");
  fillWindow(app, tb, geom);
  setAttrs(tb.sum, { "data-explain-sum": null });
  setText(tb.sumCell, "");
  setText(tb.out, "");
  setAttrs(tb.out, { title: null });
}

/** The rows in the window `geom` (fillTable's), and PAD either side, filled from the last fillTable; the
 * spacers stand for the rest. */
export function fillWindow(app, tb, geom) {
  const s = tb.last;
  if (!s) return;
  const S = s.ex.S, rowH = tb.rowH; // until the rows are measured: a guess (measureRows puts it right)
  const top = Math.max(0, geom.scrollTop - tb.bodyTop);
  const first = Math.max(0, Math.min(S, Math.floor(top / rowH)) - PAD);
  const end = Math.min(S, Math.ceil((top + geom.height) / rowH) + PAD);
  placeRows(tb, first, end);
  for (let k = 0; k < tb.rows.length; k++) fillRow(app, tb, s, first + k, tb.rows[k]);
  setAttrs(tb.above.firstChild, { style: { height: `${first * rowH}px` } });
  setAttrs(tb.below.firstChild, { style: { height: `${(S - end) * rowH}px` } });
  setHidden(tb.above, first === 0);
  setHidden(tb.below, end === S);
}

/** Key j took the focus (Tab): near an edge of the rows in the page, the rows beyond it are filled now, before
 * the scroll that brings it into view reports itself (a held Tab can outrun the frames that fill on scroll).
 * `height`: the scroller's most height. */
export function fillAround(app, tb, j, height) {
  const n = tb.rows.length, rowH = tb.rowH;
  if (!tb.last || !n || (j > tb.first + 1 && j < tb.first + n - 2)) return;
  const top = j >= tb.first + n - 2 ? (j + 1) * rowH - height : j * rowH; // j at the bottom, or the top, of the view
  fillWindow(app, tb, { scrollTop: tb.bodyTop + Math.max(0, top), height });
}

/** tb.rows become the rows of keys first … end − 1. A key still in view keeps its row element, which
 * does not move (a focused key button keeps the focus); the rows of keys gone out of view are reused. */
function placeRows(tb, first, end) {
  const old = tb.rows, from = tb.first;
  const lo = Math.max(first, from), hi = Math.min(end, from + old.length), overlap = hi > lo;
  const kept = overlap ? old.slice(lo - from, hi - from) : [];
  const spare = old.filter((_, k) => !overlap || from + k < lo || from + k >= hi);
  const take = () => spare.pop() ?? makeRow();
  const top = Array.from({ length: (overlap ? lo : end) - first }, take);
  const bottom = Array.from({ length: overlap ? end - hi : 0 }, take);
  for (const r of spare) r.tr.remove();
  const anchor = kept.length ? kept[0].tr : tb.below;
  for (const r of top) anchor.before(r.tr);
  for (const r of bottom) tb.below.before(r.tr);
  tb.rows = [...top, ...kept, ...bottom];
  tb.first = first;
}

/** The rows' height and the column heads' measured, once per scale and theme (remeasure): true when they were,
 * and fillWindow should place the rows again. A read of the layout: made the frame after the rows were shown
 * (laid out by then, it costs nothing; in the frame that filled them it would lay the page out once more). */
export function measureRows(tb) {
  if (tb.measured || !tb.rows.length) return false;
  // layout pixels (offsets, not client rects: a slide may be scaled), rounded only at the two ends
  const rs = tb.rows, z = rs[rs.length - 1].tr, span = z.offsetTop + z.offsetHeight - rs[0].tr.offsetTop;
  if (!(span > 0)) return false; // not laid out (a hidden slide): measured after a later fill
  tb.rowH = span / rs.length; // the mean, in fractions of a pixel: spacers for thousands of rows add up their error
  tb.bodyTop = tb.body.offsetTop; // below the column heads
  tb.measured = true;
  return true;
}

/** Row heights change with the widget's scale and theme: measured again after the next fill when `key`
 * changes (the last height is the guess until then). */
export function remeasure(tb, key) {
  if (key !== tb.rowKey) { tb.rowKey = key; tb.measured = false; }
}
