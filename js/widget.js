// attnwidget front end: entry point. `render({model, el})` builds one independent view and
// returns its cleanup. Works with any object implementing get/set/save_changes/on/off.

import "./styles.css";
import { h, Disposer, setHidden } from "./dom.js";
import { createApp } from "./app.js";
import { readTheme, watchTheme } from "./theme.js";
import { createControls } from "./controls.js";
import { createGraph } from "./graph.js";
import { createMatrix } from "./matrix.js";
import { createHeads } from "./heads.js";
import { createModelView } from "./modelview.js";
import { createExplain } from "./explain.js";
import { downloadBlob } from "./export.js";
import { hideStaticTwin } from "./twin.js";
import { effectiveScale, setScale } from "./uistate.js";
import { watchSlide } from "./fit.js";
import { warmWhenIdle } from "./warm.js";

// The views this front end draws; which of them show, in which order, is the schema's `views`.
const VIEWS = { graph: createGraph, matrix: createMatrix, heads: createHeads, explain: createExplain, model: createModelView };

function render({ model, el }) {
  const dis = new Disposer();
  const root = h("div", { class: "attnwidget", tabindex: "-1" });
  el.append(root);
  dis.add(() => root.remove());
  if (model.get("_uid")) root.dataset.awUid = model.get("_uid");
  dis.add(hideStaticTwin(el, model.get("_uid")));

  const app = createApp(model, root, dis);
  app.ui.static = Boolean(el.closest?.(".attnwidget-static")); // a static copy: no kernel behind it
  const views = Object.fromEntries(app.schema.views.filter(([name]) => VIEWS[name]).map(([name]) => [name, VIEWS[name](app)]));
  const exportView = (kind) => exportCurrent(app, views, kind);
  const controls = createControls(app, { onExport: exportView });
  const body = h("div", { class: "aw-body" }, Object.values(views).map((v) => v.el));
  for (const v of Object.values(views)) v.el.classList.add("aw-view"); // hidden, a view keeps its layout (styles.css)
  root.prepend(controls.el, body);
  const warm = Object.fromEntries(Object.keys(views).map((name) => [name, { idle: 0 }])); // warm.js, a job a view
  const schedule = frameLoop(app, controls, views, body, warm);
  app.invalidate = () => schedule();
  watchPage(app, el, schedule);

  // For tests and the static exporter: the export functions of this render.
  // warming(): whether a hidden view that prepares itself is still to be shown once unseen, or is now (warm.js)
  const warming = () => Object.entries(views).some(([n, v]) => v.idle && (!warm[n].done || v.el.classList.contains("aw-warm")));
  root.attnwidget = { exportView, views, app, warming };
  dis.add(() => { delete root.attnwidget; });

  schedule();
  return () => {
    dis.dispose();
    Object.values(views).forEach((v) => v.destroy());
  };
}

/** The view the model asks for, or the first one. */
function currentView(app, views) {
  const v = app.get("view");
  return views[v] ? v : Object.keys(views)[0];
}

/** One animation frame applies every pending change; returns schedule(traitName?). */
function frameLoop(app, controls, views, body, warm) {
  const { model, dis, schema, ui } = app;
  const traits = schema.traits;
  const pending = new Set(traits);
  // A hidden view only remembers what changed; it catches up when it is shown.
  const stale = Object.fromEntries(Object.keys(views).map((name) => [name, new Set(traits)]));
  let frame = 0;
  function schedule(name) {
    if (name) pending.add(name);
    if (!frame) frame = requestAnimationFrame(flush);
  }
  /** The changes a view missed while hidden, applied. */
  function catchUp(name) {
    const all = stale[name];
    stale[name] = new Set();
    views[name].update(all);
  }
  function flush() {
    frame = 0;
    const changed = new Set(pending);
    pending.clear();
    try {
      if (changed.has("_data") || changed.has("_exact")) app.decode(changed);
      if (changed.has("_data")) changed.add("_exact");
      const s = effectiveScale(model.get("scale"), ui.slides, ui.userScaled);
      if (setScale(ui, s)) { app.root.style.setProperty("--aw-u", `${s}px`); changed.add("theme"); }
      if (changed.has("theme")) traits.forEach((t) => changed.add(t));
      const view = currentView(app, views);
      if (changed.has("view")) { app.ui.hover = null; app.tooltip.hide(); }
      controls.update(changed);
      fitBody(app, body);
      const doc = body.ownerDocument, had = doc.activeElement; // a key in a view that it hides (Enter on a head card)
      const handOver = had && had !== doc.body && Object.entries(views).some(([n, v]) => n !== view && v.el.contains(had));
      for (const [name, v] of Object.entries(views)) {
        setHidden(v.el, name !== view);
        for (const c of changed) stale[name].add(c);
        if (name === view) catchUp(name);
      }
      views[view].draw();
      warm[view].done = true; // shown: its layers are made
      if (handOver) handFocus(doc, views[view].focusTarget?.() ?? app.root, views[view].el);
      // a hidden view may prepare: told what it missed, and how to catch up if it draws (matrixprep.js)
      // and, prepared, is shown once out of sight, so that its first showing finds its layers made (warm.js)
      for (const [name, v] of Object.entries(views)) {
        if (name === view || !v.idle) continue;
        v.idle(view, { changes: stale[name], catchUp: () => catchUp(name) });
        warmWhenIdle(app, v.el, warm[name], () => v.preparing?.(), v.warmTimes);
      }
    } catch (err) {
      console.error("attnwidget:", err);
    }
  }
  dis.add(() => { if (frame) cancelAnimationFrame(frame); frame = 0; });
  for (const name of traits) {
    const cb = () => schedule(name);
    model.on(`change:${name}`, cb);
    dis.add(() => model.off(`change:${name}`, cb));
  }
  return schedule;
}

/** The focus to `target`, not lost to <body> when the view that held it was hidden; after this frame is
 * painted (a focus in the frame makes it lay out the new view once more), unless it went elsewhere since. */
function handFocus(doc, target, shown) {
  setTimeout(() => {
    const a = doc.activeElement;
    if (!a || a === doc.body || !a.isConnected || a.closest?.("[hidden]")) if (!shown.hidden) target.focus({ preventScroll: true });
  }, 0);
}

/** On a slide: the views below the controls get what is left of the widget's height (ui.bodyMax). */
function fitBody(app, body) {
  const { ui, root } = app;
  if (!ui.maxHeight) return;
  const chrome = root.offsetHeight - body.offsetHeight; // header, controls, padding
  const bm = Math.max(Math.round(ui.px(80)), ui.maxHeight - chrome);
  if (bm === ui.bodyMax) return;
  ui.bodyMax = bm;
  body.style.maxHeight = `${bm}px`;
  body.style.overflow = "auto";
}

/** Width, page theme, the slide the view is on, and the keys. */
function watchPage(app, el, schedule) {
  const { root, ui, dis, model } = app;
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
    if (JSON.stringify(t) !== JSON.stringify(ui.theme)) { ui.theme = t; schedule("theme"); }
  }));
  dis.add(watchSlide(root, (budget) => {
    ui.slides = true;
    root.classList.add("aw-slides");
    if (budget) ui.maxHeight = budget;
    schedule();
  }, (zoom) => { ui.zoom = zoom; schedule(); }));
  // Whether the focus came by the keyboard: asked when it comes, not at a later key press (app.slideKeys).
  dis.listen(root, "focusin", (e) => { ui.keyFocus = Boolean(e.target.matches?.(":focus-visible")); });
  // On a slide, arrows a native control would take (a select clicked with the mouse) go to the slides.
  dis.listen(root, "keydown", (e) => { if (app.slideKeys(e) && e.target.tagName === "SELECT") e.preventDefault(); }, true);
  dis.listen(root, "keydown", (e) => {
    if (e.key !== "Escape") return;
    const had = model.get("selected_query") != null || model.get("selected_key") != null || !app.tooltip.el.hidden;
    app.release();
    schedule();
    if (had) { e.stopPropagation(); e.preventDefault(); }
  });
}

/** Download the current view as "png" or "svg". */
function exportCurrent(app, views, kind) {
  const name = `attention-${currentView(app, views)}`, view = views[currentView(app, views)];
  if (kind === "svg") {
    const s = view.exportSVG();
    if (s) downloadBlob(app.root, new Blob([`<?xml version="1.0" encoding="UTF-8"?>\n${s}`], { type: "image/svg+xml" }), `${name}.svg`);
  } else {
    const c = view.exportCanvas(2);
    if (c) c.toBlob((b) => b && downloadBlob(app.root, b, `${name}.png`), "image/png");
  }
}

export default { render };
