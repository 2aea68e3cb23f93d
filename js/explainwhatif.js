// Explain view's what-if controls: the temperature (slider and number), the mask lifted, reset, and a key
// dropped by a click on its row; UI-only state (uistate.js whatIf), which whatif.js turns into weights.
// `v` is the explain view's state (explain.js createExplain).

import { h, setText, setAttrs, setHidden } from "./dom.js";
import { isLayerOwn, toggleDrop } from "./whatif.js";
import { resetWhatIf } from "./uistate.js";

/** The temperature slider moves log₂ t over this range: t from 1/8 to 8, the layer's own 1 in the middle. */
const LOG2_T = 3;
const SLIDER_STEP = 0.05;
/** The temperatures the number box takes: from one that makes the softmax an argmax to one that makes it flat. */
const T_RANGE = [0.01, 1000];

export function buildWhatIf() {
  const slider = h("input", { type: "range", min: String(-LOG2_T), max: String(LOG2_T), step: String(SLIDER_STEP), value: "0", class: "aw-range aw-explain-tslider",
    "aria-label": "temperature (log scale, 1 in the middle)" });
  const temp = h("input", { type: "number", min: String(T_RANGE[0]), max: String(T_RANGE[1]), step: "0.05", value: "1", class: "aw-explain-temp",
    "aria-label": "temperature: divides the logits (1 = the layer's own scaling)" });
  const unmask = h("input", { type: "checkbox", class: "aw-explain-unmask" });
  const unmaskWrap = h("label", { class: "aw-ctl", title: "let the query attend to the keys the causal or padding mask hides" },
    [unmask, h("span", { class: "aw-ctl-label", text: "lift the mask" })]);
  const reset = h("button", { type: "button", class: "aw-btn aw-explain-reset", text: "reset", title: "back to the layer's own numbers: temperature 1, every key, its mask" });
  const note = h("span", { class: "aw-explain-whatif-note", "aria-live": "polite" });
  const el = h("div", { class: "aw-explain-whatif", role: "group", "aria-label": "what-if" }, [
    h("span", { class: "aw-ctl-label", text: "what if", title: "change the softmax and watch the weights; click a key to drop it" }),
    h("label", { class: "aw-ctl", title: "temperature t: the softmax sees logits / t (t < 1 sharpens, t > 1 flattens)" },
      [h("span", { class: "aw-ctl-label", text: "temperature" }), slider, temp]),
    unmaskWrap, reset, note]);
  return { el, slider, temp, unmask, unmaskWrap, reset, note };
}

/** Change the what-if (a patch of {temperature, dropped, unmasked}) and redraw at once. */
function setWhatIf(v, patch) {
  Object.assign(v.app.ui.whatIf, patch);
  v.st.dirty = true;
  v.app.invalidate();
}

export function listenWhatIf(v) {
  const { app, wi, table } = v, { dis } = app;
  // the slider's value is log₂ t; t keeps 3 significant digits, so the number shown is the number used
  dis.listen(wi.slider, "input", () => setWhatIf(v, { temperature: Number((2 ** Number(wi.slider.value)).toPrecision(3)) }));
  const typed = () => { // a value outside the box's range (a half-typed "0.0") is ignored
    const t = Number(wi.temp.value);
    if (wi.temp.value !== "" && t >= T_RANGE[0] && t <= T_RANGE[1]) setWhatIf(v, { temperature: t });
  };
  dis.listen(wi.temp, "input", typed);
  dis.listen(wi.temp, "keydown", (e) => { if (e.key === "Enter") { typed(); e.preventDefault(); e.stopPropagation(); } });
  dis.listen(wi.unmask, "change", () => setWhatIf(v, { unmasked: wi.unmask.checked }));
  dis.listen(wi.reset, "click", () => { resetWhatIf(app.ui); v.st.dirty = true; app.invalidate(); });
  dis.listen(table, "click", (e) => {
    const b = e.target.closest?.("button[data-explain-drop]");
    if (!b) return;
    const j = Number(b.dataset.explainDrop);
    v.st.refocus = j;
    setWhatIf(v, { dropped: toggleDrop(app.ui.whatIf.dropped, j) });
  });
}

/** The what-if controls as the state `w` says (a field being typed in keeps what it holds). */
export function drawWhatIf(v, ex, w) {
  const { wi } = v, t = w.temperature, doc = v.el.ownerDocument;
  // each written only when it changes: a write, even of the same value, restyles and repaints it
  const x = Math.max(-LOG2_T, Math.min(LOG2_T, Math.log2(t)));
  if (doc.activeElement !== wi.slider && Math.abs(Number(wi.slider.value) - x) > SLIDER_STEP / 2) wi.slider.value = String(x);
  if (wi.temp.value !== String(t) && (doc.activeElement !== wi.temp || Number(wi.temp.value) !== t)) wi.temp.value = String(t);
  setHidden(wi.unmaskWrap, !(ex.mask && ex.mask.some((m) => m === 0)));
  if (wi.unmask.checked !== w.unmasked) wi.unmask.checked = w.unmasked;
  setAttrs(wi.reset, { disabled: isLayerOwn(w) });
  setAttrs(wi.slider, { disabled: false });
  setAttrs(wi.temp, { disabled: false });
  const parts = [];
  if (t !== 1) parts.push(`logits ÷ ${t}`);
  if (w.dropped.length) parts.push(`${w.dropped.length} key${w.dropped.length === 1 ? "" : "s"} dropped`);
  if (w.unmasked && !wi.unmaskWrap.hidden) parts.push("mask lifted");
  setText(wi.note, parts.length ? `${parts.join(" · ")}: not the layer's own weights` : "click a key to drop it from the softmax");
  v.el.classList.toggle("aw-whatif", parts.length > 0);
}

/** The what-if before a pin: nothing to change yet (a pin starts from the layer's own numbers). */
export function blankWhatIf(v) {
  const { wi } = v;
  for (const e of [wi.slider, wi.temp, wi.reset]) setAttrs(e, { disabled: true });
  setHidden(wi.unmaskWrap, true);
  setText(wi.note, "pin a query, then change its softmax here");
  v.el.classList.toggle("aw-whatif", false); // (remove() writes the attribute even when the class is not there)
}
