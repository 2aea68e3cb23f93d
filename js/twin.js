// A live view and its static HTML copy (written beside it for exports, see js/static.js) sit in
// the same output area: with a kernel, only the live one is shown.

export function hideStaticTwin(el, uid) {
  if (!uid) return () => {};
  let tries = 0;
  let timer = 0;
  const attempt = () => {
    timer = 0;
    if (el.closest(".attnwidget-static")) return; // a static copy never hides itself
    // `el` is attached to the page only after render() returns: look again until it is.
    if (!el.isConnected) { if (++tries < 50) timer = setTimeout(attempt, 100); return; }
    const area = el.closest(".jp-OutputArea");
    if (!area) return;
    for (const box of area.querySelectorAll(`.attnwidget-static[data-aw-uid="${uid}"]`)) {
      (box.closest(".jp-OutputArea-child") || box).style.display = "none";
    }
  };
  attempt();
  return () => clearTimeout(timer);
}
