"""Statistics of attention scores: per-head entropy and peak, aggregates, rollout, differences.

Everything takes NumPy-readable arrays ``(..., heads, query_len, key_len)`` (softmax weights) and
returns NumPy arrays; nothing here imports Keras. The last part finds each row's largest values and
maxima of blocks of cells without sorting whole rows, for the sparse form of long sequences.
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


def entropy_rows(p: np.ndarray, scratch: np.ndarray | None = None) -> np.ndarray:
    """Entropy (nats) of each row of float32 weights ``(n, k)``, finite and not negative (0·log 0 = 0):
    ``(n,)``. Three passes over ``p`` and ``scratch`` (float32 of its shape, made if None), for
    :func:`attnwidget.codec.summarize`'s blocks."""
    lg = np.maximum(p, np.finfo(np.float32).tiny, out=scratch)
    np.log(lg, out=lg)
    return -np.vecdot(p, lg)


# --- top keys and block maxima, for the sparse form (codec.summarize, blockwise) ------------------------

def run_count(n_keys: int, k: int) -> int:
    """How many runs :func:`top_k_rows` splits ``n_keys`` keys into: about ``sqrt(k · n_keys)``, which
    balances the runs it ranks against the keys it then searches."""
    return int(min(n_keys, max(k, round((k * n_keys) ** 0.5))))


def run_max(blk: np.ndarray, runs: int) -> np.ndarray:
    """Maximum of each strided run of columns of ``blk`` ``(n, K)``: run ``j`` holds keys ``j, j + runs,
    j + 2·runs, …``; ``(n, runs)``. Strided runs reduce over a middle axis, which NumPy vectorises."""
    n, kk = blk.shape
    full = kk - kk % runs
    m = blk[:, :full].reshape(n, full // runs, runs).max(1)
    if full < kk:
        np.maximum(m[:, :kk - full], blk[:, full:], out=m[:, :kk - full])
    return m


def key_pool(a: np.ndarray, bk: int) -> np.ndarray:
    """Maximum of each run of ``bk`` consecutive columns of ``a`` ``(n, K)`` (the last may be shorter):
    ``(n, ceil(K / bk))``. Strided slices, not a reduction over a short inner axis, which is slow."""
    n, kk = a.shape
    full = kk - kk % bk
    if bk & (bk - 1) == 0:  # a power of two: halve log2(bk) times
        m = a[:, :full]
        while m.shape[1] > full // bk:
            m = np.maximum(m[:, 0::2], m[:, 1::2])
        m = np.array(m)
    else:
        m = np.array(a[:, 0:full:bk])
        for j in range(1, bk):
            np.maximum(m, a[:, j:full:bk], out=m)
    return m if full == kk else np.concatenate([m, a[:, full:].max(-1, keepdims=True)], axis=1)


def row_pool(a: np.ndarray, bq: int) -> np.ndarray:
    """Maximum over runs of ``bq`` consecutive rows of ``a`` ``(n, m)`` (the last may be shorter)."""
    n = a.shape[0]
    full = n - n % bq
    m = a[:full].reshape(full // bq, bq, -1).max(1)
    return m if full == n else np.concatenate([m, a[full:].max(0, keepdims=True)])


def top_k_rows(blk: np.ndarray, k: int, runs: int | None = None,
               rmax: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Each row's ``k`` largest values of ``blk`` ``(n, K)`` (no NaN; ``-inf`` allowed): ``(idx, values)``,
    each ``(n, k)``, unsorted.

    Keys are split into ``runs`` strided runs (:func:`run_max`; ``rmax``: their maxima if known) and only
    the ``k`` runs with the largest maxima are searched: together they hold a set of ``k`` largest
    values (a run holding one of them has a maximum at least the k-th largest, and at most ``k`` runs
    can), so a row costs about ``runs + k·K/runs`` instead of ``K``. Ties (``-inf`` included) are broken
    arbitrarily; an index may repeat among ``-inf`` values of a row with fewer than ``k`` finite ones
    (see :func:`fill_masked`).
    """
    n, kk = blk.shape
    if k >= kk:
        return np.broadcast_to(np.arange(kk), (n, kk)).copy(), np.array(blk, dtype=np.float32)
    runs = run_count(kk, k) if runs is None else runs
    if runs <= k or runs >= kk:
        part = np.argpartition(blk, kk - k, axis=-1)[:, kk - k:]
        return part, np.take_along_axis(blk, part, -1)
    if rmax is None:
        rmax = run_max(blk, runs)
    c = -(-kk // runs)  # keys per run, the last ones past K where runs does not divide K
    best = np.argpartition(rmax, runs - k, axis=-1)[:, runs - k:]
    cand = (best[:, :, None] + runs * np.arange(c)).reshape(n, k * c)
    past = cand >= kk if kk % runs else None
    if past is not None:
        np.minimum(cand, kk - 1, out=cand)
    blk = np.ascontiguousarray(blk)
    vals = blk.reshape(-1)[cand + (np.arange(n) * kk)[:, None]]  # flat indices: cheaper than take_along_axis
    if past is not None:
        vals[past] = -np.inf
    sel = np.argpartition(vals, k * c - k, axis=-1)[:, k * c - k:]
    sel += (np.arange(n) * (k * c))[:, None]
    return cand.reshape(-1)[sel], vals.reshape(-1)[sel]


def sort_top(idx: np.ndarray, vals: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``idx``, ``vals`` ``(..., k)`` ordered by value, largest first (stable on ties)."""
    order = np.argsort(-vals, axis=-1, kind="stable")
    return np.take_along_axis(idx, order, -1), np.take_along_axis(vals, order, -1)


def fill_masked(idx: np.ndarray, vals: np.ndarray, n_keys: int) -> None:
    """In place: in rows of ``(n, k)`` with ``-inf`` values (fewer than ``k`` attended keys), give those
    slots the smallest key indices the row does not already hold, so no index repeats."""
    rows = np.flatnonzero(np.isneginf(vals).any(-1))
    if not rows.size:
        return
    k = idx.shape[-1]
    ri, rv = idx[rows], vals[rows]
    real = ~np.isneginf(rv)
    cand = np.arange(min(2 * k, n_keys))
    taken = ((cand[None, :, None] == ri[:, None, :]) & real[:, None, :]).any(-1)  # (r, candidates)
    free = np.argsort(taken, axis=-1, kind="stable")  # untaken candidates first, in order
    slots = np.argsort(real, axis=-1, kind="stable")  # -inf slots first
    n_free = (~real).sum(-1)
    for j in range(k):  # k is small
        use = j < n_free
        r = np.flatnonzero(use)
        ri[r, slots[r, j]] = cand[free[r, j]]
    idx[rows] = ri
