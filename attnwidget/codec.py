"""Binary encoding of attention scores for the browser.

The bulk travels as one byte per weight. Softmax weights lie in ``[0, 1]`` and are
encoded as ``round(w * 255)``, so the decoding error is at most ``1/510``. Scores that
are not probabilities (a user's raw logits) are encoded affinely between their finite
minimum and maximum, and the widget says so.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

from . import stats
from .masks import mask_kind

#: Largest decoding error of :func:`quantize` for probabilities (half a step of 1/255).
MAX_ERROR = 1.0 / 510.0

#: Above this many weights (heads × query × key) a slice travels "sparse" (see :func:`sparse_encode`):
#: 8 heads × 1024² still travel dense (8 MiB); 8 × 4096² would be 128 MiB, over the Jupyter server's
#: 10 MiB message limit.
SPARSE_THRESHOLD = 1 << 23
#: Keys kept per query and head in the sparse form (fewer past :data:`SPARSE_BYTES`).
SPARSE_TOP_K = 16
#: Largest side of the max-pooled overview in the sparse form.
POOL_MAX = 512
#: Most bytes of one sparse slice's top keys and pools: under the 10 MiB message limit with room to spare.
SPARSE_BYTES = 8 << 20
_BLOCK = 1 << 22  # elements per block when reading large arrays
_SCAN = 1 << 18  # elements per block of summarize (1 MiB of float32: stays in a core's cache)


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
        hi = widen(lo)
    return lo, hi, False


def widen(lo: float) -> float:
    """An upper end above ``lo`` for a constant range: ``lo + 1`` is ``lo`` itself once ``|lo|`` passes 2**53."""
    return lo + max(1.0, abs(lo) * 2.0 ** -20)


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


def cores() -> int:
    """CPU cores this process may use: its affinity where the system says (taskset, a container's cpuset)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # macOS, Windows
        return os.cpu_count() or 1


def _block(n: int, most: int) -> int:
    """Block size ``b`` so that ``ceil(n / b) <= most``."""
    return max(1, -(-n // most))


def pool_blocks(q: int, key: int, pool_max: int = POOL_MAX) -> tuple[int, int, int, int]:
    """``(bq, bk, Pq, Pk)``: the pooled overview's block sides and its shape for a ``(q, key)`` slice."""
    bq, bk = _block(q, pool_max), _block(key, pool_max)
    return bq, bk, -(-q // bq), -(-key // bk)


@dataclass(frozen=True)
class SparseSummary:
    """What the sparse ``_data`` of one slice ``(H, Q, K)`` is made of, before quantization.

    ``idx``/``top``: each query's strongest keys per head and their weights ``(H, Q, k)``, descending;
    masked keys (``-inf``) last. ``pool``: float32 ``(H, Pq, Pk)``, the largest weight of each
    ``pool_block`` block (``-inf`` where none is attended). ``pool_mask``: bool ``(Pq, Pk)`` for
    ``mask_kind == "pooled"``. The rest are :func:`attnwidget.protocol.slice_payload`'s common fields.
    """

    shape: tuple[int, int, int]
    idx: np.ndarray
    top: np.ndarray
    pool: np.ndarray
    pool_block: tuple[int, int]
    lo: float
    hi: float
    probability: bool
    nonfinite: int
    head_max: list[float]
    head_entropy: list[float]
    mask_kind: str = "none"
    pool_mask: np.ndarray | None = None


def _bytes(a: np.ndarray, lo: float, hi: float) -> np.ndarray:
    """uint8 codes of float32 ``a`` on ``[lo, hi]`` (non-finite and masked as :func:`quantize`)."""
    scaled = (a - np.float32(lo)) * np.float32(255.0 / (hi - lo))
    np.nan_to_num(scaled, copy=False, nan=0.0, posinf=255.0, neginf=0.0)
    return np.clip(np.rint(scaled), 0, 255).astype(np.uint8)


def sparse_payload(sm: SparseSummary) -> dict:
    """The sparse ``_data`` of a summary: ``idx`` ``(H, Q, k)`` uint16 (uint32 when key > 65535),
    ``val`` and ``pool`` uint8 on ``[lo, hi]``, ``pool_mask`` uint8 ``(Pq, Pk)`` when pooled."""
    h, q, kk = sm.shape
    wide = kk > 65535
    pq, pk = sm.pool.shape[1:]
    out = {"mode": "sparse", "k": int(sm.idx.shape[-1]), "idx_bits": 32 if wide else 16,
           "idx": np.ascontiguousarray(sm.idx, dtype="<u4" if wide else "<u2").tobytes(),
           "val": _bytes(sm.top, sm.lo, sm.hi).tobytes(), "pool": _bytes(sm.pool, sm.lo, sm.hi).tobytes(),
           "pool_shape": [int(pq), int(pk)], "pool_block": [int(b) for b in sm.pool_block], "mask_kind": sm.mask_kind,
           "shape": [h, q, kk], "lo": sm.lo, "hi": sm.hi, "probability": sm.probability, "nonfinite": sm.nonfinite,
           "head_max": [float(v) for v in sm.head_max], "head_entropy": [float(v) for v in sm.head_entropy]}
    if sm.mask_kind == "pooled" and sm.pool_mask is not None:
        out["pool_mask"] = np.ascontiguousarray(sm.pool_mask, dtype=np.uint8).tobytes()
    return out


def sparse_size(h: int, q: int, key: int) -> tuple[int, int]:
    """``(k, pool_max)`` of a ``(h, q, key)`` slice's sparse form: :data:`SPARSE_TOP_K` and :data:`POOL_MAX`
    unless the top keys and pools would pass :data:`SPARSE_BYTES` (8 heads × 32,768²: 8 keys per query)."""
    pool_max = POOL_MAX
    while pool_max > 64 and h * min(q, pool_max) * min(key, pool_max) > SPARSE_BYTES // 4:
        pool_max //= 2
    left = SPARSE_BYTES - h * min(q, pool_max) * min(key, pool_max)
    per_key = h * q * (1 + (2 if key <= 65535 else 4))  # uint8 value + uint16/32 index
    return max(1, min(SPARSE_TOP_K, key, left // per_key)), pool_max


def summarize(s: np.ndarray, mask: np.ndarray | None = None, k: int | None = None,
              pool_max: int | None = None) -> SparseSummary:
    """Read a dense slice ``s`` ``(H, Q, K)`` once, in blocks of rows, for its sparse ``_data``.

    One pass gives the value range (:func:`value_range`'s rule), the top-k keys, the pooled overview,
    the number of non-finite values and each head's largest weight and mean entropy (as
    :func:`attnwidget.stats.head_max` / :func:`attnwidget.stats.mean_entropy_2d`). ``mask`` bool
    ``(Q, K)``: masked cells are left out of the top-k and the pool, not of the statistics. ``k``,
    ``pool_max``: default :func:`sparse_size`. Heads are read in parallel threads (NumPy releases the
    GIL in its loops).
    """
    h, q, kk = s.shape
    k0, p0 = sparse_size(h, q, kk)
    k, pool_max = max(1, min(int(k or k0), kk)), pool_max or p0
    bq, bk, pq, pk = pool_blocks(q, kk, pool_max)
    idx = np.empty((h, q, k), np.int64)
    top = np.empty((h, q, k), np.float32)
    pool = np.empty((h, pq, pk), np.float32)
    with ThreadPoolExecutor(max_workers=min(h, cores())) as ex:
        accs = list(ex.map(lambda hd: _scan_head(s[hd], mask, (idx[hd], top[hd], pool[hd]), bq, bk), range(h)))
    idx, top = stats.sort_top(idx, top)
    stats.fill_masked(idx.reshape(-1, k), top.reshape(-1, k), kk)
    lo, hi, prob = _range(accs)
    kind = mask_kind(mask)
    pm = None
    if kind == "pooled":
        full = np.zeros((pq * bq, pk * bk), bool)
        full[:q, :kk] = mask
        pm = full.reshape(pq, bq, pk, bk).any(axis=(1, 3))
    return SparseSummary((h, q, kk), idx, top, pool, (bq, bk), lo, hi, prob, sum(a["nonfinite"] for a in accs),
                         [a["max"] for a in accs], [a["entropy"] / q for a in accs], kind, pm)


def _scan_head(sh: np.ndarray, mask: np.ndarray | None, out: tuple, bq: int, bk: int) -> dict:
    """:func:`summarize` of one head ``sh`` ``(Q, K)`` by blocks of whole pooling rows, into ``out``
    (its ``idx``, ``top`` and ``pool``); returns its statistics (see :func:`_block_stats`)."""
    q, kk = sh.shape
    idx, top, pool = out
    rows = max(bq, (max(1, _SCAN // kk) // bq) * bq)
    acc = {"lo": np.inf, "hi": -np.inf, "finite": True, "sums": True, "nonfinite": 0, "max": -np.inf, "entropy": 0.0}
    scratch = np.empty((min(rows, q), kk), np.float32)
    for r0 in range(0, q, rows):
        blk = np.asarray(sh[r0:r0 + rows], dtype=np.float32)
        n = blk.shape[0]
        work, p = _block_stats(blk, acc)
        acc["entropy"] += float(stats.entropy_rows(p, scratch[:n]).sum(dtype=np.float64))
        if mask is not None:
            work = np.where(mask[r0:r0 + n], work, np.float32(-np.inf))
        idx[r0:r0 + n], top[r0:r0 + n] = stats.top_k_rows(work, idx.shape[-1])
        pool[r0 // bq:r0 // bq + -(-n // bq)] = stats.key_pool(stats.row_pool(work, bq), bk)
    return acc


def _block_stats(blk: np.ndarray, acc: dict) -> tuple[np.ndarray, np.ndarray]:
    """Fold one block of rows into ``acc`` (value range, row sums, non-finite count, largest value with
    NaN as 0 as :func:`attnwidget.stats.max_2d`); return the block for the top-k and pool (NaN as
    ``-inf``) and the weights the entropy reads (non-finite and negative as 0)."""
    mn, mx = float(blk.min()), float(blk.max())
    work = p = blk
    if not (np.isfinite(mn) and np.isfinite(mx)):  # NaN or ±inf somewhere: the slow, rare path
        bad = ~np.isfinite(blk)
        acc["nonfinite"] += int(bad.sum())
        acc["finite"] = False
        acc["max"] = max(acc["max"], float(np.nan_to_num(blk).max()))
        good = blk[~bad]
        mn, mx = (float(good.min()), float(good.max())) if good.size else (np.inf, -np.inf)
        work = np.where(np.isnan(blk), np.float32(-np.inf), blk)
        p = np.where(bad, np.float32(0), blk)
    else:
        acc["max"] = max(acc["max"], mx)
    acc["lo"], acc["hi"] = min(acc["lo"], mn), max(acc["hi"], mx)
    if acc["finite"] and acc["sums"] and mn >= 0.0 and mx <= 1.0 + 1e-6:
        sums = blk.sum(-1)  # float32 pairwise: far inside the 1e-3 the rule allows
        acc["sums"] = bool(np.all((np.abs(sums - 1.0) < 1e-3) | (np.abs(sums) < 1e-6)))
    if mn < 0:
        p = np.maximum(p, np.float32(0))
    return work, p


def _range(accs: list[dict]) -> tuple[float, float, bool]:
    """``(lo, hi, is_probability)`` from :func:`_block_stats`'s folds, by :func:`value_range`'s rule."""
    lo, hi = min(a["lo"] for a in accs), max(a["hi"] for a in accs)
    if lo > hi:  # nothing finite
        return 0.0, 1.0, False
    if lo >= 0.0 and hi <= 1.0 + 1e-6 and all(a["finite"] and a["sums"] for a in accs):
        return 0.0, 1.0, True
    return lo, (hi if hi > lo else widen(lo)), False


def sparse_encode(s: np.ndarray, mask: np.ndarray | None = None, k: int | None = None,
                  pool_max: int | None = None) -> dict:
    """The sparse ``_data`` of one slice ``s`` ``(heads, q, key)``: :func:`sparse_payload` of :func:`summarize`."""
    return sparse_payload(summarize(s, mask, k, pool_max))
