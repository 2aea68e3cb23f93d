// attnwidget front end: entry point. `render({model, el})` builds one independent view and
// returns its cleanup. Works with any object implementing get/set/save_changes/on/off.

import "./styles.css";
import { h, Disposer, measurer } from "./dom.js";
import { decodeData, decodeExact, bestValue, isMasked } from "./codec.js";
import { headColor } from "./colors.js";
import { displayToken } from "./layout.js";
import { visibleHeads } from "./lines.js";
import { readTheme, watchTheme } from "./theme.js";
import { createTooltip } from "./tooltip.js";
import { createControls } from "./controls.js";
import { createGraph } from "./graph.js";
import { createMatrix } from "./matrix.js";
import { createHeads } from "./heads.js";
import { createModelView } from "./modelview.js";
import { createExplain } from "./explain.js";
import { downloadBlob } from "./export.js";
import { hideStaticTwin } from "./twin.js";

const TRAITS = ["_data", "_exact", "query_tokens", "key_tokens", "head_names", "layer_names", "info",
  "selected_query", "selected_key", "heads", "head", "layer", "batch", "view", "threshold", "top_k", "aggregate",
  "_explain", "_can_explain", "_overview", "layer_kinds", "mode"];

function render({ model, el }) {
  const dis = new Disposer();
  const root = h("div", { class: "attnwidget", tabindex: "-1" });
  el.append(root);
  dis.add(() => root.remove());
  if (model.get("_uid")) root.dataset.awUid = model.get("_uid");
  dis.add(hideStaticTwin(el, model.get("_uid")));

  // UI-only state: never in the model.
  const ui = { hover: null, width: 0 };
  const app = {
    model, root, ui, dis, data: null, exact: null, error: null, theme: readTheme(root),
    get: (name) => model.get(name),
    set(patch) {
      for (const [k, v] of Object.entries(patch)) model.set(k, v);
      model.save_changes();
    },
    release() {
      ui.hover = null;
      app.tooltip.hide();
      if (model.get("selected_query") != null || model.get("selected_key") != null) app.set({ selected_query: null, selected_key: null });
    },
    token(side, i) {
      const t = model.get(side === "query" ? "query_tokens" : "key_tokens") || [];
      return i < t.length ? String(t[i]) : `#${i}`;
    },
    label: (side, i) => displayToken(app.token(side, i)),
    headName(hd) { const n = model.get("head_names") || []; return hd < n.length ? String(n[hd]) : `head ${hd}`; },
    headColor: (hd) => headColor(hd, app.theme.dark),
    value: (hd, i, j) => bestValue(app.data, app.exact, hd, i, j),
    isMasked: (i, j) => Boolean(app.data && isMasked(app.data, i, j)),
    /** Per visible head weights of (i, j), plus the aggregate first when aggregating. */
    weightRows(i, j) {
      const d = app.data;
      const hs = visibleHeads(model.get("heads"), d.H);
      const frac = (v) => (Number.isFinite(v) ? (v - d.lo) / (d.hi - d.lo) : 0);
      const masked = app.isMasked(i, j);
      // sparse data: `below` = not among the row's top-k keys (value: the smallest top-k value, drawn as 0)
      const rows = hs.map((hd) => { const b = app.value(hd, i, j); return { name: app.headName(hd), color: app.headColor(hd), value: b.value, exact: b.exact, below: Boolean(b.below), frac: b.below ? 0 : frac(b.value), masked }; });
      const mode = model.get("aggregate");
      if ((mode === "mean" || mode === "max") && rows.length) {
        const v = mode === "max" ? Math.max(...rows.map((r) => r.value)) : rows.reduce((a, r) => a + r.value, 0) / rows.length;
        const below = rows.some((r) => r.below);
        rows.unshift({ name: `${mode} of ${rows.length}`, color: app.theme.accent, value: v, exact: rows.every((r) => r.exact), below, frac: below ? 0 : frac(v), masked, agg: true });
      }
      return rows;
    },
    barRows(i, j) {
      const rows = app.weightRows(i, j);
      return rows.some((r) => r.agg) ? rows.filter((r) => r.agg) : rows;
    },
    invalidate: () => schedule(),
  };
  const fontFamily = app.theme.font;
  app.measure = measurer(`12px ${fontFamily}`);
  app.measureSmall = measurer(`11px ${fontFamily}`);
  app.tooltip = createTooltip(root);

  function decode(changed) {
    try {
      if (changed.has("_data")) { app.data = decodeData(model.get("_data")); app.error = null; }
      if (changed.has("_data") || changed.has("_exact")) app.exact = decodeExact(model.get("_exact"), app.data);
    } catch (err) {
      app.data = null; app.exact = null; app.error = String(err.message || err);
      console.error(err);
    }
  }

  const controls = createControls(app, { onExport: exportView });
  const views = { graph: createGraph(app), matrix: createMatrix(app), heads: createHeads(app), explain: createExplain(app), model: createModelView(app) };
  const body = h("div", { class: "aw-body" }, Object.values(views).map((v) => v.el));
  root.prepend(controls.el, body);

  // ----- one animation frame applies every pending change -------------------------------------
  const pending = new Set(TRAITS);
  let frame = 0;
  function schedule(name) {
    if (name) pending.add(name);
    if (!frame) frame = requestAnimationFrame(flush);
  }
  dis.add(() => { if (frame) cancelAnimationFrame(frame); frame = 0; });
  const stale = Object.fromEntries(Object.keys(views).map((name) => [name, new Set(TRAITS)]));
  function flush() {
    frame = 0;
    const changed = new Set(pending);
    pending.clear();
    try {
      if (changed.has("_data") || changed.has("_exact")) decode(changed);
      if (changed.has("_data")) changed.add("_exact");
      if (changed.has("theme")) TRAITS.forEach((t) => changed.add(t));
      const view = views[model.get("view")] ? model.get("view") : "graph";
      if (changed.has("view")) { ui.hover = null; app.tooltip.hide(); }
      controls.update(changed);
      for (const [name, v] of Object.entries(views)) {
        v.el.hidden = name !== view;
        // A hidden view only remembers what changed; it catches up when it is shown.
        for (const c of changed) stale[name].add(c);
        if (name !== view) continue;
        const all = stale[name];
        stale[name] = new Set();
        v.update(all);
      }
      views[view].draw();
    } catch (err) {
      console.error("attnwidget:", err);
    }
  }
  for (const name of TRAITS) {
    const cb = () => schedule(name);
    model.on(`change:${name}`, cb);
    dis.add(() => model.off(`change:${name}`, cb));
  }

  // ----- size, theme, keyboard --------------------------------------------------------------
  const setWidth = (w) => {
    const nw = Math.max(200, Math.floor(w));
    if (nw !== ui.width) { ui.width = nw; schedule(); }
  };
  setWidth(root.clientWidth || el.clientWidth || 720);
  if (typeof ResizeObserver !== "undefined") {
    const ro = new ResizeObserver((entries) => { for (const e of entries) setWidth(e.contentRect.width); });
    ro.observe(root);
    dis.add(() => ro.disconnect());
  }
  dis.add(watchTheme(() => {
    const t = readTheme(root);
    if (JSON.stringify(t) !== JSON.stringify(app.theme)) { app.theme = t; schedule("theme"); }
  }));
  dis.listen(root, "keydown", (e) => {
    if (e.key === "Escape") {
      const had = model.get("selected_query") != null || model.get("selected_key") != null || !app.tooltip.el.hidden;
      app.release();
      schedule();
      if (had) { e.stopPropagation(); e.preventDefault(); }
    }
  });

  // ----- export -------------------------------------------------------------------------------
  function exportView(kind) {
    const view = views[model.get("view")] || views.graph;
    const name = `attention-${model.get("view") || "graph"}`;
    if (kind === "svg") {
      const s = view.exportSVG();
      if (s) downloadBlob(root, new Blob([`<?xml version="1.0" encoding="UTF-8"?>\n${s}`], { type: "image/svg+xml" }), `${name}.svg`);
    } else {
      const c = view.exportCanvas(2);
      if (c) c.toBlob((b) => b && downloadBlob(root, b, `${name}.png`), "image/png");
    }
  }
  // For tests and the static exporter: the export functions of this render.
  root.attnwidget = { exportView, views, app };
  dis.add(() => { delete root.attnwidget; });

  schedule();
  return () => {
    dis.dispose();
    Object.values(views).forEach((v) => v.destroy());
  };
}

export default { render };
