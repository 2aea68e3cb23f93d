// Explain view's wait for the kernel: a live pin's numbers come from Python after the click. A kernel that
// answers within STALE_AFTER ms changes the table with nothing shown in between, so the click's own frame
// touches no row; past that, the view dims the old numbers and says it is waiting (explain.js). Marking
// them at once cost the click's frame a repaint of the whole table, and the note above it moved the table
// down and back: 24–48 ms to the screen in JupyterLab at T = 512 (benchmarks/bench_browser.py).

/** How long (ms) a pin's old numbers stay as they are before they are marked stale. */
export const STALE_AFTER = 150;

/**
 * A wait for one pin at a time. `late(key)`: whether the pin `key` (null: nothing is waited for) has waited
 * `after` ms; a new key starts the clock, and `onLate()` is called when it runs out (to draw again).
 * `stop()` drops the clock.
 */
export function createWait(onLate, after = STALE_AFTER) {
  let key = null, late = false, timer = 0;
  const stop = () => {
    if (timer) clearTimeout(timer);
    timer = 0;
  };
  return {
    late(k) {
      if (k === key) return late;
      stop();
      key = k;
      late = false;
      if (k != null) timer = setTimeout(() => { timer = 0; late = true; onLate(); }, after);
      return false;
    },
    stop,
  };
}
