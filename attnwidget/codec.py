"""Binary encoding of attention scores for the browser.

The bulk travels as one byte per weight. Softmax weights lie in ``[0, 1]`` and are
encoded as ``round(w * 255)``, so the decoding error is at most ``1/510``. Scores that
are not probabilities (a user's raw logits) are encoded affinely between their finite
minimum and maximum, and the widget says so.
"""

from __future__ import annotations

import numpy as np

from .masks import mask_kind

#: Largest decoding error of :func:`quantize` for probabilities (half a step of 1/255).
MAX_ERROR = 1.0 / 510.0

#: Above this many weights (heads × query × key) a slice travels "sparse" (see :func:`sparse_encode`):
#: 8 heads × 1024² still travel dense (8 MiB); 8 × 4096² would be 128 MiB, over the Jupyter server's
#: 10 MiB message limit.
SPARSE_THRESHOLD = 1 << 23
#: Keys kept per query and head in the sparse form.
SPARSE_TOP_K = 16
#: Largest side of the max-pooled overview in the sparse form.
POOL_MAX = 512
_BLOCK = 1 << 22  # elements per block when reading large arrays


def value_range(scores: np.ndarray) -> tuple[float, float, bool]:
    """Return ``(lo, hi, is_probability)`` of the finite values of ``scores`` ``(..., key_len)``.

    Softmax weights (every value in [0, 1], every row summing to 1, or to 0 for a fully masked
    row) are drawn on [0, 1]. Anything else (a user's raw logits, rows that do not sum to one) is
    not normalised: it is drawn on its own finite range and the widget says so.

    Large arrays are read in blocks of rows, so no full-size temporary is made.
    """
    a = np.asarray(scores)
    rows = a.reshape(-1, a.shape[-1]) if a.ndim >= 1 and a.size else a.reshape(1, -1)
    step = max(1, _BLOCK // max(1, rows.shape[1]))
    lo, hi, any_finite, all_finite, sums_ok = np.inf, -np.inf, False, True, True
    for r0 in range(0, rows.shape[0], step):
        blk = rows[r0:r0 + step]
        finite = np.isfinite(blk)
        if finite.all():
            vals = blk
        else:
            all_finite = False
            vals = blk[finite]
        if vals.size:
            any_finite = True
            lo, hi = min(lo, float(vals.min())), max(hi, float(vals.max()))
        if all_finite and sums_ok:
            sums = blk.sum(-1, dtype=np.float64)
            sums_ok = bool(np.all((np.abs(sums - 1.0) < 1e-3) | (np.abs(sums) < 1e-6)))
    if not any_finite:
        return 0.0, 1.0, False
    if lo >= 0.0 and hi <= 1.0 + 1e-6 and all_finite and sums_ok:
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


def _block(n: int, most: int) -> int:
    """Block size ``b`` so that ``ceil(n / b) <= most``."""
    return max(1, -(-n // most))


def sparse_encode(s: np.ndarray, lo: float, hi: float, mask: np.ndarray | None = None,
                  k: int = SPARSE_TOP_K, pool_max: int = POOL_MAX) -> dict:
    """The sparse form of one slice ``s`` ``(heads, q, key)``, read head by head in blocks of rows.

    ``idx``/``val``: each query's ``k`` largest keys per head (descending; masked keys and NaN
    last), ``(H, Q, k)`` uint16 (uint32 when key > 65535) and uint8 (:func:`quantize` with
    ``lo``/``hi``). ``pool``: ``(H, Pq, Pk)`` uint8, the maximum of each ``bq × bk`` block (masked
    cells left out). ``pool_mask``: ``(Pq, Pk)`` uint8, 1 where a block has an attended cell (only
    for ``mask_kind == "pooled"``).
    """
    h, q, kk = s.shape
    k = max(1, min(int(k), kk))
    bq, bk = _block(q, pool_max), _block(kk, pool_max)
    pq, pk = -(-q // bq), -(-kk // bk)
    idx_dtype = np.uint16 if kk <= 65535 else np.uint32
    idx = np.empty((h, q, k), idx_dtype)
    val = np.empty((h, q, k), np.uint8)
    pool = np.empty((h, pq, pk), np.uint8)
    kind = mask_kind(mask)
    scale = np.float32(255.0 / (hi - lo))
    rows_per = max(bq, (max(1, _BLOCK // kk) // bq) * bq)  # whole pooling blocks of rows
    for hd in range(h):
        for r0 in range(0, q, rows_per):
            blk = np.array(s[hd, r0:r0 + rows_per], dtype=np.float32)  # a copy we may overwrite
            n = blk.shape[0]
            np.nan_to_num(blk, copy=False, nan=-np.inf)
            if mask is not None:
                blk[~mask[r0:r0 + n]] = -np.inf
            part = np.argpartition(blk, kk - k, axis=-1)[:, kk - k:] if k < kk else np.broadcast_to(np.arange(kk), (n, kk)).copy()
            top = np.take_along_axis(blk, part, -1)
            order = np.argsort(-top, axis=-1, kind="stable")
            part = np.take_along_axis(part, order, -1)
            top = np.take_along_axis(top, order, -1)
            idx[hd, r0:r0 + n] = part
            val[hd, r0:r0 + n] = np.clip(np.rint(np.nan_to_num((top - np.float32(lo)) * scale, nan=0.0, posinf=255.0, neginf=0.0)), 0, 255)
            # max-pool: pad to whole blocks with -inf
            nb = -(-n // bq)
            if pk * bk != kk:
                blk = np.concatenate([blk, np.full((n, pk * bk - kk), -np.inf, np.float32)], axis=1)
            m = blk.reshape(n, pk, bk).max(-1)  # keys first (contiguous), then rows
            if nb * bq != n:
                m = np.concatenate([m, np.full((nb * bq - n, pk), -np.inf, np.float32)])
            m = m.reshape(nb, bq, pk).max(1)
            p0 = r0 // bq
            pool[hd, p0:p0 + nb] = np.clip(np.rint(np.nan_to_num((m - np.float32(lo)) * scale, nan=0.0, posinf=255.0, neginf=0.0)), 0, 255)
    out = {"mode": "sparse", "k": k, "idx_bits": 16 if idx_dtype == np.uint16 else 32,
           "idx": np.ascontiguousarray(idx, dtype="<u2" if idx_dtype == np.uint16 else "<u4").tobytes(),
           "val": val.tobytes(), "pool": pool.tobytes(), "pool_shape": [pq, pk], "pool_block": [bq, bk],
           "mask_kind": kind}
    if kind == "pooled":
        pm = np.zeros((pq * bq, pk * bk), bool)
        pm[:q, :kk] = mask
        out["pool_mask"] = pm.reshape(pq, bq, pk, bk).any(axis=(1, 3)).astype(np.uint8).tobytes()
    return out
