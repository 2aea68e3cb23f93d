// Work in steps: a generator that yields between pieces of a long computation (choosing the graph's lines,
// painting them), so that idle time can run it in slices (dom.js stepWhenIdle) and a frame all at once.

/** Run `steps` (a generator) to its end; returns what it returns. */
export function drain(steps) {
  for (;;) {
    const r = steps.next();
    if (r.done) return r.value;
  }
}
