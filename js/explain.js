// Explain view: the pinned query token of one head walked through softmax(q·kⱼ / √key_dim) and Σ wⱼ vⱼ.
// The layer's own numbers are the synced `_explain` (Python computes it, or a static export swaps it in);
// a what-if (a temperature, keys dropped, the mask lifted: UI-only state, uistate.js) recomputes the
// weights and the output here from its dots, scale, mask and V (whatif.js), as explain.py's explain() does.
// Every number and token reaches the page through textContent.

import { h, setText, setAttrs, setHidden, setValue, recheckScroll, afterLayout, prepareWhenIdle, preparing } from "./dom.js";
import { decodeExplain, toFloat32 } from "./protocol.js";
import { formatNumber, formatVector } from "./format.js";
import { whatIf, isLayerOwn } from "./whatif.js";
import { whatIfFor } from "./uistate.js";
import { buildWhatIf, listenWhatIf, drawWhatIf, blankWhatIf } from "./explainwhatif.js";
import { createTable, fillTable, fillBlank, fillWindow, fillAround, remeasure, measureRows } from "./explaintable.js";
import { createStrip, drawStrip, turnPage } from "./explainstrip.js";
import { createWait } from "./explainwait.js";

export const PIN_MESSAGE = "pin a query token (click it) to walk through its computation";
// Bare scores: arrays, BertViz tensors, or a model whose attention was recorded at a softmax (KerasHub on TensorFlow).
export const NO_LAYER_MESSAGE = "explain needs the layer's queries, keys and values, which these scores came without: "
  + "run a layer with %%attention or attnwidget.attention(), or capture a model on a backend where it calls "
  + "MultiHeadAttention or dot_product_attention (Python's result.explain also reads a recorded softmax's logits)";
const WAIT_MESSAGE = "waiting for the kernel to compute this query's explanation…";
const DEPS = ["_explain", "_explain_values", "_explain_for", "_can_explain", "_data", "selected_query", "head", "head_names", "query_tokens",
  "key_tokens", "theme", "view", "layer", "batch", "palette"];
/** While hidden, the strip and, where the numbers are in hand (a static copy's), the table are drawn once the
 * page is idle, so that the tab's first click finds them built (it cost that click 40–60 ms at T = 64); again
 * when these change (DEPS but the pin, its head and its numbers: the view shown draws that pin). */
const PREPARE_ON = DEPS.filter((d) => !["_explain", "selected_query", "head", "view"].includes(d));
/** The table's scroller is at most this tall (CSS px at scale 1), or what a slide leaves it. */
const SCROLL_MAX = 560;
/** What makes the scroller's offset read at the next draw: it may have moved without a scroll event. (The
 * view shown again is checked the frame after instead, dom.js recheckScroll: a read in its frame lays it out.) */
const REREAD = ["theme", "_data", "layer", "batch"];

export function createExplain(app) {
  const up = h("button", { type: "button", class: "aw-btn aw-explain-step", "data-explain-step": "-1", title: "previous query (ArrowUp)", "aria-label": "previous query", text: "▲" });
  const down = h("button", { type: "button", class: "aw-btn aw-explain-step", "data-explain-step": "1", title: "next query (ArrowDown)", "aria-label": "next query", text: "▼" });
  const title = h("span", { class: "aw-explain-title" });
  const headSel = h("select", { class: "aw-select aw-explain-head", "aria-label": "head to explain" });
  // what to do while nothing is pinned: on the nav's line, where it goes without moving the table below
  const hint = h("span", { class: "aw-explain-hint", text: PIN_MESSAGE });
  const nav = h("div", { class: "aw-explain-nav" }, [up, down, title, h("label", { class: "aw-ctl" }, [h("span", { class: "aw-ctl-label", text: "head" }), headSel]), hint]);
  const strip = createStrip(app);
  const formula = h("div", { class: "aw-explain-formula" });
  const message = h("div", { class: "aw-explain-message", role: "status" });
  const table = h("table", { class: "aw-explain-table" });
  const scroll = h("div", { class: "aw-explain-scroll" }, [table]);
  // a slow kernel's wait, over the table's corner: showing it moves nothing
  const waitNote = h("div", { class: "aw-explain-wait", role: "status", hidden: true, text: "waiting for the kernel…", title: WAIT_MESSAGE });
  const wi = buildWhatIf();
  const el = h("div", { class: "aw-explain", tabindex: "0", "aria-label": "explain: ArrowUp/ArrowDown walk through the query tokens, Esc releases" },
    [nav, strip.el, formula, wi.el, message, h("div", { class: "aw-explain-tablebox" }, [scroll, waitNote])]);
  const v = { app, el, up, down, title, hint, headSel, strip, formula, wi, message, waitNote, table, tb: createTable(table), scroll,
    st: { dirty: true, refocus: null, scrollTop: null, maxH: 0, job: { idle: 0 } } };
  v.wait = createWait(() => { v.st.dirty = true; app.invalidate(); });
  listen(v);
  listenWhatIf(v);
  return {
    el, draw: () => draw(v), exportCanvas: () => null, exportSVG: () => null, destroy: () => v.wait.stop(),
    idle: (shown, missed) => prepareWhenIdle(v, missed, PREPARE_ON, draw), preparing: () => preparing(v),
    update(changed) {
      if (DEPS.some((d) => changed.has(d))) v.st.dirty = true;
      if (REREAD.some((d) => changed.has(d))) v.st.scrollTop = v.st.filled ? null : 0; // a table never shown is at 0
      if (changed.has("view")) { v.st.recheck = true; v.strip.reveal = true; } // shown: its pin brought into the strip's view
    },
  };
}

// ----- view -> model ------------------------------------------------------------------------------
function listen(v) {
  const { app, el } = v, { dis } = app;
  const pinQuery = (i) => app.set({ selected_query: i, selected_key: null });
  function step(d) {
    const n = (app.get("query_tokens") || []).length;
    if (!n) return;
    const cur = app.get("selected_query");
    pinQuery(cur == null ? (d > 0 ? 0 : n - 1) : Math.max(0, Math.min(n - 1, cur + d)));
  }
  dis.listen(v.up, "click", () => step(-1));
  dis.listen(v.down, "click", () => step(1));
  // a scroll fills the rows that came into view (explaintable.js keeps only those in the page)
  dis.listen(v.scroll, "scroll", () => { v.st.scrollTop = v.scroll.scrollTop; fillWindow(app, v.tb, tableWindow(v)); }, { passive: true });
  dis.listen(v.headSel, "change", () => app.set({ head: Number(v.headSel.value) }));
  dis.listen(v.table, "focusin", (e) => {
    const b = e.target.closest?.("button[data-explain-drop]");
    if (b) fillAround(app, v.tb, Number(b.dataset.explainDrop), v.st.maxH);
  });
  dis.listen(v.strip.el, "click", (e) => {
    const turn = e.target.closest?.("button[data-explain-page]");
    if (turn) { turnPage(v.strip, Number(turn.dataset.explainPage)); v.st.dirty = true; app.invalidate(); return; }
    const b = e.target.closest?.("button[data-explain-query]");
    if (!b) return;
    const i = Number(b.dataset.explainQuery);
    if (app.get("selected_query") === i) app.release(); else pinQuery(i);
  });
  dis.listen(el, "keydown", (e) => {
    if ((e.key !== "ArrowUp" && e.key !== "ArrowDown") || app.slideKeys(e)) return;
    if (e.target.closest?.("select, input")) return; // the head select and the temperature use their own arrows
    step(e.key === "ArrowDown" ? 1 : -1);
    e.preventDefault();
    e.stopPropagation();
  });
}

// ----- model -> view ------------------------------------------------------------------------------
function buildHeads(v) {
  const { app, st, headSel } = v;
  const H = Math.max(app.data?.H ?? 0, (app.get("head_names") || []).length);
  if (headSel.options.length !== H || st.headNames !== JSON.stringify(app.get("head_names"))) {
    st.headNames = JSON.stringify(app.get("head_names"));
    headSel.replaceChildren(...Array.from({ length: H }, (_, hd) => h("option", { value: hd, text: app.headName(hd) })));
  }
  setValue(headSel, String(app.get("head") ?? 0));
}

function say(v, text) {
  setText(v.message, text || "");
  setHidden(v.message, !text);
}

/** What a static copy (no kernel to wait for) says when it has no numbers for the pin: its table is another
 * layer's or batch's (protocol.py snapshot: `_explain_for`). */
function elsewhere(app) {
  const [layer, batch] = app.get("_explain_for") || [];
  if (layer == null || (layer === (app.get("layer") | 0) && batch === (app.get("batch") | 0))) return "this static copy has no explain numbers for this query";
  const name = (app.get("layer_names") || [])[layer] ?? `layer ${layer}`;
  return `this static copy carries the explain view's numbers for ${name}${batch || batch !== (app.get("batch") | 0) ? `, batch item ${batch}` : ""} only: `
    + "show that one, or run the notebook to explain this one";
}

/** The numbers the table shows: the layer's own (`_explain`), or the what-if `w` recomputed from its dots. */
function numbers(ex, w) {
  if (!isLayerOwn(w)) return whatIf(ex, w);
  const allowed = new Uint8Array(ex.S).fill(1);
  if (ex.mask) for (let j = 0; j < ex.S; j++) if (ex.mask[j] === 0) allowed[j] = 0;
  return { logits: ex.logits, weights: ex.weights, output: ex.output, allowed };
}

/** The table's window: the scroll offset as a scroll event read it (read now only when it may have moved
 * without one: a pin's frame does not lay the page out an extra time) and the scroller's most height. A
 * hidden scroller says 0 whatever its offset: read again when shown. */
function tableWindow(v) {
  const top = v.st.scrollTop ?? (v.el.hidden ? 0 : (v.st.scrollTop = v.scroll.scrollTop));
  return { scrollTop: top, height: v.st.maxH };
}

/** The rows measured the frame after they are shown (explaintable.js measureRows), and placed again. */
function measureLater(v) {
  // a second draw before that frame asks again; measureRows measures once
  if (!v.tb.measured) afterLayout(v.scroll, () => { if (measureRows(v.tb)) fillWindow(v.app, v.tb, tableWindow(v)); });
}

/** The table for what `w` makes of `ex`; a key clicked (or pressed) keeps the focus. */
function renderTable(v, ex, w, geom) {
  const { app, st } = v;
  fillTable(v.tb, app, ex, numbers(ex, w), w, geom);
  if (st.refocus != null) {
    v.table.querySelector(`button[data-explain-drop="${st.refocus}"]`)?.focus({ preventScroll: true });
    st.refocus = null;
  }
}

/** The navigation: strip of query tokens, head choice, step buttons and the title. */
function drawNav(v, sq, hd) {
  const { app } = v;
  const off = app.get("_can_explain") === false; // nothing to pin here for: the message says why
  setHidden(v.strip.el, off);
  if (!off) drawStrip(v.strip, sq);
  buildHeads(v);
  const n = (app.get("query_tokens") || []).length;
  setAttrs(v.up, { disabled: sq == null ? !n : sq <= 0 });
  setAttrs(v.down, { disabled: sq == null ? !n : sq >= n - 1 });
  setText(v.title, sq == null ? "no query pinned" : `query ${sq} ‘${app.label("query", sq)}’ · ${app.headName(hd)}`);
  setHidden(v.hint, sq != null || off);
}

function draw(v) {
  const { app, st } = v, ui = app.ui;
  // on a slide the table scrolls inside what the slide leaves the view
  st.maxH = ui.bodyMax ? Math.max(ui.px(60), ui.bodyMax - (v.el.offsetHeight - v.scroll.offsetHeight) - 4) : ui.px(SCROLL_MAX);
  setAttrs(v.scroll, { style: { maxHeight: `${st.maxH}px` } });
  if (!st.dirty) return;
  st.dirty = false;
  const geom = tableWindow(v); // read before this draw writes: no extra layout
  const sq = app.get("selected_query"), hd = app.get("head") ?? 0, pin = [app.get("layer") | 0, app.get("batch") | 0, sq, hd].join("|");
  const w = whatIfFor(ui, pin); // a new pin starts from the layer's own
  drawNav(v, sq, hd);
  let ex = null;
  try { ex = decodeExplain(app.get("_explain")); } catch (err) { console.error(err); ex = { error: String(err.message || err) }; }
  const ready = ex && !ex.error && ex.query === sq && ex.head === hd;
  const hide = (off) => { for (const e of [v.scroll, v.formula, v.wi.el]) setHidden(e, off); };
  const shown = v.scroll.hidden; // the table comes back (after an error, or another layer's message)
  const off = app.get("_can_explain") === false;
  // no pin, or a live pin's first numbers on their way: the keys' rows without numbers (drawBlank)
  const blank = !off && (sq == null || (!ex && !app.ui.static));
  hide(off || !(blank || (ex && !ex.error)));
  // another query's numbers while the kernel computes this one's: left as they are, dimmed only if it is slow (explainwait.js)
  const late = v.wait.late(!off && ex && !ex.error && !ready && sq != null ? pin : null);
  v.el.classList.toggle("aw-stale", late);
  setHidden(v.waitNote, !late);
  if (off) { say(v, app.get("_explain_left_out") || NO_LAYER_MESSAGE); return; }
  remeasure(v.tb, `${ui.scale}|${JSON.stringify(ui.theme)}`); // rows of another height: measured after the fill
  if (sq == null) { say(v, ""); drawBlank(v, geom, shown); return; }
  if (ex && ex.error) { say(v, `explain: ${ex.error}`); return; }
  if (!ex) {
    say(v, app.ui.static ? elsewhere(app) : WAIT_MESSAGE);
    if (blank) drawBlank(v, geom, shown);
    return;
  }
  say(v, "");
  const q = formatVector(ex.q), t = w.temperature;
  writeFormula(v, [`q = ${q.short}`, `logitⱼ = q·kⱼ × 1/√${ex.keyDim} (scale ${formatNumber(ex.scale, 4)})${t === 1 ? "" : ` ÷ t (t = ${t})`}`,
    w.dropped.length ? "wⱼ = softmax(logits)ⱼ over the keys kept" : "wⱼ = softmax(logits)ⱼ"], `q (${ex.keyDim}): ${q.full}`);
  drawWhatIf(v, ex, w);
  renderTable(v, ex, w, geom);
  afterFill(v, shown);
}

/** The formula line: q, the logits and the weights as `texts` says, then the output; `qTitle`: q in full. */
function writeFormula(v, texts, qTitle) {
  if (v.formula.childElementCount !== 4) v.formula.replaceChildren(...Array.from({ length: 4 }, () => h("span")));
  const [fq, fl, fw, fo] = v.formula.children;
  [fq, fl, fw].forEach((e, k) => setText(e, texts[k]));
  setAttrs(fq, { title: qTitle });
  setText(fo, "output = Σⱼ wⱼ vⱼ");
}

/** No query pinned (or a live pin's first numbers on their way): the formula, the what-if (off) and the keys'
 * rows without numbers (explaintable.js fillBlank), laid out and painted before the pin, which then writes numbers. */
function drawBlank(v, geom, shown) {
  const S = v.app.data?.K ?? (v.app.get("key_tokens") || []).length;
  if (!S) return;
  writeFormula(v, ["q = the pinned query's vector", "logitⱼ = q·kⱼ × 1/√key_dim", "wⱼ = softmax(logits)ⱼ"], null);
  blankWhatIf(v);
  const hd = v.app.get("head") ?? 0;
  fillBlank(v.tb, v.app, S, geom, headValues(v.app, S, hd), v.app.headColor(hd));
  afterFill(v, shown);
}

/** Head `hd`'s value vectors before any pin, where they are in hand for the layer and batch shown
 * (`_explain_values`: a live kernel's for the shown head, as bytes; a static copy's for every head, decoded by
 * restore.js): {S, V: S × valueDim floats, valueDim}; else null. */
function headValues(app, S, hd) {
  const f = app.get("_explain_for"); // as static.js reads it: without, the table's layer is the one shown
  if (f && f.length && (f[0] !== (app.get("layer") | 0) || f[1] !== (app.get("batch") | 0))) return null;
  const raw = (app.get("_explain_values") || {})[String(hd)];
  if (raw == null) return null;
  const V = raw instanceof Float32Array ? raw : toFloat32(raw); // a view of the bytes, not a copy
  return V.length && V.length % S === 0 ? { S, V, valueDim: V.length / S } : null;
}

/** After the rows are filled: measured the frame after; the table or the view shown again gets its offset
 * checked the frame after, the rows refilled if it moved. */
function afterFill(v, shown) {
  const { app, st } = v;
  st.filled = true;
  measureLater(v);
  if (shown || st.recheck) recheckScroll(v.scroll, () => st.scrollTop, (top) => { st.scrollTop = top; fillWindow(app, v.tb, tableWindow(v)); });
  st.recheck = false;
}
