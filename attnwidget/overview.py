"""The model view's data: every (layer, head) as a small uint8 thumbnail, with per-head statistics.

One binary buffer holds all thumbnails, so the browser draws a 6-layer × 8-head grid without the
full scores of the layers it does not show. A thumbnail is the layer's ``(q, k)`` matrix averaged
down to at most :data:`MAX_SIDE` × :data:`MAX_SIDE`: the mean over a block of queries of the weight
each puts on a block of keys (summed), so rows still sum to 1 and a 512-token layer does not fade to
its 1/512 average. All layers share one range, 0 … the largest thumbnail value (``hi``); signed
scores (differences) use ±the largest magnitude: one colour scale for the whole grid.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from . import codec, stats

MAX_SIDE = 48


def _bins(n: int, m: int) -> np.ndarray:
    """Start indices of ``m`` nearly equal blocks covering ``0..n-1``."""
    return np.floor(np.arange(m) * n / m).astype(np.intp)


def downsample(a: np.ndarray, max_side: int = MAX_SIDE) -> np.ndarray:
    """``(..., q, k)`` down to at most ``max_side`` per side: mean over query blocks, sum over key blocks."""
    q, k = a.shape[-2:]
    hq, wk = min(q, max_side), min(k, max_side)
    if (hq, wk) == (q, k):
        return a
    if not np.isfinite(a).all():
        a = np.nan_to_num(a, nan=0.0, posinf=0.0, neginf=0.0)
    rows = np.add.reduceat(a, _bins(q, hq), axis=-2) / np.diff(np.append(_bins(q, hq), q))[:, None]
    return np.add.reduceat(rows, _bins(k, wk), axis=-1)


def _parts(s, max_side: int) -> tuple:
    """``(thumbnails (h, th, tw), probability, entropy per head, max per head)`` of one slice ``(h, q, k)``:
    an array, or weights from queries and keys (:class:`attnwidget.qkscores.QKSlice`), whose tile pass
    made them (at :data:`MAX_SIDE`)."""
    if hasattr(s, "summary"):
        sm = s.summary()
        return sm.thumbs, True, sm.sparse.head_entropy, sm.sparse.head_max
    heads = range(s.shape[0])
    small = np.stack([downsample(s[j], max_side) for j in heads])  # head by head: no full-size copy
    return (small, codec.value_range(s)[2], [stats.mean_entropy_2d(s[j]) for j in heads],
            [stats.max_2d(s[j]) for j in heads])


def overview(layers: Sequence[np.ndarray], batch: int, names: Sequence[str], kinds: Sequence[str],
             max_side: int = MAX_SIDE) -> dict:
    """``_overview``: ``{"q": bytes, "layers": [{name, kind, H, Q, K, h, w, offset, lo, hi, probability,
    entropy, max, mean_offset}]}``; head ``j`` of layer ``l`` is ``h·w`` bytes at ``offset + j·h·w``,
    followed by the mean of the heads at ``mean_offset``. Every layer is quantized over the same
    ``lo … hi`` (one colour scale for the whole grid)."""
    smalls, out = [], []
    for name, kind, a in zip(names, kinds, layers):
        s = a[min(batch, a.shape[0] - 1)]
        h, q, k = s.shape
        small, prob, ent, peak = _parts(s, max_side)
        smalls.append(np.concatenate([small, small.mean(0, keepdims=True)]))
        out.append({
            "name": str(name), "kind": str(kind), "H": h, "Q": q, "K": k, "h": small.shape[1], "w": small.shape[2],
            "probability": prob,
            "entropy": [round(float(v), 4) for v in ent], "max": [round(float(v), 4) for v in peak],
        })
    lo, hi = shared_range(smalls)
    chunks, offset = [], 0
    for layer, small in zip(out, smalls):
        body = codec.quantize(small, lo, hi)
        size = layer["h"] * layer["w"]
        layer.update(offset=offset, mean_offset=offset + layer["H"] * size, lo=lo, hi=hi)
        chunks.append(body)
        offset += len(body)
    return {"q": b"".join(chunks), "layers": out, "max_side": max_side}


def shared_range(smalls: Sequence[np.ndarray]) -> tuple[float, float]:
    """``(lo, hi)`` covering every thumbnail: ``0 … max`` (``min … max`` below 0), or ``±max |value|``
    when the values take both signs (differences)."""
    finite = [x[np.isfinite(x)] for x in smalls]
    finite = np.concatenate(finite) if finite else np.zeros(0)
    if not finite.size:
        return 0.0, 1.0
    lo, hi = float(finite.min()), float(finite.max())
    if lo < 0 < hi:
        m = float(np.abs(finite).max())
        return -m, m
    lo = min(0.0, lo)
    return lo, hi if hi > lo else codec.widen(lo)
