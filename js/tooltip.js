// Tooltip inside the widget root (absolute, so it works inside any output area).

import { h, setAttrs, setHidden } from "./dom.js";
import { formatValue } from "./format.js";
import { truncate } from "./layout.js";

const TITLE_CHARS = 400; // tokens in a title are cut already (displayToken); this bounds the rest (layer names)

/** What "≈" means: 8-bit values are within 1/510 of the scale; a live view loads exact ones for the pinned token. */
function approxNote(root) {
  const live = !root.closest(".attnwidget-static"); // a static copy has no kernel to ask
  return `≈ 8-bit value, within 1/510 of the scale${live ? "; exact values load for the pinned token" : " (static copy: run the cell for exact values)"}`;
}

export function createTooltip(root) {
  const el = h("div", { class: "aw-tooltip", role: "tooltip", hidden: true });
  root.append(el);
  let shows = null; // what the tooltip holds now (JSON of title, rows, note): a move within one cell rebuilds nothing
  const tip = { el, show, hide, serial: 0 }; // serial: counts shows and hides (what is shown may have changed)

  /**
   * anchor: an Element or {rect} (placed beside it, away from the centre), or {x, y} (client coordinates).
   * rows: [{name, color, value, exact}] shown as a small table.
   */
  function show(anchor, title, rows = [], note = null) {
    tip.serial++;
    // where it goes is read before anything is written (a read after the writes would lay the page out in
    // this event or frame); its own size is not read: it goes on the side of the anchor away from the
    // centre (translateX(-100%) on the left) and may be as wide as the room there
    const rr = root.getBoundingClientRect();
    let x, y, left;
    if (anchor instanceof Element || anchor.rect) {
      const a = anchor.rect || anchor.getBoundingClientRect();
      left = a.left + a.width / 2 > rr.left + rr.width / 2;
      x = left ? a.left - rr.left - 8 : a.right - rr.left + 8;
      y = a.top - rr.top - 4;
    } else {
      left = anchor.x > rr.left + rr.width / 2;
      x = left ? anchor.x - rr.left - 14 : anchor.x - rr.left + 14;
      y = anchor.y - rr.top + 14;
    }
    const room = Math.max(60, Math.floor(left ? x - 2 : rr.width - x - 2));
    const what = JSON.stringify([title, rows, note]);
    if (what !== shows) { el.replaceChildren(...content(title, rows, note)); shows = what; }
    setHidden(el, false);
    setAttrs(el, { style: { left: `${Math.round(x)}px`, top: `${Math.round(Math.max(2, y))}px`, transform: left ? "translateX(-100%)" : "none",
      maxWidth: `min(calc(360 * var(--aw-u, 1px)), ${room}px)` } });
  }

  /** The tooltip's children: its title, a row per head (name, colour, value) and notes. */
  function content(title, rows, note) {
    const kids = [h("div", { class: "aw-tip-title", text: truncate(title, TITLE_CHARS) })];
    if (rows.length) {
      const tbl = h("div", { class: "aw-tip-rows" });
      for (const r of rows) {
        tbl.append(
          h("span", { class: "aw-tip-dot", style: { background: r.color } }),
          h("span", { class: "aw-tip-name", text: r.name }),
          h("span", { class: "aw-tip-val", text: r.masked ? "masked" : r.below ? `< ${formatValue(r.value)}` : formatValue(r.value) + (r.exact ? "" : " ≈") }),
        );
      }
      kids.push(tbl);
      if (rows.some((r) => !r.exact && !r.masked && !r.below)) kids.push(h("div", { class: "aw-tip-note", text: approxNote(root) }));
      if (rows.some((r) => r.below && !r.masked)) kids.push(h("div", { class: "aw-tip-note", text: "< : not among this query's top keys, below its smallest top-k value; pin a token for exact values" }));
    }
    if (note) kids.push(h("div", { class: "aw-tip-note", text: note }));
    return kids;
  }

  function hide() {
    tip.serial++;
    setHidden(el, true);
  }

  return tip;
}
