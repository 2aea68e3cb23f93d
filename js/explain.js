// Explain view: the pinned query token of one head walked through softmax(q·kⱼ / √key_dim) and Σ wⱼ vⱼ.
// The layer's own numbers are the synced `_explain` (Python computes it, or a static export swaps it in);
// a what-if (a temperature, keys dropped, the mask lifted: UI-only state, uistate.js) recomputes the
// weights and the output here from its dots, scale, mask and V (whatif.js), as explain.py's explain() does.
// Every number and token reaches the page through textContent.

import { h, setText, setAttrs } from "./dom.js";
import { decodeExplain } from "./protocol.js";
import { formatNumber, formatVector, formatStat } from "./format.js";
import { whatIf, isLayerOwn, toggleDrop } from "./whatif.js";
import { whatIfFor, resetWhatIf } from "./uistate.js";

export const PIN_MESSAGE = "pin a query token (click it) to walk through its computation";
// Bare scores: arrays, BertViz tensors, or a model whose attention was recorded at a softmax (KerasHub on TensorFlow).
export const NO_LAYER_MESSAGE = "explain needs the layer's queries, keys and values, which these scores came without: "
  + "run a layer with %%attention or attnwidget.attention(), or capture a model on a backend where it calls "
  + "MultiHeadAttention or dot_product_attention (Python's result.explain also reads a recorded softmax's logits)";
const WAIT_MESSAGE = "waiting for the kernel to compute this query's explanation…";
const DEPS = ["_explain", "_can_explain", "_data", "selected_query", "head", "head_names", "query_tokens", "key_tokens", "theme", "view",
  "layer", "batch", "palette"];
/** The temperature slider moves log₂ t over this range: t from 1/8 to 8, the layer's own 1 in the middle. */
const LOG2_T = 3;
/** The temperatures the number box takes: from one that makes the softmax an argmax to one that makes it flat. */
const T_RANGE = [0.01, 1000];

export function createExplain(app) {
  const up = h("button", { type: "button", class: "aw-btn aw-explain-step", "data-explain-step": "-1", title: "previous query (ArrowUp)", "aria-label": "previous query", text: "▲" });
  const down = h("button", { type: "button", class: "aw-btn aw-explain-step", "data-explain-step": "1", title: "next query (ArrowDown)", "aria-label": "next query", text: "▼" });
  const title = h("span", { class: "aw-explain-title" });
  const headSel = h("select", { class: "aw-select aw-explain-head", "aria-label": "head to explain" });
  const nav = h("div", { class: "aw-explain-nav" }, [up, down, title, h("label", { class: "aw-ctl" }, [h("span", { class: "aw-ctl-label", text: "head" }), headSel])]);
  const strip = h("div", { class: "aw-explain-tokens", role: "group", "aria-label": "query tokens: click to pin" });
  const formula = h("div", { class: "aw-explain-formula" });
  const message = h("div", { class: "aw-explain-message", role: "status" });
  const table = h("table", { class: "aw-explain-table" });
  const scroll = h("div", { class: "aw-explain-scroll" }, [table]);
  const wi = buildWhatIf();
  const el = h("div", { class: "aw-explain", tabindex: "0", "aria-label": "explain: ArrowUp/ArrowDown walk through the query tokens, Esc releases" },
    [nav, strip, formula, wi.el, message, scroll]);
  const v = { app, el, up, down, title, headSel, strip, formula, wi, message, table, scroll, st: { dirty: true, tokensKey: "", refocus: null } };
  listen(v);
  listenWhatIf(v);
  return {
    el, draw: () => draw(v), exportCanvas: () => null, exportSVG: () => null, destroy() {},
    update(changed) { if (DEPS.some((d) => changed.has(d))) v.st.dirty = true; },
  };
}

// ----- view -> model ------------------------------------------------------------------------------
function listen(v) {
  const { app, el, strip } = v, { dis } = app;
  const pinQuery = (i) => app.set({ selected_query: i, selected_key: null });
  function step(d) {
    const n = (app.get("query_tokens") || []).length;
    if (!n) return;
    const cur = app.get("selected_query");
    pinQuery(cur == null ? (d > 0 ? 0 : n - 1) : Math.max(0, Math.min(n - 1, cur + d)));
  }
  dis.listen(v.up, "click", () => step(-1));
  dis.listen(v.down, "click", () => step(1));
  dis.listen(v.headSel, "change", () => app.set({ head: Number(v.headSel.value) }));
  dis.listen(strip, "click", (e) => {
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

// ----- what-if: temperature, dropped keys, the mask lifted, reset ----------------------------------
function buildWhatIf() {
  const slider = h("input", { type: "range", min: String(-LOG2_T), max: String(LOG2_T), step: "0.05", value: "0", class: "aw-range aw-explain-tslider",
    "aria-label": "temperature (log scale, 1 in the middle)" });
  const temp = h("input", { type: "number", min: String(T_RANGE[0]), max: String(T_RANGE[1]), step: "0.05", value: "1", class: "aw-explain-temp",
    "aria-label": "temperature: divides the logits (1 = the layer's own scaling)" });
  const unmask = h("input", { type: "checkbox", class: "aw-explain-unmask" });
  const unmaskWrap = h("label", { class: "aw-ctl", title: "let the query attend to the keys the causal or padding mask hides" },
    [unmask, h("span", { class: "aw-ctl-label", text: "lift the mask" })]);
  const reset = h("button", { type: "button", class: "aw-btn aw-explain-reset", text: "reset", title: "back to the layer's own numbers: temperature 1, every key, its mask" });
  const note = h("span", { class: "aw-explain-whatif-note", "aria-live": "polite" });
  const el = h("div", { class: "aw-explain-whatif", role: "group", "aria-label": "what-if" }, [
    h("span", { class: "aw-ctl-label", text: "what if", title: "change the softmax and watch the weights; click a key to drop it" }),
    h("label", { class: "aw-ctl", title: "temperature t: the softmax sees logits / t (t < 1 sharpens, t > 1 flattens)" },
      [h("span", { class: "aw-ctl-label", text: "temperature" }), slider, temp]),
    unmaskWrap, reset, note]);
  return { el, slider, temp, unmask, unmaskWrap, reset, note };
}

/** Change the what-if (a patch of {temperature, dropped, unmasked}) and redraw at once. */
function setWhatIf(v, patch) {
  Object.assign(v.app.ui.whatIf, patch);
  v.st.dirty = true;
  v.app.invalidate();
}

function listenWhatIf(v) {
  const { app, wi, table } = v, { dis } = app;
  // the slider's value is log₂ t; t keeps 3 significant digits, so the number shown is the number used
  dis.listen(wi.slider, "input", () => setWhatIf(v, { temperature: Number((2 ** Number(wi.slider.value)).toPrecision(3)) }));
  const typed = () => { // a value outside the box's range (a half-typed "0.0") is ignored
    const t = Number(wi.temp.value);
    if (wi.temp.value !== "" && t >= T_RANGE[0] && t <= T_RANGE[1]) setWhatIf(v, { temperature: t });
  };
  dis.listen(wi.temp, "input", typed);
  dis.listen(wi.temp, "keydown", (e) => { if (e.key === "Enter") { typed(); e.preventDefault(); e.stopPropagation(); } });
  dis.listen(wi.unmask, "change", () => setWhatIf(v, { unmasked: wi.unmask.checked }));
  dis.listen(wi.reset, "click", () => { resetWhatIf(app.ui); v.st.dirty = true; app.invalidate(); });
  dis.listen(table, "click", (e) => {
    const b = e.target.closest?.("button[data-explain-drop]");
    if (!b) return;
    const j = Number(b.dataset.explainDrop);
    v.st.refocus = j;
    setWhatIf(v, { dropped: toggleDrop(app.ui.whatIf.dropped, j) });
  });
}

/** The what-if controls as the state `w` says (a field being typed in keeps what it holds). */
function drawWhatIf(v, ex, w) {
  const { wi } = v, t = w.temperature, doc = v.el.ownerDocument;
  if (doc.activeElement !== wi.slider) wi.slider.value = String(Math.max(-LOG2_T, Math.min(LOG2_T, Math.log2(t))));
  if (doc.activeElement !== wi.temp || Number(wi.temp.value) !== t) wi.temp.value = String(t);
  wi.unmaskWrap.hidden = !(ex.mask && ex.mask.some((m) => m === 0));
  wi.unmask.checked = w.unmasked;
  wi.reset.disabled = isLayerOwn(w);
  const parts = [];
  if (t !== 1) parts.push(`logits ÷ ${t}`);
  if (w.dropped.length) parts.push(`${w.dropped.length} key${w.dropped.length === 1 ? "" : "s"} dropped`);
  if (w.unmasked && !wi.unmaskWrap.hidden) parts.push("mask lifted");
  wi.note.textContent = parts.length ? `${parts.join(" · ")}: not the layer's own weights` : "click a key to drop it from the softmax";
  v.el.classList.toggle("aw-whatif", parts.length > 0);
}

// ----- model -> view ------------------------------------------------------------------------------
function buildStrip(v) {
  const { app, st } = v, toks = app.get("query_tokens") || [];
  const key = JSON.stringify(toks);
  if (key === st.tokensKey) return;
  st.tokensKey = key;
  v.strip.replaceChildren(...toks.map((_, i) => h("button", { type: "button", class: "aw-explain-tok", "data-explain-query": i, text: app.label("query", i), title: `query ${i}: ${app.token("query", i)}` })));
}

function buildHeads(v) {
  const { app, st, headSel } = v;
  const H = Math.max(app.data?.H ?? 0, (app.get("head_names") || []).length);
  if (headSel.options.length !== H || st.headNames !== JSON.stringify(app.get("head_names"))) {
    st.headNames = JSON.stringify(app.get("head_names"));
    headSel.replaceChildren(...Array.from({ length: H }, (_, hd) => h("option", { value: hd, text: app.headName(hd) })));
  }
  headSel.value = String(app.get("head") ?? 0);
}

function say(v, text) {
  v.message.textContent = text || "";
  v.message.hidden = !text;
}

/** The numbers the table shows: the layer's own (`_explain`), or the what-if `w` recomputed from its dots. */
function numbers(ex, w) {
  if (!isLayerOwn(w)) return whatIf(ex, w);
  const allowed = Uint8Array.from({ length: ex.S }, (_, j) => (ex.mask && ex.mask[j] === 0 ? 0 : 1));
  return { logits: ex.logits, weights: ex.weights, output: ex.output, allowed };
}

const COLS = 7;

/** Row j's elements, made once and reused: every later draw changes only the cells whose numbers changed. */
function makeRow() {
  const td = (cls) => h("td", { class: cls });
  const r = { j: td("aw-explain-j"), keyCell: td("aw-explain-key"), dot: td("aw-explain-num"), logit: td("aw-explain-num"),
    weight: td("aw-explain-num aw-explain-weight"), barCell: td("aw-explain-barcell"), vec: td("aw-explain-vec"),
    key: h("button", { type: "button", class: "aw-explain-drop" }), bar: h("div", { class: "aw-explain-bar" }) };
  r.keyCell.append(r.key);
  r.barCell.append(r.bar);
  r.tr = h("tr", {}, [r.j, r.keyCell, r.dot, r.logit, r.weight, r.barCell, r.vec]);
  return r;
}

function fillRow(app, ex, n, w, j, color, r) {
  const masked = ex.mask ? ex.mask[j] === 0 : false, lifted = masked && w.unmasked, dropped = w.dropped.includes(j);
  const kept = n.allowed[j] === 1, wt = kept ? n.weights[j] : 0;
  const vec = formatVector(ex.V.subarray(j * ex.valueDim, (j + 1) * ex.valueDim));
  const cls = ["aw-explain-row", masked && !lifted && "aw-masked", lifted && "aw-unmasked", dropped && "aw-dropped"].filter(Boolean).join(" ");
  const why = dropped ? "dropped (what-if): left out of the softmax" : masked && !lifted ? "masked: this query may not attend to this key" : null;
  setAttrs(r.tr, { class: cls, "data-explain-key": j, "data-weight": String(wt), "data-masked": masked ? "true" : "false", "data-dropped": dropped ? "true" : "false" });
  setText(r.j, String(j));
  setText(r.key, app.label("key", j));
  setAttrs(r.key, { "data-explain-drop": j, disabled: masked && !lifted, "aria-pressed": dropped ? "true" : "false",
    title: `${app.token("key", j)} · click: ${dropped ? "put it back into" : "drop it from"} the softmax` });
  setText(r.dot, formatNumber(ex.dots[j]));
  setText(r.logit, kept ? formatNumber(n.logits[j]) : "−∞");
  setAttrs(r.logit, { title: why });
  setText(r.weight, formatNumber(wt));
  setAttrs(r.bar, { style: { width: `${Math.max(0, Math.min(1, wt)) * 100}%`, background: color } });
  setText(r.vec, vec.short);
  setAttrs(r.vec, { title: vec.full });
}

/** The table's head, body rows and foot, made once; rows added or taken away as the number of keys changes. */
function tableParts(v, S) {
  const { st } = v;
  if (!st.parts) {
    const head = h("tr", {}, Array.from({ length: COLS }, () => h("th")));
    const sumCells = Array.from({ length: COLS }, () => h("td"));
    sumCells[1].textContent = "all keys";
    sumCells[4].className = "aw-explain-num aw-explain-weight";
    const out = h("td", { class: "aw-explain-vec", "data-explain-output": "" });
    const sum = h("tr", { class: "aw-explain-sum" }, sumCells);
    const outRow = h("tr", { class: "aw-explain-out" }, [h("td"), h("td", { text: "output", title: "the head's output before the output projection" }),
      h("td", { colspan: "4", class: "aw-explain-note", text: "Σⱼ wⱼ · vⱼ (before the output projection)" }), out]);
    st.parts = { head, body: h("tbody"), sum, sumCell: sumCells[4], out, rows: [] };
    v.table.replaceChildren(h("thead", {}, [head]), st.parts.body, h("tfoot", {}, [sum, outRow]));
  }
  const P = st.parts;
  while (P.rows.length < S) { const r = makeRow(); P.rows.push(r); P.body.append(r.tr); }
  while (P.rows.length > S) P.rows.pop().tr.remove();
  return P;
}

function renderTable(v, ex, w) {
  const { app, st } = v, color = app.headColor(ex.head), n = numbers(ex, w), t = w.temperature;
  const cols = [["j", "key index"], ["key kⱼ", "key token: click to drop it from the softmax (what-if)"], ["q·kⱼ", "dot product, unscaled"],
    [t === 1 ? "logit" : "logit ÷ t", `q·kⱼ × scale (1/√key_dim)${t === 1 ? "" : ` ÷ t (${t}): what the softmax sees`}`],
    ["weight wⱼ", "softmax of the logits"], ["", ""], [`value vⱼ (${ex.valueDim})`, "the key's value vector (rounded)"]];
  const P = tableParts(v, ex.S);
  cols.forEach(([c, ti], k) => { setText(P.head.children[k], c); setAttrs(P.head.children[k], { title: ti || null }); });
  for (let j = 0; j < ex.S; j++) fillRow(app, ex, n, w, j, color, P.rows[j]);
  let sum = 0;
  for (let j = 0; j < ex.S; j++) if (n.allowed[j]) sum += n.weights[j];
  const out = formatVector(n.output);
  setAttrs(P.sum, { "data-explain-sum": String(sum) });
  setText(P.sumCell, `Σ = ${formatStat(sum, 3)}`);
  setText(P.out, out.short);
  setAttrs(P.out, { title: out.full });
  if (st.refocus != null) { // a key clicked (or pressed) keeps the focus
    v.table.querySelector(`button[data-explain-drop="${st.refocus}"]`)?.focus({ preventScroll: true });
    st.refocus = null;
  }
}

/** The navigation: strip of query tokens, head choice, step buttons and the title. */
function drawNav(v, sq, hd) {
  const { app } = v;
  buildStrip(v);
  buildHeads(v);
  for (const b of v.strip.children) {
    const on = Number(b.dataset.explainQuery) === sq;
    b.classList.toggle("aw-current", on);
    b.setAttribute("aria-pressed", on ? "true" : "false");
  }
  const n = (app.get("query_tokens") || []).length;
  v.up.disabled = sq == null ? !n : sq <= 0;
  v.down.disabled = sq == null ? !n : sq >= n - 1;
  v.title.textContent = sq == null ? "no query pinned" : `query ${sq} ‘${app.label("query", sq)}’ · ${app.headName(hd)}`;
}

function draw(v) {
  const { app, st } = v, ui = app.ui;
  // on a slide the table scrolls inside what the slide leaves the view
  const room = ui.bodyMax ? `${Math.max(ui.px(60), ui.bodyMax - (v.el.offsetHeight - v.scroll.offsetHeight) - 4)}px` : "";
  if (v.scroll.style.maxHeight !== room) v.scroll.style.maxHeight = room;
  if (!st.dirty) return;
  st.dirty = false;
  const sq = app.get("selected_query"), hd = app.get("head") ?? 0;
  const w = whatIfFor(ui, [app.get("layer") | 0, app.get("batch") | 0, sq, hd].join("|")); // a new pin starts from the layer's own
  drawNav(v, sq, hd);
  let ex = null;
  try { ex = decodeExplain(app.get("_explain")); } catch (err) { console.error(err); ex = { error: String(err.message || err) }; }
  const ready = ex && !ex.error && ex.query === sq && ex.head === hd;
  const hide = (off) => { v.scroll.hidden = v.formula.hidden = v.wi.el.hidden = off; };
  hide(!(ex && !ex.error));
  v.el.classList.toggle("aw-stale", Boolean(ex && !ex.error && !ready));
  if (app.get("_can_explain") === false) { hide(true); say(v, NO_LAYER_MESSAGE); return; }
  if (sq == null) { hide(true); say(v, PIN_MESSAGE); return; }
  if (ex && ex.error) { say(v, `explain: ${ex.error}`); return; }
  if (!ex) { say(v, WAIT_MESSAGE); return; }
  say(v, ready ? "" : WAIT_MESSAGE);
  const q = formatVector(ex.q), t = w.temperature;
  if (v.formula.childElementCount !== 4) v.formula.replaceChildren(...Array.from({ length: 4 }, () => h("span")));
  const [fq, fl, fw, fo] = v.formula.children;
  setText(fq, `q = ${q.short}`);
  setAttrs(fq, { title: `q (${ex.keyDim}): ${q.full}` });
  setText(fl, `logitⱼ = q·kⱼ × 1/√${ex.keyDim} (scale ${formatNumber(ex.scale, 4)})${t === 1 ? "" : ` ÷ t (t = ${t})`}`);
  setText(fw, w.dropped.length ? "wⱼ = softmax(logits)ⱼ over the keys kept" : "wⱼ = softmax(logits)ⱼ");
  setText(fo, "output = Σⱼ wⱼ vⱼ");
  drawWhatIf(v, ex, w);
  renderTable(v, ex, w);
}
