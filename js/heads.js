// Heads view: a grid of per-head thumbnails with max weight and mean entropy.

import { h } from "./dom.js";
import { gridLayout } from "./layout.js";
import { scaleTable, maskColors } from "./colors.js";
import { escapeXml } from "./export.js";

export function createHeads(app) {
  const { dis } = app;
  const grid = h("div", { class: "aw-heads-grid", role: "list" });
  const hint = h("div", { class: "aw-hint", text: "click a head to open it in the matrix view" });
  const el = h("div", { class: "aw-heads" }, [hint, grid]);
  const st = { cards: [], key: "" };

  function paintThumb(canvas, hd) {
    const d = app.data, R = d.sparse ? d.Pq : d.Q, C = d.sparse ? d.Pk : d.K, n = R * C;
    const mask = d.sparse ? d.poolMask : d.mask;
    canvas.width = C; canvas.height = R;
    const ctx = canvas.getContext("2d");
    const img = ctx.createImageData(C, R);
    const tb = scaleTable(d.lo, d.hi, app.theme.dark);
    const mk = maskColors(app.theme.dark)[0];
    const m = [1, 3, 5].map((o) => parseInt(mk.slice(o, o + 2), 16));
    const q = d.sparse ? d.pool : d.q, off = hd * n; // sparse: the max-pooled overview
    for (let c = 0; c < n; c++) {
      const o = c * 4;
      if (mask && !mask[c]) { img.data[o] = m[0]; img.data[o + 1] = m[1]; img.data[o + 2] = m[2]; }
      else { const v = q[off + c] * 3; img.data[o] = tb[v]; img.data[o + 1] = tb[v + 1]; img.data[o + 2] = tb[v + 2]; }
      img.data[o + 3] = 255;
    }
    ctx.putImageData(img, 0, 0);
  }

  const stats = (hd) => {
    const d = app.data;
    const mx = d.headMax[hd], en = d.headEntropy[hd];
    return `max ${Number.isFinite(mx) ? (Math.abs(mx) < 10 ? mx.toFixed(3) : mx.toPrecision(4)) : "–"} · entropy ${Number.isFinite(en) ? en.toFixed(2) : "–"}`;
  };

  function build() {
    const d = app.data;
    grid.replaceChildren();
    st.cards = [];
    if (!d) return;
    for (let hd = 0; hd < d.H; hd++) {
      const canvas = h("canvas", { class: "aw-thumb", "aria-hidden": "true" });
      const name = h("span", { class: "aw-head-name" }, [h("span", { class: "aw-swatch-dot" }), h("span", { text: app.headName(hd) })]);
      const card = h("button", { type: "button", class: "aw-head-card", "data-head": hd, role: "listitem", title: `${app.headName(hd)}: open in the matrix view` },
        [canvas, name, h("span", { class: "aw-head-stats", text: stats(hd) })]);
      paintThumb(canvas, hd);
      grid.append(card);
      st.cards.push({ card, canvas, name });
    }
    st.key = `${app.theme.dark}`;
  }

  function draw() {
    const d = app.data;
    if (!d) return;
    if (!st.cards.length || st.key !== `${app.theme.dark}`) build();
    hint.textContent = `click a head to open it in the matrix view${d.sparse ? ` · each cell: max of a ${d.bq}×${d.bk} block` : ""}`;
    const { cols, size } = gridLayout(d.H, app.ui.width - 4, { min: 130, max: 220 });
    grid.style.gridTemplateColumns = `repeat(${cols}, ${size}px)`;
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
      card.setAttribute("aria-label", `${app.headName(hd)}, ${stats(hd)}${visible.has(hd) ? "" : ", hidden in the graph"}`);
    });
  }

  function update(changed) {
    if (changed.has("_data") || changed.has("head_names")) st.cards = [];
  }

  dis.listen(grid, "click", (e) => {
    const card = e.target.closest?.("button.aw-head-card");
    if (!card || !grid.contains(card)) return;
    const hd = Number(card.dataset.head);
    const patch = { head: hd, view: "matrix" };
    if (app.get("aggregate") !== "none") patch.aggregate = "none";
    app.set(patch);
  });

  function layoutFor(scale) {
    const d = app.data;
    const { cols, size } = gridLayout(d.H, app.ui.width - 4, { min: 130, max: 220 });
    const rows = Math.ceil(d.H / cols), cellH = size + 40;
    return { cols, size, rows, cellH, W: cols * (size + 10), H: rows * (cellH + 10), scale };
  }

  function exportCanvas(scale = 2) {
    const d = app.data;
    if (!d) return null;
    if (!st.cards.length) build();
    const L = layoutFor(scale), th = app.theme;
    const cv = document.createElement("canvas");
    cv.width = L.W * scale; cv.height = L.H * scale;
    const ctx = cv.getContext("2d");
    ctx.scale(scale, scale);
    ctx.fillStyle = th.bg; ctx.fillRect(0, 0, L.W, L.H);
    ctx.imageSmoothingEnabled = false;
    st.cards.forEach(({ canvas }, hd) => {
      const x = (hd % L.cols) * (L.size + 10), y = Math.floor(hd / L.cols) * (L.cellH + 10);
      const s = L.size - 12, aspect = d.Q / d.K;
      ctx.drawImage(canvas, x + 6, y + 6, aspect > 1 ? s / aspect : s, aspect > 1 ? s : s * aspect);
      ctx.fillStyle = app.headColor(hd); ctx.fillRect(x + 6, y + L.size + 2, 10, 10);
      ctx.fillStyle = th.fg; ctx.font = `12px ${th.font}`; ctx.textBaseline = "middle";
      ctx.fillText(app.headName(hd), x + 22, y + L.size + 7);
      ctx.fillStyle = th.fg2; ctx.font = `11px ${th.font}`;
      ctx.fillText(stats(hd), x + 6, y + L.size + 24);
    });
    return cv;
  }

  function exportSVG() {
    const d = app.data;
    if (!d) return null;
    if (!st.cards.length) build();
    const L = layoutFor(1), th = app.theme, f = escapeXml(th.font);
    const out = [`<svg xmlns="http://www.w3.org/2000/svg" width="${L.W}" height="${L.H}" font-family="${f}">`, `<rect width="100%" height="100%" fill="${th.bg}"/>`];
    st.cards.forEach(({ canvas }, hd) => {
      const x = (hd % L.cols) * (L.size + 10), y = Math.floor(hd / L.cols) * (L.cellH + 10);
      const s = L.size - 12, aspect = d.Q / d.K;
      out.push(`<image href="${canvas.toDataURL()}" x="${x + 6}" y="${y + 6}" width="${aspect > 1 ? s / aspect : s}" height="${aspect > 1 ? s : s * aspect}" preserveAspectRatio="none" style="image-rendering:pixelated"/>`);
      out.push(`<rect x="${x + 6}" y="${y + L.size + 2}" width="10" height="10" fill="${app.headColor(hd)}"/>`);
      out.push(`<text x="${x + 22}" y="${y + L.size + 11}" font-size="12" fill="${th.fg}">${escapeXml(app.headName(hd))}</text>`);
      out.push(`<text x="${x + 6}" y="${y + L.size + 28}" font-size="11" fill="${th.fg2}">${escapeXml(stats(hd))}</text>`);
    });
    out.push("</svg>");
    return out.join("\n");
  }

  return { el, update, draw, exportCanvas, exportSVG, destroy() {} };
}
