// Export helpers: XML escaping, Blob downloads, and a canvas-2D-to-SVG recorder, so views paint
// once through the same code for screen, PNG and SVG.

import { parseColor } from "./colors.js";
import { svgNumber as num } from "./format.js";

/** Escape text for XML content and attribute values. */
export function escapeXml(s) {
  return String(s).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&apos;" })[c])
    // characters XML 1.0 forbids (control chars) are dropped
    // eslint-disable-next-line no-control-regex
    .replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]/g, "");
}

/** Save a Blob as `filename` through a temporary <a download> inside `root`. */
export function downloadBlob(root, blob, filename) {
  const url = URL.createObjectURL(blob);
  const a = document.createElement("a");
  a.href = url;
  a.download = filename;
  a.style.display = "none";
  root.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10000);
}

function paintAttr(kind, style, alpha) {
  if (style && typeof style === "object" && style.__svgId) return `${kind}="url(#${style.__svgId})"${alpha < 1 ? ` ${kind}-opacity="${num(alpha)}"` : ""}`;
  const c = parseColor(String(style));
  if (!c) return `${kind}="${escapeXml(style)}"${alpha < 1 ? ` ${kind}-opacity="${num(alpha)}"` : ""}`;
  const a = c[3] * alpha;
  return `${kind}="rgb(${c[0]},${c[1]},${c[2]})"${a < 1 ? ` ${kind}-opacity="${num(Math.round(a * 1000) / 1000)}"` : ""}`;
}

/**
 * Run `paint(ctx)` against a recording 2D context and return SVG element strings.
 * Supports what the views use: paths (moveTo/lineTo/rect/arc), fillRect/strokeRect, fillText,
 * drawImage of canvases, linear gradients, patterns, save/restore, translate/rotate/scale.
 */
export function svgRecorder(paint, measure) {
  const out = [], defs = [];
  let ids = 0, path = [];
  let s = { fillStyle: "#000", strokeStyle: "#000", globalAlpha: 1, lineWidth: 1, font: "12px sans-serif", textAlign: "start", textBaseline: "alphabetic", m: [1, 0, 0, 1, 0, 0] };
  const stack = [];
  const tf = () => (s.m.join(",") === "1,0,0,1,0,0" ? "" : ` transform="matrix(${s.m.map(num).join(" ")})"`);
  const mul = (n) => { const [a, b, c, d, e, f] = s.m; s.m = [a * n[0] + c * n[1], b * n[0] + d * n[1], a * n[2] + c * n[3], b * n[2] + d * n[3], a * n[4] + c * n[5] + e, b * n[4] + d * n[5] + f]; };
  const ctx = {
    set fillStyle(v) { s.fillStyle = v; }, get fillStyle() { return s.fillStyle; },
    set strokeStyle(v) { s.strokeStyle = v; }, get strokeStyle() { return s.strokeStyle; },
    set globalAlpha(v) { s.globalAlpha = v; }, get globalAlpha() { return s.globalAlpha; },
    set lineWidth(v) { s.lineWidth = v; }, get lineWidth() { return s.lineWidth; },
    set font(v) { s.font = v; }, get font() { return s.font; },
    set textAlign(v) { s.textAlign = v; }, set textBaseline(v) { s.textBaseline = v; },
    lineCap: "butt", imageSmoothingEnabled: false,
    save() { stack.push({ ...s }); }, restore() { if (stack.length) s = stack.pop(); },
    translate(x, y) { mul([1, 0, 0, 1, x, y]); },
    scale(x, y) { mul([x, 0, 0, y, 0, 0]); },
    rotate(r) { const c = Math.cos(r), n = Math.sin(r); mul([c, n, -n, c, 0, 0]); },
    setTransform() { s.m = [1, 0, 0, 1, 0, 0]; },
    beginPath() { path = []; },
    moveTo(x, y) { path.push(`M${num(x)} ${num(y)}`); },
    lineTo(x, y) { path.push(`L${num(x)} ${num(y)}`); },
    closePath() { path.push("Z"); },
    rect(x, y, w, h) { path.push(`M${num(x)} ${num(y)}h${num(w)}v${num(h)}h${num(-w)}Z`); },
    arc(cx, cy, r) { path.push(`M${num(cx + r)} ${num(cy)}A${num(r)} ${num(r)} 0 1 0 ${num(cx - r)} ${num(cy)}A${num(r)} ${num(r)} 0 1 0 ${num(cx + r)} ${num(cy)}Z`); },
    clip() {},
    stroke() { if (path.length) out.push(`<path d="${path.join("")}" fill="none" ${paintAttr("stroke", s.strokeStyle, s.globalAlpha)} stroke-width="${num(s.lineWidth)}" stroke-linecap="round"${tf()}/>`); },
    fill() { if (path.length) out.push(`<path d="${path.join("")}" ${paintAttr("fill", s.fillStyle, s.globalAlpha)}${tf()}/>`); },
    fillRect(x, y, w, h) { out.push(`<rect x="${num(x)}" y="${num(y)}" width="${num(w)}" height="${num(h)}" ${paintAttr("fill", s.fillStyle, s.globalAlpha)}${tf()}/>`); },
    strokeRect(x, y, w, h) { out.push(`<rect x="${num(x)}" y="${num(y)}" width="${num(w)}" height="${num(h)}" fill="none" ${paintAttr("stroke", s.strokeStyle, s.globalAlpha)} stroke-width="${num(s.lineWidth)}"${tf()}/>`); },
    clearRect() {},
    measureText(t) { return { width: measure(t) }; },
    fillText(t, x, y) {
      const anchor = { center: "middle", end: "end", right: "end" }[s.textAlign] || "start";
      const base = { middle: "middle", top: "hanging", hanging: "hanging", bottom: "text-after-edge" }[s.textBaseline] || "alphabetic";
      out.push(`<text x="${num(x)}" y="${num(y)}" text-anchor="${anchor}" dominant-baseline="${base}" style="font: ${escapeXml(s.font)}" ${paintAttr("fill", s.fillStyle, s.globalAlpha)}${tf()}>${escapeXml(t)}</text>`);
    },
    drawImage(img, x, y, w, h) {
      const href = img.toDataURL ? img.toDataURL("image/png") : "";
      out.push(`<image href="${href}" x="${num(x)}" y="${num(y)}" width="${num(w ?? img.width)}" height="${num(h ?? img.height)}" preserveAspectRatio="none" style="image-rendering:pixelated"${s.globalAlpha < 1 ? ` opacity="${num(s.globalAlpha)}"` : ""}${tf()}/>`);
    },
    createLinearGradient(x0, y0, x1, y1) {
      const id = `g${++ids}`, stops = [];
      defs.push(() => `<linearGradient id="${id}" gradientUnits="userSpaceOnUse" x1="${num(x0)}" y1="${num(y0)}" x2="${num(x1)}" y2="${num(y1)}">${stops.join("")}</linearGradient>`);
      return { __svgId: id, addColorStop(o, c) { stops.push(`<stop offset="${num(o)}" stop-color="${escapeXml(c)}"/>`); } };
    },
    createPattern(img) {
      const id = `p${++ids}`;
      defs.push(() => `<pattern id="${id}" patternUnits="userSpaceOnUse" width="${img.width}" height="${img.height}"><image href="${img.toDataURL()}" width="${img.width}" height="${img.height}"/></pattern>`);
      return { __svgId: id };
    },
  };
  paint(ctx);
  return [`<defs>${defs.map((f) => f()).join("")}</defs>`, ...out];
}

/** A canvas of `w` × `h` CSS pixels at `scale`, painted by `paint(ctx)` (for PNG downloads). */
export function paintedCanvas(w, h, scale, paint) {
  const cv = document.createElement("canvas");
  cv.width = Math.round(w * scale); cv.height = Math.round(h * scale);
  const ctx = cv.getContext("2d");
  ctx.scale(scale, scale);
  paint(ctx);
  return cv;
}
