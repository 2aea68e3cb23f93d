// A hidden view's first showing, made ahead. Chromium (without a GPU) makes the compositor's layers and canvas
// resources of a view in the frame it is first shown: 5-6 ms more than its later showings, enough to take a
// tab's or a card's first click past one frame (T = 512, 2 cores). Shown once for one frame, in idle time after
// its preparation, nearly transparent (at opacity 0 the compositor skips it and makes nothing), behind the view
// shown, hidden from assistive technology and clipped to the body, it keeps them once hidden again.
// A 2D canvas (the graph's) is handed over anew at each of its first two showings (a trace: the commit's
// DoUpdateLayers 1.5 ms, then 0.13 from the third on), so such a view is shown so twice.

import { onIdle } from "./dom.js";

/** `el` shown for one frame as `.aw-warm` (styles.css) when the page is idle, if it is hidden then, and its own
 * preparation done (`busy()` false: a canvas painted after would be handed over again at the first showing);
 * `times` times in all, each in idle time after the last. `job` ({idle: 0}) is the view's; `job.done` once it
 * was warmed so often or shown. */
export function warmWhenIdle(app, el, job, busy = () => false, times = 1) {
  if (job.done) return;
  job.left ??= times;
  onIdle(job, app.dis, function warm() {
    // warming now: the frame that ends it asks for the next
    if (!el.hidden || job.done || el.classList.contains("aw-warm")) return;
    if (busy()) { onIdle(job, app.dis, warm); return; }
    job.done = --job.left <= 0;
    // aria-hidden, not inert: inert, set and unset, restyles every element inside at the first showing (styles.css)
    el.classList.add("aw-warm");
    el.setAttribute("aria-hidden", "true");
    requestAnimationFrame(() => requestAnimationFrame(() => {
      el.classList.remove("aw-warm");
      el.removeAttribute("aria-hidden");
      if (!job.done) onIdle(job, app.dis, warm);
    }));
  });
}
