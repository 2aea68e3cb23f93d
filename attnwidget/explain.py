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

Attention recorded at the operation level (KerasHub's Llama, Gemma, T5 …) is explained from what
its op was given (:mod:`attnwidget.opexplain`): ``keras.ops.dot_product_attention`` with the same
steps (its logits also take its soft cap and ``bias``); a softmax from its input, the logits only.

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
from .opexplain import batch_parts, softmax_rows

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

    Operation-level records (:mod:`attnwidget.opexplain`): for ``dot_product_attention``, ``logits`` =
    soft_cap·tanh(dots × scale / soft_cap) (when it has ``soft_cap``) + ``bias`` (the op's bias row, when
    it has one), ``mask`` what the op's mask and ``is_causal`` allow; the other fields as above, q, K and V
    per query head (grouped-query heads expanded). For a softmax, only its input is known: ``logits`` are
    it, ``dots`` the same numbers, ``scale`` 1, and ``q``, ``K``, ``V``, ``output`` None (``key_dim``,
    ``value_dim`` 0); ``mask`` is the mask it was given and the keys whose logit is a large negative number.
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
    bias: np.ndarray | None = None
    soft_cap: float | None = None

    @property
    def key_dim(self) -> int:
        return 0 if self.q is None else int(self.q.shape[0])

    @property
    def value_dim(self) -> int:
        return 0 if self.V is None else int(self.V.shape[1])

    def to_dict(self) -> dict[str, Any]:
        """The widget's ``_explain`` form: float32 little-endian bytes, ``mask`` as uint8 bytes.

        The view takes logits = dots × scale: where the logits are more (a bias, a soft cap), ``dots`` carries
        the logits and ``scale`` 1. ValueError without V (a softmax record): the view shows V and the output.
        """
        if self.V is None:
            raise ValueError("this layer formed its weights with a softmax: the values it weighs were not recorded, so "
                             "there is no V or output to show; res.explain(query, head, layer=...) gives its logits, mask "
                             "and weights")
        plain = self.bias is None and self.soft_cap is None
        return {
            "query": self.query_index, "head": self.head, "batch": self.batch,
            "S": int(self.logits.shape[0]), "key_dim": self.key_dim, "value_dim": self.value_dim,
            "scale": float(self.scale) if plain else 1.0,
            "dots": codec.float_bytes(self.dots if plain else self.logits), "logits": codec.float_bytes(self.logits),
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


def _frozen(a: np.ndarray | None, *index) -> np.ndarray | None:
    """``a[index]`` as a read-only contiguous copy (None stays None)."""
    if a is None:
        return None
    a = np.array(a[index] if index else a)
    a.setflags(write=False)
    return a


@dataclass(frozen=True, eq=False)
class _Batch:
    """Every head and query of one batch element, computed at once (float64); None: unknown (a softmax record)."""

    q: np.ndarray | None       # (T, H, key_dim)
    K: np.ndarray | None       # (S, H, key_dim)
    V: np.ndarray | None       # (S, H, value_dim)
    dots: np.ndarray | None    # (H, T, S), unscaled
    scale: float
    logits: np.ndarray         # (H, T, S): what the softmax sees, before the mask
    mask: np.ndarray           # (H, T, S) bool (may be a broadcast view)
    weights: np.ndarray        # (H, T, S)
    output: np.ndarray | None  # (T, H, value_dim)
    diff: float                # largest |weights − the recorded scores|
    bias: np.ndarray | None = None  # (H, T, S), dot_product_attention's
    soft_cap: float | None = None


# One computation per (record, batch element): the table of a static export asks for every
# query × head. Keyed weakly by the record, so it goes with it; a record is one call, so its
# explanation is computed from the layer's weights when first asked for.
_CACHE: "weakref.WeakKeyDictionary[Any, dict[int, _Batch]]" = weakref.WeakKeyDictionary()


def _compute(record, batch: int) -> _Batch:
    b_n, h_n, t_n, s_n = record.scores.shape
    op = getattr(record, "op", None)
    if op is not None:
        parts = batch_parts(op, batch, record.scores.shape)
        diff = float(np.abs(parts["weights"] - np.asarray(record.scores[batch], dtype=np.float64)).max())
        return _Batch(**parts, diff=diff)
    if "query" not in (record.inputs or {}):
        raise ValueError("explain: this layer carries no inputs (bare scores, a record without its layer's inputs, "
                         "or an operation-level record whose inputs were not kept: past opexplain.KEEP_LIMIT)")
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
    weights = softmax_rows(dots * scale, mask, empty_uniform=False)  # a query with no key: all 0
    output = np.einsum("hts,shv->thv", weights, V)
    diff = float(np.abs(weights - np.asarray(record.scores[batch], dtype=np.float64)).max())
    return _Batch(q=q, K=K, V=V, dots=dots, scale=float(scale), logits=dots * scale,
                  mask=np.broadcast_to(np.array(mask), (h_n, t_n, s_n)), weights=weights, output=output, diff=diff)


def _batch(record, batch: int) -> _Batch:
    try:
        per = _CACHE.setdefault(record, {})
    except TypeError:  # not weak-referenceable: no cache
        return _compute(record, batch)
    if batch not in per:
        per[batch] = _compute(record, batch)
    return per[batch]


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
        raise ValueError(f"explain: the weights recomputed from the layer's inputs differ from the scores Keras returned by "
                         f"{c.diff:.2g}: " + (f"{type(record.layer).__name__} changes its input before its MultiHeadAttention "
                         "sees it, applies a mask the record does not carry, or its weights changed since the run"
                         if getattr(record, "op", None) is None else "the recorded op's inputs do not give its weights"))
    logits, mask = c.logits[head, query_index], c.mask[head, query_index]
    weights = c.weights[head, query_index]
    output = None if c.output is None else c.output[query_index, head]
    V = None if c.V is None else c.V[:, head]
    allowed = (np.ones_like(mask) if unmask else mask).copy()
    allowed[list(dropped)] = False
    if temperature != 1 or dropped or unmask:
        weights = softmax_rows(logits / float(temperature), allowed, empty_uniform=False)
        output = None if V is None else weights @ V
    return Explanation(
        query_index=query_index, head=head, batch=batch, query_token=str(record.query_tokens[query_index]),
        key_tokens=tuple(str(s) for s in record.key_tokens), q=_frozen(c.q, query_index, head),
        K=_frozen(c.K, slice(None), head), dots=_frozen(logits if c.dots is None else c.dots[head, query_index]),
        scale=c.scale, logits=_frozen(logits), mask=_frozen(mask),
        masked_logits=_frozen(np.where(allowed, logits / temperature, -np.inf)), weights=_frozen(weights),
        V=_frozen(V), output=_frozen(output), temperature=float(temperature), dropped=dropped,
        unmasked=bool(unmask), bias=_frozen(c.bias, head, query_index), soft_cap=c.soft_cap)
