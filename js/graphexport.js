// Graph view, export: every token (not only those in view) with the lines between them, as a PNG's
// canvas or as SVG. `v` is the graph view's context (graph.js).

import { segmentY, truncateToWidth } from "./layout.js";
import { escapeXml, svgRecorder, paintedCanvas } from "./export.js";
import { SIDES, pinned } from "./graphtokens.js";
import { geometry, paintGraph } from "./graphpaint.js";

/** Calls fn(side, i, x, y, text, isPinned) for every token label, in geometry `g` (unscrolled). */
function eachLabel(v, g, fn) {
  const { app, st } = v, p = pinned(app);
  for (const side of SIDES) {
    const n = side === "query" ? app.data.Q : app.data.K;
    for (let i = 0; i < n; i++) {
      const u = app.ui.scale, x = side === "query" ? st.widths.query - 8 * u : st.widths.query + g.midW + 8 * u;
      const y = side === "query" ? g.yq(i) : g.yk(i);
      const text = truncateToWidth(app.label(side, i), st.widths[side] - 16 * u, app.ui.measure);
      fn(side, i, x, y, text, Boolean(p && p.side === side && p.index === i));
    }
  }
}

/** Calls fn(x, y, width) for the divider between two segments of each label column (none without a gap). */
function eachDivider(v, g, fn) {
  const { st } = v;
  const at = { query: 0, key: st.widths.query + g.midW };
  for (const side of SIDES) {
    const y = segmentY(st.lay[side], st.lay.rowH);
    if (y != null) fn(at[side], y, st.widths[side]);
  }
}

export function exportCanvas(v, scale = 2) {
  const { app, st } = v, th = app.ui.theme;
  if (!app.data || !st.lay) return null;
  const g = geometry(v, app.ui.width, 0);
  const W = st.widths.query + g.midW + st.widths.key, H = Math.min(st.lay.contentH, 12000);
  return paintedCanvas(W, H, scale, (ctx) => {
    ctx.fillStyle = th.bg; ctx.fillRect(0, 0, W, H);
    eachLabel(v, g, (side, i, x, y, text, pin) => {
      ctx.font = `${pin ? "bold " : ""}${12 * app.ui.scale}px ${th.font}`;
      ctx.textBaseline = "middle";
      ctx.textAlign = side === "query" ? "right" : "left";
      if (pin) {
        const w = app.ui.measure(text) + 10;
        ctx.fillStyle = th.accent; ctx.globalAlpha = 0.18;
        ctx.fillRect(side === "query" ? x - w + 4 : x - 4, y - st.lay.rowH / 2 + 1, w, st.lay.rowH - 2);
        ctx.globalAlpha = 1;
      }
      ctx.fillStyle = th.fg;
      ctx.fillText(text, x, y);
    });
    ctx.fillStyle = th.border;
    eachDivider(v, g, (x, y, w) => ctx.fillRect(x, y - 0.5, w, 1));
    ctx.save(); ctx.translate(st.widths.query, 0);
    paintGraph(v, ctx, { ...g, yMin: 0, yMax: H }, true);
    ctx.restore();
  });
}

export function exportSVG(v) {
  const { app, st } = v, th = app.ui.theme;
  if (!app.data || !st.lay) return null;
  const g = geometry(v, app.ui.width, 0);
  const W = st.widths.query + g.midW + st.widths.key, H = st.lay.contentH;
  const out = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="${escapeXml(th.font)}" font-size="${12 * app.ui.scale}">`);
  out.push(`<rect width="100%" height="100%" fill="${th.bg}"/>`);
  eachLabel(v, g, (side, i, x, y, text, pin) => {
    if (pin) {
      const w = app.ui.measure(text) + 10;
      out.push(`<rect x="${side === "query" ? x - w + 4 : x - 4}" y="${y - st.lay.rowH / 2 + 1}" width="${w}" height="${st.lay.rowH - 2}" rx="3" fill="${th.accent}" fill-opacity="0.18" stroke="${th.accent}"/>`);
    }
    out.push(`<text x="${x}" y="${y}" dominant-baseline="middle" text-anchor="${side === "query" ? "end" : "start"}" fill="${th.fg}"${pin ? ' font-weight="bold"' : ""}>${escapeXml(text)}</text>`);
  });
  eachDivider(v, g, (x, y, w) => out.push(`<rect class="aw-segment" x="${x}" y="${y - 0.5}" width="${w}" height="1" fill="${th.border}"/>`));
  // Vector lines via a recording context that mimics the calls paintGraph makes.
  out.push(`<g transform="translate(${st.widths.query},0)">`);
  out.push(...svgRecorder((ctx) => paintGraph(v, ctx, { ...g, yMin: 0, yMax: H }, true), app.ui.measure));
  out.push("</g></svg>");
  return out.join("\n");
}
