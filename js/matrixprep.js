// What the matrix view prepares while hidden: behind the views whose clicks open it on one head (heads,
// model), the heat maps of the heads it may show (matrixheat.js); behind every view, its frame, labels and
// legend for what it will show, so that the click that opens it paints only what the click itself changed.

import { heatKey, shownPlane, heatCanvas, keepOnly, prepareHeads } from "./matrixheat.js";
import { gridOf } from "./matrixpaint.js";
import { layersInMode } from "./protocol.js";
import { matrixShows } from "./headsel.js";
import { onIdle } from "./dom.js";

/** What changes the frame, its labels or its legend (a pin does not: its boxes are placed at any draw). */
const FRAME_TRAITS = ["_data", "theme", "query_tokens", "key_tokens", "segment_start", "layer", "batch", "palette", "color_max"];

/** Called at each frame the matrix is hidden behind `shown`; `missed`: {changes: the traits it has not seen
 * yet, catchUp(): apply them}; `draw(v, only)` is the matrix's own draw. Behind the heads and model views,
 * whose clicks open one head, each head's heat map and the frame for one head; behind the others, the
 * matrix as its tab opens it (the heads they show, their mean or max). */
export function prepareHidden(v, shown, missed, draw) {
  const opensOne = shown === "heads" || shown === "model";
  if (opensOne) { prepareHeats(v, shown); prepareTabHeat(v); }
  const traits = opensOne ? FRAME_TRAITS : [...FRAME_TRAITS, "heads", "aggregate"];
  if (!v.st.m || traits.some((k) => missed.changes.has(k))) prepareFrame(v, missed.catchUp, draw, opensOne);
}

/** A live view's data that the kernel replaced does not come back: its heat maps go (a static copy keeps
 * every layer's, matrixheat.js). */
export function dropReplaced(v) {
  const { app, st } = v;
  if (st.heatData === app.data) return;
  st.heatData = app.data;
  if (!app.holdsLayers()) keepOnly(v.heats, app.data);
}

/** While hidden behind a view that opens it: the heat maps of the data's heads, painted in idle time; behind
 * the model view, whose mean column opens a layer's mean, each layer's mean too, and those of the other layers
 * it shows, where the page holds their data (a static copy). */
function prepareHeats(v, shown) {
  const { app } = v, d = app.data;
  if (!d) return; // how many are kept is the cache's budget (matrixheat.js)
  dropReplaced(v);
  const dark = app.ui.theme.dark, stretch = Boolean(app.get("color_max"));
  const meta = app.get("_layers_meta") || [], layer = app.get("layer"), model = shown === "model";
  const others = model ? layersInMode(app.schema, meta.map((l) => l.kind), app.get("mode")).filter((li) => li !== layer) : [];
  const jobs = [d, ...others.map((li) => app.layerData(li))].filter(Boolean).map((dd) => {
    const g = gridOf(dd), all = [...Array(dd.H).keys()];
    // number hd: head hd alone, or (hd = H) the mean of all, as a thumbnail's click opens them (modelinput.js)
    const shows = (hd) => (hd < dd.H ? { kind: "head", head: hd, heads: [hd] } : { kind: "mean", heads: all });
    const key = (hd) => heatKey(shows(hd), dark, stretch);
    return { d: dd, g, key, n: dd.H + (model ? 1 : 0), paint: (hd) => {
      const c = heatCanvas(v.heats, dd, key(hd), g, () => shownPlane(dd, g, shows(hd), dark, stretch), dark);
      if (!c.isConnected) v.heat.before(c); // hidden, in the stack
    } };
  });
  prepareHeads(v.heats, jobs, `${dark}|${stretch}`);
}

/** Behind the heads and model views, the matrix's own tab still opens what it shows (the mean or max of the
 * heads shown, not one head): that heat map made and painted in idle time too (15 ms of script in that tab's
 * first click at T = 512). */
function prepareTabHeat(v) {
  const { app, st } = v, d = app.data;
  if (!d) return;
  const s = matrixShows(app.get("heads"), d.H, app.get("aggregate"));
  if (s.kind === "head") return; // one of the heads prepareHeats paints
  const dark = app.ui.theme.dark, stretch = Boolean(app.get("color_max"));
  onIdle(st.tabJob ??= { idle: 0 }, app.dis, () => {
    if (!v.el.hidden || app.data !== d) return;
    const g = gridOf(d);
    const c = heatCanvas(v.heats, d, heatKey(s, dark, stretch), g, () => shownPlane(d, g, s, dark, stretch), dark);
    if (!c.isConnected) v.heat.before(c); // hidden, in the stack
  });
}

/** The matrix drawn once the page is idle, as the click that opens it will show it: `one` head (the heads
 * and model views open one; which does not change the frame, its labels or its legend, unless colours are
 * stretched or cells show numbers), or what the model shows. Else the first opening measured its labels and
 * painted its frame and legend (~0.6 ms of painting and 500 labels measured at T = 512). One idle callback
 * at a time; nothing when the matrix was shown since. */
function prepareFrame(v, catchUp, draw, one) {
  const { app, st } = v;
  onIdle(st.frameJob, app.dis, () => {
    if (!v.el.hidden || !app.data) return; // shown since: its own frame drew it
    catchUp();
    const hd = Math.min(app.data.H - 1, Math.max(0, app.get("head") | 0));
    draw(v, one ? { kind: "head", head: hd, heads: [hd] } : null);
  });
}
