"""One layer and batch element of scores, as the browser receives it.

Dense (every weight, one byte each) up to ``codec.SPARSE_THRESHOLD`` weights; above it, each
query's top-k keys per head and a max-pooled overview (``codec.sparse_encode``), so that no
message comes near the Jupyter server's 10 MiB limit.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from . import codec, stats


def encode(s: np.ndarray, mask: np.ndarray | None) -> dict[str, Any]:
    """``s``: float32 ``(heads, query_len, key_len)``; ``mask``: bool ``(query_len, key_len)`` or None."""
    lo, hi, prob = codec.value_range(s)
    h, q, k = s.shape
    if h * q * k > codec.SPARSE_THRESHOLD:
        return _sparse(s, lo, hi, prob, mask)
    with np.errstate(divide="ignore", invalid="ignore"):
        p = np.clip(np.nan_to_num(s, nan=0.0, posinf=0.0, neginf=0.0), 0, None)
        ent = -(p * np.log(np.where(p > 0, p, 1.0))).sum(-1).mean(-1)
    return {
        "q": codec.quantize(s, lo, hi),
        "shape": [h, q, k],
        "lo": lo,
        "hi": hi,
        "probability": prob,
        "mask": codec.pack_mask(mask),
        "nonfinite": int((~np.isfinite(s)).sum()),
        "head_max": [float(v) for v in np.nan_to_num(s).reshape(h, -1).max(-1)],
        "head_entropy": [float(v) for v in ent],
    }


def _sparse(s: np.ndarray, lo: float, hi: float, prob: bool, mask: np.ndarray | None) -> dict[str, Any]:
    """Top-k keys per query and a max-pooled overview; statistics computed head by head."""
    h, q, k = s.shape
    nonfinite, head_max, head_entropy = 0, [], []
    for hd in range(h):
        a = s[hd]
        nonfinite += int((~np.isfinite(a)).sum())
        head_max.append(stats.max_2d(a))
        head_entropy.append(stats.mean_entropy_2d(a))
    return {
        **codec.sparse_encode(s, lo, hi, mask),
        "shape": [h, q, k], "lo": lo, "hi": hi, "probability": prob,
        "nonfinite": nonfinite, "head_max": head_max, "head_entropy": head_entropy,
    }
