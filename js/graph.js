// Graph view: query tokens left, key tokens right, one canvas of lines between them.

import { h, sizeCanvas } from "./dom.js";
import { graphLayout, rowCenter, visibleRows, canvasSize, labelColumnWidth, truncateToWidth, clamp } from "./layout.js";
import { selectLines, selectExactLines } from "./lines.js";
import { paintLines, paintBars, paintPin } from "./graphpaint.js";

// Above this many lines, the faded lines behind an active token are cached as a bitmap.
const BACKGROUND_MIN_LINES = 20000;
import { escapeXml, svgRecorder } from "./export.js";

const SIDES = ["query", "key"];
const LINE_KEYS = ["_data", "heads", "threshold", "top_k", "aggregate"];
const EXTRA_KEYS = [...LINE_KEYS, "_exact", "selected_query", "selected_key"];
const OVERSCAN = 12; // rows rendered above and below the visible window

export function createGraph(app) {
  const { dis } = app;
  const el = h("div", { class: "aw-graph" });
  const notice = h("div", { class: "aw-notice aw-graph-notice", "aria-live": "polite" });
  const scroller = h("div", { class: "aw-graph-scroll" });
  const cols = {
    query: h("div", { class: "aw-col aw-col-query", role: "group", "aria-label": "query tokens" }),
    key: h("div", { class: "aw-col aw-col-key", role: "group", "aria-label": "key tokens" }),
  };
  const canvas = h("canvas", { class: "aw-lines", "aria-hidden": "true" });
  const mid = h("div", { class: "aw-graph-mid" }, [canvas]);
  const content = h("div", { class: "aw-graph-content" }, [cols.query, mid, cols.key]);
  scroller.append(content);
  el.append(notice, scroller);

  // Token buttons exist only for the visible rows (plus the pinned, focused and hovered ones):
  // st.buttons[side] maps index -> button; st.labels[side] holds every label.
  const st = { sel: null, extra: null, lay: null, buttons: { query: new Map(), key: new Map() }, labels: { query: [], key: [] },
    widths: { query: 60, key: 60 }, geom: null, built: false };

  // ----- state helpers ----------------------------------------------------------------------
  const pinned = () => {
    const q = app.get("selected_query"), k = app.get("selected_key");
    if (q != null && q < (app.data?.Q ?? 0)) return { side: "query", index: q };
    if (k != null && k < (app.data?.K ?? 0)) return { side: "key", index: k };
    return null;
  };
  const active = () => {
    const p = pinned(), hv = app.ui.hover;
    if (hv && (!p || hv.side === p.side)) return hv;
    return p;
  };
  const other = (side) => (side === "query" ? "key" : "query");

  // ----- buttons ------------------------------------------------------------------------------
  function buildButtons() {
    const d = app.data;
    for (const side of SIDES) {
      const n = d ? (side === "query" ? d.Q : d.K) : 0;
      st.labels[side] = Array.from({ length: n }, (_, i) => app.label(side, i));
      st.widths[side] = labelColumnWidth(st.labels[side], app.measure, { min: 40, max: 150, padding: 24 });
      st.buttons[side] = new Map();
      cols[side].replaceChildren();
    }
    st.built = true;
    st.layKey = null;
  }

  function makeButton(side, i) {
    const raw = app.token(side, i), lab = st.labels[side][i];
    const b = h("button", {
      type: "button", class: `aw-tok aw-tok-${side}`, "data-side": side, "data-index": i,
      "aria-label": `${side} token ${i} "${raw}"`, "aria-pressed": "false", title: `${side} ${i}: ${raw === "" ? "(empty)" : raw}`,
    }, [h("span", { class: "aw-pin", "aria-hidden": "true" }),
      h("span", { class: "aw-tok-text", text: truncateToWidth(lab, st.widths[side] - 22, app.measure) })]);
    if (lab !== raw || raw === "") b.classList.add("aw-tok-special");
    b.style.top = `${st.lay[side].top + i * st.lay.rowH + 1}px`;
    b.style.height = `${st.lay.rowH - 2}px`;
    return b;
  }

  function placeButtons() {
    const d = app.data;
    const lay = graphLayout(d ? d.Q : 0, d ? d.K : 0);
    st.lay = lay;
    content.style.height = `${lay.contentH}px`;
    scroller.style.maxHeight = `${lay.viewH}px`;
    for (const side of SIDES) {
      cols[side].style.width = `${st.widths[side]}px`;
      cols[side].replaceChildren();
      st.buttons[side] = new Map();
    }
    el.style.setProperty("--aw-row", `${lay.rowH}px`);
  }

  /** Create the buttons of the rows in view (and of the pinned, focused, hovered tokens); drop the rest. */
  function renderWindow() {
    const d = app.data;
    if (!d || !st.lay) return;
    const top = scroller.scrollTop, lay = st.lay, p = pinned(), hv = app.ui.hover;
    const focused = document.activeElement && content.contains(document.activeElement) ? document.activeElement : null;
    for (const side of SIDES) {
      const [a, b] = visibleRows(lay[side], lay.rowH, top - OVERSCAN * lay.rowH, top + lay.viewH + OVERSCAN * lay.rowH);
      const keep = new Set();
      for (let i = a; i < b; i++) keep.add(i);
      if (p && p.side === side) keep.add(p.index);
      if (side === "key" && app.get("selected_key") != null && app.get("selected_key") < d.K) keep.add(app.get("selected_key"));
      if (hv && hv.side === side) keep.add(hv.index);
      if (focused && focused.dataset.side === side) keep.add(Number(focused.dataset.index));
      const map = st.buttons[side], col = cols[side];
      for (const [i, btn] of map) if (!keep.has(i)) { btn.remove(); map.delete(i); }
      const missing = [...keep].filter((i) => !map.has(i) && i < lay[side].n).sort((x, y) => x - y);
      if (!missing.length) continue;
      let next = col.firstElementChild;
      for (const i of missing) { // insert in index order (tab order follows the tokens)
        while (next && Number(next.dataset.index) < i) next = next.nextElementSibling;
        const btn = makeButton(side, i);
        col.insertBefore(btn, next);
        map.set(i, btn);
      }
    }
  }

  function markPinned() {
    const p = pinned();
    for (const side of SIDES) {
      for (const [i, b] of st.buttons[side]) {
        const on = Boolean(p && p.side === side && p.index === i);
        const cross = !on && side === "key" && p?.side === "query" && app.get("selected_key") === i;
        b.classList.toggle("aw-pinned", on);
        b.classList.toggle("aw-marked", cross);
        b.setAttribute("aria-pressed", on ? "true" : "false");
      }
    }
  }

  /** Scroll (if needed) so that row `index` of `side` is in view; `center`: put it in the middle. */
  function reveal(side, index, center = false) {
    if (!st.lay) return;
    const y = rowCenter(st.lay[side], st.lay.rowH, index), top = scroller.scrollTop, vh = st.lay.viewH, r = st.lay.rowH;
    let want = top;
    if (center && (y < top || y > top + vh)) want = y - vh / 2;
    else if (y - r / 2 < top) want = y - r / 2 - 2;
    else if (y + r / 2 > top + vh) want = y + r / 2 - vh + 2;
    want = clamp(want, 0, Math.max(0, st.lay.contentH - vh));
    if (Math.abs(want - top) >= 1) scroller.scrollTop = want;
  }

  // ----- selection (model) ------------------------------------------------------------------
  function pin(side, index) {
    if (side === "query") app.set({ selected_query: index, selected_key: null });
    else app.set({ selected_key: index, selected_query: null });
  }
  function togglePin(side, index) {
    const p = pinned();
    if (p && p.side === side && p.index === index) app.release();
    else pin(side, index);
  }

  // ----- tooltip ------------------------------------------------------------------------------
  function tooltipFor(side, index, anchor) {
    const p = pinned(), d = app.data;
    if (!p || p.side === side || !d) { app.tooltip.hide(); return; }
    const i = side === "query" ? index : p.index, j = side === "key" ? index : p.index;
    const title = `query ${i} '${app.label("query", i)}' → key ${j} '${app.label("key", j)}'`;
    const rows = app.weightRows(i, j);
    const r = anchor.getBoundingClientRect(), gut = st.geom ? st.geom.gutter : 0;
    const rect = { left: r.left - (side === "key" ? gut : 0), right: r.right + (side === "query" ? gut : 0), top: r.top, width: r.width + gut };
    app.tooltip.show({ rect }, title, rows, app.isMasked(i, j) ? "masked: this query may not attend to this key" : null);
  }

  // ----- events -------------------------------------------------------------------------------
  const tokOf = (e) => {
    const b = e.target.closest?.("button.aw-tok");
    return b && content.contains(b) ? { b, side: b.dataset.side, index: Number(b.dataset.index) } : null;
  };
  function setHover(t) {
    const cur = app.ui.hover;
    if ((cur && t && cur.side === t.side && cur.index === t.index) || (!cur && !t)) return;
    app.ui.hover = t ? { side: t.side, index: t.index } : null;
    if (t) tooltipFor(t.side, t.index, t.b); else app.tooltip.hide();
    app.invalidate();
  }
  dis.listen(content, "mouseover", (e) => setHover(tokOf(e)));
  dis.listen(content, "mouseleave", () => setHover(null));
  dis.listen(content, "focusin", (e) => setHover(tokOf(e)));
  dis.listen(content, "focusout", (e) => { if (!content.contains(e.relatedTarget)) setHover(null); });
  dis.listen(content, "click", (e) => { const t = tokOf(e); if (t) togglePin(t.side, t.index); });
  dis.listen(scroller, "scroll", () => app.invalidate(), { passive: true });
  dis.listen(content, "keydown", (e) => {
    const t = tokOf(e);
    if (!t) return;
    const n = app.data ? (t.side === "query" ? app.data.Q : app.data.K) : 0;
    let side = t.side, index = t.index;
    if (e.key === "ArrowDown") index = Math.min(n - 1, index + 1);
    else if (e.key === "ArrowUp") index = Math.max(0, index - 1);
    else if (e.key === "Home") index = 0;
    else if (e.key === "End") index = n - 1;
    else if (e.key === "ArrowRight" || e.key === "ArrowLeft") {
      side = e.key === "ArrowRight" ? "key" : "query";
      if (side === t.side) return;
      const y = rowCenter(st.lay[t.side], st.lay.rowH, t.index);
      const col = st.lay[side];
      index = clamp(Math.floor((y - col.top) / st.lay.rowH), 0, col.n - 1);
    } else return;
    e.preventDefault();
    e.stopPropagation();
    const p = pinned();
    if (p && p.side === side && side === t.side && index !== p.index) pin(side, index);
    focusToken(side, index);
  });

  function focusToken(side, index) {
    reveal(side, index);
    renderWindow();
    const b = st.buttons[side].get(index);
    if (!b) return;
    b.focus({ preventScroll: true });
    b.scrollIntoView?.({ block: "nearest", inline: "nearest" });
    markPinned();
    app.invalidate();
  }

  // ----- drawing ------------------------------------------------------------------------------
  function geometry(width, scrollTop) {
    const lay = st.lay;
    const midW = Math.max(80, width - st.widths.query - st.widths.key);
    const gutter = Math.round(clamp(midW * 0.12, 18, 56));
    return {
      midW, gutter, x0: gutter, x1: midW - gutter,
      yq: (i) => rowCenter(lay.query, lay.rowH, i) - scrollTop,
      yk: (j) => rowCenter(lay.key, lay.rowH, j) - scrollTop,
    };
  }

  function barsFor(act, g) {
    const d = app.data;
    if (!act || !d) return null;
    const side = other(act.side);
    const n = side === "query" ? d.Q : d.K;
    const y = side === "query" ? g.yq : g.yk;
    const rows = [];
    for (let t = 0; t < n; t++) {
      const yy = y(t);
      if (yy < g.yMin - 20 || yy > g.yMax + 20) continue;
      const i = side === "query" ? t : act.index, j = side === "key" ? t : act.index;
      const values = app.isMasked(i, j) ? [] : app.barRows(i, j).map((r) => ({ frac: r.frac, color: r.color }));
      rows.push({ y: yy, values });
    }
    return { side, rows, rowH: st.lay.rowH, x: side === "key" ? g.x1 + 3 : 3, w: g.gutter - 6 };
  }

  function paintAll(ctx, g, forExport = false) {
    const act = forExport ? pinned() : active();
    const hv = forExport ? null : app.ui.hover, p = pinned();
    const pair = p && hv && hv.side !== p.side
      ? { i: p.side === "query" ? p.index : hv.index, j: p.side === "key" ? p.index : hv.index } : null;
    if (st.sel) {
      const lines = { ...g, sel: st.sel, extra: st.extra, nh: st.sel.aggregate === "none" ? st.sel.heads.length : 1,
        color: (hd) => (hd < 0 ? app.theme.accent : app.headColor(hd)), active: act, pair, emphasis: app.theme.fg };
      if (act && g.size && st.sel.n > BACKGROUND_MIN_LINES) {
        // Many lines: the faded ones behind the active token do not depend on which token it is.
        ctx.drawImage(background(lines, g.size), 0, 0, g.size.cssW, g.size.cssH);
        paintLines(ctx, { ...lines, layer: "active" });
      } else {
        paintLines(ctx, lines);
      }
    }
    const bars = barsFor(act, g);
    if (bars) paintBars(ctx, bars, app.theme.border2);
    if (p) {
      const y = p.side === "query" ? g.yq(p.index) : g.yk(p.index);
      paintPin(ctx, p.side === "query" ? g.x0 : g.x1, y, app.theme.accent, app.theme.bg);
    }
  }

  /** The faded layer of every line, drawn once per line set, scroll position, size and theme. */
  function background(lines, size) {
    const key = [size.cssW, size.cssH, size.ratio, lines.yMin, lines.yMax, lines.x0, lines.x1, st.scrollTop].join("|");
    const bg = st.bg;
    if (bg && bg.sel === st.sel && bg.theme === app.theme && bg.key === key) return bg.canvas;
    const canvas = bg?.canvas || document.createElement("canvas");
    const ctx = sizeCanvas(canvas, size);
    ctx.clearRect(0, 0, size.cssW, size.cssH);
    paintLines(ctx, { ...lines, active: null, pair: null, extra: null, layer: "background" });
    st.bg = { canvas, sel: st.sel, theme: app.theme, key };
    return canvas;
  }

  function draw() {
    const d = app.data;
    if (!d) { notice.textContent = "no data"; return; }
    if (!st.lay || st.layKey !== `${d.Q}x${d.K}`) { placeButtons(); st.layKey = `${d.Q}x${d.K}`; }
    if (st.reveal) { reveal(st.reveal.side, st.reveal.index, true); st.reveal = null; }
    renderWindow();
    markPinned();
    const g = geometry(app.ui.width, scroller.scrollTop);
    const size = canvasSize(g.midW, st.lay.viewH, window.devicePixelRatio || 1);
    const ctx = sizeCanvas(canvas, size);
    ctx.clearRect(0, 0, size.cssW, size.cssH);
    st.scrollTop = scroller.scrollTop;
    paintAll(ctx, { ...g, yMin: 0, yMax: size.cssH, size });
    st.geom = g;
  }

  function update(changed) {
    if (changed.has("_data") || changed.has("query_tokens") || changed.has("key_tokens") || !st.built) buildButtons();
    if (LINE_KEYS.some((k) => changed.has(k)) || !st.sel) recomputeLines();
    if (EXTRA_KEYS.some((k) => changed.has(k))) recomputeExtra();
    // buttons exist even while another view shows (as before virtualisation)
    const d = app.data;
    if (d && (!st.lay || st.layKey !== `${d.Q}x${d.K}`)) { placeButtons(); st.layKey = `${d.Q}x${d.K}`; }
    renderWindow();
    markPinned();
    if (changed.has("selected_query") || changed.has("selected_key")) {
      const p = pinned();
      if (p) st.reveal = p; // pinned from Python (or the matrix): scroll it into view if it is not
      const hv = app.ui.hover;
      if (hv) { const b = st.buttons[hv.side].get(hv.index); if (b) tooltipFor(hv.side, hv.index, b); }
    }
  }

  /** Sparse data: the pinned token's lines come from its exact row / column (every key / query). */
  function recomputeExtra() {
    const d = app.data, ex = app.exact, p = pinned();
    st.extra = null;
    if (!d || !d.sparse || !p || !ex) return;
    const values = p.side === "query" ? (ex.query === p.index ? ex.row : null) : (ex.key === p.index ? ex.col : null);
    if (!values) return;
    st.extra = selectExactLines(d, values, p.side, p.index, { heads: app.get("heads"), threshold: app.get("threshold"),
      topK: app.get("top_k"), aggregate: app.get("aggregate"), isMasked: app.isMasked });
  }

  function recomputeLines() {
    const d = app.data;
    st.sel = d ? selectLines(d, { heads: app.get("heads"), threshold: app.get("threshold"), topK: app.get("top_k"), aggregate: app.get("aggregate") }) : null;
    const msgs = [];
    if (st.sel && !st.sel.heads.length) msgs.push("no heads selected: click a head swatch to show it");
    if (st.sel?.sparse) msgs.push(`${d.Q.toLocaleString()} × ${d.K.toLocaleString()} tokens: lines come from each query's ${d.k} strongest keys per head; a pinned token's from its exact weights`);
    if (st.sel?.capped) msgs.push(`${st.sel.total.toLocaleString()} lines pass the threshold: showing the top ${st.sel.topK} per token and head (${st.sel.n.toLocaleString()} lines); raise the threshold or set top-k to change this`);
    notice.textContent = msgs.join(" · ");
    notice.hidden = !msgs.length;
  }

  // ----- export -------------------------------------------------------------------------------
  function exportCanvas(scale = 2) {
    const d = app.data;
    if (!d || !st.lay) return null;
    const g0 = geometry(app.ui.width, 0);
    const W = st.widths.query + g0.midW + st.widths.key, H = Math.min(st.lay.contentH, 12000);
    const cv = document.createElement("canvas");
    cv.width = Math.round(W * scale); cv.height = Math.round(H * scale);
    const ctx = cv.getContext("2d");
    ctx.scale(scale, scale);
    ctx.fillStyle = app.theme.bg; ctx.fillRect(0, 0, W, H);
    labelsTo((side, i, x, y, text, pinnedTok) => {
      ctx.font = `${pinnedTok ? "bold " : ""}12px ${app.theme.font}`;
      ctx.textBaseline = "middle";
      ctx.textAlign = side === "query" ? "right" : "left";
      if (pinnedTok) {
        const w = app.measure(text) + 10;
        ctx.fillStyle = app.theme.accent; ctx.globalAlpha = 0.18;
        ctx.fillRect(side === "query" ? x - w + 4 : x - 4, y - st.lay.rowH / 2 + 1, w, st.lay.rowH - 2);
        ctx.globalAlpha = 1;
      }
      ctx.fillStyle = app.theme.fg;
      ctx.fillText(text, x, y);
    }, g0);
    ctx.save(); ctx.translate(st.widths.query, 0);
    paintAll(ctx, { ...g0, yMin: 0, yMax: H }, true);
    ctx.restore();
    return cv;
  }

  function labelsTo(fn, g) {
    const p = pinned();
    for (const side of SIDES) {
      const n = side === "query" ? app.data.Q : app.data.K;
      for (let i = 0; i < n; i++) {
        const x = side === "query" ? st.widths.query - 8 : st.widths.query + g.midW + 8;
        const y = side === "query" ? g.yq(i) : g.yk(i);
        const text = truncateToWidth(app.label(side, i), st.widths[side] - 16, app.measure);
        fn(side, i, x, y, text, Boolean(p && p.side === side && p.index === i));
      }
    }
  }

  function exportSVG() {
    const d = app.data;
    if (!d || !st.lay) return null;
    const g = geometry(app.ui.width, 0);
    const W = st.widths.query + g.midW + st.widths.key, H = st.lay.contentH;
    const out = [];
    const font = escapeXml(app.theme.font);
    out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="${font}" font-size="12">`);
    out.push(`<rect width="100%" height="100%" fill="${app.theme.bg}"/>`);
    labelsTo((side, i, x, y, text, pin) => {
      if (pin) {
        const w = app.measure(text) + 10;
        out.push(`<rect x="${side === "query" ? x - w + 4 : x - 4}" y="${y - st.lay.rowH / 2 + 1}" width="${w}" height="${st.lay.rowH - 2}" rx="3" fill="${app.theme.accent}" fill-opacity="0.18" stroke="${app.theme.accent}"/>`);
      }
      out.push(`<text x="${x}" y="${y}" dominant-baseline="middle" text-anchor="${side === "query" ? "end" : "start"}" fill="${app.theme.fg}"${pin ? ' font-weight="bold"' : ""}>${escapeXml(text)}</text>`);
    }, g);
    // Vector lines via a recording context that mimics the calls paintAll makes.
    out.push(`<g transform="translate(${st.widths.query},0)">`);
    out.push(...svgRecorder((ctx) => paintAll(ctx, { ...g, yMin: 0, yMax: H }, true), app.measure));
    out.push("</g></svg>");
    return out.join("\n");
  }

  return { el, update, draw, exportCanvas, exportSVG, focusToken, destroy() {} };
}
