"""The wire protocol between Python and the browser: every synced trait, every payload, the layer-switch rule.

:class:`WireState` declares the traits the front end reads (name, type, default, doc); they are the
whole contract, and :data:`SCHEMA` sends the names the browser must not hard-code (views, aggregates,
layer modes and kinds, the trait list). The payload functions encode what the browser draws (one
byte per weight, see :mod:`attnwidget.codec`); :func:`snapshot` is what a static copy embeds.
``js/protocol.js`` is the other side; ``tests/fixtures/layer_switch.json`` keeps the two rules equal.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np
import traitlets as t

from . import codec, stats
from .config import LAYER_KINDS, ConfigError
from .inputs import clean_label

VIEWS = (("graph", "Graph"), ("matrix", "Matrix"), ("heads", "Heads"), ("explain", "Explain"), ("model", "Model"))
AGGREGATES = (("none", "per head"), ("mean", "mean of heads"), ("max", "max of heads"))
#: Which layers the layer selector offers: (mode, label, the layer kind it keeps or None for all).
MODES = (("all", "all", None), ("encoder", "encoder (self)", "self"), ("decoder", "decoder (causal)", "causal"),
         ("cross", "cross", "cross"))
MODE_KINDS = {name: kind for name, _, kind in MODES}
VIEW_NAMES = tuple(v for v, _ in VIEWS)
#: The `theme` trait: the notebook's colours, or light or dark whatever the notebook shows.
THEMES = ("auto", "light", "dark")


def _sync(trait: t.TraitType, doc: str) -> t.TraitType:
    trait.help = doc
    return trait.tag(sync=True)


class WireState(t.HasTraits):
    """The synced traits. Data flows Python → browser; the selection flows both ways."""

    # --- data (Python -> browser) -----------------------------------------------------------------
    _schema = _sync(t.Dict(), "SCHEMA: names the front end reads instead of repeating them")
    _data = _sync(t.Dict(), "the shown layer and batch element: slice_payload()")
    _exact = _sync(t.Dict(), "float32 row/column of the pinned token: exact_payload()")
    _explain = _sync(t.Dict(), "the explain view's pinned query: Explanation.to_dict()")
    _explain_values = _sync(t.Dict(), "the explain view's values V (S, value_dim) as float32 bytes keyed by head, which its "
                            "rows show before a pin: the shown head's (explain_values); a static copy's, every head's")
    _explain_for = _sync(t.List(), "[layer, batch] of _explain_values (and of a static copy's explain table)")
    _can_explain = _sync(t.Bool(False), "False: bare scores, no layer to explain")
    _overview = _sync(t.Dict(), "model view: per-(layer, head) uint8 thumbnails (overview.py); {} for one layer")
    _layers_meta = _sync(t.List(), "per layer: {name, kind, H, Q, K, query_tokens, key_tokens, head_names}")
    _uid = _sync(t.Unicode(), "ties a static HTML copy to its live view")
    query_tokens = _sync(t.List(t.Unicode()), "labels of the shown layer's queries")
    key_tokens = _sync(t.List(t.Unicode()), "labels of the shown layer's keys")
    head_names = _sync(t.List(t.Unicode()), "labels of the shown layer's heads")
    layer_names = _sync(t.List(t.Unicode()), "one per layer (paths of a model)")
    layer_kinds = _sync(t.List(t.Unicode()), "one per layer: self | causal | cross")
    info = _sync(t.Dict(), "the header: kind, device, shapes, run time")

    # --- selection (both ways) --------------------------------------------------------------------
    selected_query = _sync(t.Int(None, allow_none=True), "the pinned query token (None: nothing pinned)")
    selected_key = _sync(t.Int(None, allow_none=True), "the pinned key token")
    heads = _sync(t.List(t.Int()), "the visible heads")
    head = _sync(t.Int(0), "the matrix and explain views' head (when aggregate is none)")
    layer = _sync(t.Int(0), "the shown layer; tokens and heads follow it (switch_layer)")
    batch = _sync(t.Int(0), "the shown batch element")
    view = _sync(t.Enum(VIEW_NAMES, default_value="graph"), "graph | matrix | heads | explain | model")
    threshold = _sync(t.Float(0.0, min=0.0, max=1.0), "lines below this weight are not drawn")
    top_k = _sync(t.Int(0, min=0), "lines per token, 0 = all")
    aggregate = _sync(t.Enum(tuple(a for a, _ in AGGREGATES), default_value="none"), "none | mean | max of heads")
    mode = _sync(t.Enum(tuple(MODE_KINDS), default_value="all"), "which layers the layer selector offers")
    scale = _sync(t.Float(1.0, min=0.5, max=4.0), "size of every text, control and cell (1: notebook size; slides use 1.75)")
    hidden_keys = _sync(t.List(t.Int()), "keys left out of the graph, matrix, heads and model views, each query's weights "
                        "renormalised over the rest (an attention sink: hide.py); the explain view keeps the layer's own")
    _can_hide = _sync(t.Bool(False), "hidden_keys can be set: every layer holds softmax weights (an array, or queries and keys)")
    _progress = _sync(t.Float(None, allow_none=True), "how far the kernel is with the hidden_keys the browser asked for, "
                      "or with Python's own hidden_keys or batch, 0…1 (a tile pass over queries and keys: progress.py); "
                      "None when nothing runs")
    _batch_progress = _sync(t.Float(None, allow_none=True), "how far the kernel is with the batch item the picker asked for "
                            "(batchjob.py), 0…1; None when no such pass runs (a hide request's pass beside it has _progress)")
    _hide_done = _sync(t.Int(-1), "the id of the browser's last hide request settled (hidejob.py): applied, refused or stopped")
    _hide_error = _sync(t.Unicode(""), "why the browser's last settled hide request changed nothing, in one line; '' when it did not fail")
    _batch_done = _sync(t.Int(-1), "the id of the batch picker's last request settled (batchjob.py): applied, refused or stopped")
    _batch_error = _sync(t.Unicode(""), "why the batch picker's last settled request changed nothing, in one line; '' when it did not fail")
    color_max = _sync(t.Bool(False), "True: colours stretch from 0 to the shown data's largest weight, not to 1")
    palette = _sync(t.Enum(("default", "okabe-ito", "tol-bright"), default_value="default"), "head colours: default | okabe-ito | tol-bright (colour-blind safe)")
    segment_start = _sync(t.Int(-1, min=-1), "first token of a second segment (BertViz's sentence_b_start): the "
                          "graph and matrix views draw the two apart; -1: one segment")
    theme = _sync(t.Enum(THEMES, default_value="auto"), "colours: auto (the notebook's theme) | light | dark (BertViz's display_mode)")


#: Names of every synced trait (alphabetical, as traitlets lists them).
TRAITS = tuple(n for n in WireState.class_trait_names(sync=True))

#: What a static copy restores from the small output beside it (the live view's last state), layer and
#: batch first: they swap data.
UI_TRAITS = ("layer", "batch", "view", "heads", "head", "aggregate", "mode", "selected_query", "selected_key",
             "threshold", "top_k", "scale", "color_max", "palette")

SCHEMA = {
    "views": [list(v) for v in VIEWS],
    "aggregates": [list(a) for a in AGGREGATES],
    "modes": [list(m) for m in MODES],
    "layer_kinds": list(LAYER_KINDS),
    "traits": [n for n in TRAITS if n != "_schema"],
    "ui_traits": list(UI_TRAITS),
}


def switch_layer(state: dict, frm: dict, to: dict) -> dict:
    """The selection after switching from layer ``frm`` to ``to`` (each ``{H, Q, K, kind}``; ``to["layer"]``).

    ``state``: ``{layer, heads, head, selected_query, selected_key, mode}``. A pin past the new layer's
    tokens is released; chosen heads are kept where the new layer has them (all, when all were shown
    or none is left); a mode that does not hold the new layer falls back to ``all``.
    """
    out = dict(state, layer=to["layer"])
    if out["selected_query"] is not None and out["selected_query"] >= to["Q"]:
        out["selected_query"] = None
    if out["selected_key"] is not None and out["selected_key"] >= to["K"]:
        out["selected_key"] = None
    if out["head"] >= to["H"]:
        out["head"] = 0
    kept = [h for h in state["heads"] if h < to["H"]]
    out["heads"] = list(range(to["H"])) if len(state["heads"]) >= frm["H"] or not kept else kept
    if out["mode"] != "all" and MODE_KINDS.get(out["mode"]) != to["kind"]:
        out["mode"] = "all"
    return out


def header_info(info: dict | None, batch_size: int) -> dict:
    """``info`` (the header) as JSON carries it: NumPy values as Python ones, text :func:`clean_label`'d, a
    non-finite number refused in one line; ``batch_size`` is the scores' (the batch selector shows past 1)."""
    def plain(v: Any, where: str) -> Any:
        v = v.tolist() if isinstance(v, (np.generic, np.ndarray)) else v
        if isinstance(v, float) and not np.isfinite(v):
            raise ConfigError(f"info: {where} is {v}; expected a finite number")
        if isinstance(v, (list, tuple)):
            return [plain(x, where) for x in v]
        if isinstance(v, dict):
            return {clean_label(k): plain(x, f"{where}.{k}" if where else str(k)) for k, x in v.items()}
        return clean_label(v) if isinstance(v, str) else v

    return {**plain(dict(info or {}), ""), "batch_size": int(batch_size)}


# --- payloads ---------------------------------------------------------------------------------------

def slice_payload(s: Any, mask: np.ndarray | None) -> dict[str, Any]:
    """``_data`` for one slice ``s`` float32 ``(heads, query_len, key_len)``; ``mask`` bool ``(q, k)`` or None.

    Dense (``q``: one byte per weight) up to ``codec.SPARSE_THRESHOLD`` weights; above it each query's
    top-k keys per head and a max-pooled overview (``codec.sparse_encode``), so no message comes near
    the Jupyter server's 10 MiB limit. A slice that is not an array but has ``sparse_summary()``
    (:class:`attnwidget.qkscores.QKSlice`, weights from queries and keys) is always sent sparse.
    """
    if hasattr(s, "sparse_summary"):
        return codec.sparse_payload(s.sparse_summary())
    h, q, k = s.shape
    if h * q * k > codec.SPARSE_THRESHOLD:
        return codec.sparse_encode(s, mask)
    lo, hi, prob = codec.value_range(s)
    return {
        "q": codec.quantize(s, lo, hi), "shape": [h, q, k], "lo": lo, "hi": hi, "probability": prob,
        "mask": codec.pack_mask(mask), "nonfinite": int((~np.isfinite(s)).sum()),
        "head_max": [float(v) for v in stats.head_max(s)],
        "head_entropy": [float(v) for v in stats.head_entropy(s)],
    }


def exact_payload(s: np.ndarray, query: int | None, key: int | None) -> dict[str, Any]:
    """``_exact``: float32 ``row`` ``(heads, key_len)`` of the pinned query and ``col`` ``(heads, query_len)``."""
    out: dict[str, Any] = {"query": query, "key": key}
    if query is not None:
        out["row"] = codec.float_bytes(s[:, query, :])
    if key is not None:
        out["col"] = codec.float_bytes(s[:, :, key])
    return out


def layers_meta(names: Sequence[str], kinds: Sequence[str], shapes: Sequence[tuple], tokens: Sequence[tuple],
                head_names: Sequence[Sequence[str]]) -> list[dict]:
    """``_layers_meta``: per layer ``{name, kind, H, Q, K, query_tokens, key_tokens, head_names}``."""
    return [{"name": str(n), "kind": str(k), "H": int(s[1]), "Q": int(s[2]), "K": int(s[3]),
             "query_tokens": list(qt), "key_tokens": list(kt), "head_names": list(hn)}
            for n, k, s, (qt, kt), hn in zip(names, kinds, shapes, tokens, head_names)]


def selection(widget) -> dict:
    """The state :func:`switch_layer` reads."""
    return {k: getattr(widget, k) for k in ("layer", "heads", "head", "selected_query", "selected_key", "mode")}


# --- the static copy ----------------------------------------------------------------------------------

#: Longest query for which the static copy carries the explain view's data, and its largest size.
EXPLAIN_MAX_QUERIES = 64
EXPLAIN_MAX_BYTES = 1 << 20


def explain_values(explainer, layer: int, head: int, batch: int) -> dict[str, bytes]:
    """``{str(head): V}``, head ``head``'s values ``(S, value_dim)`` as float32 bytes (the same for every query),
    for the explain view's rows before a pin; ``{}`` where the layer has none (a softmax record) or they pass
    :data:`EXPLAIN_MAX_BYTES`."""
    try:
        V = explainer(layer, 0, head, batch).V
    except ValueError:  # a layer without inputs, or one that changes its input: the pin says why
        return {}
    return {} if V is None else sized_values(head, codec.float_bytes(V))


def sized_values(head: int, V: bytes) -> dict[str, bytes]:
    return {str(head): V} if len(V) <= EXPLAIN_MAX_BYTES else {}


def explain_update(widget, change: dict | None = None) -> dict[str, Any]:
    """The explain view's traits after ``change`` (None: all of them): ``_explain`` for the pinned query and
    head, and, but for a pin (V is every query's), ``_explain_values`` and ``_explain_for``, taken from the
    pin's numbers where there is a pin; nothing computed while another view shows."""
    shown = widget._explainer is not None and widget.view == "explain"
    q, hd, b = widget.selected_query, widget.head, widget.batch
    out = {"_explain": widget._explain_dict(q, hd, b) if shown and q is not None else {}}
    if shown and (change is None or change["name"] != "selected_query"):
        V = out["_explain"].get("V")
        out["_explain_values"] = sized_values(hd, V) if V is not None else explain_values(widget._explainer, widget.layer, hd, b)
        out["_explain_for"] = [widget.layer, b]
    return out


def snapshot(widget) -> dict[str, Any]:
    """What a static copy embeds: every synced trait, every layer × batch slice (``_slices``) and the
    explain view's table for the shown layer and batch (``_explain_table``, ``_explain_values``), or, for a
    layer the kernel can explain that is past the copy's limits, why not (``_explain_left_out``: the view
    shows it)."""
    state = {key: getattr(widget, key) for key in TRAITS}
    state["_exact"] = {"query": None, "key": None}  # exact floats need a kernel; quantized data suffices
    n_layers, b = len(widget.layer_names), widget.shape[0]
    if n_layers * b > 1:
        state["_slices"] = {f"{layer},{batch}": widget.slice_data(layer, batch)
                            for layer in range(n_layers) for batch in range(b)}
        state["_data"] = None  # the shown layer's is its slice (static.js shows it from there): not carried twice
    explained = widget.explain_table(max_queries=EXPLAIN_MAX_QUERIES)  # for this layer and batch only
    # The values V are the same for every query of a head: carried once per head.
    values = {str(e["head"]): e["V"] for e in explained.values() if "V" in e}
    explained = {k: {f: v for f, v in e.items() if f != "V"} for k, e in explained.items()}
    size = sum(len(v) for e in explained.values() for v in e.values() if isinstance(v, bytes))
    size += sum(len(v) for v in values.values())
    if size > EXPLAIN_MAX_BYTES:
        explained, values = {}, {}
    state.update(_explain_table=explained, _explain_values=values, _explain_for=[widget.layer, widget.batch],
                 _can_explain=bool(explained), _explain_left_out=None)
    if widget._can_explain and not explained:  # a layer the kernel explains, left out of the copy: say why
        n = widget.shape[2]
        why = (f"{n} query tokens (it carries them for up to {EXPLAIN_MAX_QUERIES})" if n > EXPLAIN_MAX_QUERIES
               else f"{size / 2**20:.1f} MiB of them (it carries up to {EXPLAIN_MAX_BYTES / 2**20:.0f} MiB)")
        state["_explain_left_out"] = (f"this static copy leaves out the explain view's numbers for this layer: {why}; "
                                      "run the notebook to explain it")
    sq = state.get("selected_query")
    entry = explained.get(f"{sq},{state.get('head', 0)}") if sq is not None else None
    state["_explain"] = {**entry, "V": values[str(entry["head"])]} if entry else {}
    return state
