// State of one rendered view that never reaches Python: the token under the pointer, the width, the
// height a slide leaves it, the page's theme, the scale in effect and the text measurers made for it,
// and the explain view's what-if (a lesson's experiment, not a setting to save).

import { measurer } from "./dom.js";
import { readTheme } from "./theme.js";
import { LAYER_OWN } from "./whatif.js";

/** The scale of a widget on a reveal.js slide whose model asks for none (scale 1): token labels of
 * 21 px, at least 20 px on a 1280×720 projector. */
export const PRESENTER_SCALE = 1.75;
export const SCALES = [0.75, 1, 1.25, 1.5, 1.75, 2, 2.5, 3];

export function createUiState(root) {
  const ui = {
    hover: null, // {side: "query" | "key", index} of the graph's token under the pointer or focus
    width: 0, // CSS pixels of the widget's root
    maxHeight: 0, // CSS pixels the whole widget may take (0: no limit); set on a slide (fit.js)
    bodyMax: 0, // of which the view below the controls may take (0: no limit)
    slides: false, // on a reveal.js slide
    zoom: 1, // how many times larger than its layout the widget is shown (a slide scaled up: fit.js shownZoom)
    keyFocus: false, // the focus came into the widget by the keyboard (Tab), not a click: then arrows are the widget's
    userScaled: false, // the size control was used here: the presenter default no longer applies
    theme: readTheme(root),
    scale: 0,
    // the explain view's what-if (whatif.js) and the pinned layer, batch, query and head it was made for
    whatIf: { for: "", ...LAYER_OWN },
    /** `n` CSS pixels at the scale in effect. */
    px: (n) => n * ui.scale,
  };
  setScale(ui, 1);
  return ui;
}

/** Canvas pixels per CSS pixel: the screen's, times a scaled-up slide's zoom (sharp on a 1920 × 1080 projector). */
export function pixelRatio(ui) {
  return (globalThis.devicePixelRatio || 1) * (ui.zoom || 1);
}

/** The scale a view draws at: the model's `scale`, or PRESENTER_SCALE on a slide when that is 1. */
export function effectiveScale(modelScale, onSlide, userScaled) {
  const s = Number(modelScale);
  const v = Number.isFinite(s) && s > 0 ? Math.min(4, Math.max(0.5, s)) : 1;
  return onSlide && !userScaled && v === 1 ? PRESENTER_SCALE : v;
}

/** Use scale `s`, with measurers for the token (12 px) and small (11 px) fonts at it. */
export function setScale(ui, s) {
  if (ui.scale === s) return false;
  ui.scale = s;
  ui.measure = measurer(`${12 * s}px ${ui.theme.font}`);
  ui.measureSmall = measurer(`${11 * s}px ${ui.theme.font}`);
  return true;
}

/** The what-if of the explanation `key` names (layer, batch, query, head): the layer's own when the key
 * changed (another pin, head or layer starts from the layer's own numbers). */
export function whatIfFor(ui, key) {
  if (ui.whatIf.for !== key) resetWhatIf(ui, key);
  return ui.whatIf;
}

/** Back to the layer's own temperature, keys and mask. */
export function resetWhatIf(ui, key = ui.whatIf.for) {
  ui.whatIf = { for: key, ...LAYER_OWN, dropped: [] };
}
