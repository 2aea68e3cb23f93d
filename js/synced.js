// State shared with Python: read and written through the model, so Python sees every change, with
// the decoded form of its binary traits. UI-only state lives in uistate.js and never syncs. DOM-free.

import { readSchema, layerPatch, decodeData, decodeExact } from "./protocol.js";

/** model: anything with get/set/save_changes/on/off (anywidget's model, or static.js staticModel). */
export function createSynced(model) {
  // One decoding per `_data` object: a static copy hands the same object back for a layer it showed before,
  // so the views' caches (the matrix's heat maps) find that layer's data again by identity.
  const decoded = new WeakMap();
  const decode = (raw) => {
    if (!raw || typeof raw !== "object") return decodeData(raw);
    if (!decoded.has(raw)) decoded.set(raw, decodeData(raw));
    return decoded.get(raw);
  };
  const s = {
    model, schema: readSchema(model), data: null, exact: null, error: null,
    get: (name) => model.get(name),
    /** Set every trait of `patch`, then send them to Python together. */
    set(patch) {
      for (const [k, v] of Object.entries(patch)) model.set(k, v);
      model.save_changes();
    },
    /** Every layer change: the layer-switch rule's patch, plus the caller's own `choice` (a view, a head). */
    setLayer(to, choice = {}) {
      s.set({ ...layerPatch(s.schema, model, to), ...choice });
    },
    unpin() {
      if (model.get("selected_query") != null || model.get("selected_key") != null) s.set({ selected_query: null, selected_key: null });
    },
    /** Decode `_data` / `_exact` when a name in `changed` says they changed. */
    decode(changed) {
      try {
        if (changed.has("_data")) { s.data = decode(model.get("_data")); s.error = null; }
        if (changed.has("_data") || changed.has("_exact")) s.exact = decodeExact(model.get("_exact"), s.data);
      } catch (err) {
        s.data = null; s.exact = null; s.error = String(err.message || err);
        console.error(err);
      }
    },
    /** Whether the page holds every layer's data (a static copy), so that a layer's data can come back. */
    holdsLayers: () => typeof model.slice === "function",
    /** Layer `li`'s decoded data for the batch item shown, where the page holds it without the kernel
     * (a static copy's slices; the shown layer's own data), else null. */
    layerData(li) {
      if (li === model.get("layer")) return s.data;
      try {
        const raw = model.slice?.(li, model.get("batch"));
        return raw ? decode(raw) : null;
      } catch {
        return null; // a slice this copy cannot decode shows its error when it is opened, not here
      }
    },
  };
  return s;
}
