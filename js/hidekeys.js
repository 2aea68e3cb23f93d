// Hiding the first key (an attention sink such as <s>): a checkbox over the synced `hidden_keys`, which
// Python turns into each query's weights renormalised over the other keys (attnwidget/hide.py). Only a
// live view offers it, where Python says it can (`_can_hide`: softmax weights); a static copy shows the
// weights it was made with, and the notice says what is hidden. Weights from queries and keys take a tile
// pass to hide a key (seconds at tens of thousands of tokens): past STALE_AFTER ms the label says so.

import { h, setAttrs, setHidden, setText } from "./dom.js";
import { createWait } from "./explainwait.js";

/** The views drawn from the weights, where the checkbox shows (explain keeps the layer's own numbers). */
const VIEWS = new Set(["graph", "matrix", "heads", "model"]);

export function createHideKey(app) {
  const box = h("input", { type: "checkbox", class: "aw-hide-first" });
  const label = h("span", { class: "aw-ctl-label" });
  const el = h("label", { class: "aw-ctl", hidden: true,
    title: "leave the first key out of the views and renormalise each query's weights over the other keys "
      + "(an attention sink such as <s> or [CLS] takes most of each row)" }, [box, label]);
  // a click waits for the weights it asked for (`_data` from the kernel): `asked` is the data it saw, `n` counts clicks
  const st = { asked: null, n: 0 }, wait = createWait(() => app.invalidate());
  app.dis.add(wait.stop);
  app.dis.listen(box, "change", () => {
    const rest = (app.get("hidden_keys") || []).filter((j) => j !== 0);
    st.asked = app.data;
    st.n += 1;
    app.set({ hidden_keys: box.checked ? [0, ...rest] : rest });
  });
  return {
    el,
    update() {
      const d = app.data, on = (app.get("hidden_keys") || []).includes(0);
      const offered = Boolean(d && d.K > 1 && app.get("_can_hide") && !app.ui.static && VIEWS.has(app.get("view")));
      if (st.asked && d !== st.asked) st.asked = null; // the new weights came
      const late = wait.late(st.asked ? st.n : null);
      setHidden(el, !offered);
      if (!offered) return;
      // written only when it changes: a write restyles
      setText(label, `hide ‘${app.label("key", 0)}’${late ? " (computing…)" : ""}`);
      setAttrs(el, { "aria-busy": late ? "true" : null });
      if (box.checked !== on && !st.asked) box.checked = on;
    },
  };
}

/** The notice of what the views leave out: "key 0 ‘<s>’ hidden: …" (`hidden`: the key indices of this layer). */
export function hiddenNotice(app, hidden) {
  const named = hidden.map((j) => `${j} ‘${app.label("key", j)}’`).join(", ");
  return `key${hidden.length === 1 ? "" : "s"} ${named} hidden: each query's weights renormalised over the other keys `
    + "(the explain view shows the layer's own)";
}
