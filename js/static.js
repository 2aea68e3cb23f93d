// Boots attnwidget views inside static HTML (to_html files, nbconvert HTML and reveal.js slides,
// notebooks reopened without a kernel): no kernel, no network. Built as an IIFE and inlined by
// attnwidget/export.py; the view itself is the same bundle as the live widget, carried gzipped.

import { base64Bytes, checkLayersMeta, dataShape, decodeOverview } from "./protocol.js";

import { savedUi, applyUi, unpackExplain } from "./restore.js";

const G = globalThis;

async function gunzipText(b64) {
  const stream = new Blob([base64Bytes(b64)]).stream().pipeThrough(new DecompressionStream("gzip"));
  return new Response(stream).text();
}

// One module instance and one <style> per page and bundle version, however many views.
function cache() {
  if (!G.__attnwidgetStatic) G.__attnwidgetStatic = { modules: {}, styles: {} };
  return G.__attnwidgetStatic;
}

/** The box's own copy of a front-end file, or another box's of the same hash on this page (a side_by_side
 * row carries the front end once). */
function assetScript(box, cls, hash) {
  const own = box.querySelector(`script.${cls}`);
  if (own) return own;
  const other = hash && [...document.querySelectorAll(`script.${cls}`)].find((s) => s.dataset.hash === hash);
  if (!other) throw new Error(`the front end (${cls} ${hash}) is not on this page`);
  return other;
}

function loadModule(box) {
  const src = assetScript(box, "aw-bundle", box.dataset.awBundle);
  const c = cache();
  const hash = src.dataset.hash;
  if (!c.modules[hash]) {
    c.modules[hash] = gunzipText(src.textContent.trim()).then(async (code) => {
      const url = URL.createObjectURL(new Blob([code], { type: "text/javascript" }));
      try { return await import(url); } finally { URL.revokeObjectURL(url); }
    });
  }
  return c.modules[hash];
}

async function loadCss(box) {
  const src = assetScript(box, "aw-css", box.dataset.awCss);
  const c = cache();
  const hash = src.dataset.hash;
  if (c.styles[hash]) return;
  c.styles[hash] = true;
  const style = document.createElement("style");
  style.dataset.attnwidgetCss = hash;
  style.textContent = await gunzipText(src.textContent.trim());
  document.head.append(style);
}

/** A slice's binary fields (base64 in the page) as bytes, once: the view's decoder then reads them
 * without decoding again, so going back to a layer costs no base64 decoding. Returns `d`. */
export function sliceBytes(d) {
  if (!d || typeof d !== "object") return d;
  for (const f of BINARY_FIELDS) if (typeof d[f] === "string" && d[f].length) d[f] = base64Bytes(d[f]);
  return d;
}
const BINARY_FIELDS = ["q", "mask", "idx", "val", "pool", "pool_mask"];

/** Decode every slice's bytes while the page is idle, one slice a task, so that the first switch to
 * a layer finds its bytes ready too. */
function decodeWhenIdle(state) {
  const todo = Object.values(state._slices || {});
  const later = typeof requestIdleCallback === "function" ? (f) => requestIdleCallback(f, { timeout: 2000 }) : (f) => setTimeout(f, 50);
  const next = () => { if (todo.length) { sliceBytes(todo.shift()); later(next); } };
  if (todo.length) later(next);
}

/**
 * The anywidget model interface over a plain state object. A layer change arrives with the rest of
 * its patch (synced.js setLayer applies the layer-switch rule); here it only swaps in that layer's
 * tokens and head names (`_layers_meta`) and its data (`_slices`, one per "layer,batch").
 */
export function staticModel(state) {
  const listeners = new Map();
  /** The saved `_data` of (layer, batch), its bytes decoded, or null. */
  const slice = (layer, batch) => sliceBytes((state._slices || {})[`${layer},${batch}`] ?? null);
  // The shown layer's data is its slice (Python's _data is slice_data of the same layer and batch): one
  // object, so that a view's caches keyed by it find it again when the layer comes back.
  const shown = slice(state.layer, state.batch);
  if (shown) state._data = shown;
  const emit = (k) => (listeners.get(`change:${k}`) || []).slice().forEach((cb) => cb());
  function swap(k, v) {
    if (state[k] === v) return;
    state[k] = v;
    emit(k);
  }
  function showLayer(layer) {
    const meta = (state._layers_meta || [])[layer];
    if (!meta) return;
    swap("query_tokens", meta.query_tokens);
    swap("key_tokens", meta.key_tokens);
    swap("head_names", meta.head_names);
  }
  // The explain view's precomputed table covers the layer and batch it was made for.
  function showExplain() {
    const here = !state._explain_for || (state._explain_for[0] === state.layer && state._explain_for[1] === state.batch);
    const e = here && state.selected_query != null ? state._explain_table[`${state.selected_query},${state.head}`] : null;
    swap("_explain", e ? { ...e, V: (state._explain_values || {})[String(e.head)] } : {});
  }
  return {
    get: (k) => state[k],
    set(k, v) {
      if (state[k] === v) return;
      state[k] = v;
      emit(k);
      if (k === "layer") showLayer(v);
      if (k === "layer" || k === "batch") {
        const d = slice(state.layer, state.batch);
        if (d) swap("_data", d);
      }
      if (state._explain_table && ["selected_query", "head", "view", "layer", "batch"].includes(k)) showExplain();
    },
    slice, // what a layer switch would show (synced.js layerData)
    on(ev, cb) {
      if (!listeners.has(ev)) listeners.set(ev, []);
      listeners.get(ev).push(cb);
    },
    off(ev, cb) {
      if (!ev) { listeners.clear(); return; }
      listeners.set(ev, cb ? (listeners.get(ev) || []).filter((f) => f !== cb) : []);
    },
    save_changes() {},
    send() {},
  };
}

/**
 * Every size a saved state claims, checked against what it holds before anything is drawn: an edited
 * copy that claims 10⁷ batch items, keys or heads gets a one-line Error (shown as the copy's notice),
 * not a tab that allocates gigabytes. Sets `info.batch_size` from `_slices` where a copy does not say it.
 */
export function checkState(state) {
  if (!state || typeof state !== "object") throw new Error("attnwidget: the saved state is not an object");
  const meta = checkLayersMeta(state._layers_meta);
  const slices = state._slices && typeof state._slices === "object" ? Object.entries(state._slices) : [];
  const batches = new Set(slices.map(([key]) => key.split(",")[1]));
  const held = Math.max(1, batches.size), info = state.info && typeof state.info === "object" ? state.info : {};
  const nb = info.batch_size == null ? held : Number(info.batch_size);
  if (!Number.isSafeInteger(nb) || nb < 1 || nb > held) {
    throw new Error(`attnwidget: info.batch_size is ${JSON.stringify(info.batch_size)}, the copy holds ${held} batch item${held === 1 ? "" : "s"}`);
  }
  state.info = { ...info, batch_size: nb };
  // Token lists bound every Q and K: a slice of a layer in `_layers_meta` must match it exactly.
  const tokens = [state.query_tokens, state.key_tokens, ...meta.flatMap((m) => [m.query_tokens, m.key_tokens])];
  const most = Math.max(0, ...tokens.map((t) => (Array.isArray(t) ? t.length : 0)));
  for (const [name, d, layer] of [["_data", state._data, state.layer], ...slices.map(([k, d]) => [`_slices["${k}"]`, d, Number(k.split(",")[0])])]) {
    let s;
    try { s = dataShape(d); } catch (err) { throw new Error(err.message.replace("_data", name)); }
    const m = meta[layer | 0];
    if (!s) continue;
    if (m ? s.H !== m.H || s.Q !== m.Q || s.K !== m.K : s.Q > most || s.K > most) {
      throw new Error(`attnwidget: ${name} claims ${s.H}x${s.Q}x${s.K} weights, ` + (m ? `layer ${layer | 0} has ${m.H}x${m.Q}x${m.K}` : `the copy holds ${most} tokens`));
    }
  }
  decodeOverview(state._overview);
}

// In a notebook, watch this output area for a while: when the live view of the same widget
// appears (restored from saved widget state, or rendered by a kernel), step aside; while there is
// none, hide ipywidgets' "Loading widget..." / "model not found" placeholder beside this copy (a
// notebook reopened without a kernel or without widget state), since this copy works.
function watchArea(box) {
  const area = box.closest(".jp-OutputArea");
  if (!area) return;
  const child = (n) => n.closest(".jp-OutputArea-child") || n;
  const check = () => {
    const live = liveTwin(box);
    if (live) {
      child(box).style.display = "none";
      child(live).style.display = "";
      return;
    }
    for (const c of area.querySelectorAll(".jp-OutputArea-child")) {
      if (c.contains(box) || c.querySelector(".attnwidget")) continue;
      if (/^\s*(Loading widget\.\.\.|Error displaying widget: model not found)\s*$/.test(c.querySelector(".jp-OutputArea-output")?.textContent || "")) {
        c.style.display = "none";
      }
    }
  };
  check();
  const mo = new MutationObserver(check);
  mo.observe(area, { subtree: true, childList: true, characterData: true });
  setTimeout(() => mo.disconnect(), 120000);
}

function liveTwin(box) {
  const area = box.closest(".jp-OutputArea");
  const uid = box.dataset.awUid;
  return area && uid ? area.querySelector(`.attnwidget[data-aw-uid="${uid}"]:not(.attnwidget-static .attnwidget)`) : null;
}

async function boot(id) {
  const box = document.getElementById(id);
  if (!box || box.dataset.awBooted) return;
  box.dataset.awBooted = "1";
  if (liveTwin(box)) { // the live widget is already here: this copy is for exports only
    (box.closest(".jp-OutputArea-child") || box).style.display = "none";
    return;
  }
  const note = box.querySelector(".aw-static-note");
  try {
    const state = JSON.parse(box.querySelector("script.aw-state").textContent);
    checkState(state);
    const [mod] = await Promise.all([loadModule(box), loadCss(box)]);
    if (note) note.remove();
    unpackExplain(state);
    const model = staticModel(state);
    decodeWhenIdle(state);
    applyUi(model, savedUi(document, box.dataset.awUid)); // as the live view was left
    mod.default.render({ model, el: box.querySelector(".aw-mount") });
    watchArea(box);
  } catch (err) {
    const why = String(err && err.message ? err.message : err).replace(/^attnwidget: /, "");
    if (note) note.textContent = `attnwidget: could not show this view (${why})`;
    console.error("attnwidget static view:", err);
  }
}

G.__attnwidgetBoot = boot;
