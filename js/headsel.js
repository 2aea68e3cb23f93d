// Which heads a view shows, and the patches the head controls send. The swatches choose the visible
// heads (`heads`); the matrix shows the one left when a single head is visible (solo), else the mean
// (or, with aggregate "max", the max) of the visible ones, and its head picker sets the same traits.
// DOM-free.

import { visibleHeads } from "./lines.js";

/** What the matrix shows: {kind: "head", head} | {kind: "mean" | "max", heads} | {kind: "none"}. */
export function matrixShows(heads, H, aggregate) {
  const vis = visibleHeads(heads, H);
  if (!vis.length) return { kind: "none", heads: vis };
  if (vis.length === 1) return { kind: "head", head: vis[0], heads: vis };
  return { kind: aggregate === "max" ? "max" : "mean", heads: vis };
}

/** "0–3, 5": runs of consecutive heads. */
export function headList(hs) {
  const out = [];
  for (let k = 0; k < hs.length;) {
    let e = k;
    while (e + 1 < hs.length && hs[e + 1] === hs[e] + 1) e++;
    out.push(e > k + 1 ? `${hs[k]}–${hs[e]}` : e === k + 1 ? `${hs[k]}, ${hs[e]}` : `${hs[k]}`);
    k = e + 1;
  }
  return out.join(", ");
}

/** Name of what matrixShows returned, for the legend and the picker: "head 3", "mean of heads 0–2, 5". */
export function shownName(s, H, headName = (hd) => `head ${hd}`) {
  if (s.kind === "none") return "no head shown";
  if (s.kind === "head") return headName(s.head);
  return `${s.kind} of ${s.heads.length === H ? `all ${H} heads` : `heads ${headList(s.heads)}`}`;
}

const all = (H) => Array.from({ length: H }, (_, i) => i);

/** A swatch click: show or hide head `hd`; `head` follows when one is left. */
export function togglePatch(heads, hd, H) {
  const cur = new Set(visibleHeads(heads, H));
  if (cur.has(hd)) cur.delete(hd); else cur.add(hd);
  const next = [...cur].sort((a, b) => a - b);
  return next.length === 1 ? { heads: next, head: next[0] } : { heads: next };
}

/** A swatch double-click: that head alone, or every head again when it already was alone. */
export function soloPatch(heads, hd, H) {
  const cur = visibleHeads(heads, H);
  return cur.length === 1 && cur[0] === hd ? { heads: all(H) } : { heads: [hd], head: hd };
}

/** The matrix's head picker: "h3" solos head 3; "mean" / "max" show that aggregate of the visible
 * heads (of all of them when one was alone). The graph's per-head lines stay unless "max" is picked. */
export function pickPatch(value, heads, H, aggregate) {
  if (value.startsWith("h")) { const hd = Number(value.slice(1)); return { heads: [hd], head: hd }; }
  const cur = visibleHeads(heads, H), patch = { heads: cur.length > 1 ? cur : all(H) };
  if (value === "max") patch.aggregate = "max";
  else if (aggregate === "max") patch.aggregate = "mean";
  return patch;
}

/** The picker's value for the current state. */
export function pickValue(s) {
  return s.kind === "head" ? `h${s.head}` : s.kind === "max" ? "max" : "mean";
}
