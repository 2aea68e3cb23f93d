// Explain view's query strip: a button per query token, a click pins it. A long sequence shows one page of
// STRIP_PAGE queries at a time, with ◀ ▶ buttons to the pages either side: the pinned query's page, or the
// one those buttons turned to (UI-only state; the next pin brings its own page back). Thousands of buttons
// took the explain tab's first opening 130–200 ms at T = 4,096, and every pin walked all of them.

import { h, setText, setAttrs, setHidden, afterLayout } from "./dom.js";

/** Query tokens on one page of the strip. */
export const STRIP_PAGE = 128;

/**
 * The page the strip shows: {page, start, end (exclusive), pages} for `n` queries, `page` the one shown
 * before, `pinned` the pinned query (or null) and `was` the pin at the last draw. A new pin shows its
 * own page; otherwise the page stays (clamped to the queries there are). DOM-free.
 */
export function stripPage(n, page, pinned, was) {
  const pages = Math.max(1, Math.ceil(n / STRIP_PAGE));
  let p = pinned != null && pinned !== was && pinned < n ? Math.floor(pinned / STRIP_PAGE) : page;
  p = Math.max(0, Math.min(pages - 1, p | 0));
  return { page: p, start: p * STRIP_PAGE, end: Math.min(n, (p + 1) * STRIP_PAGE), pages };
}

const span = (a, b) => (b - a === 1 ? `${a}` : `${a}–${b - 1}`);

/** The strip's parts: `el` (the group), its ◀ and ▶ buttons and the box the token buttons go in. */
export function createStrip(app) {
  const turn = (d) => h("button", { type: "button", class: "aw-btn aw-explain-page", "data-explain-page": String(d), hidden: true });
  const prev = turn(-1), next = turn(1);
  const toks = h("span", { class: "aw-explain-page-toks" });
  const el = h("div", { class: "aw-explain-tokens", role: "group", "aria-label": "query tokens: click to pin" }, [prev, toks, next]);
  return { app, el, prev, next, toks, page: 0, was: undefined, built: null, current: null, reveal: false, fresh: false };
}

/** Turn the strip `d` pages on (a ◀ or ▶ click): the pin stays where it is. */
export function turnPage(s, d) {
  s.page += d;
}

/** The strip for the pinned query `sq` (or null): its page's buttons, the pinned one marked. */
export function drawStrip(s, sq) {
  const { app } = s, tokens = app.get("query_tokens") || [];
  const pg = stripPage(tokens.length, s.page, sq, s.was);
  s.page = pg.page;
  s.was = sq;
  const key = `${pg.start}:${pg.end}`;
  if (s.built?.tokens !== tokens || s.built.key !== key) { // new tokens (a layer), or another page
    s.built = { tokens, key };
    s.current = null;
    s.toks.replaceChildren(...Array.from({ length: pg.end - pg.start }, (_, k) => {
      const i = pg.start + k;
      return h("button", { type: "button", class: "aw-explain-tok", "data-explain-query": i, "aria-pressed": "false", text: app.label("query", i), title: `query ${i}: ${app.token("query", i)}` });
    }));
    drawTurns(s, pg, tokens.length);
    s.reveal = s.fresh = true;
  }
  // only the buttons that change: a pin touches two of them, not the whole page
  const on = sq != null && sq >= pg.start && sq < pg.end ? s.toks.children[sq - pg.start] : null;
  if (on === s.current && !s.reveal) return;
  for (const [b, yes] of [[s.current, false], [on, true]]) {
    if (!b || on === s.current) continue;
    b.classList.toggle("aw-current", yes);
    setAttrs(b, { "aria-pressed": yes ? "true" : "false" });
  }
  s.current = on;
  keepInView(s, on, s.fresh);
  s.reveal = s.fresh = false;
}

/** The pinned button scrolled into the strip's view (an arrow key can walk the pin off it), or a page turned
 * to without it shown from its top; the frame after the pin or the turn: laid out by then, the reads cost
 * nothing, where in that frame they would lay the page out. */
function keepInView(s, b, fresh) {
  const el = s.el;
  afterLayout(el, () => {
    if (s.current !== b) return; // marked again since: that draw asked too
    if (!b) { if (fresh && el.scrollTop) el.scrollTop = 0; return; }
    const top = b.offsetTop, bottom = top + b.offsetHeight, view = el.clientHeight; // the strip is their offsetParent
    if (top < el.scrollTop) el.scrollTop = top;
    else if (bottom > el.scrollTop + view) el.scrollTop = bottom - view;
  });
}

function drawTurns(s, pg, n) {
  const { prev, next } = s;
  const doc = prev.ownerDocument, had = doc.activeElement;
  setHidden(prev, pg.page === 0);
  setHidden(next, pg.page >= pg.pages - 1);
  // the last page turned to hides the button that turned it: the focus goes to the other one
  if ((had === prev || had === next) && had.hidden) (had === prev ? next : prev).focus({ preventScroll: true });
  const before = [Math.max(0, pg.start - STRIP_PAGE), pg.start], after = [pg.end, Math.min(n, pg.end + STRIP_PAGE)];
  setText(prev, `◀ ${span(...before)}`);
  setText(next, `${span(...after)} ▶`);
  setAttrs(prev, { title: `queries ${span(...before)} of ${n}`, "aria-label": `previous queries, ${span(...before)} of ${n}` });
  setAttrs(next, { title: `queries ${span(...after)} of ${n}`, "aria-label": `next queries, ${span(...after)} of ${n}` });
}
