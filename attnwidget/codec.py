"""Binary encoding of attention scores for the browser.

The bulk travels as one byte per weight. Softmax weights lie in ``[0, 1]`` and are
encoded as ``round(w * 255)``, so the decoding error is at most ``1/510``. Scores that
are not probabilities (a user's raw logits) are encoded affinely between their finite
minimum and maximum, and the widget says so.
"""

from __future__ import annotations

import numpy as np

#: Largest decoding error of :func:`quantize` for probabilities (half a step of 1/255).
MAX_ERROR = 1.0 / 510.0


def value_range(scores: np.ndarray) -> tuple[float, float, bool]:
    """Return ``(lo, hi, is_probability)`` of the finite values of ``scores`` ``(..., key_len)``.

    Softmax weights (every value in [0, 1], every row summing to 1, or to 0 for a fully masked
    row) are drawn on [0, 1]. Anything else (a user's raw logits, rows that do not sum to one) is
    not normalised: it is drawn on its own finite range and the widget says so.
    """
    finite = np.isfinite(scores)
    if not finite.any():
        return 0.0, 1.0, False
    vals = scores if finite.all() else scores[finite]
    lo, hi = float(vals.min()), float(vals.max())
    if lo >= 0.0 and hi <= 1.0 + 1e-6 and finite.all():
        sums = scores.sum(-1, dtype=np.float64)
        if np.all((np.abs(sums - 1.0) < 1e-3) | (np.abs(sums) < 1e-6)):
            return 0.0, 1.0, True
    if hi <= lo:
        hi = lo + 1.0
    return lo, hi, False


def quantize(scores: np.ndarray, lo: float = 0.0, hi: float = 1.0) -> bytes:
    """Encode ``scores`` (any shape) as uint8 bytes, C order, mapping ``[lo, hi]`` to ``0..255``.

    NaN and infinities are encoded as 0 (the widget marks them from ``nonfinite``).
    """
    a = np.asarray(scores, dtype=np.float32)
    scaled = (a - np.float32(lo)) * np.float32(255.0 / (hi - lo))
    scaled = np.nan_to_num(scaled, nan=0.0, posinf=255.0, neginf=0.0)
    return np.clip(np.rint(scaled), 0, 255).astype(np.uint8).tobytes()


def dequantize(buf: bytes, shape: tuple[int, ...], lo: float = 0.0, hi: float = 1.0) -> np.ndarray:
    """Inverse of :func:`quantize` (float32 array of ``shape``)."""
    q = np.frombuffer(buf, dtype=np.uint8).reshape(shape)
    return (q.astype(np.float32) * np.float32((hi - lo) / 255.0) + np.float32(lo)).astype(np.float32)


def pack_mask(mask: np.ndarray | None) -> bytes:
    """Encode a boolean ``(query_len, key_len)`` mask (True = attended) as uint8 bytes; b"" if none."""
    if mask is None:
        return b""
    return np.ascontiguousarray(mask, dtype=np.uint8).tobytes()


def float_bytes(a: np.ndarray) -> bytes:
    """Little-endian float32 bytes of ``a`` (C order), as the browser's Float32Array reads them."""
    return np.ascontiguousarray(a, dtype="<f4").tobytes()
