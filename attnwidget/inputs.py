"""Turn the ``query`` / ``context`` / ``key`` values of a configuration into sequences.

A value is one of: a text (tokenized by :func:`attnwidget.config.tokenize`), a list of
strings (tokens), a list of 2 or 3 integers (the shape ``[T, D]`` / ``[B, T, D]`` of seeded
random inputs, as in the lecture's ``Input(shape=[8, 16])``), or an array-like ``(T, D)`` /
``(B, T, D)`` of embeddings.
"""

from __future__ import annotations

import collections.abc
import dataclasses
from dataclasses import dataclass
from typing import Any, Sequence as Seq

import numpy as np

from .budget import available_memory
from .config import LAYER_KINDS, ConfigError, tokenize
from .masks import is_causal, looks_causal


@dataclass
class Sequence:
    """One input sequence: ``tokens`` (labels, length T) and, unless it is text, ``array`` (B, T, D)."""

    tokens: list[str]
    array: np.ndarray | None = None

    @property
    def is_text(self) -> bool:
        return self.array is None

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(self.array.shape) if self.array is not None else (1, len(self.tokens))


def _labels(key: str, labels: Seq[Any] | None, length: int, label_key: str) -> list[str]:
    if labels is None:
        return [str(i) for i in range(length)]
    labels = [str(s) for s in labels]
    if len(labels) != length:
        raise ConfigError(f"{label_key}: {key} has {length} positions but {len(labels)} labels were given")
    return labels


def refuse_unreadable(x: Any, name: str, expected: str) -> None:
    """One-line ConfigError, before any conversion, for what it would use up (an open file, an iterator) or
    misread (masked entries, which ``np.asarray`` unmasks; complex numbers, which lose their imaginary part)."""
    if hasattr(x, "read") or isinstance(x, collections.abc.Iterator):
        what = "an open file" if hasattr(x, "read") else "an iterator"
        raise ConfigError(f"{name}: expected {expected}, got {type(x).__name__} ({what}: reading it would use it up; "
                          "pass a list or an array)")
    if isinstance(x, np.ma.MaskedArray) and np.ma.count_masked(x):
        raise ConfigError(f"{name}: a masked array with {np.ma.count_masked(x):,} masked entries; pass x.filled(value) "
                          "(for scores, with mask= for the pairs a query may attend to)")
    dtype = getattr(x, "dtype", None)
    try:
        complex_ = dtype is not None and np.dtype(dtype).kind == "c"
    except TypeError:  # torch and TensorFlow dtypes say it themselves
        complex_ = getattr(dtype, "is_complex", False) is True
    if complex_:
        raise ConfigError(f"{name}: expected real numbers, got complex values (dtype {dtype}); pass abs(x) or x.real")


def refuse_oversized(x: Any, name: str) -> None:
    """One-line ConfigError for an array whose float32 copy would not fit in memory, from its shape alone."""
    needs, free = (x.size * 4, available_memory()) if isinstance(x, np.ndarray) else (0, 0)
    if needs > free:
        raise ConfigError(f"{name}: shape {tuple(x.shape)} would take {needs / 2**30:,.1f} GiB as float32, more than "
                          f"the memory available now ({free / 2**30:,.1f} GiB)")


def float32_or_refuse(convert, name: str):
    """``convert()``, values past float32 (±3.4e38) refused in one line rather than drawn as infinities."""
    try:
        with np.errstate(over="raise"):
            return convert()
    except FloatingPointError:
        raise ConfigError(f"{name}: values beyond float32's range (±3.4e+38); scale them down") from None


def clean_label(s: Any, max_chars: int | None = None) -> str:
    """``str(s)`` as UTF-8 carries it (lone surrogates become U+FFFD; a pair written as two code points is
    joined), cut to ``max_chars`` characters, the last an ellipsis."""
    t = str(s)
    if not t.isascii() and not t.isprintable():  # surrogates are not printable
        t = t.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
    return t[:max_chars - 1] + "…" if max_chars is not None and len(t) > max_chars else t


def to_numpy(x: Any, name: str, expected: str = "an array of numbers") -> np.ndarray:
    """``np.asarray`` of NumPy, TensorFlow, JAX and torch values (torch: detached, on the CPU).

    ConfigError (a ValueError) names ``name`` when ``x`` is not an array of real numbers (:func:`refuse_unreadable`).
    """
    refuse_unreadable(x, name, expected)
    if hasattr(x, "detach"):  # torch tensors that require grad refuse __array__
        x = x.detach().cpu()
    try:
        a = np.asarray(x)
    except Exception as exc:  # noqa: BLE001 - symbolic tensors and other objects
        raise ConfigError(f"{name}: expected {expected}, got {type(x).__name__} ({exc})") from None
    if a.dtype == object or not (np.issubdtype(a.dtype, np.number) or a.dtype == bool):
        raise ConfigError(f"{name}: expected {expected}, got dtype {a.dtype}")
    return a


def _from_array(key: str, value: Any, max_tokens: int) -> np.ndarray:
    a = to_numpy(value, key, "an array of numbers (T, D) or (B, T, D)")
    if a.dtype == bool:
        raise ConfigError(f"{key}: expected an array of numbers (T, D) or (B, T, D), got dtype {a.dtype}")
    if a.ndim == 2:
        a = a[None]
    if a.ndim != 3:
        raise ConfigError(f"{key}: expected an array of rank 2 (T, D) or 3 (B, T, D), got shape {a.shape}")
    if 0 in a.shape:
        raise ConfigError(f"{key}: expected a non-empty array, got shape {a.shape}")
    if a.shape[1] > max_tokens:
        raise ConfigError(f"{key}: {a.shape[1]} positions, more than max_tokens ({max_tokens}); raise it with 'max_tokens: {a.shape[1]}'")
    refuse_oversized(a, key)
    a = float32_or_refuse(lambda: a.astype(np.float32), key)
    if not np.isfinite(a).all():
        raise ConfigError(f"{key}: the array contains NaN or infinite values")
    return a


def to_sequence(key: str, value: Any, *, labels: Seq[Any] | None, label_key: str,
                max_tokens: int, rng: np.random.Generator) -> Sequence:
    """Normalize one input value; ``rng`` draws the random inputs of a shape."""
    if isinstance(value, str):
        tokens = tokenize(value)
        if not tokens:
            raise ConfigError(f"{key}: the text has no tokens (it is empty or only spaces)")
        if len(tokens) > max_tokens:
            raise ConfigError(
                f"{key}: the text has {len(tokens)} tokens, more than max_tokens ({max_tokens}); "
                f"raise it with 'max_tokens: {len(tokens)}' or --max-tokens {len(tokens)}")
        return Sequence(tokens)
    if isinstance(value, (list, tuple)):
        if value and all(isinstance(v, str) for v in value):
            if len(value) > max_tokens:
                raise ConfigError(
                    f"{key}: {len(value)} tokens, more than max_tokens ({max_tokens}); raise it with 'max_tokens: {len(value)}'")
            return Sequence([str(v) for v in value])
        if len(value) in (2, 3) and all(isinstance(v, int) and not isinstance(v, bool) for v in value):
            if min(value) <= 0:
                raise ConfigError(f"{key}: a shape needs positive sizes, got {list(value)}")
            shape = tuple(value) if len(value) == 3 else (1, *value)
            if shape[0] > 4096 or shape[2] > 4096:
                raise ConfigError(f"{key}: a shape's batch and feature sizes may be at most 4,096, got {list(value)}")
            if shape[1] > max_tokens:
                raise ConfigError(f"{key}: {shape[1]} positions, more than max_tokens ({max_tokens}); raise it with 'max_tokens: {shape[1]}'")
            a = rng.standard_normal(shape).astype(np.float32)
            return Sequence(_labels(key, labels, shape[1], label_key), a)
        if not value or not all(isinstance(v, (list, tuple, int, float)) for v in value):
            raise ConfigError(
                f"{key}: expected a text, a list of token strings, a shape like [1, 8, 16] or an array")
    if isinstance(value, (dict, bool, int, float)) or value is None:
        raise ConfigError(
            f"{key}: expected a text, a list of token strings, a shape like [1, 8, 16] or an array, "
            f"got {type(value).__name__}")
    a = _from_array(key, value, max_tokens)
    return Sequence(_labels(key, labels, a.shape[1], label_key), a)


def check_batches(seqs: dict[str, Sequence]) -> int:
    """All array inputs must share one batch size; return it (1 for text)."""
    sizes = {k: s.shape[0] for k, s in seqs.items() if s.array is not None}
    if len(set(sizes.values())) > 1:
        described = ", ".join(f"{k} {seqs[k].shape}" for k in sizes)
        raise ConfigError(f"{next(iter(sizes))}: batch sizes differ ({described})")
    return next(iter(sizes.values()), 1)


# --- the widget's own arguments: scores of one or several layers, with their labels -------------------

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
