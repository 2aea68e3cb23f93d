// What the kernel is busy with, as the controls say it: a tile pass over queries and keys (a layer from
// `from_qk`) takes seconds at tens of thousands of tokens, and the kernel sends how far it is (`_progress`).

/** "computing…", with the share done when the kernel says it (`_progress`: 0…1, or null). */
export function computing(progress) {
  return typeof progress === "number" && Number.isFinite(progress) ? `computing… ${Math.floor(100 * Math.min(1, Math.max(0, progress)))}%` : "computing…";
}

/** The batch picker's label while the kernel makes the item `asked` (the picker's last choice; null: none):
 * `[text, asked]`, `asked` null once its data came (`_data` in `changed`), the pass ended (`_progress` back to
 * null) or the kernel put another item back (`batch`). */
export function batchLabel(asked, batch, progress, changed) {
  if (asked == null || changed.has("_data") || (progress == null && changed.has("_progress")) || batch !== asked) return ["batch", null];
  return [progress == null ? "batch" : `batch (${computing(progress)})`, asked];
}
