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
    """True when square scores ``(..., T, T)`` (T > 1) are exactly zero above the diagonal."""
    q, k = np.shape(scores)[-2:]
    return q == k and q > 1 and not np.triu(np.asarray(scores), 1).any()


def mask_kind(mask: np.ndarray | None) -> str:
    """``"none"``, ``"causal"`` or ``"pooled"`` (any other mask): how the browser draws it when pooled."""
    if mask is None:
        return "none"
    return "causal" if is_causal(mask) else "pooled"
