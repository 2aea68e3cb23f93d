// Hiding keys (an attention sink such as <s>, a separator such as [SEP]): checkboxes over the synced
// `hidden_keys`, which Python turns into each query's weights renormalised over the other keys
// (attnwidget/hide.py). One box for the first key, where a sink sits, and one for the pinned key, whatever
// it is (click a key token, or a matrix cell, to offer it). Only a live view offers them, where Python says
// it can (`_can_hide`: softmax weights); a static copy shows the weights it was made with, and the notice
// says what is hidden. Weights from queries and keys take a tile pass to hide a key (seconds at tens of
// thousands of tokens): past STALE_AFTER ms the labels say so, with how far the kernel is (`_progress`). A box
// asks Python (askHide), which runs the pass in a thread of its own: unticking it meanwhile stops the pass.

import { h, setAttrs, setHidden, setText } from "./dom.js";
import { createWait } from "./explainwait.js";
import { computing, askPass } from "./busy.js";

/** The views drawn from the weights, where the checkboxes show (explain keeps the layer's own numbers). */
const VIEWS = new Set(["graph", "matrix", "heads", "model"]);
const RENORMALISE = "out of the views and renormalise each query's weights over the other keys";
const TITLES = [`leave the first key ${RENORMALISE} (an attention sink such as <s> or [CLS] takes most of each row)`,
  `leave the pinned key ${RENORMALISE} (a separator such as [SEP], or a full stop, can take much of each row)`];

/** One key's checkbox (`cls`: its class); `j`, the key it hides now, is set at each update (null: not offered). */
function keyBox(cls, title) {
  const box = h("input", { type: "checkbox", class: cls });
  const label = h("span", { class: "aw-ctl-label" });
  return { box, label, el: h("label", { class: "aw-ctl", hidden: true, title }, [box, label]), j: null };
}

export function createHideKey(app) {
  const boxes = [keyBox("aw-hide-first", TITLES[0]), keyBox("aw-hide-pinned", TITLES[1])];
  // a click waits until Python settles a request (`_hide_done` changes from `done`, what it was at the
  // click): `keys` are the keys asked for, which the boxes show meanwhile; `n` counts clicks
  const st = { done: null, keys: null, n: 0 }, wait = createWait(() => app.invalidate());
  const waiting = () => st.keys != null && app.get("_hide_done") === st.done;
  app.dis.add(wait.stop);
  for (const b of boxes) {
    app.dis.listen(b.box, "change", () => {
      if (b.j == null) return;
      const rest = (waiting() ? st.keys : app.get("hidden_keys") || []).filter((j) => j !== b.j);
      st.keys = b.box.checked ? [...rest, b.j].sort((x, y) => x - y) : rest;
      st.done = app.get("_hide_done");
      st.n += 1;
      askHide(app, st.keys);
    });
  }
  return {
    el: h("span", { class: "aw-hide-keys" }, boxes.map((b) => b.el)),
    update() {
      const d = app.data, pin = app.get("selected_key");
      const offered = Boolean(d && d.K > 1 && app.get("_can_hide") && !app.ui.static && VIEWS.has(app.get("view")));
      if (st.keys != null && !waiting()) st.keys = null; // settled: applied, refused, failed or stopped
      const late = wait.late(st.keys != null ? st.n : null);
      const hidden = st.keys ?? app.get("hidden_keys") ?? [];
      const keys = offered ? [0, pin != null && pin > 0 && pin < d.K ? pin : null] : [null, null];
      boxes.forEach((b, k) => {
        b.j = keys[k];
        setHidden(b.el, b.j == null);
        if (b.j == null) return;
        // written only when it changes: a write restyles
        setText(b.label, `hide ‘${app.label("key", b.j)}’${late ? ` (${computing(app.get("_progress"))})` : ""}`);
        setAttrs(b.el, { "aria-busy": late ? "true" : null });
        const on = hidden.includes(b.j);
        if (b.box.checked !== on) b.box.checked = on;
      });
    },
  };
}

/** Ask Python to hide `keys` (attnwidget/hidejob.py: a pass in a thread of its own, which a newer request
 * stops); it answers by setting `_hide_done` to the request's id. */
function askHide(app, keys) {
  askPass(app.model, "hide_keys", keys);
}

/** The notice of what the views leave out: "key 0 ‘<s>’ hidden: …" (`hidden`: the key indices of this layer),
 * and in a live view that can change it a button that shows them all again (SHOW_ALL, listenShowAll). */
export function hiddenNotice(app, hidden) {
  const named = hidden.map((j) => `${j} ‘${app.label("key", j)}’`).join(", ");
  const text = `key${hidden.length === 1 ? "" : "s"} ${named} hidden: each query's weights renormalised over the other keys `
    + "(the explain view shows the layer's own)";
  if (app.ui.static || !app.get("_can_hide")) return [text];
  return [text, h("button", { type: "button", class: "aw-btn aw-show-keys", [SHOW_ALL]: "", text: `show ${hidden.length === 1 ? "it" : "them"} again` })];
}

const SHOW_ALL = "data-show-keys";

/** A click on the notice's button (hiddenNotice) shows every key again; `notices`: the element that holds it. */
export function listenShowAll(app, notices) {
  app.dis.listen(notices, "click", (e) => { if (e.target.closest?.(`button[${SHOW_ALL}]`)) askHide(app, []); });
}
