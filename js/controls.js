// Header line and controls, bound to the model's traits. The views, head aggregates and layer modes
// offered are the schema's (protocol.js), as Python sends them.

import { h, setText, setAttrs, setHidden, setValue } from "./dom.js";
import { formatValue, formatStat, formatCount, rawScale } from "./format.js";
import { modeKind, layersInMode } from "./protocol.js";
import { matrixShows, shownName, togglePatch, soloPatch, pickPatch, pickValue } from "./headsel.js";
import { SCALES } from "./uistate.js";
import { PALETTE_LABELS } from "./colors.js";
import { createHideKey, hiddenNotice, listenShowAll } from "./hidekeys.js";
import { batchLabel, askPass } from "./busy.js";

const DBLCLICK_MS = 250;

export function createControls(app, { onExport }) {
  const c = build(app);
  listenToolbar(app, c, onExport);
  listenSwatches(app, c.swatches);
  return { el: c.el, update: (changed) => update(app, c, changed) };
}

function build(app) {
  const { schema } = app;
  const c = {
    title: h("span", { class: "aw-title" }),
    meta: h("span", { class: "aw-meta" }),
    staticNote: h("span", { class: "aw-static-mark", text: "static copy — run the cell for live values", hidden: !app.ui.static }),
    notices: h("div", { class: "aw-notices", "aria-live": "polite" }),
    tabs: h("div", { class: "aw-tabs", role: "tablist", "aria-label": "view" }),
    swatches: h("div", { class: "aw-swatches", role: "group", "aria-label": "heads (click: show/hide, double-click: solo)" }),
    aggSel: h("select", { class: "aw-select", "aria-label": "aggregate heads" }, schema.aggregates.map(([v, t]) => h("option", { value: v, text: t }))),
    pick: h("select", { class: "aw-select aw-head-pick", "aria-label": "head shown in the matrix" }),
    stretch: h("input", { type: "checkbox", class: "aw-stretch", "aria-label": "stretch colours to the data's max" }),
    palette: h("select", { class: "aw-select aw-palette", "aria-label": "head colours", title: "head colours: Okabe–Ito and Tol bright are colour-blind safe" },
      Object.entries(PALETTE_LABELS).map(([v, t]) => h("option", { value: v, text: t }))),
    scaleSel: h("select", { class: "aw-select aw-scale", "aria-label": "size of text and cells (presenter scale)" }),
    thr: h("input", { type: "range", min: "0", max: "1", step: "0.01", class: "aw-range", "aria-label": "threshold" }),
    thrOut: h("output", { class: "aw-num" }),
    topk: h("input", { type: "number", min: "0", step: "1", class: "aw-topk", "aria-label": "top-k lines per token (0 = all)" }),
    layerSel: h("select", { class: "aw-select", "aria-label": "layer" }),
    modeSel: h("select", { class: "aw-select", "aria-label": "which layers: encoder, decoder or cross attention" }),
    batchSel: h("select", { class: "aw-select", "aria-label": "batch item" }),
    png: h("button", { type: "button", class: "aw-btn", text: "PNG", title: "download the current view as PNG" }),
    svg: h("button", { type: "button", class: "aw-btn", text: "SVG", title: "download the current view as SVG" }),
  };
  c.tabButtons = schema.views.map(([v, label]) => h("button", { type: "button", role: "tab", class: "aw-tab", "data-view": v, text: label }));
  c.tabs.append(...c.tabButtons);
  const lab = (text, ctl, extra) => h("label", { class: "aw-ctl" }, [h("span", { class: "aw-ctl-label", text }), ctl, extra]);
  c.layerWrap = lab("layer", c.layerSel);
  c.modeWrap = lab("layers", c.modeSel);
  c.batchWrap = lab("batch", c.batchSel);
  c.thrWrap = lab("threshold", c.thr, c.thrOut);
  c.topkWrap = lab("top-k", c.topk);
  c.aggWrap = lab("heads", c.aggSel);
  c.pickWrap = lab("show", c.pick);
  c.paletteWrap = lab("colours", c.palette);
  c.stretchWrap = h("label", { class: "aw-ctl", title: "colours from 0 to the largest weight shown instead of 0 to 1" },
    [c.stretch, h("span", { class: "aw-ctl-label", text: "stretch colours to max" })]);
  c.scaleWrap = lab("size", c.scaleSel);
  c.hideKey = createHideKey(app);
  c.dl = h("span", { class: "aw-dl" }, [h("span", { class: "aw-ctl-label", text: "save" }), c.png, c.svg]);
  // The head swatches flow with the controls (a line of their own only when they need it).
  const toolbar = h("div", { class: "aw-toolbar" }, [c.tabs, c.modeWrap, c.layerWrap, c.batchWrap, c.aggWrap, c.pickWrap, c.stretchWrap,
    c.hideKey.el, c.thrWrap, c.topkWrap, c.swatches, c.paletteWrap, h("span", { class: "aw-spacer" }), c.dl]);
  const header = h("div", { class: "aw-header" }, [c.title, c.staticNote, c.meta, h("span", { class: "aw-spacer" }), c.scaleWrap]);
  c.el = h("div", { class: "aw-controls" }, [header, c.notices, toolbar]);
  return c;
}

// ----- controls -> model --------------------------------------------------------------------------
function listenToolbar(app, c, onExport) {
  const { dis } = app;
  listenShowAll(app, c.notices);
  dis.listen(c.tabs, "click", (e) => {
    const b = e.target.closest("button[data-view]");
    if (b) app.set({ view: b.dataset.view });
  });
  dis.listen(c.tabs, "keydown", (e) => {
    if ((e.key !== "ArrowLeft" && e.key !== "ArrowRight") || app.slideKeys(e)) return;
    const n = c.tabButtons.length, i = c.tabButtons.findIndex((b) => b.dataset.view === app.get("view"));
    const next = c.tabButtons[(i + (e.key === "ArrowRight" ? 1 : n - 1)) % n];
    app.set({ view: next.dataset.view });
    next.focus();
    e.preventDefault();
  });
  dis.listen(c.aggSel, "change", () => app.set({ aggregate: c.aggSel.value }));
  const threshold = () => { setText(c.thrOut, formatStat(Number(c.thr.value), 2)); app.set({ threshold: Number(c.thr.value) }); };
  const topk = () => {
    const v = Math.max(0, Math.trunc(Number(c.topk.value) || 0));
    setValue(c.topk, String(v));
    if (v !== app.get("top_k")) app.set({ top_k: v });
  };
  dis.listen(c.thr, "input", threshold);
  dis.listen(c.topk, "input", () => { if (c.topk.value !== "") topk(); }); // typing and the spinner; an emptied box waits
  dis.listen(c.topk, "change", topk);
  // Enter applies (and stays here: in a notebook it would otherwise reach the cell's shortcuts).
  for (const [ctl, apply] of [[c.topk, topk], [c.thr, threshold]]) {
    dis.listen(ctl, "keydown", (e) => { if (e.key === "Enter") { apply(); e.preventDefault(); e.stopPropagation(); } });
  }
  dis.listen(c.pick, "change", () => app.set(pickPatch(c.pick.value, app.get("heads"), app.data?.H ?? 0, app.get("aggregate"))));
  dis.listen(c.stretch, "change", () => app.set({ color_max: c.stretch.checked }));
  dis.listen(c.palette, "change", () => app.set({ palette: c.palette.value }));
  dis.listen(c.scaleSel, "change", () => { app.ui.userScaled = true; app.set({ scale: Number(c.scaleSel.value) }); });
  dis.listen(c.layerSel, "change", () => app.setLayer(Number(c.layerSel.value)));
  // A mode that does not show the current layer moves to the first layer it shows.
  dis.listen(c.modeSel, "change", () => {
    const mode = c.modeSel.value, want = modeKind(app.schema, mode), kinds = app.get("layer_kinds") || [];
    if (want != null && kinds[app.get("layer") | 0] !== want && kinds.includes(want)) app.setLayer(kinds.indexOf(want), { mode });
    else app.set({ mode });
  });
  dis.listen(c.batchSel, "change", () => {
    c.batchAsked = Number(c.batchSel.value);
    // a kernel makes the item (a tile pass in a layer from queries and keys) in a thread, which the picker's next
    // choice stops (attnwidget/batchjob.py), and sets `batch`; a static copy carries every item
    if (app.ui.static) app.set({ batch: c.batchAsked });
    else askPass(app.model, "batch", c.batchAsked);
  });
  dis.listen(c.png, "click", () => onExport("png"));
  dis.listen(c.svg, "click", () => onExport("svg"));
}

/** Head swatches: a click toggles after a short delay, a double-click cancels it and solos. */
function listenSwatches(app, swatches) {
  const { dis } = app;
  let pending = null;
  const clearPending = () => { if (pending) { clearTimeout(pending.timer); pending = null; } };
  dis.add(clearPending);
  const headOf = (e) => { const b = e.target.closest("button[data-head]"); return b ? Number(b.dataset.head) : null; };
  const toggle = (hd) => app.set(togglePatch(app.get("heads"), hd, app.data?.H ?? 0));
  const solo = (hd) => app.set(soloPatch(app.get("heads"), hd, app.data?.H ?? 0));
  dis.listen(swatches, "click", (e) => {
    const hd = headOf(e);
    if (hd == null) return;
    if (e.detail === 0) { toggle(hd); return; } // keyboard
    if (e.detail >= 2) return; // second click of a double-click: the dblclick handler decides
    clearPending();
    pending = { hd, timer: setTimeout(() => { pending = null; toggle(hd); }, DBLCLICK_MS) };
  });
  dis.listen(swatches, "dblclick", (e) => {
    const hd = headOf(e);
    if (hd == null) return;
    clearPending();
    solo(hd);
  });
  dis.listen(swatches, "keydown", (e) => {
    const hd = headOf(e);
    if (hd != null && (e.key === "s" || e.key === "S")) { solo(hd); e.preventDefault(); }
  });
}

// ----- model -> controls --------------------------------------------------------------------------
// A pin, its exact row and its explanation change no control but the pinned key's hide box (hidekeys.js,
// which writes only what changed): a click or arrow key writes nothing else here; the kernel's progress
// writes only that box's label and the batch picker's.
const PIN_ONLY = new Set(["selected_query", "selected_key", "_exact", "_explain", "_progress", "_batch_progress"]);

function update(app, c, changed) {
  if (changed.size && [...changed].every((k) => PIN_ONLY.has(k))) {
    if (changed.has("selected_key") || changed.has("_progress")) c.hideKey.update();
    if (changed.has("_batch_progress")) updateBatchLabel(app, c, changed);
    return;
  }
  const d = app.data;
  if (changed.has("info") || changed.has("_data") || changed.has("_hide_error") || changed.has("_batch_error")) updateHeader(app, c);
  if (changed.has("_data") || changed.has("head_names") || c.swatches.childElementCount !== (d?.H ?? 0) + 1) buildSwatches(app, c.swatches);
  const vis = new Set(app.get("heads"));
  for (const b of c.swatches.querySelectorAll("button[data-head]")) {
    const hd = Number(b.dataset.head);
    setAttrs(b.firstChild, { style: { background: vis.has(hd) ? app.headColor(hd) : "transparent", borderColor: app.headColor(hd) } });
    b.classList.toggle("aw-off", !vis.has(hd));
    setAttrs(b, { "aria-pressed": vis.has(hd) ? "true" : "false" });
  }
  // each written only when it changes (a view switch runs this): a write, even of the same value, restyles
  setHidden(c.swatches, !d || d.H < 1);
  setValue(c.palette, Object.hasOwn(PALETTE_LABELS, app.get("palette") ?? "") ? app.get("palette") : "default");
  setHidden(c.paletteWrap, c.swatches.hidden || app.ui.slides); // a slide keeps the colours it was made with
  const view = app.get("view");
  c.tabButtons.forEach((b) => {
    const on = b.dataset.view === view;
    setAttrs(b, { "aria-selected": on ? "true" : "false", tabindex: on ? "0" : "-1" });
  });
  setValue(c.aggSel, app.get("aggregate") || app.schema.aggregates[0][0]);
  const t = Number(app.get("threshold")) || 0;
  if (document.activeElement !== c.thr) setValue(c.thr, String(t));
  setText(c.thrOut, formatStat(t, 2));
  if (document.activeElement !== c.topk) setValue(c.topk, String(app.get("top_k") ?? 0));
  for (const w of [c.thrWrap, c.topkWrap]) setHidden(w, view !== "graph");
  setHidden(c.aggWrap, view === "matrix" || (d?.H ?? 0) <= 1); // the matrix's own picker says mean or max
  setHidden(c.pickWrap, view !== "matrix" || !d);
  setHidden(c.stretchWrap, view !== "matrix" && view !== "heads" && view !== "model"); // the views drawn in colours
  if (c.stretch.checked !== Boolean(app.get("color_max"))) c.stretch.checked = Boolean(app.get("color_max"));
  c.hideKey.update();
  if (d && view === "matrix") updatePick(app, c, d);
  updateScale(app, c);
  setHidden(c.dl, view === "explain" || app.ui.slides); // the explain view is a table; a slide is for showing
  updateLayers(app, c);
  const nb = Math.trunc(Number((app.get("info") || {}).batch_size)) || 0;
  setHidden(c.batchWrap, nb <= 1);
  if (c.batchSel.options.length !== Math.max(0, nb)) {
    c.batchSel.replaceChildren(...Array.from({ length: Math.max(0, nb) }, (_, i) => h("option", { value: i, text: `item ${i}` })));
  }
  updateBatchLabel(app, c, changed);
  if (nb > 1) setValue(c.batchSel, String(c.batchAsked ?? app.get("batch") ?? 0)); // the item asked for, while it comes
}

/** The batch picker's label says how far the kernel is with the item it asked for (busy.js batchLabel). */
function updateBatchLabel(app, c, changed) {
  const [text, asked] = batchLabel(c.batchAsked ?? null, app.get("batch") ?? 0, app.get("_batch_progress"), changed);
  c.batchAsked = asked;
  setText(c.batchWrap.firstChild, text);
}


/** "(1, 8, 16)" as "1 × 8 × 16", so input shapes read like the scores' "heads × queries × keys". */
function shape(s) {
  const parts = Array.isArray(s) ? s : String(s ?? "").replace(/[()\s]/g, "").split(",").filter(Boolean);
  return parts.join(" × ");
}

function updateHeader(app, c) {
  const d = app.data, info = app.get("info") || {};
  c.title.textContent = String(info.kind || "attention");
  const parts = [];
  if (d) parts.push(`${d.H} head${d.H === 1 ? "" : "s"} × ${d.Q} quer${d.Q === 1 ? "y" : "ies"} × ${d.K} key${d.K === 1 ? "" : "s"}`);
  const inputs = [["query", info.query_shape], ["key", info.key_shape]].filter(([, v]) => v != null && shape(v));
  if (inputs.length) parts.push(`inputs ${inputs.map(([k, v]) => `${k} ${shape(v)}`).join(", ")}`);
  if (info.device) parts.push(String(info.device));
  if (Number.isFinite(Number(info.run_ms)) && info.run_ms != null) parts.push(`${formatStat(Number(info.run_ms), 1)} ms`);
  c.meta.textContent = parts.join(" · ");
  const ns = [];
  if (info.notice) ns.push(["info", String(info.notice)]);
  if (app.error) ns.push(["warn", app.error]);
  if (d && d.nonfinite > 0) ns.push(["warn", `${d.nonfinite} non-finite value${d.nonfinite === 1 ? "" : "s"} (NaN/inf) drawn as ${formatValue(d.lo)}`]);
  if (d && !d.probability) ns.push(["info", `values are ${rawScale(d)}`]);
  const hidden = d ? (app.get("hidden_keys") || []).filter((j) => j < d.K) : [];
  if (hidden.length) ns.push(["info", ...hiddenNotice(app, hidden)]);
  if (app.get("_hide_error")) ns.push(["warn", String(app.get("_hide_error"))]); // a hide box's pass that failed
  if (app.get("_batch_error")) ns.push(["warn", String(app.get("_batch_error"))]); // the batch picker's
  if (d && (d.mask || d.masked)) ns.push(["info", "masked pairs (mask = 0) are hatched in the matrix and never drawn as lines"]);
  if (d && d.sparse) ns.push(["info", `${d.H} × ${formatCount(d.Q)} × ${formatCount(d.K)} weights: the graph draws each query's ${d.k} strongest keys per head, the matrix and heads views max-pooled ${d.bq}×${d.bk} blocks; the pinned token's values are exact`]);
  c.notices.replaceChildren(...ns.map(([k, ...parts]) => h("div", { class: `aw-notice aw-notice-${k}` }, parts)));
}

/** The matrix's head picker: mean / max of the visible heads, or one head (which solos it). */
function updatePick(app, c, d) {
  const key = `${d.H}|${JSON.stringify(app.get("head_names"))}`;
  if (c.pick.dataset.key !== key) {
    c.pick.dataset.key = key;
    c.pick.replaceChildren(h("option", { value: "mean", text: "mean of the visible heads" }), h("option", { value: "max", text: "max of the visible heads" }),
      ...Array.from({ length: d.H }, (_, hd) => h("option", { value: `h${hd}`, text: app.headName(hd) })));
  }
  const s = matrixShows(app.get("heads"), d.H, app.get("aggregate"));
  setValue(c.pick, pickValue(s));
  setAttrs(c.pick, { title: shownName(s, d.H, app.headName) });
}

/** The size control offers the usual scales and the one in effect. */
function updateScale(app, c) {
  const s = app.ui.scale, opts = [...new Set([...SCALES, s])].sort((a, b) => a - b);
  const key = opts.join(",");
  if (c.scaleSel.dataset.key !== key) {
    c.scaleSel.dataset.key = key;
    c.scaleSel.replaceChildren(...opts.map((x) => h("option", { value: String(x), text: `${Math.round(x * 100)}%` })));
  }
  setValue(c.scaleSel, String(s));
}

function buildSwatches(app, swatches) {
  const H = app.data?.H ?? 0;
  swatches.replaceChildren(h("span", { class: "aw-ctl-label", text: "heads" }));
  for (let hd = 0; hd < H; hd++) {
    // past four heads, "head 3" is written "3" after the "heads" label (a line, not three, on a slide)
    const name = app.headName(hd), short = H > 4 && name === `head ${hd}` ? String(hd) : name;
    swatches.append(h("button", { type: "button", class: "aw-swatch", "data-head": hd, "aria-label": name, title: `${name}: click to show/hide, double-click (or S) to solo` },
      [h("span", { class: "aw-swatch-dot", "aria-hidden": "true" }), h("span", { class: "aw-swatch-name", text: short })]));
  }
}

/** The layer selector offers the layers of the mode (encoder / decoder / cross), and the current one. */
function updateLayers(app, c) {
  const { schema } = app;
  const layers = app.get("layer_names") || [], kinds = app.get("layer_kinds") || [], cur = app.get("layer") | 0;
  const mode = app.get("mode") || schema.modes[0][0];
  setHidden(c.layerWrap, layers.length <= 1);
  const modelTab = c.tabButtons.find((b) => b.dataset.view === "model");
  if (modelTab) setHidden(modelTab, layers.length <= 1);
  const present = schema.modes.filter(([, , kind]) => kind == null || kinds.includes(kind));
  setHidden(c.modeWrap, layers.length <= 1 || present.length <= 2);
  if (c.modeSel.options.length !== present.length) c.modeSel.replaceChildren(...present.map(([v, t]) => h("option", { value: v, text: t })));
  setValue(c.modeSel, mode);
  const inMode = new Set(layersInMode(schema, layers.map((_, i) => kinds[i]), mode));
  const shown = layers.map((_, i) => i).filter((i) => inMode.has(i) || i === cur);
  const key = `${mode}|${shown.join(",")}|${layers.join("\n")}`;
  if (c.layerSel.dataset.key !== key) {
    c.layerSel.replaceChildren(...shown.map((i) => h("option", { value: i, text: layers[i] })));
    c.layerSel.dataset.key = key;
  }
  setValue(c.layerSel, String(app.get("layer") ?? 0));
}
