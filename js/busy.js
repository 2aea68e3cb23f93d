// What the kernel is busy with, as the controls say it: a tile pass over queries and keys (a layer from
// `from_qk`) takes seconds at tens of thousands of tokens, and the kernel sends how far it is (`_progress`).

/** "computing…", with the share done when the kernel says it (`_progress`: 0…1, or null). */
export function computing(progress) {
  return typeof progress === "number" && Number.isFinite(progress) ? `computing… ${Math.floor(100 * Math.min(1, Math.max(0, progress)))}%` : "computing…";
}

/** The batch picker's label while the kernel makes the item `asked` (the picker's last choice; null: none):
 * `[text, asked]`, `asked` null once the kernel settled the request (`_batch_done` in `changed`: the item shown,
 * or refused, or failed) or, in a static copy, the item's data came (`_data` with `batch` the one asked for). */
export function batchLabel(asked, batch, progress, changed) {
  if (asked == null || changed.has("_batch_done") || (changed.has("_data") && batch === asked)) return ["batch", null];
  return [progress == null ? "batch" : `batch (${computing(progress)})`, asked];
}

/** Ask the kernel for work that may need a pass (attnwidget/passjob.py: `{[key]: value, id}`; a newer request
 * stops the running pass). The id is random, not counted, because every view of one widget model asks; the
 * kernel settles request `id` by setting the kind's `_…_done` trait to it. */
export function askPass(model, key, value) {
  model.send({ [key]: value, id: Math.floor(Math.random() * 2 ** 31) });
}
