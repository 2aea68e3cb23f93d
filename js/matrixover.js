// Matrix view, what sits over its frame canvas and changes without repainting it: the hovered cell's
// outline, the pin (row and column outlines, bold labels), the legend's canvas (colour bar, ticks) and
// its words. `v` is the matrix view's context (matrix.js).

import { h, paintCanvas, setText, setAttrs, setHidden } from "./dom.js";
import { canvasSize, truncateToWidth } from "./layout.js";
import { FONT_PX, LABEL_PX, grid, paintLegend, hatchFor, selectedCells, hiddenByPin } from "./matrixpaint.js";

/** The pin over the frame, where paint would have drawn it: row and column outlines (2 px, accent), labels bold.
 * Styles go through setAttrs, which writes only what differs from what it wrote last (most draws: nothing). */
export function placePin(v) {
  const { app, st } = v, m = st.m, g = grid(app), th = app.ui.theme, u = app.ui.scale;
  const { selQ, selK } = selectedCells(app, g);
  const [qmask, km1, km2, row, col, ql, kl] = v.pin, q = selQ != null && selQ < g.R, k = selK != null && selK < g.C;
  const box = (b, on, x, y, w, hgt) => {
    if (on) setAttrs(b, { style: { left: `${x - 2 * u}px`, top: `${y - 2 * u}px`, width: `${w + 4 * u}px`, height: `${hgt + 4 * u}px`, borderWidth: `${2 * u}px`, borderColor: th.accent } });
    if (b.hidden === on) b.hidden = !on;
  };
  box(row, q, m.left, m.top + selQ * m.ch, m.w, m.ch);
  box(col, k, m.left + selK * m.cw, m.top, m.cw, m.h);
  const label = (b, on, text, x, y, transform) => {
    if (on) {
      if (b.textContent !== text) b.textContent = text;
      setAttrs(b, { style: { left: `${x}px`, top: `${y}px`, transform, color: th.accent, background: th.bg, font: `bold ${LABEL_PX * u}px ${th.font}` } });
    }
    if (b.hidden === on) b.hidden = !on;
  };
  label(ql, q, q ? truncateToWidth(m.qLabels[selQ], m.lw, app.ui.measure) : "", m.left - 5 * u, m.top + (selQ + 0.5) * m.ch, "translate(-100%, -50%)");
  const kText = k ? truncateToWidth(m.kLabels[selK], m.rotate ? m.top * 1.2 - 14 * u : m.kw, app.ui.measure) : "";
  label(kl, k, kText, m.left + (selK + 0.5) * m.cw, m.top - 5 * u, m.rotate ? "translateY(-50%) rotate(-60deg)" : "translate(-50%, -100%)");
  placeMasks(v, q ? hiddenByPin(selQ, m.labelEveryQ, g.R) : [], k ? hiddenByPin(selK, m.labelEveryK, g.C) : [], qmask, [km1, km2]);
}

/** Boxes of the page's colour over the frame's labels that the pin's labels leave out (paint skips them;
 * on screen the frame keeps them, drawn before the pin): `hq` rows, `hk` columns, at most one each side of
 * the pin (matrixpaint.js hiddenByPin), a box each for keys. Under the pin's outlines and labels. */
function placeMasks(v, hq, hk, qmask, kmasks) {
  const { app, st } = v, m = st.m, u = app.ui.scale, bg = app.ui.theme.bg, line = LABEL_PX * u * 1.3;
  const set = (b, style) => {
    if (style) setAttrs(b, { style: { background: bg, transformOrigin: "0 0", ...style } });
    if (b.hidden !== !style) b.hidden = !style;
  };
  const ys = hq.map((i) => m.top + (i + 0.5) * m.ch);
  set(qmask, hq.length && { left: `${m.left - 5 * u - m.lw - 1}px`, top: `${Math.min(...ys) - line / 2}px`, width: `${m.lw + 2}px`,
    height: `${Math.max(...ys) - Math.min(...ys) + line}px`, transform: "none" });
  // a key's label runs from its anchor, above its column: up and to the right when rotated (as paint draws it)
  kmasks.forEach((b, n) => set(b, n < hk.length && (m.rotate
    ? { left: `${m.left + (hk[n] + 0.5) * m.cw}px`, top: `${m.top - 5 * u}px`, width: `${m.top * 1.2 - 14 * u + 3}px`, height: `${line}px`,
      transform: `rotate(-60deg) translate(-1px, ${-line / 2}px)` }
    : { left: `${m.left + (hk[n] + 0.5) * m.cw - m.kw / 2 - 1}px`, top: `${m.top - 5 * u - line}px`, width: `${m.kw + 2}px`,
      height: `${line}px`, transform: "none" })));
}

/** The legend on its own canvas over the frame's legend area (beside or below the cells), transparent elsewhere. */
export function paintLegendCanvas(v, m, dpr) {
  const u = v.app.ui.scale, side = m.legend.side;
  const x0 = Math.floor(side ? m.left + m.w + 2 * u : 0), y0 = Math.floor(side ? m.top - 2 * u : m.top + m.h + 2 * u);
  const w = Math.max(1, Math.round(m.totalW) - x0), hgt = Math.max(1, Math.round(m.totalH) - y0);
  Object.assign(v.legend.style, { left: `${x0}px`, top: `${y0}px` });
  paintCanvas(v.legend, canvasSize(w, hgt, dpr), (ctx) => {
    ctx.translate(-x0, -y0);
    paintLegend(v, ctx, m, grid(v.app).mask ? hatchFor(v, ctx, true) : null, false);
  });
}

/** The legend's words (what is shown, the scale), as text over the frame where paintLegend would write them:
 * another head changes them, and text is cheaper to change than the legend's canvas. */
export function placeWords(v, m) {
  const { app, words } = v, th = app.ui.theme, u = app.ui.scale, lines = m.legend.lines;
  while (words.childElementCount < lines.length) words.append(h("span", { class: "aw-matrix-word" }));
  while (words.childElementCount > lines.length) words.lastChild.remove();
  lines.forEach((line, k) => {
    const el = words.children[k];
    setText(el, line.text);
    setAttrs(el, { style: { left: `${line.x}px`, top: `${line.y}px`, font: `${FONT_PX * u}px ${th.font}`, color: th.fg1 } });
  });
}

/** The hovered cell's outline, where paint would have stroked it (1.5 px in the theme's text colour). */
export function placeHover(v) {
  const { st, hoverBox: b } = v, m = st.m, hv = st.hover;
  if (!hv || !m) { setHidden(b, true); return; }
  const u = v.app.ui.scale, lw = 1.5 * u;
  setAttrs(b, { style: { left: `${m.left + hv.j * m.cw - 0.5 - lw / 2}px`, top: `${m.top + hv.i * m.ch - 0.5 - lw / 2}px`,
    width: `${m.cw + 1 + lw}px`, height: `${m.ch + 1 + lw}px`, border: `${lw}px solid ${v.app.ui.theme.fg}` } });
  setHidden(b, false);
}
