"""Statistics of attention scores: per-head entropy and peak, aggregates, rollout, differences.

Everything takes NumPy-readable arrays ``(..., heads, query_len, key_len)`` (softmax weights) and
returns NumPy arrays; nothing here imports Keras.
"""

from __future__ import annotations

from typing import Any, Mapping

import numpy as np

def _clean(scores: Any) -> np.ndarray:
    a = np.asarray(scores, dtype=np.float64)
    return np.clip(np.nan_to_num(a, nan=0.0, posinf=0.0, neginf=0.0), 0.0, None)


def entropy(scores: Any) -> np.ndarray:
    """Entropy (nats) of each query's distribution over keys: ``(..., query_len)``; 0 = one key, ln K = uniform.

    Negative and non-finite values count as 0.
    """
    p = _clean(scores)
    with np.errstate(divide="ignore", invalid="ignore"):
        return -(p * np.log(np.where(p > 0, p, 1.0))).sum(-1)


def head_entropy(scores: Any) -> np.ndarray:
    """Mean over queries of :func:`entropy`: ``(..., heads)`` for scores ``(..., heads, q, k)``."""
    return entropy(scores).mean(-1)


def head_max(scores: Any) -> np.ndarray:
    """Largest weight of each head: ``(..., heads)``."""
    a = np.nan_to_num(np.asarray(scores, dtype=np.float64))
    return a.reshape(a.shape[:-2] + (-1,)).max(-1)


def mean_entropy_2d(a: np.ndarray, block: int = 1 << 22) -> float:
    """Mean over rows of the entropy of a ``(q, k)`` array of weights, in float32 blocks of rows
    (negative and non-finite values count as 0); for large single heads."""
    q, k = a.shape
    step = max(1, block // max(1, k))
    total = 0.0
    for r0 in range(0, q, step):
        p = np.array(a[r0:r0 + step], dtype=np.float32)
        if not np.isfinite(p).all():
            p = np.nan_to_num(p, nan=0.0, posinf=0.0, neginf=0.0)
        np.maximum(p, 0, out=p)
        lg = np.where(p > 0, p, 1.0)
        np.log(lg, out=lg)
        lg *= p
        total -= float(lg.sum(dtype=np.float64))
    return total / q


def max_2d(a: np.ndarray) -> float:
    """Largest value of a ``(q, k)`` array, NaN as 0 (as :func:`head_max`), without a copy when finite."""
    return float(a.max()) if np.isfinite(a).all() else float(np.nan_to_num(a).max())


def aggregate(scores: Any, how: str = "mean", axis: int = -3) -> np.ndarray:
    """Mean or max over heads (``axis`` -3 of ``(..., heads, q, k)``), or over any other axis."""
    a = np.asarray(scores, dtype=np.float32)
    if how == "mean":
        return a.mean(axis)
    if how == "max":
        return a.max(axis)
    raise ValueError(f"how: expected 'mean' or 'max', got {how!r}")


def _stack(layers: Any, select: Any) -> tuple[list[str], list[np.ndarray]]:
    """Names and scores of the layers a rollout runs through, in order."""
    kinds: dict[str, str] = {}
    records = getattr(layers, "records", None)  # an AttentionResult: its layer records
    if records is not None:
        kinds = {r.path: r.kind for r in records}
        layers = {r.path: r.scores for r in records}
    if isinstance(layers, Mapping):
        items = [(str(k), v) for k, v in layers.items()]
    else:
        items = [(f"layer {i}", v) for i, v in enumerate(layers)]
    if isinstance(select, str):
        items = [(n, v) for n, v in items if kinds.get(n) == select]
        if not items:
            raise ValueError(f"layers: no layer of kind {select!r} (kinds: {sorted(set(kinds.values()))})")
    elif select is not None:
        names = [str(s) for s in select]
        by_name = dict(items)
        missing = [n for n in names if n not in by_name]
        if missing:
            raise ValueError(f"layers: unknown layer {missing[0]!r}; known: {', '.join(by_name)}")
        items = [(n, by_name[n]) for n in names]
    elif kinds and len({kinds.get(n, "self") for n, _ in items}) > 1:
        raise ValueError("layers: the model mixes kinds of attention "
                         f"({', '.join(sorted(set(kinds.values())))}); choose one stack, e.g. layers='self'")
    if not items:
        raise ValueError("layers: nothing to roll out (no layers)")
    for n, _ in items:
        if kinds.get(n) == "cross":
            raise ValueError(f"layers: {n} is cross-attention; rollout runs through self-attention only")
    arrays = [np.asarray(v, dtype=np.float64) for _, v in items]
    for (n, a) in zip((n for n, _ in items), arrays):
        if a.ndim == 3:
            a = a[None]
        if a.ndim != 4 or a.shape[-1] != a.shape[-2]:
            raise ValueError(f"layers: {n} has scores {a.shape}; rollout needs square (batch, heads, T, T)")
        if a.shape[-1] != arrays[0].shape[-1]:
            raise ValueError(f"layers: {n} has T = {a.shape[-1]} but the first layer has {arrays[0].shape[-1]}")
    return [n for n, _ in items], [a if a.ndim == 4 else a[None] for a in arrays]


def rollout(layers: Any, *, select: Any = None, residual: float = 0.5) -> np.ndarray:
    """Attention rollout (Abnar & Zuidema 2020) through a stack of self-attention layers.

    ``layers``: an :class:`AttentionResult` (its ``layers``), a mapping name → scores or a list of
    scores ``(batch, heads, T, T)``, first layer first. ``select``: a kind (``"self"``,
    ``"causal"``) or a list of layer names, when the result mixes stacks. Each layer becomes
    ``Â = residual·I + (1 − residual)·mean_heads(A)`` (rows renormalised), and the rollout is
    ``Â_L · … · Â_2 · Â_1``: row ``i`` says how much each input token reaches output position ``i``.
    Returns ``(batch, T, T)`` float64.
    """
    _, arrays = _stack(layers, select)
    t = arrays[0].shape[-1]
    eye = np.eye(t)
    out = None
    for a in arrays:
        hat = residual * eye + (1.0 - residual) * a.mean(1)
        hat = hat / hat.sum(-1, keepdims=True)
        out = hat if out is None else hat @ out
    return out
