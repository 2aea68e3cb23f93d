// Explain view: the pinned query token of one head walked through softmax(q·kⱼ / √key_dim) and Σ wⱼ vⱼ.
// Reads the synced `_explain` only (Python computes it, or a static export swaps it in); never computes it.
// Every number and token reaches the page through textContent.

import { h } from "./dom.js";
import { decodeExplain } from "./protocol.js";
import { formatNumber, formatVector, formatStat } from "./format.js";

export const PIN_MESSAGE = "pin a query token (click it) to walk through its computation";
export const NO_LAYER_MESSAGE = "explain needs the layer: run it with %%attention or attnwidget.attention()";
const WAIT_MESSAGE = "waiting for the kernel to compute this query's explanation…";
const DEPS = ["_explain", "_can_explain", "_data", "selected_query", "head", "head_names", "query_tokens", "key_tokens", "theme", "view"];

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
  const el = h("div", { class: "aw-explain", tabindex: "0", "aria-label": "explain: ArrowUp/ArrowDown walk through the query tokens, Esc releases" },
    [nav, strip, formula, message, scroll]);
  const v = { app, el, up, down, title, headSel, strip, formula, message, table, scroll, st: { dirty: true, tokensKey: "" } };
  listen(v);
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
    if (e.target.closest?.("select")) return; // the head select uses its own arrows
    step(e.key === "ArrowDown" ? 1 : -1);
    e.preventDefault();
    e.stopPropagation();
  });
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

function row(app, ex, j, color) {
  const masked = ex.mask ? ex.mask[j] === 0 : false;
  const w = masked ? 0 : ex.weights[j];
  const vec = formatVector(ex.V.subarray(j * ex.valueDim, (j + 1) * ex.valueDim));
  const bar = h("div", { class: "aw-explain-bar", style: { width: `${Math.max(0, Math.min(1, w)) * 100}%`, background: color } });
  return h("tr", { class: masked ? "aw-explain-row aw-masked" : "aw-explain-row", "data-explain-key": j, "data-weight": String(w), "data-masked": masked ? "true" : "false" }, [
    h("td", { class: "aw-explain-j", text: String(j) }),
    h("td", { class: "aw-explain-key", text: app.label("key", j), title: app.token("key", j) }),
    h("td", { class: "aw-explain-num", text: formatNumber(ex.dots[j]) }),
    h("td", { class: "aw-explain-num", text: masked ? "−∞" : formatNumber(ex.logits[j]), title: masked ? "masked: this query may not attend to this key" : null }),
    h("td", { class: "aw-explain-num aw-explain-weight", text: formatNumber(w) }),
    h("td", { class: "aw-explain-barcell" }, [bar]),
    h("td", { class: "aw-explain-vec", text: vec.short, title: vec.full }),
  ]);
}

function renderTable(v, ex) {
  const { app } = v, color = app.headColor(ex.head);
  const cols = [["j", "key index"], ["key kⱼ", "key token"], ["q·kⱼ", "dot product, unscaled"], ["logit", "q·kⱼ × scale (1/√key_dim)"],
    ["weight wⱼ", "softmax of the logits"], ["", ""], [`value vⱼ (${ex.valueDim})`, "the key's value vector (rounded)"]];
  const head = h("thead", {}, [h("tr", {}, cols.map(([c, t]) => h("th", { text: c, title: t || null })))]);
  const body = h("tbody", {}, Array.from({ length: ex.S }, (_, j) => row(app, ex, j, color)));
  let sum = 0;
  for (let j = 0; j < ex.S; j++) if (!(ex.mask && ex.mask[j] === 0)) sum += ex.weights[j];
  const out = formatVector(ex.output);
  const foot = h("tfoot", {}, [
    h("tr", { class: "aw-explain-sum", "data-explain-sum": String(sum) }, [
      h("td"), h("td", { text: "all keys" }), h("td"), h("td"),
      h("td", { class: "aw-explain-num aw-explain-weight", text: `Σ = ${formatStat(sum, 3)}` }), h("td"), h("td"),
    ]),
    h("tr", { class: "aw-explain-out" }, [
      h("td"), h("td", { text: "output", title: "the head's output before the output projection" }),
      h("td", { colspan: "4", class: "aw-explain-note", text: "Σⱼ wⱼ · vⱼ (before the output projection)" }),
      h("td", { class: "aw-explain-vec", "data-explain-output": "", text: out.short, title: out.full }),
    ]),
  ]);
  v.table.replaceChildren(head, body, foot);
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
  drawNav(v, sq, hd);
  let ex = null;
  try { ex = decodeExplain(app.get("_explain")); } catch (err) { console.error(err); ex = { error: String(err.message || err) }; }
  const ready = ex && !ex.error && ex.query === sq && ex.head === hd;
  v.scroll.hidden = v.formula.hidden = !(ex && !ex.error);
  v.el.classList.toggle("aw-stale", Boolean(ex && !ex.error && !ready));
  if (app.get("_can_explain") === false) { v.scroll.hidden = v.formula.hidden = true; say(v, NO_LAYER_MESSAGE); return; }
  if (sq == null) { v.scroll.hidden = v.formula.hidden = true; say(v, PIN_MESSAGE); return; }
  if (ex && ex.error) { say(v, `explain: ${ex.error}`); return; }
  if (!ex) { say(v, WAIT_MESSAGE); return; }
  say(v, ready ? "" : WAIT_MESSAGE);
  const q = formatVector(ex.q);
  v.formula.replaceChildren(
    h("span", { text: `q = ${q.short}`, title: `q (${ex.keyDim}): ${q.full}` }),
    h("span", { text: `logitⱼ = q·kⱼ × 1/√${ex.keyDim} (scale ${formatNumber(ex.scale, 4)})` }),
    h("span", { text: "wⱼ = softmax(logits)ⱼ" }),
    h("span", { text: "output = Σⱼ wⱼ vⱼ" }),
  );
  renderTable(v, ex);
}
