// Colours: per-head palette, sequential and diverging scales, legend stops. DOM-free.

// Head palettes, by the names of the `palette` trait (attnwidget/protocol.py). "default": Tableau 10
// without its grey (a grey head would read as "disabled"), teal in its place, and its light yellow
// replaced by Tableau 20's ochre (yellow lines vanish on white); its red and green look alike to
// deuteranopes. Colour-blind safe: Okabe & Ito's (2008) 8 colours less their light yellow, black last
// (white on a dark page), and Paul Tol's "bright" less its grey. Every colour is darkened to MIN_CONTRAST
// on white (Tol's yellow becomes an ochre). Heads past a palette's end get golden-angle hues, which no
// palette keeps apart for every reader.
export const PALETTES = {
  default: ["#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#b6992d", "#b07aa1", "#ff9da7", "#9c755f", "#17becf"],
  "okabe-ito": ["#e69f00", "#56b4e9", "#009e73", "#0072b2", "#d55e00", "#cc79a7", "#000000"],
  "tol-bright": ["#4477aa", "#ee6677", "#228833", "#ccbb44", "#66ccee", "#aa3377"],
};
/** What the palette control says of each. */
export const PALETTE_LABELS = { default: "default", "okabe-ito": "Okabe–Ito", "tol-bright": "Tol bright" };
/** Least contrast (WCAG) of a head's colour against a white background: thin lines stay visible. */
export const MIN_CONTRAST = 2.2;
const GOLDEN_ANGLE = 137.50776405003785;

export function hexToRgb(hex) {
  const h = hex.replace("#", "");
  const f = h.length === 3 ? h.split("").map((c) => c + c).join("") : h;
  return [parseInt(f.slice(0, 2), 16), parseInt(f.slice(2, 4), 16), parseInt(f.slice(4, 6), 16)];
}

export function rgbToHex([r, g, b]) {
  const c = (v) => Math.round(Math.min(255, Math.max(0, v))).toString(16).padStart(2, "0");
  return `#${c(r)}${c(g)}${c(b)}`;
}

/** Parse "#rgb", "#rrggbb", "rgb(r, g, b)" or "rgba(r, g, b, a)" into [r, g, b, a]; null if not. */
export function parseColor(s) {
  if (typeof s !== "string") return null;
  const t = s.trim();
  if (/^#([0-9a-f]{3}|[0-9a-f]{6})$/i.test(t)) return [...hexToRgb(t), 1];
  const m = t.match(/^rgba?\(\s*([\d.]+)[\s,]+([\d.]+)[\s,]+([\d.]+)(?:[\s,/]+([\d.]+%?))?\s*\)$/i);
  if (!m) return null;
  let a = m[4] === undefined ? 1 : parseFloat(m[4]);
  if (m[4] && m[4].endsWith("%")) a /= 100;
  return [+m[1], +m[2], +m[3], a];
}

function hslToRgb(h, s, l) {
  h = ((h % 360) + 360) % 360;
  const c = (1 - Math.abs(2 * l - 1)) * s;
  const x = c * (1 - Math.abs(((h / 60) % 2) - 1));
  const m = l - c / 2;
  const [r, g, b] = h < 60 ? [c, x, 0] : h < 120 ? [x, c, 0] : h < 180 ? [0, c, x]
    : h < 240 ? [0, x, c] : h < 300 ? [x, 0, c] : [c, 0, x];
  return [(r + m) * 255, (g + m) * 255, (b + m) * 255];
}

function srgbToLinear(v) {
  v /= 255;
  return v <= 0.04045 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4;
}

/** Relative luminance (WCAG) of [r, g, b]. */
export function luminance([r, g, b]) {
  return 0.2126 * srgbToLinear(r) + 0.7152 * srgbToLinear(g) + 0.0722 * srgbToLinear(b);
}

/** CIE L*a*b* of [r, g, b] (D65). */
export function rgbToLab([r, g, b]) {
  const R = srgbToLinear(r), G = srgbToLinear(g), B = srgbToLinear(b);
  const X = (0.4124 * R + 0.3576 * G + 0.1805 * B) / 0.95047;
  const Y = 0.2126 * R + 0.7152 * G + 0.0722 * B;
  const Z = (0.0193 * R + 0.1192 * G + 0.9505 * B) / 1.08883;
  const f = (t) => (t > 216 / 24389 ? Math.cbrt(t) : (24389 / 27 * t + 16) / 116);
  return [116 * f(Y) - 16, 500 * (f(X) - f(Y)), 200 * (f(Y) - f(Z))];
}

/** WCAG contrast ratio of two colours [r, g, b]. */
export function contrast(c1, c2) {
  const a = luminance(c1), b = luminance(c2);
  return (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
}

/** Darken `rgb` until it has MIN_CONTRAST against white. */
function onWhite(rgb) {
  let c = rgb;
  while (contrast(c, [255, 255, 255]) < MIN_CONTRAST) c = c.map((v) => v * 0.94);
  return c;
}

/** Euclidean distance in L*a*b* (CIE76 delta E). */
export function deltaE(c1, c2) {
  const a = rgbToLab(c1), b = rgbToLab(c2);
  return Math.hypot(a[0] - b[0], a[1] - b[1], a[2] - b[2]);
}

const madeHeadColors = new Map(); // headColor's, by palette, theme and head

/**
 * Colour of head `i` (hex) in `palette` (a name of PALETTES; an unknown name is "default"). The palette's
 * colours first; further heads use golden-angle hue spacing with alternating lightness, so neighbours
 * never look alike. `dark`: lighten for dark backgrounds (black becomes white there). Kept once made: the
 * views ask for it per line and bar at every pin, and the contrast search behind it is a loop.
 */
export function headColor(i, dark = false, palette = "default") {
  const key = `${palette}|${dark}|${i}`;
  let c = madeHeadColors.get(key);
  if (c === undefined) madeHeadColors.set(key, (c = makeHeadColor(i, dark, palette)));
  return c;
}

function makeHeadColor(i, dark, palette) {
  const cat = Object.hasOwn(PALETTES, palette) ? PALETTES[palette] : PALETTES.default;
  if (i < cat.length && !dark) return rgbToHex(onWhite(hexToRgb(cat[i])));
  let rgb;
  if (i < cat.length) {
    rgb = cat[i] === "#000000" ? [255, 255, 255] : hexToRgb(cat[i]).map((v) => v + (255 - v) * 0.18);
  } else {
    const k = i - cat.length;
    const hue = 20 + k * GOLDEN_ANGLE;
    const light = [0.42, 0.58, 0.34, 0.66][k % 4] + (dark ? 0.08 : 0);
    const sat = [0.75, 0.6, 0.85, 0.5][Math.floor(k / 4) % 4];
    rgb = hslToRgb(hue, sat, Math.min(0.8, light));
  }
  return rgbToHex(dark ? rgb : onWhite(rgb));
}

/** Colours for `n` heads. */
export function headColors(n, dark = false, palette = "default") {
  return Array.from({ length: n }, (_, i) => headColor(i, dark, palette));
}

// Sequential ramps, light-to-dark on light themes (like matplotlib "Blues"),
// dark-to-bright on dark themes (magma-like), so 0 always blends with the background.
const SEQ_LIGHT = ["#f7fbff", "#deebf7", "#c6dbef", "#9ecae1", "#6baed6", "#4292c6", "#2171b5", "#08519c", "#08306b"];
const SEQ_DARK = ["#120f1f", "#251a45", "#3b0f70", "#641a80", "#8c2981", "#b73779", "#de4968", "#f7705c", "#fe9f6d", "#fecf92", "#fcfdbf"];
const DIV_LIGHT = ["#b2182b", "#d6604d", "#f4a582", "#fddbc7", "#f7f7f7", "#d1e5f0", "#92c5de", "#4393c3", "#2166ac"];
const DIV_DARK = ["#f4a582", "#d6604d", "#a33d3d", "#5a2a2a", "#2a2a2a", "#24405a", "#2f6a99", "#4393c3", "#92c5de"];

const cache = new Map();
function table(stops) {
  let t = cache.get(stops);
  if (t) return t;
  const rgb = stops.map(hexToRgb);
  t = new Uint8ClampedArray(256 * 3);
  for (let i = 0; i < 256; i++) {
    const x = (i / 255) * (rgb.length - 1);
    const a = Math.min(rgb.length - 2, Math.floor(x)), f = x - a;
    for (let c = 0; c < 3; c++) t[i * 3 + c] = Math.round(rgb[a][c] + (rgb[a + 1][c] - rgb[a][c]) * f);
  }
  cache.set(stops, t);
  return t;
}

/** 256-entry RGB lookup table (Uint8ClampedArray of 768) of the sequential scale. */
export function sequentialTable(dark = false) {
  return table(dark ? SEQ_DARK : SEQ_LIGHT);
}

/** 256-entry RGB lookup table of the diverging scale (index 128 = zero). */
export function divergingTable(dark = false) {
  return table(dark ? DIV_DARK : DIV_LIGHT);
}

/** Colour [r, g, b] of fraction t in [0, 1] on the sequential scale. */
export function sequential(t, dark = false) {
  const tb = sequentialTable(dark);
  const i = Math.round(Math.min(1, Math.max(0, Number.isFinite(t) ? t : 0)) * 255);
  return [tb[i * 3], tb[i * 3 + 1], tb[i * 3 + 2]];
}

/** Colour [r, g, b] of t in [-1, 1] on the diverging scale. */
export function diverging(t, dark = false) {
  const tb = divergingTable(dark);
  const x = Math.min(1, Math.max(-1, Number.isFinite(t) ? t : 0));
  const i = Math.round((x + 1) * 127.5);
  return [tb[i * 3], tb[i * 3 + 1], tb[i * 3 + 2]];
}

/** Legend stops: n evenly spaced {offset: 0..1, value, color: "#rrggbb"} between lo and hi. */
export function legendStops(lo, hi, n = 5, dark = false) {
  return Array.from({ length: n }, (_, k) => {
    const t = n === 1 ? 0 : k / (n - 1);
    return { offset: t, value: lo + t * (hi - lo), color: rgbToHex(sequential(t, dark)) };
  });
}

/** Masked-cell colours (distinct from the scale's ends): [fill, hatch]. */
export function maskColors(dark = false) {
  return dark ? ["#3a3a3a", "#6a6a6a"] : ["#d9d9d9", "#a0a0a0"];
}

export function rgba([r, g, b], a = 1) {
  return `rgba(${Math.round(r)},${Math.round(g)},${Math.round(b)},${a})`;
}

/** True when [lo, hi] straddles zero: signed values (differences) get the diverging scale. */
export function isDiverging(lo, hi) {
  return lo < 0 && hi > 0;
}

/**
 * 256-entry RGB lookup table from a quantized byte (lo..hi mapped to 0..255) to its colour:
 * the sequential scale, or, when lo < 0 < hi, the diverging scale centred on 0 (white) and
 * symmetric (±max(|lo|, hi)), so equal magnitudes get equal strength on both sides.
 */
export function scaleTable(lo, hi, dark = false) {
  return isDiverging(lo, hi) ? rangeTable(lo, hi, lo, hi, dark) : sequentialTable(dark);
}

/**
 * scaleTable for bytes quantized over [lo, hi] but coloured by the scale of [vlo, vhi] (values past
 * it take its end colour): a scale stretched to the shown data's max, or one scale for data
 * quantized over different ranges.
 */
export function rangeTable(lo, hi, vlo, vhi, dark = false) {
  const key = `${lo}|${hi}|${vlo}|${vhi}|${dark}`;
  let t = cache.get(key);
  if (t) return t;
  const div = isDiverging(vlo, vhi), src = div ? divergingTable(dark) : sequentialTable(dark), m = Math.max(-vlo, vhi);
  t = new Uint8ClampedArray(256 * 3);
  for (let q = 0; q < 256; q++) {
    const v = lo + (q * (hi - lo)) / 255;
    const f = div ? (Math.min(1, Math.max(-1, v / m)) + 1) / 2 : Math.min(1, Math.max(0, (v - vlo) / (vhi - vlo || 1)));
    const i = Math.round(f * 255);
    for (let c = 0; c < 3; c++) t[q * 3 + c] = src[i * 3 + c];
  }
  if (cache.size > 64) cache.clear();
  cache.set(key, t);
  return t;
}

/** Legend stops of the scale `scaleTable(lo, hi)` uses: offsets over [lo, hi] with their colours. */
export function scaleStops(lo, hi, n = 9, dark = false) {
  if (!isDiverging(lo, hi)) return legendStops(lo, hi, n, dark);
  const m = Math.max(-lo, hi);
  return Array.from({ length: n }, (_, k) => {
    const t = n === 1 ? 0 : k / (n - 1), value = lo + t * (hi - lo);
    return { offset: t, value, color: rgbToHex(diverging(value / m, dark)) };
  });
}
