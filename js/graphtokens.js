// Graph view, token columns: query tokens left, key tokens right. Buttons exist only for the rows
// in view (plus the pinned, focused and hovered ones): v.st.buttons[side] maps index -> button,
// v.st.labels[side] holds every label. `v` is the graph view's context (graph.js).

import { h } from "./dom.js";
import { GRAPH_MAX_HEIGHT, ROW_MAX, ROW_MIN } from "./layout.js";
import { graphLayout, rowCenter, rowTop, segmentY, visibleRows, labelColumnWidth, truncate, truncateToWidth, clamp, TOKEN_CHARS } from "./layout.js";
import { segmentStart } from "./protocol.js";

export const SIDES = ["query", "key"];
const OVERSCAN = 12; // rows rendered above and below the visible window
const TITLE_CHARS = 300; // a token in a button's native tooltip and its accessible name

/** The pinned token {side, index} (a pinned query wins over a pinned key), or null. */
export function pinned(app) {
  const q = app.get("selected_query"), k = app.get("selected_key");
  if (q != null && q < (app.data?.Q ?? 0)) return { side: "query", index: q };
  if (k != null && k < (app.data?.K ?? 0)) return { side: "key", index: k };
  return null;
}

/** Labels and column widths of new tokens; the buttons are made again as rows come into view. */
export function buildTokens(v) {
  const { app, st } = v, d = app.data;
  for (const side of SIDES) {
    const n = d ? (side === "query" ? d.Q : d.K) : 0;
    st.labels[side] = Array.from({ length: n }, (_, i) => app.label(side, i));
    const u = app.ui.scale;
    st.widths[side] = labelColumnWidth(st.labels[side], app.ui.measure, { min: 40 * u, max: 150 * u, padding: 24 * u });
    st.buttons[side] = new Map();
    v.cols[side].replaceChildren();
  }
  st.built = true;
  st.layKey = null;
}

/** Row geometry of the current data's shape, scale and the height a slide leaves (once per change). */
export function placeTokens(v) {
  const { st } = v, d = v.app.data, ui = v.app.ui, u = ui.scale;
  const maxHeight = ui.bodyMax ? ui.bodyMax - (v.notice.hidden ? 0 : v.notice.offsetHeight) - 4 : GRAPH_MAX_HEIGHT * u;
  const segment = d ? segmentStart(v.app.get("segment_start"), Math.max(d.Q, d.K)) : -1;
  const key = `${d?.Q}x${d?.K}|${u}|${maxHeight}|${segment}`;
  if (!d || (st.lay && st.layKey === key)) return;
  const lay = graphLayout(d.Q, d.K, { maxHeight, pad: 6 * u, rowMax: ROW_MAX * u, rowMin: ROW_MIN * u, segment });
  st.lay = lay;
  st.layKey = key;
  st.top = clamp(st.top, 0, Math.max(0, lay.contentH - lay.viewH)); // as the browser clamps the scroller
  st.reveal = pinned(v.app) || st.reveal; // new rows: bring the pinned token into view again
  v.content.style.height = `${lay.contentH}px`;
  v.scroller.style.maxHeight = `${lay.viewH}px`;
  for (const side of SIDES) {
    v.cols[side].style.width = `${st.widths[side]}px`;
    v.cols[side].style.background = divider(segmentY(lay[side], lay.rowH), u);
    v.cols[side].replaceChildren();
    st.buttons[side] = new Map();
  }
  v.el.style.setProperty("--aw-row", `${lay.rowH}px`);
}

/** A column's background: a line of the theme's border colour across the gap between segments at `y`. */
function divider(y, u) {
  const w = Math.max(1, Math.round(u));
  return y == null ? "" : `linear-gradient(var(--aw-border), var(--aw-border)) 0 ${y - w / 2}px / 100% ${w}px no-repeat`;
}

function makeButton(v, side, i) {
  const { app, st } = v;
  const raw = app.token(side, i), lab = st.labels[side][i], full = truncate(raw, TITLE_CHARS);
  const b = h("button", {
    type: "button", class: `aw-tok aw-tok-${side}`, "data-side": side, "data-index": i,
    "aria-label": `${side} token ${i} "${full}"`, "aria-pressed": "false", title: `${side} ${i}: ${raw === "" ? "(empty)" : full}`,
  }, [h("span", { class: "aw-pin", "aria-hidden": "true" }),
    h("span", { class: "aw-tok-text", text: truncateToWidth(lab, st.widths[side] - 22 * app.ui.scale, app.ui.measure) })]);
  if (lab !== truncate(raw, TOKEN_CHARS) || raw === "") b.classList.add("aw-tok-special");
  b.style.top = `${rowTop(st.lay[side], st.lay.rowH, i) + 1}px`;
  b.style.height = `${st.lay.rowH - 2}px`;
  return b;
}

/** Rows of `side` whose buttons must exist: those in view, the pinned, hovered and focused ones. */
function wanted(v, side) {
  const { app, st } = v, lay = st.lay, top = st.top, p = pinned(app), hv = app.ui.hover;
  const focused = document.activeElement && v.content.contains(document.activeElement) ? document.activeElement : null;
  const [a, b] = visibleRows(lay[side], lay.rowH, top - OVERSCAN * lay.rowH, top + lay.viewH + OVERSCAN * lay.rowH);
  const keep = new Set();
  for (let i = a; i < b; i++) keep.add(i);
  if (p && p.side === side) keep.add(p.index);
  if (side === "key" && app.get("selected_key") != null && app.get("selected_key") < app.data.K) keep.add(app.get("selected_key"));
  if (hv && hv.side === side) keep.add(hv.index);
  if (focused && focused.dataset.side === side) keep.add(Number(focused.dataset.index));
  return keep;
}

/** Create the buttons of the wanted rows; drop the rest. */
export function renderWindow(v) {
  const { st } = v;
  if (!v.app.data || !st.lay) return;
  for (const side of SIDES) {
    const keep = wanted(v, side), map = st.buttons[side], col = v.cols[side];
    for (const [i, btn] of map) if (!keep.has(i)) { btn.remove(); map.delete(i); }
    const missing = [...keep].filter((i) => !map.has(i) && i < st.lay[side].n).sort((x, y) => x - y);
    let next = col.firstElementChild;
    for (const i of missing) { // insert in index order (tab order follows the tokens)
      while (next && Number(next.dataset.index) < i) next = next.nextElementSibling;
      const btn = makeButton(v, side, i);
      col.insertBefore(btn, next);
      map.set(i, btn);
    }
  }
}

export function markPinned(v) {
  const { app, st } = v, p = pinned(app);
  for (const side of SIDES) {
    for (const [i, b] of st.buttons[side]) {
      const on = Boolean(p && p.side === side && p.index === i);
      const cross = !on && side === "key" && p?.side === "query" && app.get("selected_key") === i;
      // only what differs: a write, even of the same value, can make the frame recompute styles
      if (b.classList.contains("aw-pinned") !== on) b.classList.toggle("aw-pinned", on);
      if (b.classList.contains("aw-marked") !== cross) b.classList.toggle("aw-marked", cross);
      if (b.getAttribute("aria-pressed") !== String(on)) b.setAttribute("aria-pressed", String(on));
    }
  }
}

/** Scroll (if needed) so that row `index` of `side` is in view; `center`: put it in the middle. */
export function reveal(v, side, index, center = false) {
  const lay = v.st.lay;
  if (!lay) return;
  const y = rowCenter(lay[side], lay.rowH, index), top = v.st.top, vh = lay.viewH, r = lay.rowH;
  let want = top;
  if (center && (y < top || y > top + vh)) want = y - vh / 2;
  else if (y - r / 2 < top) want = y - r / 2 - 2;
  else if (y + r / 2 > top + vh) want = y + r / 2 - vh + 2;
  want = clamp(want, 0, Math.max(0, lay.contentH - vh));
  if (Math.abs(want - top) >= 1) v.scroller.scrollTop = v.st.top = want;
}

export function focusToken(v, side, index) {
  reveal(v, side, index);
  renderWindow(v);
  const b = v.st.buttons[side].get(index);
  if (!b) return;
  b.focus({ preventScroll: true });
  b.scrollIntoView?.({ block: "nearest", inline: "nearest" });
  markPinned(v);
  v.app.invalidate();
}
