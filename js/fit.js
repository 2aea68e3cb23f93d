// reveal.js slides cannot scroll: a widget on a slide takes at most the height the slide's other
// content leaves it (shared equally by the rows of widgets on that slide, fragments counted as shown), and
// scrolls inside itself past that.

/** The reveal.js slide (a <section> in `.reveal .slides`) holding `root`, or null. */
export function slideOf(root) {
  return root.isConnected ? root.closest(".reveal .slides section") : null;
}

/**
 * Height (CSS px) each of the widgets of a slide may take: `slideH` less everything else on the slide
 * (`contentH` less the widgets' own heights `widgetHs`), shared equally, never below `min`.
 */
export function widgetBudget(slideH, contentH, widgetHs, { min = 160, margin = 8 } = {}) {
  const others = contentH - widgetHs.reduce((a, b) => a + b, 0);
  return Math.max(min, Math.floor((slideH - margin - others) / Math.max(1, widgetHs.length)));
}

/** The budget of the widget `root` on `section` now, or 0 when the slide is not laid out (hidden). */
export function measureBudget(root, section) {
  const slides = section.closest(".slides");
  const slideH = slides ? slides.offsetHeight : 0;
  if (!slideH || !section.offsetHeight) return 0;
  const roots = [...section.querySelectorAll(".attnwidget")].filter((r) => r.offsetParent && !r.parentElement.closest(".attnwidget"));
  if (!roots.includes(root)) return 0;
  return widgetBudget(slideH, section.scrollHeight, rowHeights(roots));
}

/** Heights of the rows `roots` make: widgets side by side (same top) share a row and its height. */
export function rowHeights(roots) {
  const rows = new Map();
  for (const r of roots) {
    const top = Math.round(r.getBoundingClientRect().top / 4);
    rows.set(top, Math.max(rows.get(top) || 0, r.offsetHeight));
  }
  return [...rows.values()];
}

/** The most a canvas's pixels are multiplied by for a scaled-up slide (memory: canvasSize caps the area too). */
const MAX_ZOOM = 3;

/** How many times larger than its layout `el` is shown, at least 1: reveal.js scales a 1280 × 720 slide up to a
 * larger screen (1.5 on 1920 × 1080), and a canvas drawn at its layout size would be blown up, blurred. */
export function shownZoom(el) {
  const w = el.offsetWidth;
  if (!w) return 1;
  return Math.min(MAX_ZOOM, Math.max(1, Math.round((el.getBoundingClientRect().width / w) * 100) / 100));
}

/**
 * Watch the slide of `root`: once it is on one, calls onBudget(px) at once (0 while the slide is not
 * laid out) and whenever the height it may take changes, and onZoom(z) when the slide shown is scaled
 * by another `shownZoom`. Returns a cleanup.
 */
export function watchSlide(root, onBudget, onZoom = () => {}) {
  let section = null, ro = null, timer = 0, tries = 0, last = -1, frame = 0, zoom = 1;
  const check = () => {
    if (!section) return;
    const b = measureBudget(root, section);
    if (b && b !== last) { last = b; onBudget(b); }
    // reveal.js centres a slide by its height when it lays out: again, now that the height changed; and
    // scales it to the window (on a resize too): read after that layout
    if (!frame && section.classList.contains("present")) {
      frame = requestAnimationFrame(() => {
        frame = 0;
        if (globalThis.Reveal?.isReady?.()) globalThis.Reveal.layout();
        const z = shownZoom(root);
        if (z !== zoom) { zoom = z; onZoom(z); }
      });
    }
  };
  const attach = () => {
    timer = 0;
    section = slideOf(root);
    if (!section) { if (!root.isConnected && ++tries < 50) timer = setTimeout(attach, 100); return; }
    if (typeof ResizeObserver !== "undefined") {
      ro = new ResizeObserver(check);
      ro.observe(section);
    }
    window.addEventListener("resize", check);
    last = measureBudget(root, section);
    onBudget(last);
  };
  attach();
  return () => {
    clearTimeout(timer);
    if (frame) cancelAnimationFrame(frame);
    if (ro) ro.disconnect();
    window.removeEventListener("resize", check);
  };
}
