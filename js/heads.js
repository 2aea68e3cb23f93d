// Heads view: a grid of per-head thumbnails with max weight and mean entropy.

import { h } from "./dom.js";
import { gridLayout } from "./layout.js";
import { scaleTable, maskColors } from "./colors.js";
import { formatCompact, formatStat } from "./format.js";
import { heatImage } from "./heatmap.js";
import { escapeXml, paintedCanvas } from "./export.js";

export function createHeads(app) {
  const grid = h("div", { class: "aw-heads-grid", role: "list" });
  const hint = h("div", { class: "aw-hint", text: "click a head to open it in the matrix view" });
  const el = h("div", { class: "aw-heads" }, [hint, grid]);
  const v = { app, grid, hint, st: { cards: [], key: "" } };
  app.dis.listen(grid, "click", (e) => {
    const card = e.target.closest?.("button.aw-head-card");
    if (!card || !grid.contains(card)) return;
    const patch = { head: Number(card.dataset.head), view: "matrix" };
    if (app.get("aggregate") !== "none") patch.aggregate = "none";
    app.set(patch);
  });
  return {
    el, draw: () => draw(v), exportCanvas: (scale) => exportCanvas(v, scale), exportSVG: () => exportSVG(v), destroy() {},
    update(changed) { if (changed.has("_data") || changed.has("head_names")) v.st.cards = []; },
  };
}

/** Head hd's heat map at one pixel per cell (sparse data: its max-pooled overview). */
function paintThumb(app, canvas, hd) {
  const d = app.data, R = d.sparse ? d.Pq : d.Q, C = d.sparse ? d.Pk : d.K, dark = app.ui.theme.dark;
  canvas.width = C; canvas.height = R;
  const ctx = canvas.getContext("2d");
  ctx.putImageData(heatImage(ctx, C, R, d.sparse ? d.pool : d.q, scaleTable(d.lo, d.hi, dark),
    { offset: hd * R * C, mask: d.sparse ? d.poolMask : d.mask, maskColor: maskColors(dark)[0] }), 0, 0);
}

function stats(app, hd) {
  const mx = app.data.headMax[hd], en = app.data.headEntropy[hd];
  return `max ${Number.isFinite(mx) ? formatCompact(mx, 3) : "–"} · entropy ${formatStat(en, 2)}`;
}

function build(v) {
  const { app, grid, st } = v, d = app.data;
  grid.replaceChildren();
  st.cards = [];
  if (!d) return;
  for (let hd = 0; hd < d.H; hd++) {
    const canvas = h("canvas", { class: "aw-thumb", "aria-hidden": "true" });
    const name = h("span", { class: "aw-head-name" }, [h("span", { class: "aw-swatch-dot" }), h("span", { text: app.headName(hd) })]);
    const card = h("button", { type: "button", class: "aw-head-card", "data-head": hd, role: "listitem", title: `${app.headName(hd)}: open in the matrix view` },
      [canvas, name, h("span", { class: "aw-head-stats", text: stats(app, hd) })]);
    paintThumb(app, canvas, hd);
    grid.append(card);
    st.cards.push({ card, canvas, name });
  }
  st.key = `${app.ui.theme.dark}`;
}

function draw(v) {
  const { app, st } = v, d = app.data;
  if (!d) return;
  if (!st.cards.length || st.key !== `${app.ui.theme.dark}`) build(v);
  v.hint.textContent = `click a head to open it in the matrix view${d.sparse ? ` · each cell: max of a ${d.bq}×${d.bk} block` : ""}`;
  const { cols, size } = gridLayout(d.H, app.ui.width - 4, { min: 130, max: 220 });
  v.grid.style.gridTemplateColumns = `repeat(${cols}, ${size}px)`;
  const aspect = d.Q / d.K;
  const tw = aspect > 1 ? (size - 12) / aspect : size - 12, th = aspect > 1 ? size - 12 : (size - 12) * aspect;
  const visible = new Set(app.get("heads"));
  const cur = app.get("aggregate") === "none" ? app.get("head") : -1;
  st.cards.forEach(({ card, canvas, name }, hd) => {
    canvas.style.width = `${Math.max(8, tw)}px`;
    canvas.style.height = `${Math.max(8, th)}px`;
    name.firstChild.style.background = app.headColor(hd);
    card.classList.toggle("aw-hidden-head", !visible.has(hd));
    card.classList.toggle("aw-current", hd === cur);
    card.setAttribute("aria-label", `${app.headName(hd)}, ${stats(app, hd)}${visible.has(hd) ? "" : ", hidden in the graph"}`);
  });
}

// ----- export -------------------------------------------------------------------------------------
/** The grid of the export: every card with its place {x, y}, thumbnail size {w, h}, and the total W × H. */
function exportLayout(v) {
  const { app } = v, d = app.data;
  if (!v.st.cards.length) build(v);
  const { cols, size } = gridLayout(d.H, app.ui.width - 4, { min: 130, max: 220 });
  const cellH = size + 40, s = size - 12, aspect = d.Q / d.K;
  const cards = v.st.cards.map(({ canvas }, hd) => ({ canvas, hd, x: (hd % cols) * (size + 10), y: Math.floor(hd / cols) * (cellH + 10) }));
  return { cards, size, w: aspect > 1 ? s / aspect : s, h: aspect > 1 ? s : s * aspect, W: cols * (size + 10), H: Math.ceil(d.H / cols) * (cellH + 10) };
}

function exportCanvas(v, scale = 2) {
  const { app } = v;
  if (!app.data) return null;
  const L = exportLayout(v), th = app.ui.theme;
  return paintedCanvas(L.W, L.H, scale, (ctx) => {
    ctx.fillStyle = th.bg; ctx.fillRect(0, 0, L.W, L.H);
    ctx.imageSmoothingEnabled = false;
    for (const { canvas, hd, x, y } of L.cards) {
      ctx.drawImage(canvas, x + 6, y + 6, L.w, L.h);
      ctx.fillStyle = app.headColor(hd); ctx.fillRect(x + 6, y + L.size + 2, 10, 10);
      ctx.fillStyle = th.fg; ctx.font = `12px ${th.font}`; ctx.textBaseline = "middle";
      ctx.fillText(app.headName(hd), x + 22, y + L.size + 7);
      ctx.fillStyle = th.fg2; ctx.font = `11px ${th.font}`;
      ctx.fillText(stats(app, hd), x + 6, y + L.size + 24);
    }
  });
}

function exportSVG(v) {
  const { app } = v;
  if (!app.data) return null;
  const L = exportLayout(v), th = app.ui.theme;
  const out = [`<svg xmlns="http://www.w3.org/2000/svg" width="${L.W}" height="${L.H}" font-family="${escapeXml(th.font)}">`, `<rect width="100%" height="100%" fill="${th.bg}"/>`];
  for (const { canvas, hd, x, y } of L.cards) {
    out.push(`<image href="${canvas.toDataURL()}" x="${x + 6}" y="${y + 6}" width="${L.w}" height="${L.h}" preserveAspectRatio="none" style="image-rendering:pixelated"/>`);
    out.push(`<rect x="${x + 6}" y="${y + L.size + 2}" width="10" height="10" fill="${app.headColor(hd)}"/>`);
    out.push(`<text x="${x + 22}" y="${y + L.size + 11}" font-size="12" fill="${th.fg}">${escapeXml(app.headName(hd))}</text>`);
    out.push(`<text x="${x + 6}" y="${y + L.size + 28}" font-size="11" fill="${th.fg2}">${escapeXml(stats(app, hd))}</text>`);
  }
  out.push("</svg>");
  return out.join("\n");
}
