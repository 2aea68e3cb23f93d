// Header line and controls, bound to the model's traits.

import { h } from "./dom.js";
import { formatValue } from "./codec.js";

const VIEWS = [["graph", "Graph"], ["matrix", "Matrix"], ["heads", "Heads"], ["explain", "Explain"], ["model", "Model"]];
const MODES = [["all", "all"], ["encoder", "encoder (self)"], ["decoder", "decoder (causal)"], ["cross", "cross"]];
const MODE_KIND = { encoder: "self", decoder: "causal", cross: "cross" };
const DBLCLICK_MS = 250;

function shape(s) {
  if (Array.isArray(s)) return `(${s.join(", ")})`;
  return s == null ? "" : String(s);
}

export function createControls(app, { onExport }) {
  const { dis } = app;
  const title = h("span", { class: "aw-title" });
  const meta = h("span", { class: "aw-meta" });
  const notices = h("div", { class: "aw-notices", "aria-live": "polite" });
  const header = h("div", { class: "aw-header" }, [title, meta]);

  const tabs = h("div", { class: "aw-tabs", role: "tablist", "aria-label": "view" });
  const tabButtons = VIEWS.map(([v, label]) => {
    const b = h("button", { type: "button", role: "tab", class: "aw-tab", "data-view": v, text: label });
    tabs.append(b);
    return b;
  });

  const swatches = h("div", { class: "aw-swatches", role: "group", "aria-label": "heads (click: show/hide, double-click: solo)" });
  const aggSel = h("select", { class: "aw-select", "aria-label": "aggregate heads" },
    [["none", "per head"], ["mean", "mean of heads"], ["max", "max of heads"]].map(([v, t]) => h("option", { value: v, text: t })));
  const thr = h("input", { type: "range", min: "0", max: "1", step: "0.01", class: "aw-range", "aria-label": "threshold" });
  const thrOut = h("output", { class: "aw-num" });
  const topk = h("input", { type: "number", min: "0", step: "1", class: "aw-topk", "aria-label": "top-k lines per token (0 = all)" });
  const layerSel = h("select", { class: "aw-select", "aria-label": "layer" });
  const batchSel = h("select", { class: "aw-select", "aria-label": "batch item" });
  const png = h("button", { type: "button", class: "aw-btn", text: "PNG", title: "download the current view as PNG" });
  const svg = h("button", { type: "button", class: "aw-btn", text: "SVG", title: "download the current view as SVG" });

  const lab = (text, ctl, extra) => h("label", { class: "aw-ctl" }, [h("span", { class: "aw-ctl-label", text }), ctl, extra]);
  const layerWrap = lab("layer", layerSel);
  const modeSel = h("select", { class: "aw-select", "aria-label": "which layers: encoder, decoder or cross attention" });
  const modeWrap = lab("layers", modeSel);
  const batchWrap = lab("batch", batchSel);
  const thrWrap = lab("threshold", thr, thrOut);
  const topkWrap = lab("top-k", topk);
  const toolbar = h("div", { class: "aw-toolbar" }, [tabs, modeWrap, layerWrap, batchWrap, lab("heads", aggSel), thrWrap, topkWrap,
    h("span", { class: "aw-spacer" }), h("span", { class: "aw-dl" }, [h("span", { class: "aw-ctl-label", text: "save" }), png, svg])]);
  const el = h("div", { class: "aw-controls" }, [header, notices, toolbar, swatches]);

  // ----- events -------------------------------------------------------------------------------
  dis.listen(tabs, "click", (e) => {
    const b = e.target.closest("button[data-view]");
    if (b) app.set({ view: b.dataset.view });
  });
  dis.listen(tabs, "keydown", (e) => {
    if (e.key !== "ArrowLeft" && e.key !== "ArrowRight") return;
    const i = VIEWS.findIndex(([v]) => v === app.get("view"));
    const n = (i + (e.key === "ArrowRight" ? 1 : VIEWS.length - 1)) % VIEWS.length;
    app.set({ view: VIEWS[n][0] });
    tabButtons[n].focus();
    e.preventDefault();
  });
  dis.listen(aggSel, "change", () => app.set({ aggregate: aggSel.value }));
  dis.listen(thr, "input", () => { thrOut.textContent = Number(thr.value).toFixed(2); app.set({ threshold: Number(thr.value) }); });
  dis.listen(topk, "change", () => {
    const v = Math.max(0, Math.trunc(Number(topk.value) || 0));
    topk.value = String(v);
    app.set({ top_k: v });
  });
  dis.listen(layerSel, "change", () => app.set({ layer: Number(layerSel.value) }));
  dis.listen(modeSel, "change", () => {
    const kinds = app.get("layer_kinds") || [], want = MODE_KIND[modeSel.value], cur = app.get("layer") | 0;
    const patch = { mode: modeSel.value };
    if (want && kinds[cur] !== want && kinds.includes(want)) patch.layer = kinds.indexOf(want);
    app.set(patch);
  });
  dis.listen(batchSel, "change", () => app.set({ batch: Number(batchSel.value) }));
  dis.listen(png, "click", () => onExport("png"));
  dis.listen(svg, "click", () => onExport("svg"));

  // Head swatches: a click toggles after a short delay, a double-click cancels it and solos.
  let pending = null;
  const clearPending = () => { if (pending) { clearTimeout(pending.timer); pending = null; } };
  dis.add(clearPending);
  const allHeads = () => [...Array(app.data?.H ?? 0).keys()];
  function toggle(hd) {
    const cur = new Set(app.get("heads"));
    if (cur.has(hd)) cur.delete(hd); else cur.add(hd);
    app.set({ heads: [...cur].sort((a, b) => a - b) });
  }
  function solo(hd) {
    const cur = app.get("heads");
    app.set({ heads: cur.length === 1 && cur[0] === hd ? allHeads() : [hd] });
  }
  dis.listen(swatches, "click", (e) => {
    const b = e.target.closest("button[data-head]");
    if (!b) return;
    const hd = Number(b.dataset.head);
    if (e.detail === 0) { toggle(hd); return; } // keyboard
    if (e.detail >= 2) return; // second click of a double-click: the dblclick handler decides
    clearPending();
    pending = { hd, timer: setTimeout(() => { pending = null; toggle(hd); }, DBLCLICK_MS) };
  });
  dis.listen(swatches, "dblclick", (e) => {
    const b = e.target.closest("button[data-head]");
    if (!b) return;
    clearPending();
    solo(Number(b.dataset.head));
  });
  dis.listen(swatches, "keydown", (e) => {
    const b = e.target.closest("button[data-head]");
    if (b && (e.key === "s" || e.key === "S")) { solo(Number(b.dataset.head)); e.preventDefault(); }
  });

  // ----- model -> controls --------------------------------------------------------------------
  function buildSwatches() {
    const d = app.data;
    swatches.replaceChildren(h("span", { class: "aw-ctl-label", text: "heads" }));
    for (let hd = 0; hd < (d?.H ?? 0); hd++) {
      swatches.append(h("button", { type: "button", class: "aw-swatch", "data-head": hd, title: `${app.headName(hd)}: click to show/hide, double-click (or S) to solo` },
        [h("span", { class: "aw-swatch-dot", "aria-hidden": "true" }), h("span", { class: "aw-swatch-name", text: app.headName(hd) })]));
    }
  }

  function update(changed) {
    const d = app.data, info = app.get("info") || {};
    if (changed.has("info") || changed.has("_data")) {
      title.textContent = String(info.kind || "attention");
      const parts = [];
      if (info.query_shape != null || info.key_shape != null) parts.push(`query ${shape(info.query_shape)} · key ${shape(info.key_shape)}`);
      if (d) parts.push(`${d.H} head${d.H === 1 ? "" : "s"} × ${d.Q} queries × ${d.K} keys`);
      if (info.device) parts.push(String(info.device));
      if (Number.isFinite(Number(info.run_ms)) && info.run_ms != null) parts.push(`${Number(info.run_ms).toFixed(1)} ms`);
      meta.textContent = parts.join(" · ");
      const ns = [];
      if (info.notice) ns.push(["info", String(info.notice)]);
      if (app.error) ns.push(["warn", app.error]);
      if (d && d.nonfinite > 0) ns.push(["warn", `${d.nonfinite} non-finite value${d.nonfinite === 1 ? "" : "s"} (NaN/inf) drawn as ${formatValue(d.lo)}`]);
      if (d && !d.probability) ns.push(["info", `values are not probabilities (raw scores), scale ${formatValue(d.lo)}..${formatValue(d.hi)}`]);
      if (d && (d.mask || d.masked)) ns.push(["info", "masked pairs (mask = 0) are hatched in the matrix and never drawn as lines"]);
      if (d && d.sparse) ns.push(["info", `${d.H} × ${d.Q.toLocaleString()} × ${d.K.toLocaleString()} weights: the graph draws each query's ${d.k} strongest keys per head, the matrix and heads views max-pooled ${d.bq}×${d.bk} blocks; the pinned token's values are exact`]);
      notices.replaceChildren(...ns.map(([k, t]) => h("div", { class: `aw-notice aw-notice-${k}`, text: t })));
    }
    if (changed.has("_data") || changed.has("head_names") || swatches.childElementCount !== (d?.H ?? 0) + 1) buildSwatches();
    const vis = new Set(app.get("heads"));
    for (const b of swatches.querySelectorAll("button[data-head]")) {
      const hd = Number(b.dataset.head);
      b.firstChild.style.background = vis.has(hd) ? app.headColor(hd) : "transparent";
      b.firstChild.style.borderColor = app.headColor(hd);
      b.classList.toggle("aw-off", !vis.has(hd));
      b.setAttribute("aria-pressed", vis.has(hd) ? "true" : "false");
    }
    const view = app.get("view");
    tabButtons.forEach((b) => {
      const on = b.dataset.view === view;
      b.setAttribute("aria-selected", on ? "true" : "false");
      b.tabIndex = on ? 0 : -1;
    });
    aggSel.value = app.get("aggregate") || "none";
    const t = Number(app.get("threshold")) || 0;
    if (document.activeElement !== thr) thr.value = String(t);
    thrOut.textContent = t.toFixed(2);
    if (document.activeElement !== topk) topk.value = String(app.get("top_k") ?? 0);
    thrWrap.hidden = topkWrap.hidden = view !== "graph";
    el.querySelector(".aw-dl").hidden = view === "explain"; // the explain view is a table: nothing to save as an image
    const layers = app.get("layer_names") || [];
    layerWrap.hidden = layers.length <= 1;
    tabButtons.find((b) => b.dataset.view === "model").hidden = layers.length <= 1;
    // encoder / decoder / cross: the layer selector offers the layers of that kind only
    const kinds = app.get("layer_kinds") || [], mode = app.get("mode") || "all";
    const present = MODES.filter(([m]) => m === "all" || kinds.includes(MODE_KIND[m]));
    modeWrap.hidden = layers.length <= 1 || present.length <= 2;
    if (modeSel.options.length !== present.length) modeSel.replaceChildren(...present.map(([v, t]) => h("option", { value: v, text: t })));
    modeSel.value = mode;
    const shown = layers.map((n, i) => i).filter((i) => !MODE_KIND[mode] || kinds[i] === MODE_KIND[mode] || i === (app.get("layer") | 0));
    const key = `${mode}|${shown.join(",")}|${layers.join("\n")}`;
    if (layerSel.dataset.key !== key) {
      layerSel.replaceChildren(...shown.map((i) => h("option", { value: i, text: layers[i] })));
      layerSel.dataset.key = key;
    }
    layerSel.value = String(app.get("layer") ?? 0);
    const nb = Math.trunc(Number(info.batch_size)) || 0;
    batchWrap.hidden = nb <= 1;
    if (batchSel.options.length !== Math.max(0, nb)) {
      batchSel.replaceChildren(...Array.from({ length: Math.max(0, nb) }, (_, i) => h("option", { value: i, text: `item ${i}` })));
    }
    if (nb > 1) batchSel.value = String(app.get("batch") ?? 0);
    swatches.hidden = !d || d.H < 1;
  }

  return { el, update };
}
