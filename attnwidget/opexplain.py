"""What explain needs from attention recorded at the operation level (:mod:`attnwidget.oprecord`).

For every weight tensor it records, :mod:`attnwidget.oprecord` keeps, as NumPy, what the weights were
formed from (an :class:`OpInputs`, on the call as ``kept``), and :func:`attnwidget.capture` gives it to the
:class:`~attnwidget.result.LayerRecord` it makes of that call (``op``):

- ``keras.ops.dot_product_attention``: its ``query`` ``(B, T, N, h)``, ``key`` ``(B, S, K, h)`` and
  ``value`` ``(B, S, K, hv)`` as given (grouped-query key and value heads are expanded to one per query
  head when a batch element is explained, as the weights are), ``bias`` and ``mask`` in the shape given,
  ``scale``, ``is_causal`` and ``attn_logits_soft_cap``. Explain shows everything: q, K, the unscaled
  dots, scale, logits (soft cap, + bias), mask, weights, V and the output row.
- a softmax (``keras.layers.Softmax`` and the mask it was given, or ``keras.ops.softmax``): its input,
  the logits ``(B, H, T, S)`` after whatever scaling and bias the layer applied. q, K, V and the output
  are unknown: explain gives the logits, the mask, the weights and the what-if, with ``dots`` = the
  logits and ``scale`` 1, ``q``, ``K``, ``V`` and ``output`` None; the widget's explain view, which
  shows V and the output, is not offered for these records.

A mask folded into the logits (a large negative number added, as T5 adds −1e9 to its position bias)
is read back from them: a logit at or below :data:`MASKED_BELOW` counts as masked. Lifting such a
mask (``unmask``) cannot reveal the logit under it; the key keeps its large negative logit.

Memory: a dot_product_attention record keeps about ``B·T·N·h + 2·B·S·K·h`` numbers (the query, key and
value of one call, float32), a softmax record ``B·H·T·S`` (as many as its scores): for a model with T
up to a few hundred tokens that is small. A call whose inputs hold more than :data:`KEEP_LIMIT`
numbers keeps nothing, and its record cannot be explained.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

#: Most numbers (float32) kept for explain per recorded call; past it, nothing is kept (256 MiB).
KEEP_LIMIT = 2**26
#: A logit at or below this counts as masked: the layer folded a large negative number into it.
MASKED_BELOW = -1e4


@dataclass(frozen=True, eq=False)
class OpInputs:
    """What one recorded call formed its weights from, NumPy (float32; masks bool), batch axis first.

    ``op``: ``dot_product_attention`` (``query``, ``key``, ``value``, ``bias``, ``mask``, ``scale``
    (None: 1/√h), ``is_causal``, ``soft_cap``) or ``softmax`` (``logits`` ``(B, H, T, S)`` and the
    ``mask`` the layer was given). ``bias`` and ``mask`` are rank 4, broadcastable to ``(B, H, T, S)``.
    """

    op: str
    logits: np.ndarray | None = None
    query: np.ndarray | None = None
    key: np.ndarray | None = None
    value: np.ndarray | None = None
    bias: np.ndarray | None = None
    mask: np.ndarray | None = None
    scale: float | None = None
    is_causal: bool = False
    soft_cap: float | None = None

    @property
    def has_values(self) -> bool:
        """Whether V and the output are known (the widget's explain view needs them)."""
        return self.value is not None


def _rank4(a: np.ndarray) -> np.ndarray:
    return a.reshape((1,) * (4 - a.ndim) + a.shape) if a.ndim < 4 else a


def _heads(a: np.ndarray, like: tuple[int, ...]) -> np.ndarray:
    """``a`` (broadcastable to ``like`` = ``(B, ..., T, S)``) with its middle axes made one head axis."""
    a = a.reshape((1,) * (len(like) - a.ndim) + a.shape)
    if len(like) == 3:
        return a[:, None]
    if all(d == 1 for d in a.shape[1:-2]):
        return a.reshape(a.shape[0], 1, a.shape[-2], a.shape[-1])
    full = np.broadcast_to(a, (a.shape[0], *like[1:-2], *a.shape[-2:]))
    return full.reshape(a.shape[0], -1, a.shape[-2], a.shape[-1])


def from_parts(keras, parts: dict) -> OpInputs | None:
    """:class:`OpInputs` of the backend tensors ``parts`` a recorded call saw; None past :data:`KEEP_LIMIT`
    or when they cannot be read (symbolic tensors, shapes this module does not know)."""
    def numpy(v):
        return np.asarray(v if isinstance(v, (int, float, np.ndarray, np.generic)) else keras.ops.convert_to_numpy(v))

    try:
        arr = {k: None if v is None or k in ("op", "is_causal") else numpy(v) for k, v in parts.items()}
    except Exception:  # noqa: BLE001 - a traced or symbolic call: nothing to keep
        return None
    if sum(a.size for a in arr.values() if a is not None) > KEEP_LIMIT:
        return None
    f32 = {k: a.astype(np.float32) for k, a in arr.items() if a is not None and k not in ("mask", "scale", "soft_cap")}
    if parts["op"] == "softmax":
        x = f32["logits"]
        if x.ndim < 3:
            return None
        mask = arr.get("mask")
        if mask is not None:
            mask = _heads(mask > 0.5 if mask.dtype != bool else mask, x.shape)
        return OpInputs("softmax", logits=_heads(x, x.shape), mask=mask)
    q, k, v = f32.get("query"), f32.get("key"), f32.get("value")
    if q is None or k is None or v is None or q.ndim != 4 or k.ndim != 4 or v.ndim != 4 or q.shape[2] % k.shape[2]:
        return None
    bias, mask = f32.get("bias"), arr.get("mask")
    scalar = {n: None if arr.get(n) is None else float(arr[n]) for n in ("scale", "soft_cap")}
    return OpInputs("dot_product_attention", query=q, key=k, value=v,
                    bias=None if bias is None else _rank4(bias), mask=None if mask is None else _rank4(mask.astype(bool)),
                    is_causal=bool(parts.get("is_causal")), **scalar)


# --- one batch element, computed for explain ----------------------------------------------------------------
def _pick(a: np.ndarray | None, b: int, shape: tuple[int, ...]) -> np.ndarray | None:
    """Batch element ``b`` of ``a`` (whose batch axis may be 1), float64 or bool, broadcast to ``shape``."""
    if a is None:
        return None
    x = a[min(b, a.shape[0] - 1)]
    return np.broadcast_to(x if x.dtype == bool else x.astype(np.float64), shape)


def softmax_rows(logits: np.ndarray, allowed: np.ndarray | None, empty_uniform: bool) -> np.ndarray:
    """Softmax over the last axis of the ``allowed`` logits, exactly 0 elsewhere; a row with no key
    allowed is all 0, or uniform with ``empty_uniform`` (as dot_product_attention gives it)."""
    z = logits if allowed is None else np.where(allowed, logits, -np.inf)
    top = z.max(-1, keepdims=True)
    with np.errstate(invalid="ignore", over="ignore"):
        e = np.exp(z - np.where(np.isfinite(top), top, 0.0))
    total = e.sum(-1, keepdims=True)
    w = np.divide(e, total, out=np.zeros_like(e), where=total > 0)
    if empty_uniform and allowed is not None:
        w = np.where(allowed.any(-1, keepdims=True), w, 1.0 / logits.shape[-1])
    return w


def batch_parts(op: OpInputs, batch: int, shape: tuple[int, ...]) -> dict[str, Any]:
    """Every head and query of batch element ``batch`` (float64): the fields of explain's ``_Batch`` but
    ``diff``. ``shape``: the record's ``(B, H, T, S)``. ``mask`` is what the view shows (the applied mask
    and the masks folded into the logits); ``weights`` are the layer's own, as its op formed them."""
    _, h, t, s = shape
    q = K = V = dots = bias = output = None
    scale = 1.0
    if op.op == "softmax":
        logits = _pick(op.logits, batch, (h, t, s))
    else:
        q = _pick(op.query, batch, op.query.shape[1:])                       # (T, N, h)
        groups = h // op.key.shape[2]
        K = np.repeat(_pick(op.key, batch, op.key.shape[1:]), groups, axis=1)    # (S, N, h): head n reads n // groups
        V = np.repeat(_pick(op.value, batch, op.value.shape[1:]), groups, axis=1)
        dots = np.einsum("tnh,snh->nts", q, K)
        scale = 1.0 / np.sqrt(float(q.shape[-1])) if op.scale is None else float(op.scale)
        logits = dots * scale
        if op.soft_cap is not None:
            logits = np.tanh(logits / op.soft_cap) * op.soft_cap
        bias = _pick(op.bias, batch, (h, t, s))
        if bias is not None:
            logits = logits + bias
    applied = _pick(op.mask, batch, (h, t, s))
    if op.is_causal:
        tri = np.tri(t, s, dtype=bool)[None]
        applied = np.broadcast_to(tri, (h, t, s)) if applied is None else applied & tri
    weights = softmax_rows(logits, applied, empty_uniform=op.op != "softmax")
    if V is not None:
        output = np.einsum("nts,snv->tnv", weights, V)
    shown = logits > MASKED_BELOW
    if applied is not None:
        shown &= applied
    return dict(q=q, K=K, V=V, dots=dots, scale=scale, logits=logits, bias=bias, soft_cap=op.soft_cap,
                mask=shown, weights=weights, output=output)
