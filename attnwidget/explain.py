"""Teaching mode: one query token of one head walked through the attention computation.

:func:`explain` recomputes, with NumPy and the layer's own weights, what Keras's
``MultiHeadAttention`` does for one query position ``i`` of one head ``h``::

    q      = x_q[i] · W_q[:, h] + b_q[h]            (key_dim,)
    K      = x_k · W_k[:, h] + b_k[h]               (S, key_dim)
    dots   = K · q                                  unscaled q·kⱼ, (S,)
    logits = dots × scale,  scale = 1/√key_dim      (S,)
    masked_logits = logits, −inf where the mask forbids the key
    weights = softmax(masked_logits)                (S,), exactly 0 where masked
    V      = x_v · W_v[:, h] + b_v[h]               (S, value_dim)
    output = Σⱼ weightsⱼ · Vⱼ                       (value_dim,), before the output projection

Keras folds the scale into the query (it multiplies the projected query by 1/√key_dim before
the dot product); here ``dots`` are the unscaled products and ``logits`` the scaled ones, which
is the same number the softmax sees. Arithmetic is float64: ``weights`` match the float32 scores
Keras returned to about 1e-6 on a CPU (TensorFloat-32 products on a GPU move Keras's own by ~1e-3).
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass
from typing import Any

import numpy as np

from . import codec

#: Largest difference between the recomputed weights and the scores Keras returned that is
#: still rounding; beyond it the layer's MultiHeadAttention did not see the layer's inputs. Loose
#: on purpose: on a GPU, TensorFloat-32 matrix products (TensorFlow's and JAX's default there)
#: move float32 weights (measured: 4.4e-4 with JAX on an H200, 7e-7 with PyTorch, 5e-7 on CPU);
#: a layer that transforms its input moves them far more.
CHECK_TOLERANCE = 2e-2


@dataclass(frozen=True, eq=False)
class Explanation:
    """One query token of one head, step by step (arrays are read-only NumPy float64; ``mask`` bool).

    ``dots`` are the unscaled q·kⱼ; ``logits = dots × scale`` with ``scale = 1/√key_dim`` (Keras
    scales the query instead, which gives the same logits). ``mask``: True where the query may
    attend to the key. ``output``: the head's Σⱼ wⱼ vⱼ, before the output projection.
    What-if (:func:`explain`'s ``temperature``, ``drop``, ``unmask``): ``masked_logits`` are the logits / t
    with ``dropped`` keys (and, unless ``unmasked``, masked ones) at −∞; ``weights`` and ``output`` follow.
    """

    query_index: int
    head: int
    batch: int
    query_token: str
    key_tokens: tuple[str, ...]
    q: np.ndarray
    K: np.ndarray
    dots: np.ndarray
    scale: float
    logits: np.ndarray
    mask: np.ndarray
    masked_logits: np.ndarray
    weights: np.ndarray
    V: np.ndarray
    output: np.ndarray
    temperature: float = 1.0
    dropped: tuple[int, ...] = ()
    unmasked: bool = False

    @property
    def key_dim(self) -> int:
        return int(self.q.shape[0])

    @property
    def value_dim(self) -> int:
        return int(self.V.shape[1])

    def to_dict(self) -> dict[str, Any]:
        """The widget's ``_explain`` form: float32 little-endian bytes, ``mask`` as uint8 bytes."""
        return {
            "query": self.query_index, "head": self.head, "batch": self.batch,
            "S": int(self.K.shape[0]), "key_dim": self.key_dim, "value_dim": self.value_dim,
            "scale": float(self.scale),
            "dots": codec.float_bytes(self.dots), "logits": codec.float_bytes(self.logits),
            "weights": codec.float_bytes(self.weights),
            "mask": np.ascontiguousarray(self.mask, dtype=np.uint8).tobytes(),
            "q": codec.float_bytes(self.q), "V": codec.float_bytes(self.V),
            "output": codec.float_bytes(self.output),
            "temperature": float(self.temperature), "dropped": list(self.dropped), "unmasked": self.unmasked,
        }

    def __repr__(self) -> str:
        return (f"<Explanation query {self.query_index} {self.query_token!r}, head {self.head}, "
                f"batch {self.batch}: {len(self.key_tokens)} keys, key_dim {self.key_dim}, "
                f"value_dim {self.value_dim}>")


def _index(name: str, value: Any, size: int, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise ValueError(f"{name}: expected an integer index in 0..{size - 1} ({what}), got {value!r}")
    if not 0 <= value < size:
        raise ValueError(f"{name}: expected an index in 0..{size - 1} ({what}), got {value}")
    return int(value)


def mha_of(layer) -> Any:
    """The ``MultiHeadAttention`` of ``layer`` (itself, or its ``.mha``); ValueError if none."""
    import keras

    from .discover import find_mha

    mha = find_mha(layer, keras) if layer is not None else None
    if mha is None:
        raise ValueError("explain: needs the Keras layer that made the scores (a MultiHeadAttention or a "
                         f"layer with an .mha); this record has {type(layer).__name__ if layer is not None else 'none'}")
    return mha


def projections(mha) -> dict[str, np.ndarray]:
    """The layer's projection weights by short name: ``query/kernel`` (d, heads, key_dim), ``query/bias`` ..."""
    out = {}
    for w in mha.weights:
        path = getattr(w, "path", None) or w.name
        out["/".join(path.split("/")[-2:])] = np.asarray(w.numpy() if hasattr(w, "numpy") else w, dtype=np.float64)
    for part in ("query", "key", "value"):
        kernel = out.get(f"{part}/kernel")
        if kernel is None or kernel.ndim != 3:
            raise ValueError(f"explain: expected {part}/kernel of shape (d, heads, dim) in {mha.name}, "
                             f"got {None if kernel is None else kernel.shape} (only (batch, T, d) inputs "
                             "with the default attention axes are supported)")
        out.setdefault(f"{part}/bias", np.zeros(kernel.shape[1:]))  # use_bias=False
    return out


def layer_inputs(inputs: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(query, key, value)`` as they entered the MultiHeadAttention (a record's ``inputs``).

    The value is the query when none is given (self-attention); the key is the value when none is given.
    """
    x_q = np.asarray(inputs["query"], dtype=np.float64)
    x_v = np.asarray(inputs["value"], dtype=np.float64) if inputs.get("value") is not None else x_q
    x_k = np.asarray(inputs["key"], dtype=np.float64) if inputs.get("key") is not None else x_v
    return x_q, x_k, x_v


def _frozen(a: np.ndarray) -> np.ndarray:
    a = np.ascontiguousarray(a)
    a.setflags(write=False)
    return a


@dataclass(frozen=True, eq=False)
class _Batch:
    """Every head and query of one batch element, computed at once (float64)."""

    q: np.ndarray        # (T, H, key_dim)
    K: np.ndarray        # (S, H, key_dim)
    V: np.ndarray        # (S, H, value_dim)
    dots: np.ndarray     # (H, T, S), unscaled
    scale: float
    mask: np.ndarray     # (T, S) bool
    weights: np.ndarray  # (H, T, S)
    output: np.ndarray   # (T, H, value_dim)
    diff: float          # largest |weights − Keras's scores|


# One computation per (record, batch element): the table of a static export asks for every
# query × head. Keyed weakly by the record, so it goes with it; a record is one call, so its
# explanation is computed from the layer's weights when first asked for.
_CACHE: "weakref.WeakKeyDictionary[Any, dict[int, _Batch]]" = weakref.WeakKeyDictionary()


def _compute(record, batch: int) -> _Batch:
    b_n, h_n, t_n, s_n = record.scores.shape
    if "query" not in (record.inputs or {}):
        raise ValueError("explain: this layer carries no inputs (bare scores, or a record without its layer's inputs)")
    w = projections(mha_of(record.layer))
    x_q, x_k, x_v = layer_inputs(record.inputs)
    if x_q.ndim != 3 or x_k.shape[:2] != x_v.shape[:2] or x_k.shape[1] != s_n or x_q.shape[1] != t_n:
        raise ValueError(f"explain: inputs query {x_q.shape}, key {x_k.shape}, value {x_v.shape} do not match "
                         f"the scores {tuple(record.scores.shape)}")
    bq, bk, bv = (min(batch, x.shape[0] - 1) for x in (x_q, x_k, x_v))  # a batch of 1 broadcasts
    q = np.einsum("td,dhk->thk", x_q[bq], w["query/kernel"]) + w["query/bias"]
    K = np.einsum("sd,dhk->shk", x_k[bk], w["key/kernel"]) + w["key/bias"]
    V = np.einsum("sd,dhv->shv", x_v[bv], w["value/kernel"]) + w["value/bias"]
    scale = 1.0 / np.sqrt(float(q.shape[-1]))
    dots = np.einsum("thk,shk->hts", q, K)
    mask = (np.ones((t_n, s_n), dtype=bool) if record.mask is None
            else np.broadcast_to(np.asarray(record.mask, dtype=bool), (t_n, s_n)))
    masked = np.where(mask, dots * scale, -np.inf)
    top = masked.max(-1, keepdims=True)
    with np.errstate(invalid="ignore"):
        e = np.exp(masked - np.where(np.isfinite(top), top, 0.0))
    total = e.sum(-1, keepdims=True)
    weights = np.divide(e, total, out=np.zeros_like(e), where=total > 0)  # a query with no key: all 0
    output = np.einsum("hts,shv->thv", weights, V)
    diff = float(np.abs(weights - np.asarray(record.scores[batch], dtype=np.float64)).max())
    return _Batch(q=q, K=K, V=V, dots=dots, scale=float(scale), mask=np.array(mask), weights=weights,
                  output=output, diff=diff)


def _batch(record, batch: int) -> _Batch:
    try:
        per = _CACHE.setdefault(record, {})
    except TypeError:  # not weak-referenceable: no cache
        return _compute(record, batch)
    if batch not in per:
        per[batch] = _compute(record, batch)
    return per[batch]


def _what_if(logits: np.ndarray, allowed: np.ndarray, temperature: float) -> np.ndarray:
    """softmax(logits / temperature) over the ``allowed`` keys, exactly 0 elsewhere (all 0 if none is allowed)."""
    z = np.where(allowed, logits / temperature, -np.inf)
    top = z.max() if allowed.any() else 0.0
    e = np.where(allowed, np.exp(z - top), 0.0)
    total = e.sum()
    return e / total if total > 0 else e


def _drops(drop: Any, size: int) -> tuple[int, ...]:
    keys = sorted({_index("drop", j, size, f"{size} keys") for j in (drop or ())})
    return tuple(keys)


def explain(record, query_index: int, head: int = 0, batch: int = 0, *, temperature: float = 1.0,
            drop: Any = (), unmask: bool = False, check: bool = True) -> Explanation:
    """Walk query ``query_index`` of ``head`` (batch element ``batch``) of ``record`` through attention.

    ``record`` is a :class:`~attnwidget.result.LayerRecord` (scores, tokens, mask, layer, inputs). What-if:
    ``temperature`` divides the logits (1 is the layer's own 1/√key_dim scaling), ``drop`` lists key indices
    left out of the softmax, ``unmask`` lifts the causal/padding mask. Raises ``ValueError`` naming the
    argument and its valid range. With ``check``, the weights recomputed as the layer computed them must
    equal the scores Keras returned (within :data:`CHECK_TOLERANCE`), else ``ValueError`` says so (a user's
    layer that changes its input before its ``.mha`` sees it cannot be explained from the layer's inputs).
    The batch element is computed once, from the layer's weights when first asked for.
    """
    b_n, h_n, t_n, s_n = record.scores.shape
    query_index = _index("query_index", query_index, t_n, f"{t_n} query tokens")
    head = _index("head", head, h_n, f"{h_n} heads")
    batch = _index("batch", batch, b_n, f"batch of {b_n}")
    if isinstance(temperature, bool) or not isinstance(temperature, (int, float, np.number)) \
            or not np.isfinite(temperature) or temperature <= 0:
        raise ValueError(f"temperature: expected a positive number (1 = the layer's own scaling), got {temperature!r}")
    dropped = _drops(drop, s_n)
    c = _batch(record, batch)
    if check and not c.diff <= CHECK_TOLERANCE:
        raise ValueError(
            f"explain: the weights recomputed from the layer's inputs differ from the scores Keras returned by "
            f"{c.diff:.2g}: {type(record.layer).__name__} changes its input before its MultiHeadAttention sees it, "
            "applies a mask the record does not carry, or its weights changed since the run")
    dots = c.dots[head, query_index]
    logits = dots * c.scale
    mask = c.mask[query_index]
    weights, output = c.weights[head, query_index], c.output[query_index, head]
    allowed = (np.ones_like(mask) if unmask else mask).copy()
    allowed[list(dropped)] = False
    if temperature != 1 or dropped or unmask:
        weights = _what_if(logits, allowed, float(temperature))
        output = weights @ c.V[:, head]
    return Explanation(
        query_index=query_index, head=head, batch=batch, query_token=str(record.query_tokens[query_index]),
        key_tokens=tuple(str(s) for s in record.key_tokens), q=_frozen(c.q[query_index, head]),
        K=_frozen(c.K[:, head]), dots=_frozen(dots), scale=c.scale, logits=_frozen(logits), mask=_frozen(mask),
        masked_logits=_frozen(np.where(allowed, logits / temperature, -np.inf)), weights=_frozen(weights),
        V=_frozen(c.V[:, head]), output=_frozen(output), temperature=float(temperature), dropped=dropped,
        unmasked=bool(unmask))
