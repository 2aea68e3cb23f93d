// Graph view: query tokens left, key tokens right, one canvas of lines between them. The parts:
// graphtokens.js (the token columns), graphpaint.js (painting), graphexport.js (PNG and SVG).

import { h, setText, setHidden, recheckScroll, prepareWhenIdle, preparing, runSlice } from "./dom.js";
import { rowCenter, canvasSize, clamp } from "./layout.js";
import { selectLines, selectLinesSteps, selectExactLines } from "./lines.js";
import { formatCount } from "./format.js";
import { pinned, buildTokens, placeTokens, renderWindow, markPinned, reveal, focusToken } from "./graphtokens.js";
import { geometry, paintScreen, paintBaseSteps } from "./graphpaint.js";
import { createLayers, dropLayers } from "./layers.js";
import { exportCanvas, exportSVG } from "./graphexport.js";
import { STEP_STROKES } from "./graphlines.js";
import { SIGN_POS, SIGN_NEG } from "./lines.js";
import { lineColor } from "./graphpaint.js";
import { pixelRatio } from "./uistate.js";

const LINE_KEYS = ["_data", "heads", "threshold", "top_k", "aggregate"];
const EXTRA_KEYS = [...LINE_KEYS, "_exact", "selected_query", "selected_key"];
/** While hidden, the token columns are built and the lines chosen and painted once the page is idle, so that
 * the Graph tab's first click shows them (at T = 512, 144 ms of that click's frame built them); again when the
 * data or tokens change, not when the heads or the threshold do: a head card's click solos its head, and the
 * graph redrawn in idle time after each (tens of ms at T = 512) delayed the next input (heads keys 40-64 ms). */
const PREPARE_ON = ["_data", "query_tokens", "key_tokens", "theme"];
/** More lines than one painting step strokes, not yet painted when a view switch shows the graph (a tab clicked while
 * it prepares, as the page loads) or when its lines change, are painted a slice a frame after that input's frame
 * (graphpaint.js baseSlice), not all in it (slicing): the cost is the lines' pixels, not their number (at T = 64,
 * 16,000 lines took 35-112 ms to rasterize). */
const SLICED_LINES = STEP_STROKES;

export function createGraph(app) {
  const cols = {
    query: h("div", { class: "aw-col aw-col-query", role: "group", "aria-label": "query tokens" }),
    key: h("div", { class: "aw-col aw-col-key", role: "group", "aria-label": "key tokens" }),
  };
  // Three canvases, stacked (graphpaint.js paintScreen): every line (faded behind an active token), the
  // active token's lines with its weight bars, the pair under the pointer. A hover repaints one of them.
  const canvas = h("canvas", { class: "aw-lines", "aria-hidden": "true" });
  const over = (name) => h("canvas", { class: `aw-lines-${name}`, "aria-hidden": "true", style: { position: "absolute", left: "0", top: "0" } });
  const canvases = { base: canvas, active: over("active"), pair: over("pair") };
  const stack = h("div", { class: "aw-lines-stack", style: { position: "sticky", top: "0" } }, Object.values(canvases));
  // the pin's marker: an element over the canvases, so that pinning the hovered token repaints none
  const pinDot = h("span", { class: "aw-pin-dot", "aria-hidden": "true", hidden: true,
    style: { position: "absolute", borderRadius: "50%", boxSizing: "border-box", pointerEvents: "none" } });
  const mid = h("div", { class: "aw-graph-mid" }, [stack, pinDot]);
  const content = h("div", { class: "aw-graph-content" }, [cols.query, mid, cols.key]);
  const scroller = h("div", { class: "aw-graph-scroll" }, [content]);
  const notice = h("div", { class: "aw-notice aw-graph-notice", "aria-live": "polite" });
  const legend = h("div", { class: "aw-graph-legend", hidden: true });
  const el = h("div", { class: "aw-graph" }, [notice, legend, scroller]);
  const v = {
    app, el, notice, legend, scroller, content, mid, canvas, canvases, pinDot, cols,
    st: { sel: null, extra: null, lay: null, buttons: { query: new Map(), key: new Map() }, labels: { query: [], key: [] },
      widths: { query: 60, key: 60 }, geom: null, built: false, top: 0, layers: createLayers(), shown: {}, job: { idle: 0 }, ahead: null },
  };
  listen(v);
  return {
    el, update: (changed) => update(v, changed), draw: () => draw(v),
    idle: (shown, missed) => {
      v.st.wasHidden = true;
      prepareWhenIdle(v, missed, PREPARE_ON, draw, { choose: () => linesAhead(v, missed), paint: () => paintAhead(v) });
    },
    preparing: () => preparing(v),
    warmTimes: 2, // its canvases are 2D (graphpaint.js onto): handed over anew at each of their first two showings (warm.js)
    exportCanvas: (scale) => exportCanvas(v, scale),
    exportSVG: () => exportSVG(v), focusToken: (side, index) => focusToken(v, side, index), destroy: () => dropLayers(v.st.layers),
  };
}

// ----- model -> view ----------------------------------------------------------------------------
function update(v, changed) {
  const { app, st } = v;
  // the scroll position, kept from scroll events so that a frame reads no layout; checked the frame after
  // the view is shown again (dom.js recheckScroll), not read here: that read laid the page out in the tab's frame
  if (changed.has("view")) st.recheck = true;
  if (changed.has("view") && st.wasHidden) st.showing = true; // shown by a view switch (not the first render)
  st.wasHidden = false;
  if (st.geom && LINE_KEYS.some((k) => changed.has(k))) st.relines = true; // other lines, drawn before (not the first render)
  if (changed.has("_data") || changed.has("query_tokens") || changed.has("key_tokens") || !st.built) buildTokens(v);
  if (LINE_KEYS.some((k) => changed.has(k)) || !st.sel) chooseLines(v);
  if (EXTRA_KEYS.some((k) => changed.has(k))) recomputeExtra(v);
  // the pinned token's button exists even while another view shows
  placeTokens(v);
  renderWindow(v);
  markPinned(v);
  if (changed.has("selected_query") || changed.has("selected_key")) {
    const p = pinned(app);
    // pinned from Python (or the matrix): scroll it into view if it is not; a token clicked here is in
    // view already (a scroll would repaint every line in the click's frame)
    if (p && !(st.clicked && st.clicked.side === p.side && st.clicked.index === p.index)) st.reveal = p;
    st.clicked = null;
    const hv = app.ui.hover;
    if (hv) { const b = st.buttons[hv.side].get(hv.index); if (b) tooltipFor(v, hv.side, hv.index, b); }
  }
}

function draw(v) {
  const { app, st } = v;
  if (!app.data) { setText(v.notice, "no data"); return; }
  placeTokens(v);
  if (st.reveal) { reveal(v, st.reveal.side, st.reveal.index, true); st.reveal = null; }
  renderWindow(v);
  markPinned(v);
  const g = screenGeometry(v);
  const midW = `${g.midW}px`;
  if (v.mid.style.width !== midW) v.mid.style.width = midW; // the band between the columns, centred
  let start = st.showing || st.relines, clear = st.showing;
  const c = st.choosing; // none of its steps in the input's frame; once chosen, the lines painted from the next frame on
  if (c && (start || !runSlice(c.steps))) app.invalidate();
  else if (c) { st.choosing = null; recomputeLines(v); start = true; clear = c.clear; }
  if (!paintScreen(v, g, slicing(v, start, clear))) st.slicing ??= { top: st.top, clear };
  else st.slicing = null;
  st.showing = st.relines = false;
  placePin(v, g);
  st.geom = g;
  if (st.recheck) { st.recheck = false; recheckScroll(v.scroller, () => st.top, (top) => { st.top = top; app.invalidate(); }); }
}

/** How the lines' layer is painted (graphpaint.js paintScreen): with many lines to paint when the view is shown
 * (`start`) or its lines changed (a threshold step: at T = 64 rasterizing them took that key's frame to 56-128 ms),
 * none in that frame and a slice a frame after, the canvas keeping the lines it showed meanwhile, cleared if the
 * view was hidden (`clear`); at once if the view scrolled meanwhile (the lines must follow the tokens), or with few lines. */
function slicing(v, start, clear) {
  const { st } = v, many = (st.sel?.n ?? 0) > SLICED_LINES;
  if (st.slicing && (!many || st.slicing.top !== st.top)) st.slicing = null;
  const sliced = many && (start || Boolean(st.slicing));
  return { sliced, wait: start, clear: sliced && (clear || Boolean(st.slicing?.clear)) };
}

/** Where the screen's canvases put the lines (graphpaint.js geometry), their size and the rows they show. */
function screenGeometry(v) {
  const { app, st } = v, g = geometry(v, app.ui.width, st.top);
  const size = canvasSize(g.midW, st.lay.viewH, pixelRatio(app.ui));
  return { ...g, yMin: 0, yMax: size.cssH, size };
}

/** The pin's marker (as graphpaint's paintPin draws it) at the pinned token's end of its lines, in content coordinates. */
function placePin(v, g) {
  const { app, st, pinDot } = v, p = pinned(app), th = app.ui.theme, u = app.ui.scale;
  setHidden(pinDot, !p);
  if (!p) return;
  const r = 5.25 * u, y = rowCenter(st.lay[p.side], st.lay.rowH, p.index), x = p.side === "query" ? g.x0 : g.x1;
  const style = { left: `${x - r}px`, top: `${y - r}px`, width: `${2 * r}px`, height: `${2 * r}px`, background: th.accent,
    border: `${1.5 * u}px solid ${th.bg}` };
  for (const [k, val] of Object.entries(style)) if (pinDot.style[k] !== val) pinDot.style[k] = val;
}

/** What selectLines is asked for the traits as they are now. */
const lineOptions = (app) => ({ heads: app.get("heads"), threshold: app.get("threshold"), topK: app.get("top_k"), aggregate: app.get("aggregate") });

/** Hidden, with new data or line traits (`missed.changes`): the lines chosen in steps of idle time (dom.js
 * prepareWhenIdle), ahead of the catch-up, whose recomputeLines then takes them. Else null: nothing to choose. */
function linesAhead(v, missed) {
  const { app, st } = v;
  if (!app.data || (st.sel && !LINE_KEYS.some((k) => missed.changes.has(k)))) return null;
  return chooseSteps(v);
}

/** The lines for the data and traits as they are now, chosen in steps (lines.js selectLinesSteps) into `st.ahead`,
 * which recomputeLines takes. A generator. */
function chooseSteps(v) {
  const { app, st } = v, d = app.data, opts = lineOptions(app);
  return (function* () { st.ahead = { d, key: JSON.stringify(opts), sel: yield* selectLinesSteps(d, opts) }; })();
}

/** The lines for the traits as they are now: chosen at once, or, where other lines of a view drawn before come
 * from many values, a slice a frame (draw; `st.choosing`), the old lines kept meanwhile; not across data of another
 * shape (the old lines would not fit its tokens), nor when chosen ahead already. */
function chooseLines(v) {
  const { app, st } = v, d = app.data, fits = st.sel && d && st.selShape === `${d.Q}x${d.K}`;
  const ahead = st.ahead && st.ahead.d === d && st.ahead.key === JSON.stringify(lineOptions(app));
  if (st.relines && fits && !ahead && manyValues(d)) st.choosing = { steps: chooseSteps(v), clear: Boolean(st.showing) };
  else { st.choosing = null; recomputeLines(v); }
}

/** Whether choosing the lines reads more values than a few of selectLinesSteps's steps (65,536 each): at T = 512,
 * 8 heads, 40-70 ms in one piece. */
const manyValues = (d) => Boolean(d) && d.H * d.Q * (d.sparse ? d.k : d.K) > 4 * 65536;

/** After the catch-up, the lines' layer painted in steps of idle time (graphpaint.js paintBaseSteps): the draw
 * that follows finds it painted (100,000 lines at T = 512: 50-55 ms in one piece). */
function paintAhead(v) {
  return v.app.data && v.st.lay ? paintBaseSteps(v, screenGeometry(v)) : null;
}

function recomputeLines(v) {
  const { app, st } = v, d = app.data, opts = lineOptions(app), got = st.ahead;
  st.ahead = null; // chosen ahead for these data and traits, or chosen now
  st.sel = !d ? null : got && got.d === d && got.key === JSON.stringify(opts) ? got.sel : selectLines(d, opts);
  st.selShape = d ? `${d.Q}x${d.K}` : null;
  const msgs = [];
  if (st.sel && !st.sel.heads.length) msgs.push("no heads selected: click a head swatch to show it");
  if (st.sel?.sparse) msgs.push(`${formatCount(d.Q)} × ${formatCount(d.K)} tokens: lines come from each query's ${d.k} strongest keys per head; a pinned token's from its exact weights`);
  if (st.sel?.capped) msgs.push(`${formatCount(st.sel.total)} lines pass the threshold: showing the top ${st.sel.topK} per token and head (${formatCount(st.sel.n)} lines); raise the threshold or set top-k to change this`);
  setText(v.notice, msgs.join(" · "));
  setHidden(v.notice, !msgs.length);
  signLegend(v, Boolean(st.sel?.signed));
}

/** Signed values (a difference a − b): lines are drawn by sign, and a legend says which colour is which. */
function signLegend(v, signed) {
  const { app, legend } = v;
  setHidden(legend, !signed);
  if (!signed) return;
  const diff = /a − b/.test(String((app.get("info") || {}).kind || ""));
  const item = (hd, text) => h("span", { class: "aw-legend-item" }, [h("span", { class: "aw-legend-line", style: { background: lineColor(app, hd) } }), text]);
  legend.replaceChildren(h("span", { class: "aw-ctl-label", text: "lines by sign:" }),
    item(SIGN_POS, diff ? "positive (a attends more)" : "positive"), item(SIGN_NEG, diff ? "negative (b attends more)" : "negative"),
    h("span", { class: "aw-ctl-label", text: "· strength: |value|" }));
}

/** Sparse data: the pinned token's lines come from its exact row / column (every key / query). */
function recomputeExtra(v) {
  const { app, st } = v, d = app.data, ex = app.exact, p = pinned(app);
  st.extra = null;
  if (!d || !d.sparse || !p || !ex) return;
  const values = p.side === "query" ? (ex.query === p.index ? ex.row : null) : (ex.key === p.index ? ex.col : null);
  if (!values) return;
  st.extra = selectExactLines(d, values, p.side, p.index, { heads: app.get("heads"), threshold: app.get("threshold"),
    topK: app.get("top_k"), aggregate: app.get("aggregate"), isMasked: app.isMasked });
}

/** With a token pinned: the weights between it and the token at `side`/`index`, beside `anchor`. */
function tooltipFor(v, side, index, anchor) {
  const { app, st } = v, p = pinned(app);
  if (!p || p.side === side || !app.data) { app.tooltip.hide(); return; }
  const i = side === "query" ? index : p.index, j = side === "key" ? index : p.index;
  const title = `query ${i} '${app.label("query", i)}' → key ${j} '${app.label("key", j)}'`;
  const r = anchor.getBoundingClientRect(), gut = st.geom ? st.geom.gutter : 0;
  const rect = { left: r.left - (side === "key" ? gut : 0), right: r.right + (side === "query" ? gut : 0), top: r.top, width: r.width + gut };
  app.tooltip.show({ rect }, title, app.weightRows(i, j), app.isMasked(i, j) ? "masked: this query may not attend to this key" : null);
}

// ----- view -> model ----------------------------------------------------------------------------
function listen(v) {
  const { app, content } = v, { dis } = app;
  const tokOf = (e) => {
    const b = e.target.closest?.("button.aw-tok");
    return b && content.contains(b) ? { b, side: b.dataset.side, index: Number(b.dataset.index) } : null;
  };
  function setHover(t) {
    const cur = app.ui.hover;
    if ((cur && t && cur.side === t.side && cur.index === t.index) || (!cur && !t)) return;
    app.ui.hover = t ? { side: t.side, index: t.index } : null;
    if (t) tooltipFor(v, t.side, t.index, t.b); else app.tooltip.hide();
    app.invalidate();
  }
  dis.listen(content, "mouseover", (e) => setHover(tokOf(e)));
  dis.listen(content, "mouseleave", () => setHover(null));
  dis.listen(content, "focusin", (e) => setHover(tokOf(e)));
  dis.listen(content, "focusout", (e) => { if (!content.contains(e.relatedTarget)) setHover(null); });
  dis.listen(content, "click", (e) => {
    const t = tokOf(e);
    if (!t) return;
    v.st.clicked = { side: t.side, index: t.index };
    togglePin(app, t.side, t.index);
  });
  dis.listen(v.scroller, "scroll", () => { v.st.top = v.scroller.scrollTop; app.invalidate(); }, { passive: true });
  for (const c of Object.values(v.canvases)) dis.listen(c, "contextrestored", () => { v.st.shown = {}; app.invalidate(); }); // blank again
  dis.listen(content, "keydown", (e) => { const t = tokOf(e); if (t && !app.slideKeys(e)) onKey(v, t, e); });
}

function pin(app, side, index) {
  if (side === "query") app.set({ selected_query: index, selected_key: null });
  else app.set({ selected_key: index, selected_query: null });
}

function togglePin(app, side, index) {
  const p = pinned(app);
  if (p && p.side === side && p.index === index) app.release();
  else pin(app, side, index);
}

/** Arrows, Home and End move between tokens (and the pin, along its column). */
function onKey(v, t, e) {
  const { app, st } = v;
  const n = app.data ? (t.side === "query" ? app.data.Q : app.data.K) : 0;
  let side = t.side, index = t.index;
  if (e.key === "ArrowDown") index = Math.min(n - 1, index + 1);
  else if (e.key === "ArrowUp") index = Math.max(0, index - 1);
  else if (e.key === "Home") index = 0;
  else if (e.key === "End") index = n - 1;
  else if (e.key === "ArrowRight" || e.key === "ArrowLeft") {
    side = e.key === "ArrowRight" ? "key" : "query";
    if (side === t.side) return;
    const y = rowCenter(st.lay[t.side], st.lay.rowH, t.index);
    const col = st.lay[side];
    index = clamp(Math.floor((y - col.top) / st.lay.rowH), 0, col.n - 1);
  } else return;
  e.preventDefault();
  e.stopPropagation();
  const p = pinned(app);
  if (p && p.side === side && side === t.side && index !== p.index) pin(app, side, index);
  focusToken(v, side, index);
}
