"""The attention widget: scores in, a clickable graph / matrix / heads view out.

State shared with the browser lives in synced traits (below). What only the browser needs
(hover, the canvas size, the theme) stays in the front end.
"""

from __future__ import annotations

import pathlib
from typing import Any, Sequence

import anywidget
import numpy as np
import traitlets as t

from . import codec

_STATIC = pathlib.Path(__file__).parent / "static"
VIEWS = ("graph", "matrix", "heads")
AGGREGATES = ("none", "mean", "max")
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
    """Return one ``(batch, heads, query_len, key_len)`` float32 array per layer."""
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
        if layers and a.shape != layers[0].shape:
            raise ValueError(
                f"scores[{i}]: every layer must have the same shape; got {tuple(a.shape)} after {tuple(layers[0].shape)}")
        layers.append(a)
    return layers


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
    _exact = t.Dict().tag(sync=True)  # float32 row/column of the pinned token
    query_tokens = t.List(t.Unicode()).tag(sync=True)
    key_tokens = t.List(t.Unicode()).tag(sync=True)
    head_names = t.List(t.Unicode()).tag(sync=True)
    layer_names = t.List(t.Unicode()).tag(sync=True)
    info = t.Dict().tag(sync=True)    # header: kind, device, shapes, run time, notices

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
        **kwargs: Any,
    ) -> None:
        layers = normalize_scores(scores)
        b, h, q, k = layers[0].shape
        qt = [str(s) for s in query_tokens]
        kt = qt if key_tokens is None else [str(s) for s in key_tokens]
        if len(qt) != q or len(kt) != k:
            raise ValueError(
                f"tokens: scores have shape {tuple(layers[0].shape)} (query_len={q}, key_len={k}) "
                f"but got {len(qt)} query tokens and {len(kt)} key tokens")
        hn = [f"head {i}" for i in range(h)] if head_names is None else [str(s) for s in head_names]
        ln = [f"layer {i}" for i in range(len(layers))] if layer_names is None else [str(s) for s in layer_names]
        if len(hn) != h:
            raise ValueError(f"head_names: scores have {h} heads but got {len(hn)} names")
        if len(ln) != len(layers):
            raise ValueError(f"layer_names: got {len(layers)} layers of scores but {len(ln)} names")
        self._layers = layers
        self._mask = None
        if mask is not None:
            m = np.asarray(mask, dtype=bool)
            if m.shape != (q, k):
                raise ValueError(f"mask: expected shape {(q, k)} to match scores {tuple(layers[0].shape)}, got {m.shape}")
            self._mask = m
        kwargs.setdefault("heads", list(range(h)))
        super().__init__(
            query_tokens=qt, key_tokens=kt, head_names=hn, layer_names=ln,
            info=dict(info or {}), **kwargs)
        self._send_data()
        self._send_exact()

    # --- shapes -------------------------------------------------------------------------------
    @property
    def scores(self) -> np.ndarray:
        """Scores of the current layer, ``(batch, heads, query_len, key_len)`` float32 (not a copy)."""
        return self._layers[self.layer]

    @property
    def shape(self) -> tuple[int, int, int, int]:
        return tuple(self._layers[0].shape)  # type: ignore[return-value]

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

    # --- what the browser gets ----------------------------------------------------------------
    def _current(self) -> np.ndarray:
        """``(heads, query_len, key_len)`` float32 view of the current layer and batch."""
        return self._layers[self.layer][self.batch]

    def _send_data(self) -> None:
        s = self._current()
        lo, hi, prob = codec.value_range(s)
        h, q, k = s.shape
        with np.errstate(divide="ignore", invalid="ignore"):
            p = np.clip(np.nan_to_num(s, nan=0.0, posinf=0.0, neginf=0.0), 0, None)
            ent = -(p * np.log(np.where(p > 0, p, 1.0))).sum(-1).mean(-1)
        self._data = {
            "q": codec.quantize(s, lo, hi),
            "shape": [h, q, k],
            "lo": lo,
            "hi": hi,
            "probability": prob,
            "mask": codec.pack_mask(self._mask),
            "nonfinite": int((~np.isfinite(s)).sum()),
            "head_max": [float(v) for v in np.nan_to_num(s).reshape(h, -1).max(-1)],
            "head_entropy": [float(v) for v in ent],
        }

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
        self._send_data()
        self._send_exact()

    @t.observe("selected_query", "selected_key")
    def _on_select(self, change):
        self._send_exact()
