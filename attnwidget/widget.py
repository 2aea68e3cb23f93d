"""The attention widget: scores in, a clickable graph / matrix / heads view out.

State shared with the browser lives in synced traits (below). What only the browser needs
(hover, the canvas size, the theme) stays in the front end.
"""

from __future__ import annotations

import pathlib
import uuid
from typing import Any, Sequence

import anywidget
import numpy as np
import traitlets as t

from . import codec, slices

_STATIC = pathlib.Path(__file__).parent / "static"
VIEWS = ("graph", "matrix", "heads", "explain", "model")
AGGREGATES = ("none", "mean", "max")
MODES = ("all", "encoder", "decoder", "cross")
MODE_KINDS = {"encoder": "self", "decoder": "causal", "cross": "cross"}
LAYER_KINDS = ("self", "causal", "cross")
_MISSING_BUNDLE = """export default { render({ el }) {
  el.textContent = "attnwidget: the front end is not built (attnwidget/static/widget.js); run: npm install && npm run build";
} };"""


def as_float32(x: Any, name: str = "scores") -> np.ndarray:
    """``np.asarray`` for NumPy, TensorFlow, JAX and torch values, as float32 (no copy if already)."""
    if hasattr(x, "detach"):  # torch tensors that require grad refuse __array__
        x = x.detach().cpu()
    try:
        a = np.asarray(x)
    except Exception as exc:  # noqa: BLE001 - any failure here is a bad argument
        raise ValueError(f"{name}: expected an array of numbers, got {type(x).__name__}") from exc
    if a.dtype == object or not (np.issubdtype(a.dtype, np.number) or a.dtype == bool):
        raise ValueError(f"{name}: expected an array of numbers, got dtype {a.dtype}")
    return np.asarray(a, dtype=np.float32)


def normalize_scores(scores: Any) -> list[np.ndarray]:
    """Return one ``(batch, heads, query_len, key_len)`` float32 array per layer.

    Layers may differ in heads, query and key length (encoder self T×T, decoder self U×U, cross
    U×T), not in batch size.
    """
    items = list(scores) if isinstance(scores, (list, tuple)) else [scores]
    if not items:
        raise ValueError("scores: expected an array (heads, q, k) or (batch, heads, q, k), got an empty list")
    layers = []
    for i, item in enumerate(items):
        a = as_float32(item, "scores" if len(items) == 1 else f"scores[{i}]")
        if a.ndim == 3:
            a = a[None]
        if a.ndim != 4:
            raise ValueError(
                f"scores: expected shape (heads, q, k) or (batch, heads, q, k), got {tuple(a.shape)}")
        if min(a.shape) == 0:
            raise ValueError(f"scores: every dimension must be at least 1, got {tuple(a.shape)}")
        if layers and a.shape[0] != layers[0].shape[0]:
            raise ValueError(
                f"scores[{i}]: every layer must have the same batch size; got {tuple(a.shape)} after {tuple(layers[0].shape)}")
        layers.append(a)
    return layers


def _per_layer(tokens: Any, n: int, name: str) -> list:
    """``tokens`` for every layer: one list for all, or a list of lists (one per layer)."""
    items = list(tokens)
    if items and all(isinstance(x, (list, tuple)) for x in items):
        if len(items) != n:
            raise ValueError(f"{name}: got {len(items)} token lists for {n} layers")
        return items
    return [items] * n


class AttentionWidget(anywidget.AnyWidget):
    """Interactive view of attention scores.

    ``scores``: ``(heads, query_len, key_len)``, ``(batch, heads, query_len, key_len)``, or a list of
    those (one per layer). ``query_tokens`` has ``query_len`` labels; ``key_tokens`` has
    ``key_len`` (default: the query tokens, for self-attention). ``mask``: optional boolean
    ``(query_len, key_len)``, True where a query may attend to a key (causal masks).
    """

    # A checkout without the built bundle still imports; the view then says how to build it.
    _esm = _STATIC / "widget.js" if (_STATIC / "widget.js").exists() else _MISSING_BUNDLE
    _css = _STATIC / "widget.css" if (_STATIC / "widget.css").exists() else ""

    # --- data (Python -> browser) -------------------------------------------------------------
    _data = t.Dict().tag(sync=True)   # current layer/batch: {"q": uint8 (H,Q,K), "shape", "lo", "hi", ...}
    # (above codec.SPARSE_THRESHOLD weights: {"mode": "sparse", "idx", "val", "pool", ...}, see slice_data)
    _exact = t.Dict().tag(sync=True)  # float32 row/column of the pinned token
    _explain = t.Dict().tag(sync=True)  # explain view: the pinned query's computation (see explain_table)
    _can_explain = t.Bool(False).tag(sync=True)  # False: bare scores, no layer to explain
    query_tokens = t.List(t.Unicode()).tag(sync=True)
    key_tokens = t.List(t.Unicode()).tag(sync=True)
    head_names = t.List(t.Unicode()).tag(sync=True)
    layer_names = t.List(t.Unicode()).tag(sync=True)
    layer_kinds = t.List(t.Unicode()).tag(sync=True)  # per layer: self | causal | cross
    _overview = t.Dict().tag(sync=True)  # model view: per-(layer, head) uint8 thumbnails (overview.py)
    info = t.Dict().tag(sync=True)    # header: kind, device, shapes, run time, notices

    _uid = t.Unicode().tag(sync=True)  # ties a static HTML copy to its live view (export.py)

    # --- selection (both ways) -----------------------------------------------------------------
    selected_query = t.Int(None, allow_none=True).tag(sync=True)
    selected_key = t.Int(None, allow_none=True).tag(sync=True)
    heads = t.List(t.Int()).tag(sync=True)      # visible heads
    head = t.Int(0).tag(sync=True)              # head of the matrix view (when aggregate == "none")
    layer = t.Int(0).tag(sync=True)
    batch = t.Int(0).tag(sync=True)
    view = t.Enum(VIEWS, default_value="graph").tag(sync=True)
    threshold = t.Float(0.0, min=0.0, max=1.0).tag(sync=True)
    top_k = t.Int(0, min=0).tag(sync=True)      # lines per token, 0 = all
    aggregate = t.Enum(AGGREGATES, default_value="none").tag(sync=True)
    mode = t.Enum(MODES, default_value="all").tag(sync=True)  # which layers the selector offers

    def __init__(
        self,
        scores: Any,
        query_tokens: Sequence[str],
        key_tokens: Sequence[str] | None = None,
        head_names: Sequence[str] | None = None,
        layer_names: Sequence[str] | None = None,
        *,
        mask: Any = None,
        info: dict | None = None,
        explainer: Any = None,
        layer_kinds: Sequence[str] | None = None,
        **kwargs: Any,
    ) -> None:
        layers = normalize_scores(scores)
        n = len(layers)
        # Tokens, head names and masks may be given per layer (lists of lists) when shapes differ.
        per_q = _per_layer(query_tokens, n, "query_tokens")
        per_k = [None] * n if key_tokens is None else _per_layer(key_tokens, n, "key_tokens")
        per_m = list(mask) if isinstance(mask, (list, tuple)) else [mask] * n
        if len(per_m) != n:
            raise ValueError(f"mask: got {len(per_m)} masks for {n} layers")
        self._tokens, self._masks, self._head_names = [], [], []
        for i, a in enumerate(layers):
            b, h, q, k = a.shape
            qt = [str(s) for s in per_q[i]]
            kt = qt if per_k[i] is None else [str(s) for s in per_k[i]]
            if len(qt) != q or len(kt) != k:
                where = "" if n == 1 else f" of layer {i}"
                raise ValueError(
                    f"tokens: scores{where} have shape {tuple(a.shape)} (query_len={q}, key_len={k}) "
                    f"but got {len(qt)} query tokens and {len(kt)} key tokens")
            hn = [f"head {j}" for j in range(h)] if head_names is None else [str(s) for s in head_names]
            if len(hn) != h:
                raise ValueError(f"head_names: scores have {h} heads but got {len(hn)} names")
            m = None
            if per_m[i] is not None:
                m = np.asarray(per_m[i], dtype=bool)
                if m.shape != (q, k):
                    raise ValueError(f"mask: expected shape {(q, k)} to match scores {tuple(a.shape)}, got {m.shape}")
            self._tokens.append((qt, kt))
            self._head_names.append(hn)
            self._masks.append(m)
        ln = [f"layer {i}" for i in range(n)] if layer_names is None else [str(s) for s in layer_names]
        if len(ln) != n:
            raise ValueError(f"layer_names: got {n} layers of scores but {len(ln)} names")
        kinds = list(layer_kinds) if layer_kinds is not None else [
            "causal" if m is not None and np.array_equal(m, np.tril(np.ones(m.shape, bool))) else
            "self" if a.shape[2] == a.shape[3] else "cross" for a, m in zip(layers, self._masks)]
        if len(kinds) != n or any(k not in LAYER_KINDS for k in kinds):
            raise ValueError(f"layer_kinds: expected {n} of {' | '.join(LAYER_KINDS)}, got {kinds}")
        self._layers = layers
        self._explainer = explainer  # (query, head, batch) -> attnwidget.explain.Explanation, or None
        start = int(kwargs.get("layer", 0) or 0)
        if not 0 <= start < n:
            raise ValueError(f"layer: expected an index in 0..{n - 1} ({n} layers), got {start}")
        self._mask = self._masks[start]
        self._shown_heads = layers[start].shape[1]
        qt, kt = self._tokens[start]
        hn = self._head_names[start]
        kwargs.setdefault("heads", list(range(layers[start].shape[1])))
        kwargs.setdefault("layer_kinds", kinds)
        kwargs.setdefault("_uid", uuid.uuid4().hex)
        super().__init__(
            query_tokens=qt, key_tokens=kt, head_names=hn, layer_names=ln,
            info=dict(info or {}), **kwargs)
        self._send_data()
        self._send_exact()
        self._send_overview()
        self._can_explain = explainer is not None
        self._send_explain()

    # --- shapes -------------------------------------------------------------------------------
    @property
    def scores(self) -> np.ndarray:
        """Scores of the current layer, ``(batch, heads, query_len, key_len)`` float32 (not a copy)."""
        return self._layers[self.layer]

    @property
    def shape(self) -> tuple[int, int, int, int]:
        """``(batch, heads, query_len, key_len)`` of the current layer."""
        return tuple(self._layers[self.layer].shape)  # type: ignore[return-value]

    def _check_index(self, name: str, value: int | None, size: int, what: str) -> None:
        if value is not None and not 0 <= value < size:
            raise t.TraitError(f"{name}: expected an index in 0..{size - 1} ({what}), got {value}")

    @t.validate("selected_query")
    def _v_query(self, proposal):
        self._check_index("selected_query", proposal.value, self.shape[2], f"{self.shape[2]} query tokens")
        return proposal.value

    @t.validate("selected_key")
    def _v_key(self, proposal):
        self._check_index("selected_key", proposal.value, self.shape[3], f"{self.shape[3]} key tokens")
        return proposal.value

    @t.validate("head")
    def _v_head(self, proposal):
        self._check_index("head", proposal.value, self.shape[1], f"{self.shape[1]} heads")
        return proposal.value

    @t.validate("heads")
    def _v_heads(self, proposal):
        for i in proposal.value:
            self._check_index("heads", i, self.shape[1], f"{self.shape[1]} heads")
        return sorted(set(proposal.value))

    @t.validate("layer")
    def _v_layer(self, proposal):
        self._check_index("layer", proposal.value, len(self._layers), f"{len(self._layers)} layers")
        return proposal.value

    @t.validate("batch")
    def _v_batch(self, proposal):
        self._check_index("batch", proposal.value, self.shape[0], f"batch of {self.shape[0]}")
        return proposal.value

    # --- outside a live kernel ------------------------------------------------------------------
    def to_html(self, path=None, *, title: str = "attention", max_weights: int | None = None) -> str:
        """A self-contained page of this view (front end and data inline; offline, no kernel needed).

        Written to ``path`` when given; returned either way.
        """
        from . import export

        return export.to_html(self, path, title=title, max_weights=max_weights)

    def _ipython_display_(self) -> None:
        # Two outputs: a static HTML copy (what nbconvert, slides and a reopened notebook show)
        # and the live view (which hides the copy beside it when it renders).
        from IPython import get_ipython
        from IPython.display import display

        from . import export

        shell = get_ipython()
        if shell is not None and type(shell).__name__ != "TerminalInteractiveShell":
            display({"text/html": export.fragment(self)}, raw=True)
        bundle = self._repr_mimebundle_()
        data, metadata = bundle if isinstance(bundle, tuple) else (bundle, None)
        # An empty text/plain: where the live view cannot show (exports), the static copy stands for it.
        data = {**data, "text/plain": ""}
        display(data, metadata=metadata, raw=True)

    # --- what the browser gets ----------------------------------------------------------------
    def _current(self) -> np.ndarray:
        """``(heads, query_len, key_len)`` float32 view of the current layer and batch."""
        return self._layers[self.layer][self.batch]

    def slice_data(self, layer: int, batch: int) -> dict[str, Any]:
        """What the browser draws for one layer and batch element (see :func:`attnwidget.slices.encode`)."""
        return slices.encode(self._layers[layer][batch], self._masks[layer])

    def _send_data(self) -> None:
        self._data = self.slice_data(self.layer, self.batch)

    def _send_exact(self) -> None:
        s = self._current()
        out: dict[str, Any] = {"query": self.selected_query, "key": self.selected_key}
        if self.selected_query is not None:
            out["row"] = codec.float_bytes(s[:, self.selected_query, :])   # (heads, key_len)
        if self.selected_key is not None:
            out["col"] = codec.float_bytes(s[:, :, self.selected_key])     # (heads, query_len)
        self._exact = out

    @t.observe("layer", "batch")
    def _on_slice(self, change):
        if change["name"] == "layer":
            self._apply_layer()
        else:
            self._send_overview()
        self._send_data()
        self._send_exact()

    # --- whole models: layers of their own shape, encoder / decoder / cross modes ----------------
    def _apply_layer(self) -> None:
        """Tokens, head names and mask follow the selected layer; selections out of its range are dropped."""
        i = self.layer
        _, h, q, k = self._layers[i].shape
        self._mask = self._masks[i]
        with self.hold_sync(), self.hold_trait_notifications():
            if self.selected_query is not None and self.selected_query >= q:
                self.selected_query = None
            if self.selected_key is not None and self.selected_key >= k:
                self.selected_key = None
            if self.head >= h:
                self.head = 0
            shown = [x for x in self.heads if x < h]
            if len(self.heads) >= self._shown_heads or not shown:
                shown = list(range(h))
            self.heads = shown
            self._shown_heads = h
            self.query_tokens, self.key_tokens = self._tokens[i]
            self.head_names = self._head_names[i]
            if self.mode != "all" and self.layer_kinds[i] != MODE_KINDS[self.mode]:
                self.mode = "all"

    @t.validate("mode")
    def _v_mode(self, proposal):
        want = MODE_KINDS.get(proposal.value)
        if want is not None and want not in self.layer_kinds:
            raise t.TraitError(f"mode: no {want} layer here (layer kinds: {', '.join(sorted(set(self.layer_kinds)))})")
        return proposal.value

    @t.observe("mode")
    def _on_mode(self, change):
        want = MODE_KINDS.get(self.mode)
        if want is not None and self.layer_kinds[self.layer] != want:
            self.layer = self.layer_kinds.index(want)

    def _send_overview(self) -> None:
        from .overview import overview

        # Only a model (several layers) has the model view: a single layer sends nothing for it.
        multi = len(self._layers) > 1
        self._overview = overview(self._layers, self.batch, self.layer_names, self.layer_kinds) if multi else {}

    @t.observe("selected_query", "selected_key")
    def _on_select(self, change):
        self._send_exact()

    # --- explain view -------------------------------------------------------------------------
    def _explain_dict(self, query: int, head: int, batch: int) -> dict[str, Any]:
        try:
            return self._explainer(query, head, batch).to_dict()
        except ValueError as exc:  # e.g. a user's layer whose .mha does not see the layer's inputs
            return {"query": query, "head": head, "batch": batch, "error": str(exc)}

    def _send_explain(self) -> None:
        """Fill ``_explain`` for the pinned query and ``head``, only while the explain view shows."""
        if self._explainer is None or self.view != "explain" or self.selected_query is None:
            self._explain = {}
        else:
            self._explain = self._explain_dict(self.selected_query, self.head, self.batch)

    @t.observe("selected_query", "head", "batch", "layer", "view")
    def _on_explain_inputs(self, change):
        self._send_explain()

    def explain_table(self, max_queries: int = 64) -> dict[str, dict]:
        """Every query × head of the current batch in ``_explain``'s form, keyed ``"q,h"`` (for static exports).

        Empty when the widget has no explainer (bare scores) or more than ``max_queries`` query tokens.
        """
        _, h, q, _ = self.shape
        if self._explainer is None or q > max_queries:
            return {}
        return {f"{i},{hd}": self._explain_dict(i, hd, self.batch) for i in range(q) for hd in range(h)}
