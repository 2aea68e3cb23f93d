"""Capture's switch to queries and keys: a ``MultiHeadAttention`` call whose scores would be too large.

:func:`attnwidget.capture` (``dense_limit=``) records a call whose scores ``(batch, heads, T, S)`` would
hold more than ``dense_limit`` numbers as the layer's projected queries and keys instead, in a
:class:`attnwidget.qkscores.QKScores` (what ``AttentionWidget.from_qk`` shows): the layer is called
once, as the model calls it, and never asked for its scores, so the ``(T, S)`` matrices are not made.
``q = query_dense(query)`` and ``k = key_dense(key)`` are computed again from the same inputs (``B × T ×
heads × key_dim`` numbers each), scaled by the layer's own ``1/√key_dim``.

The masks the layer would apply become the record's: ``use_causal_mask`` its ``causal``; the Keras masks
of padded inputs (``Embedding(mask_zero=True)``) and ``attention_mask`` one mask per batch element,
``(S,)`` where only keys are padded, ``(T, S)`` bool where queries are padded or an ``attention_mask``
is given (a fully masked query row is 0, as Keras leaves it).

A call stays dense (its scores recorded as before) when the caller asks for the scores itself, or
when the layer does not compute its scores the way this reproduces them: a subclass that overrides
``call``, ``_compute_attention`` or ``_masked_softmax``, a ``sliding_window``, other ``attention_axes``
than the sequence, inputs that are not ``(batch, T, features)``. Layers recorded at the operation
level (:mod:`attnwidget.oprecord`, KerasHub's attention) stay dense too.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .qkscores import QKScores

#: Default ``dense_limit``: scores of more numbers than this (1 GiB of float32) are recorded as q and k.
DENSE_LIMIT = 1 << 28


def _reproducible(mha) -> bool:
    """True when ``mha`` computes its scores as plain ``softmax(q·kᵀ/√key_dim)`` over the sequence axis."""
    from keras.layers import MultiHeadAttention as MHA

    cls = type(mha)
    same = all(getattr(cls, n, None) is getattr(MHA, n, None) for n in ("call", "_compute_attention", "_masked_softmax"))
    axes = getattr(mha, "_attention_axes", None)
    return (same and getattr(mha, "_sliding_window", None) is None and axes in (None, (1,))
            and callable(getattr(mha, "query_dense", None)) and callable(getattr(mha, "key_dense", None)))


def _inputs(bound) -> tuple[Any, Any, Any]:
    query, value, key = bound.get("query"), bound.get("value"), bound.get("key")
    return query, value, value if key is None else key


def dense_size(mha, bound) -> int | None:
    """Numbers in the scores ``(batch, heads, T, S)`` of this call, None when the inputs are not ``(B, T, D)``."""
    query, value, key = _inputs(bound)
    shapes = [getattr(x, "shape", None) for x in (query, value, key)]
    if any(s is None or len(s) != 3 or any(d is None for d in s) for s in shapes):
        return None
    return int(shapes[0][0]) * int(mha.num_heads) * int(shapes[0][1]) * int(shapes[2][1])


def switches(mha, bound, dense_limit: int | None) -> bool:
    """True when this call is recorded as queries and keys: its scores would pass ``dense_limit``."""
    if dense_limit is None:
        return False
    size = dense_size(mha, bound)
    return size is not None and size > dense_limit and _reproducible(mha)


def _bool(keras, x) -> np.ndarray | None:
    return None if x is None else np.asarray(keras.ops.convert_to_numpy(x)).astype(bool)


def batch_masks(keras, query_mask, bound, b: int, t: int, s: int) -> list | None:
    """One mask per batch element as Keras's ``_compute_attention_mask`` merges them (None, ``(S,)``
    padded keys, or ``(T, S)``), without the causal part; None when nothing is masked."""
    qm = _bool(keras, query_mask)
    km = None
    for m in (_bool(keras, bound.get("value_mask")), _bool(keras, bound.get("key_mask"))):
        if m is not None:
            km = m if km is None else km & m
    am = _bool(keras, bound.get("attention_mask"))
    if qm is None and km is None and am is None:
        return None
    am = None if am is None else np.broadcast_to(am, (b, t, s))
    km = None if km is None else np.broadcast_to(km, (b, s))
    out = []
    for i in range(b):
        queries = None if qm is None or qm[i].all() else qm[i]
        if am is None and queries is None:
            out.append(None if km is None else km[i])
            continue
        m = np.ones((t, s), bool) if am is None else np.array(am[i])
        if queries is not None:
            m &= queries[:, None]
        if km is not None:
            m &= km[i][None, :]
        out.append(m)
    return out


def qk_call(mha, original, args, kwargs, bound, device: str | None = None) -> tuple[Any, QKScores]:
    """Call ``original`` (the layer's own ``call``) as the caller did, without scores; return its output
    and the call's weights as :class:`QKScores` from the layer's projections of the same inputs
    (``device``: its tile pass, as ``QKScores(device=)``)."""
    import keras
    from keras.src import backend

    query, _, key = _inputs(bound)
    query_mask = backend.get_keras_mask(query)  # the layer reads it from the tensor and clears it
    out = original(*args, **kwargs)
    q = keras.ops.convert_to_numpy(mha.query_dense(query))  # (B, T, heads, key_dim)
    k = keras.ops.convert_to_numpy(mha.key_dense(key))
    b, t, s = q.shape[0], q.shape[1], k.shape[1]
    scores = QKScores(np.transpose(q, (0, 2, 1, 3)), np.transpose(k, (0, 2, 1, 3)),
                      causal=bool(bound.get("use_causal_mask", False)),
                      batch_mask=batch_masks(keras, query_mask, bound, b, t, s),
                      scale=getattr(mha, "_inverse_sqrt_key_dim", None), device=device)
    return out, scores
