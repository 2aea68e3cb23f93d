// Hiding the first key (an attention sink such as <s>): a checkbox over the synced `hidden_keys`, which
// Python turns into each query's weights renormalised over the other keys (attnwidget/hide.py). Only a
// live view offers it, where Python says it can (`_can_hide`: softmax weights in arrays); a static copy
// shows the weights it was made with, and the notice says what is hidden.

import { h, setHidden, setText } from "./dom.js";

/** The views drawn from the weights, where the checkbox shows (explain keeps the layer's own numbers). */
const VIEWS = new Set(["graph", "matrix", "heads", "model"]);

export function createHideKey(app) {
  const box = h("input", { type: "checkbox", class: "aw-hide-first" });
  const label = h("span", { class: "aw-ctl-label" });
  const el = h("label", { class: "aw-ctl", hidden: true,
    title: "leave the first key out of the views and renormalise each query's weights over the other keys "
      + "(an attention sink such as <s> or [CLS] takes most of each row)" }, [box, label]);
  app.dis.listen(box, "change", () => {
    const rest = (app.get("hidden_keys") || []).filter((j) => j !== 0);
    app.set({ hidden_keys: box.checked ? [0, ...rest] : rest });
  });
  return {
    el,
    update() {
      const d = app.data, on = (app.get("hidden_keys") || []).includes(0);
      const offered = Boolean(d && d.K > 1 && app.get("_can_hide") && !app.ui.static && VIEWS.has(app.get("view")));
      setHidden(el, !offered);
      if (!offered) return;
      setText(label, `hide ‘${app.label("key", 0)}’`); // written only when it changes: a write restyles
      if (box.checked !== on) box.checked = on;
    },
  };
}

/** The notice of what the views leave out: "key 0 ‘<s>’ hidden: …" (`hidden`: the key indices of this layer). */
export function hiddenNotice(app, hidden) {
  const named = hidden.map((j) => `${j} ‘${app.label("key", j)}’`).join(", ");
  return `key${hidden.length === 1 ? "" : "s"} ${named} hidden: each query's weights renormalised over the other keys `
    + "(the explain view shows the layer's own)";
}
