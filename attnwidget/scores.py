"""The widget's own scores argument: one ``(batch, heads, query_len, key_len)`` float32 array per layer
(or a :class:`~attnwidget.qkscores.QKScores`), checked with its labels, mask and kind."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import numpy as np

from .config import LAYER_KINDS, ConfigError
from .inputs import clean_label, float32_or_refuse, refuse_oversized, refuse_unreadable
from .masks import is_causal, looks_causal

@dataclass(frozen=True)
class WidgetLayer:
    """One layer as the widget holds it: float32 scores ``(batch, heads, q, k)``, labels, bool mask ``(q, k)``."""

    scores: np.ndarray
    query_tokens: list[str]
    key_tokens: list[str]
    head_names: list[str]
    mask: np.ndarray | None
    name: str
    kind: str


def one_of(name: str, value: Any, alias: str, alias_value: Any) -> Any:
    """``value`` or, given instead, ``alias_value`` (BertViz's name ``alias`` for the argument ``name``)."""
    if value is not None and alias_value is not None:
        raise ConfigError(f"{name} and {alias}: give one of them ({alias} is BertViz's name for {name})")
    if value is None and alias_value is None:
        raise ConfigError(f"{name}: required (or {alias}=, BertViz's name for it)")
    return alias_value if value is None else value


def is_blockwise(x: Any) -> bool:
    """True for weights held as queries and keys (:class:`attnwidget.qkscores.QKScores`), never made dense."""
    return getattr(x, "ndim", None) == 4 and callable(getattr(x, "row", None)) and callable(getattr(x, "summary", None))


def _arrays(scores: Any) -> list:
    """:func:`attnwidget.tensors.layer_arrays` of ``scores``; the :func:`is_blockwise` layers of a list stay as they are."""
    from .tensors import layer_arrays

    if not (isinstance(scores, (list, tuple)) and any(is_blockwise(x) for x in scores)):
        return float32_or_refuse(lambda: layer_arrays(scores, "scores", stacked=False), "scores")
    dense = [x for x in scores if not is_blockwise(x)]
    arrays = float32_or_refuse(lambda: layer_arrays(dense, "scores", stacked=False), "scores") if dense else []
    return [x if is_blockwise(x) else arrays.pop(0) for x in scores]


def normalize_scores(scores: Any) -> list[np.ndarray]:
    """One ``(batch, heads, query_len, key_len)`` float32 array per layer (a 3-d array gains a batch of 1).

    ``scores``: an array or a list or tuple of them (one per layer, e.g. a Hugging Face model's
    ``outputs.attentions``); NumPy, torch (any float dtype, any device), JAX or TensorFlow. A stacked
    ``(layers, batch, heads, q, k)`` array goes through :func:`attnwidget.head_view` / ``model_view``. Layers may differ in heads, query and key length (encoder self T×T,
    decoder self U×U, cross U×T), not in batch size. A layer of a list may be a
    :class:`~attnwidget.qkscores.QKScores` (a long layer of :func:`attnwidget.capture`): it stays one.
    """
    from .tensors import EMPTY_HINT

    if isinstance(scores, (list, tuple)) and not scores:
        raise ConfigError("scores: expected an array (heads, q, k) or (batch, heads, q, k), got an empty list; "
                          + EMPTY_HINT)
    for i, x in enumerate(scores if isinstance(scores, (list, tuple)) else [scores]):
        where = f"scores[{i}]" if isinstance(scores, (list, tuple)) else "scores"
        refuse_unreadable(x, where, "an array of numbers")
        refuse_oversized(x, where)
    items = _arrays(scores)
    layers = []
    for i, a in enumerate(items):
        if a.ndim == 3:
            a = a[None]
        if a.ndim != 4:
            raise ConfigError(f"scores: expected shape (heads, q, k) or (batch, heads, q, k), got {tuple(a.shape)}")
        if min(a.shape) == 0:
            raise ConfigError(f"scores: every dimension must be at least 1, got {tuple(a.shape)}")
        if layers and a.shape[0] != layers[0].shape[0]:
            raise ConfigError(f"scores[{i}]: every layer must have the same batch size; got {tuple(a.shape)} "
                              f"after {tuple(layers[0].shape)}")
        layers.append(a)
    return layers


def _per_layer(values: Any, n: int, name: str) -> list:
    """``values`` for every layer: one list for all, or a list of lists (one per layer)."""
    refuse_unreadable(values, name, "a list of strings")
    items = list(values)
    if items and all(isinstance(x, (list, tuple)) for x in items):
        if len(items) != n:
            raise ConfigError(f"{name}: got {len(items)} token lists for {n} layers")
        return items
    return [items] * n


def _layer_kind(a: np.ndarray, mask: np.ndarray | None) -> str:
    if is_causal(mask) or (mask is None and looks_causal(a)):
        return "causal"
    return "self" if a.shape[2] == a.shape[3] else "cross"


def widget_layers(scores: Any, query_tokens: Any, key_tokens: Any = None, head_names: Any = None,
                  layer_names: Any = None, mask: Any = None, layer_kinds: Any = None) -> list[WidgetLayer]:
    """Check the widget's arguments against the scores' shapes; ConfigError names the argument.

    Kinds not given are read from the data: a causal mask or scores exactly zero above the diagonal are
    ``causal``, other square layers ``self``, the rest ``cross``.
    """
    layers = normalize_scores(scores)
    n = len(layers)
    per_q = _per_layer(query_tokens, n, "query_tokens")
    per_k = [None] * n if key_tokens is None else _per_layer(key_tokens, n, "key_tokens")
    per_m = list(mask) if isinstance(mask, (list, tuple)) else [mask] * n
    if len(per_m) != n:
        raise ConfigError(f"mask: got {len(per_m)} masks for {n} layers")
    names = [f"layer {i}" for i in range(n)] if layer_names is None else [str(s) for s in layer_names]
    if len(names) != n:
        raise ConfigError(f"layer_names: got {n} layers of scores but {len(names)} names")
    out = []
    for i, a in enumerate(layers):
        _, h, q, k = a.shape
        qt = [str(s) for s in per_q[i]]
        kt = qt if per_k[i] is None else [str(s) for s in per_k[i]]
        if len(qt) != q or len(kt) != k:
            where = "" if n == 1 else f" of layer {i}"
            raise ConfigError(f"tokens: scores{where} have shape {tuple(a.shape)} (query_len={q}, key_len={k}) "
                              f"but got {len(qt)} query tokens and {len(kt)} key tokens")
        hn = [f"head {j}" for j in range(h)] if head_names is None else [str(s) for s in head_names]
        if len(hn) != h:
            raise ConfigError(f"head_names: scores have {h} heads but got {len(hn)} names")
        m = None if per_m[i] is None else np.asarray(per_m[i], dtype=bool)
        if m is not None and m.shape != (q, k):
            raise ConfigError(f"mask: expected shape {(q, k)} to match scores {tuple(a.shape)}, got {m.shape}")
        if is_blockwise(a):  # its mask is its own: the one it shares over the batch, if (q, k)
            if m is not None:
                raise ConfigError(f"mask: layer {i} is queries and keys (QKScores), which mask their own scores")
            m = a.mask if a.mask is not None and a.mask.ndim == 2 else None
        out.append(WidgetLayer(a, qt, kt, hn, m, names[i], a.kind if is_blockwise(a) else _layer_kind(a, m)))
    if layer_kinds is not None:
        kinds = [str(x) for x in layer_kinds]
        if len(kinds) != n or any(x not in LAYER_KINDS for x in kinds):
            raise ConfigError(f"layer_kinds: expected {n} of {' | '.join(LAYER_KINDS)}, got {kinds}")
        out = [dataclasses.replace(w, kind=x) for w, x in zip(out, kinds)]
    return out


def clean_labels(layer: WidgetLayer, max_chars: int | None) -> WidgetLayer:
    """``layer`` with its tokens, head names and name :func:`clean_label`'d (cut past ``max_chars``)."""
    if max_chars is not None and (isinstance(max_chars, bool) or not isinstance(max_chars, int) or max_chars < 1):
        raise ConfigError(f"max_token_chars: expected a positive integer or None, got {max_chars!r}")
    labels = lambda xs: [clean_label(x, max_chars) for x in xs]  # noqa: E731
    return dataclasses.replace(layer, query_tokens=labels(layer.query_tokens), key_tokens=labels(layer.key_tokens),
                               head_names=labels(layer.head_names), name=clean_label(layer.name, max_chars))
