// Heads view: a grid of per-head thumbnails with max weight and mean entropy.

import { h, setText, setAttrs, setHidden, paintCanvas, prepareWhenIdle, preparing, measurer } from "./dom.js";
import { drain } from "./steps.js";
import { gridLayout, slideCards } from "./layout.js";
import { rangeTable, maskColors } from "./colors.js";
import { formatCompact, formatStat } from "./format.js";
import { heatImage, colorRange, strokeSegments } from "./heatmap.js";
import { segmentFractions } from "./protocol.js";
import { formatTick } from "./format.js";
import { escapeXml, paintedCanvas } from "./export.js";

export function createHeads(app) {
  const grid = h("div", { class: "aw-heads-grid", role: "list" });
  const hint = h("div", { class: "aw-hint", text: "click a head to open it in the matrix view" });
  const el = h("div", { class: "aw-heads" }, [hint, grid]);
  const v = { app, el, grid, hint, st: { cards: [], key: "", dirty: true, drawn: "", job: { idle: 0 } } };
  // a card's click leaves the view: focusing the card on the way (mousedown's default) is work for nothing
  app.dis.listen(grid, "mousedown", (e) => { if (e.target.closest?.("button.aw-head-card")) e.preventDefault(); });
  app.dis.listen(grid, "click", (e) => {
    const card = e.target.closest?.("button.aw-head-card");
    if (!card || !grid.contains(card)) return;
    const hd = Number(card.dataset.head); // the matrix shows a head alone: solo it
    app.set({ head: hd, heads: [hd], view: "matrix" });
  });
  return {
    el, draw: () => draw(v), exportCanvas: (scale) => exportCanvas(v, scale), exportSVG: () => exportSVG(v), destroy() {},
    idle: (shown, missed) => prepareWhenIdle(v, missed, PREPARE_ON, drawHidden, { paint: () => buildAhead(v) }),
    preparing: () => preparing(v),
    update(changed) {
      if (changed.has("_data") || changed.has("head_names")) v.st.cards = [];
      if (changed.size) v.st.dirty = true; // heads shown, names, colours: redraw
    },
  };
}

/** The colours of every thumbnail: one scale, 0 … 1 or stretched to the largest weight of any head. */
function range(app) {
  const d = app.data;
  return colorRange(d.lo, d.hi, d.sparse ? d.pool : d.q, null, Boolean(app.get("color_max")));
}

/** Head hd's heat map at one pixel per cell (sparse data: its max-pooled overview). */
function paintThumb(app, canvas, hd, r) {
  const d = app.data, R = d.sparse ? d.Pq : d.Q, C = d.sparse ? d.Pk : d.K, dark = app.ui.theme.dark;
  paintCanvas(canvas, { width: C, height: R }, (ctx) => ctx.putImageData(heatImage(ctx, C, R, d.sparse ? d.pool : d.q,
    rangeTable(d.lo, d.hi, r.lo, r.hi, dark), { offset: hd * R * C, mask: d.sparse ? d.poolMask : d.mask, maskColor: maskColors(dark)[0] }), 0, 0));
}

/** Head hd's two figures, ["max 0.766", "entropy 1.75"]: each kept on one line in its card. */
function figures(app, hd) {
  const mx = app.data.headMax[hd], en = app.data.headEntropy[hd];
  return [`max ${Number.isFinite(mx) ? formatCompact(mx, 3) : "–"}`, `entropy ${formatStat(en, 2)}`];
}

/** The dot between a card's two figures is this many em wide (styles.css .aw-head-sep). */
const SEP_EM = 1;

const stats = (app, hd) => figures(app, hd).join(" · ");

function build(v) {
  drain(buildSteps(v));
}

/** build() in steps, a thumbnail a step (T = 512: about 3 ms each), for idle time. The cards count as built
 * (st.key) only after the last: a view shown half-way builds them again in its frame. */
function* buildSteps(v) {
  const { app, grid, st } = v, d = app.data;
  grid.replaceChildren();
  st.cards = [];
  st.key = null;
  if (!d) return;
  const r = range(app);
  for (let hd = 0; hd < d.H; hd++) {
    const canvas = h("canvas", { class: "aw-thumb", "aria-hidden": "true" });
    // the divider between two segments (segment_start): lines over the one-pixel-a-cell canvas, not in it
    const seg = { y: h("span", { class: "aw-thumb-seg aw-thumb-seg-y", hidden: true }), x: h("span", { class: "aw-thumb-seg aw-thumb-seg-x", hidden: true }) };
    const name = h("span", { class: "aw-head-name" }, [h("span", { class: "aw-swatch-dot" }), h("span", { text: app.headName(hd) })]);
    // a narrow card breaks the line between the figures, never inside one; the dot leads the second figure,
    // so a line that starts with it puts the dot in the clipped margin (styles.css .aw-head-stats-row)
    const [mx, en] = figures(app, hd);
    const row = h("span", { class: "aw-head-stats-row" },
      [h("span", { class: "aw-head-stat", text: mx }), h("span", { class: "aw-head-stat" }, [h("span", { class: "aw-head-sep", text: " · " }), en])]);
    const text = h("span", { class: "aw-head-text" }, [name, h("span", { class: "aw-head-stats" }, [row])]);
    const card = h("button", { type: "button", class: "aw-head-card", "data-head": hd, role: "listitem", title: `${app.headName(hd)}: open in the matrix view` },
      [h("span", { class: "aw-thumb-wrap" }, [canvas, seg.y, seg.x]), text]);
    paintThumb(app, canvas, hd, r);
    grid.append(card);
    st.cards.push({ card, canvas, name, seg });
    yield;
  }
  st.key = cardsKey(app);
  st.range = r;
}

/** While hidden: the cards and their thumbnails built once the page is idle, in slices of it (a thumbnail a
 * step: dom.js prepareWhenIdle), so that the tab's first click does not paint every head (T = 512: 8 × 512²
 * cells); built again when these change. Drawn too (sizes, colours, labels: 33 writes the first click
 * restyled), but on a slide only built: there the sizes depend on the height the view is given. */
const PREPARE_ON = ["_data", "head_names", "theme", "color_max"];

/** The cards' build, in steps, if they are not built for the data and colours (null: they are). */
function buildAhead(v) {
  const { app, st } = v;
  return app.data && (!st.cards.length || st.key !== cardsKey(app)) ? buildSteps(v) : null;
}

function drawHidden(v) {
  if (v.app.data && !v.app.ui.bodyMax) draw(v);
}

const cardsKey = (app) => `${app.ui.theme.dark}|${Boolean(app.get("color_max"))}`;

/** The cards as the state says; nothing is touched when no synced trait, width or scale changed. */
function draw(v) {
  const { app, st } = v, d = app.data, ui = app.ui, drawn = `${ui.width}|${ui.scale}|${ui.bodyMax}`;
  if (!d || (!st.dirty && st.cards.length && st.drawn === drawn)) return;
  st.dirty = false; st.drawn = drawn;
  if (!st.cards.length || st.key !== cardsKey(app)) build(v);
  const r = st.range, colours = `colours ${formatTick(r.lo)} … ${formatTick(r.hi)}${r.stretched ? ", stretched to the largest weight" : ""}, one scale for every head`;
  setText(v.hint, `click a head to open it in the matrix view · ${colours}${d.sparse ? ` · each cell: max of a ${d.bq}×${d.bk} block` : ""}`);
  const { cols, size, thumb, side } = cardGrid(v);
  // each written only when it changes (a pin or a switch redraws the cards): a write, even of the same value, restyles
  setAttrs(v.grid, { style: { gridTemplateColumns: `repeat(${cols}, ${size}px)` } });
  v.grid.classList.toggle("aw-cards-side", side);
  const aspect = d.Q / d.K;
  const tw = aspect > 1 ? thumb / aspect : thumb, th = aspect > 1 ? thumb : thumb * aspect;
  const visible = new Set(app.get("heads"));
  const cur = visible.size === 1 ? [...visible][0] : -1; // the head the matrix shows alone
  const f = segmentFractions(app.get("segment_start"), d.Q, d.K);
  st.cards.forEach(({ card, canvas, name, seg }, hd) => {
    setHidden(seg.y, f.y == null); setHidden(seg.x, f.x == null);
    if (f.y != null) setAttrs(seg.y, { style: { top: `${f.y * 100}%` } });
    if (f.x != null) setAttrs(seg.x, { style: { left: `${f.x * 100}%` } });
    setAttrs(canvas, { style: { width: `${Math.max(8, tw)}px`, height: `${Math.max(8, th)}px` } });
    setAttrs(name.firstChild, { style: { background: app.headColor(hd) } });
    card.classList.toggle("aw-hidden-head", !visible.has(hd));
    card.classList.toggle("aw-current", hd === cur);
    setAttrs(card, { "aria-label": `${app.headName(hd)}, ${stats(app, hd)}${visible.has(hd) ? "" : ", hidden in the graph"}` });
  });
}

/** Columns, their width `size` and the thumbnails' box: the heads grid, and on a slide (a fixed height) the
 * largest thumbnails whose rows fit it, the text under or beside each (`side`) as leaves them larger. */
function cardGrid(v) {
  const { app } = v, ui = app.ui, u = ui.scale, H = app.data.H, gap = 10 * u;
  const grid = gridLayout(H, ui.width - 4, { min: 130 * u, max: 220 * u, gap });
  const plain = { ...grid, thumb: grid.size - 12, side: false };
  if (!ui.bodyMax) return plain;
  const room = ui.bodyMax - v.hint.offsetHeight - 8 * u;
  // padding and border of a card (6 + 1 a side) and the thumbnail's border (1 a side); the gap in a card is 3
  return slideCards(H, ui.width - 4, room, { text: cardText(v), pad: 16 * u, gap, inner: 6 * u, min: 32 * u }) ?? plain;
}

/** The cards' text, as slideCards takes it: {narrow, wide, h1, h2} (px), from the names and figures measured
 * in the card's fonts (a canvas measures them: no layout read), kept while they and the scale stay the same. */
function cardText(v) {
  const { app, st } = v, ui = app.ui, u = ui.scale, H = app.data.H;
  const key = `${u}|${ui.theme.font}|${JSON.stringify(app.get("head_names"))}|${H}`;
  if (st.text?.key === key && st.text.data === app.data) return st.text.size;
  const bold = measurer(`600 ${12 * u}px ${ui.theme.font}`), small = measurer(`${11 * u}px ${ui.theme.font}`);
  const dot = 16 * u; // the swatch (11) and its gap (5)
  let narrow = 0, wide = 0;
  for (let hd = 0; hd < H; hd++) {
    const name = Math.min(dot + bold(app.headName(hd)), 160 * u), [mx, en] = figures(app, hd); // a longer name may wrap
    narrow = Math.max(narrow, name, small(mx), small(en));
    wide = Math.max(wide, name, small(mx) + SEP_EM * 11 * u + small(en));
  }
  // line boxes of the widget's line height (1.35); 2 px for the canvas's rounding
  const nameH = 1.35 * 12 * u, line = 1.35 * 11 * u, size = { narrow: narrow + 2, wide: wide + 2, h1: nameH + 3 * u + line, h2: nameH + 3 * u + 2 * line };
  st.text = { key, data: app.data, size };
  return size;
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
    const f = segmentFractions(app.get("segment_start"), app.data.Q, app.data.K);
    for (const { canvas, hd, x, y } of L.cards) {
      ctx.drawImage(canvas, x + 6, y + 6, L.w, L.h);
      strokeSegments(ctx, { x: x + 6, y: y + 6, w: L.w, h: L.h }, f, th.fg, 2);
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
  const f = segmentFractions(app.get("segment_start"), app.data.Q, app.data.K);
  for (const { canvas, hd, x, y } of L.cards) {
    out.push(`<image href="${canvas.toDataURL()}" x="${x + 6}" y="${y + 6}" width="${L.w}" height="${L.h}" preserveAspectRatio="none" style="image-rendering:pixelated"/>`);
    if (f.y != null) out.push(`<rect class="aw-segment" x="${x + 6}" y="${y + 6 + f.y * L.h - 1}" width="${L.w}" height="2" fill="${th.fg}"/>`);
    if (f.x != null) out.push(`<rect class="aw-segment" x="${x + 6 + f.x * L.w - 1}" y="${y + 6}" width="2" height="${L.h}" fill="${th.fg}"/>`);
    out.push(`<rect x="${x + 6}" y="${y + L.size + 2}" width="10" height="10" fill="${app.headColor(hd)}"/>`);
    out.push(`<text x="${x + 22}" y="${y + L.size + 11}" font-size="12" fill="${th.fg}">${escapeXml(app.headName(hd))}</text>`);
    out.push(`<text x="${x + 6}" y="${y + L.size + 28}" font-size="11" fill="${th.fg2}">${escapeXml(stats(app, hd))}</text>`);
  }
  out.push("</svg>");
  return out.join("\n");
}
