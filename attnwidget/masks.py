"""Attention masks: the one place that says what "causal" means.

A mask is boolean ``(query_len, key_len)``, True where a query may attend to a key.
"""

from __future__ import annotations

import numpy as np


def causal_mask(q: int, k: int) -> np.ndarray:
    """Lower-triangular ``(q, k)`` mask: query ``i`` sees keys ``0 … i``."""
    return np.tri(q, k, dtype=bool)


def is_causal(mask: np.ndarray | None) -> bool:
    """True when ``mask`` is exactly :func:`causal_mask` of its shape (square or not)."""
    if mask is None:
        return False
    m = np.asarray(mask, dtype=bool)
    return m.ndim == 2 and bool(np.array_equal(m, causal_mask(*m.shape)))


def looks_causal(scores: np.ndarray) -> bool:
    """True when square scores ``(..., T, T)`` (T > 1) are zero above the diagonal.

    Rows of a fully masked query are let through (uniform over every key, as Hugging Face's left padding
    leaves them, or all zero) as long as one row is clean. Read in blocks of rows, stopping at the first
    block that settles it: no full-size temporary.
    """
    q, k = np.shape(scores)[-2:]
    if q != k or q < 2:
        return False
    rows = np.asarray(scores).reshape(-1, q, k)
    step = max(1, (1 << 20) // (k * rows.shape[0]))
    clean = False
    for r0 in range(0, q, step):
        blk = rows[:, r0:r0 + step]
        above = np.triu(blk, r0 + 1).any(-1)
        if above.any() and not np.allclose(blk[above], 1.0 / k, atol=1e-6):
            return False
        clean = clean or not above.all()
    return clean


def mask_kind(mask: np.ndarray | None) -> str:
    """``"none"``, ``"causal"`` or ``"pooled"`` (any other mask): how the browser draws it when pooled."""
    if mask is None:
        return "none"
    return "causal" if is_causal(mask) else "pooled"
