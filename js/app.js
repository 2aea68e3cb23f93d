// What every view is given: the synced state (synced.js) with `ui` (uistate.js) beside it, a
// tooltip, and the lookups views share (token labels, head names and colours, weights of a cell).

import { createSynced } from "./synced.js";
import { createUiState } from "./uistate.js";
import { createTooltip } from "./tooltip.js";
import { bestValue, isMasked } from "./values.js";
import { headColor } from "./colors.js";
import { displayToken } from "./layout.js";
import { visibleHeads } from "./lines.js";
import { applyTheme, readTheme } from "./theme.js";
import { themeMode } from "./protocol.js";

export function createApp(model, root, dis) {
  const forceTheme = () => applyTheme(root, themeMode(model.get("theme")));
  forceTheme(); // before the ui state reads the colours
  const app = createSynced(model);
  Object.assign(app, {
    root, dis, ui: createUiState(root), tooltip: createTooltip(root),
    invalidate: () => {}, // the frame loop replaces this (widget.js)
    /** Let go of the pin and the hover. */
    release() {
      app.ui.hover = null;
      app.tooltip.hide();
      app.unpin();
    },
    token(side, i) {
      const t = model.get(side === "query" ? "query_tokens" : "key_tokens") || [];
      return i < t.length ? String(t[i]) : `#${i}`;
    },
    label: (side, i) => displayToken(app.token(side, i)),
    /** On a slide, arrow keys belong to the slides unless the widget has keyboard focus from the Tab key
     * (ui.keyFocus, read when the focus came: at the keydown itself Chrome already counts a clicked token
     * as :focus-visible). */
    slideKeys: (e) => app.ui.slides && e.key.startsWith("Arrow") && !app.ui.keyFocus,
    headName(hd) { const n = model.get("head_names") || []; return hd < n.length ? String(n[hd]) : `head ${hd}`; },
    headColor: (hd) => headColor(hd, app.ui.theme.dark, model.get("palette")),
    value: (hd, i, j) => bestValue(app.data, app.exact, hd, i, j),
    isMasked: (i, j) => Boolean(app.data && isMasked(app.data, i, j)),
    weightRows: (i, j) => weightRows(app, i, j),
    /** The aggregate's row alone when aggregating, else one row per visible head. */
    barRows(i, j) {
      const rows = weightRows(app, i, j);
      return rows.some((r) => r.agg) ? rows.filter((r) => r.agg) : rows;
    },
  });
  // the views repaint on the trait's change (widget.js): by then the colours are read again
  const onTheme = () => { forceTheme(); app.ui.theme = readTheme(root); };
  model.on("change:theme", onTheme);
  dis.add(() => model.off("change:theme", onTheme));
  return app;
}

/** Per visible head weights of (i, j), plus the aggregate first when aggregating. */
function weightRows(app, i, j) {
  const d = app.data;
  const hs = visibleHeads(app.get("heads"), d.H);
  // a bar's length: the weight's place in [lo, hi]; for signed values (differences) its magnitude
  const signed = d.lo < 0 && d.hi > 0, ext = Math.max(-d.lo, d.hi);
  const frac = (v) => (!Number.isFinite(v) ? 0 : signed ? Math.abs(v) / ext : (v - d.lo) / (d.hi - d.lo));
  const masked = app.isMasked(i, j);
  // sparse data: `below` = not among the row's top-k keys (value: the smallest top-k value, drawn as 0)
  const rows = hs.map((hd) => {
    const b = app.value(hd, i, j);
    return { name: app.headName(hd), color: app.headColor(hd), value: b.value, exact: b.exact, below: Boolean(b.below), frac: b.below ? 0 : frac(b.value), masked };
  });
  const mode = app.get("aggregate");
  if ((mode === "mean" || mode === "max") && rows.length) {
    const v = mode === "max" ? Math.max(...rows.map((r) => r.value)) : rows.reduce((a, r) => a + r.value, 0) / rows.length;
    const below = rows.some((r) => r.below);
    rows.unshift({ name: `${mode} of ${rows.length}`, color: app.ui.theme.accent, value: v, exact: rows.every((r) => r.exact), below, frac: below ? 0 : frac(v), masked, agg: true });
  }
  return rows;
}
