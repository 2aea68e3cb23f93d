"""Attention weights from queries and keys, tile by tile: what the view needs without the ``(Q, K)`` matrix.

``softmax(q·kᵀ·scale)`` of a long sequence does not fit in memory (8 heads × 32,768² float32 are
34 GB), but the view only shows each query's strongest keys, a pooled overview and one exact row.
:func:`summarize_qk` reads the scores in tiles of query rows × keys, keeping a running maximum and
sum per row (as flash attention does), and keeps only that: the top-k keys, the pool, entropy and
largest weight per head, the model view's thumbnails and each row's log-sum-exp (for exact columns).
:class:`attnwidget.qkscores.QKScores` holds ``q`` and ``k`` for a widget and asks for it.

NumPy on the CPU, float32, each head in its own thread; a tile is ~1 MiB, so memory stays near
the size of ``q`` and ``k`` whatever ``T`` is.
"""

from __future__ import annotations

import ctypes
import functools
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

from . import codec, progress, stats
from .overview import MAX_SIDE, _bins

#: Stands for a masked score inside a tile: finite, so ``0 · (s − m)`` stays 0 where ``-inf`` gives NaN.
MASKED = np.float32(-1e30)
_IS_MASKED = MASKED / 2  # a score at or below this is masked
#: Query rows × keys of one tile (1 MiB of float32: the tile and its exponentials stay in a core's cache).
TILE = 1 << 18


@dataclass(frozen=True)
class QKSummary:
    """One batch element's summary: ``sparse`` (:class:`attnwidget.codec.SparseSummary`), ``lse``
    float32 ``(H, Q)`` (each row's log-sum-exp, ``-inf`` for a fully masked row) and ``thumbs``
    float32 ``(H, h, w)`` (:func:`attnwidget.overview.downsample` of the weights)."""

    sparse: codec.SparseSummary
    lse: np.ndarray
    thumbs: np.ndarray


def summarize_qk(q: np.ndarray, k: np.ndarray, *, causal: bool = False, mask: np.ndarray | None = None,
                 scale: float | None = None, top_k: int | None = None, pool_max: int | None = None,
                 thumb_side: int = MAX_SIDE) -> QKSummary:
    """What the view needs of ``softmax(q·kᵀ·scale)`` for one batch element, tile by tile.

    Args:
        q: float32 ``(H, Q, d)``. k: float32 ``(H, K, d)``.
        causal, mask, scale: as :class:`attnwidget.qkscores.QKScores` (``mask`` bool ``(K,)`` or ``(Q, K)``).
        top_k, pool_max: default :func:`attnwidget.codec.sparse_size`.

    Returns:
        :class:`QKSummary`; its ``sparse`` equals :func:`attnwidget.codec.summarize` of the dense
        weights up to float32 rounding (lo 0, hi 1, probability True).
    """
    h, nq, d = q.shape
    nk = k.shape[1]
    k0, p0 = codec.sparse_size(h, nq, nk)
    top_k, pool_max = max(1, min(int(top_k or k0), nk)), pool_max or p0
    bq, bk, pq, pk = codec.pool_blocks(nq, nk, pool_max)
    rows = bq * max(1, round(128 / bq))  # whole pooling blocks of query rows
    cols = bk * max(1, TILE // rows // bk)  # whole pooling blocks of keys
    plan = _Plan(nq, nk, top_k, bq, bk, rows, cols, causal, mask, thumb_side)
    scale = np.float32(1.0 / np.sqrt(d) if scale is None else scale)
    idx = np.empty((h, nq, top_k), np.int64)
    top = np.empty((h, nq, top_k), np.float32)
    pool = np.empty((h, pq, pk), np.float32)
    lse = np.empty((h, nq), np.float32)
    thumbs = np.zeros((h, len(plan.qstarts), len(plan.kstarts)))

    tally = _Tally(h)

    def one(hd):
        _one_blas_thread()
        return _scan_head(q[hd] * scale, k[hd], plan, (idx[hd], top[hd], pool[hd], lse[hd], thumbs[hd]), tally, hd)

    with ThreadPoolExecutor(max_workers=min(h, codec.cores())) as ex:
        futures = [ex.submit(one, hd) for hd in range(h)]
        try:
            progress.follow(futures, lambda: sum(tally.done), lambda: h * plan.tile_count())
            per_head = [f.result() for f in futures]
        except BaseException:  # an interrupt (the notebook's stop button): the heads end at their next tile
            tally.stop = True
            raise
    idx, top = stats.sort_top(idx, top)
    stats.fill_masked(idx.reshape(-1, top_k), top.reshape(-1, top_k), nk)
    sparse = codec.SparseSummary(
        (h, nq, nk), idx, top, pool, (bq, bk), 0.0, 1.0, True, 0, [m for m, _ in per_head], [e / nq for _, e in per_head],
        plan.mask_kind, plan.pool_mask(pq, pk))
    return QKSummary(sparse, lse, (thumbs / plan.qcount[:, None]).astype(np.float32))


@functools.lru_cache(maxsize=1)
def _openblas_local():
    """NumPy's OpenBLAS ``openblas_set_num_threads_local`` (Linux), or None."""
    try:
        with open("/proc/self/maps", encoding="utf-8") as f:
            paths = {line.split()[-1] for line in f if "openblas" in line.lower() and "/" in line}
        for path in sorted(paths):
            fn = getattr(ctypes.CDLL(path), "openblas_set_num_threads_local", None)
            if fn is not None:
                return fn
    except OSError:
        pass
    return None


def _one_blas_thread() -> None:
    """Let this thread's matrix products run on one thread: the heads already run in parallel, and
    OpenBLAS's own threads spinning beside them cost several times their work on a busy machine."""
    fn = _openblas_local()
    if fn is not None:
        fn(1)


class _Plan:
    """The tiling of one ``(Q, K)`` slice and the masks of its tiles, shared by every head."""

    def __init__(self, nq, nk, top_k, bq, bk, rows, cols, causal, mask, thumb_side):
        self.nq, self.nk, self.top_k, self.bq, self.bk, self.rows, self.cols = nq, nk, top_k, bq, bk, rows, cols
        self.causal, self.mask = causal, mask
        self.bias = None if mask is None or mask.ndim != 1 else np.where(mask, np.float32(0), MASKED)
        self.qstarts, self.kstarts = _bins(nq, min(nq, thumb_side)), _bins(nk, min(nk, thumb_side))
        self.qbin = np.repeat(np.arange(len(self.qstarts)), np.diff(np.append(self.qstarts, nq)))
        self.qcount = np.diff(np.append(self.qstarts, nq)).astype(np.float64)
        kbin = np.repeat(np.arange(len(self.kstarts)), np.diff(np.append(self.kstarts, nk)))
        # per key tile: (thumbnail column, first key, end key) of each part of it in one column
        self.kbins = []
        for c0 in range(0, nk, cols):
            kb = kbin[c0:c0 + cols]
            cut = np.flatnonzero(np.diff(kb)) + 1
            self.kbins.append(list(zip(kb[np.r_[0, cut]], np.r_[0, cut], np.r_[cut, len(kb)])))
        self.mask_kind = "causal" if causal and mask is None else ("none" if mask is None else "pooled")
        # runs of keys whose maxima find the top keys: a divisor of the pool's block, at most 4 keys
        self.run = max(c for c in range(1, min(bk, 4) + 1) if bk % c == 0)

    def keep(self, rows: np.ndarray, keys: np.ndarray) -> np.ndarray:
        """bool of broadcast ``rows`` × ``keys`` (index arrays): True where the query may attend the key."""
        ok = keys <= rows if self.causal else np.ones(np.broadcast_shapes(rows.shape, keys.shape), bool)
        if self.mask is not None:
            ok &= self.mask[keys] if self.mask.ndim == 1 else self.mask[rows, keys]
        return ok

    def key_tiles(self, r0: int, r1: int):
        """Start of each key tile that query rows ``r0 … r1-1`` can attend."""
        end = min(self.nk, r1) if self.causal else self.nk
        for c0 in range(0, end, self.cols):
            c1 = min(c0 + self.cols, self.nk)
            if self.bias is not None and not self.mask[c0:c1].any():
                continue
            if self.mask is not None and self.mask.ndim == 2 and not self.mask[r0:r1, c0:c1].any():
                continue
            yield c0

    def tile_count(self) -> int:
        """How many tiles a head's scan reads (:meth:`key_tiles` of every block of rows)."""
        return sum(sum(1 for _ in self.key_tiles(r0, min(r0 + self.rows, self.nq))) for r0 in range(0, self.nq, self.rows))

    def apply(self, s: np.ndarray, r0: int, c0: int) -> None:
        """Set the masked scores of tile ``s`` (rows from ``r0``, keys from ``c0``) to :data:`MASKED`."""
        n, m = s.shape
        if self.bias is not None:
            s += self.bias[c0:c0 + m]
        if self.causal and c0 + m - 1 > r0:
            np.putmask(s, np.arange(c0, c0 + m)[None, :] > np.arange(r0, r0 + n)[:, None], MASKED)
        if self.mask is not None and self.mask.ndim == 2:
            np.putmask(s, ~self.mask[r0:r0 + n, c0:c0 + m], MASKED)

    def pool_mask(self, pq: int, pk: int) -> np.ndarray | None:
        """bool ``(Pq, Pk)``: pooling blocks with an attended cell (only for ``mask_kind == "pooled"``)."""
        if self.mask_kind != "pooled":
            return None
        bq, bk, nq, nk = self.bq, self.bk, self.nq, self.nk
        if self.mask.ndim == 2:
            full = np.zeros((pq * bq, pk * bk), bool)
            full[:nq, :nk] = self.mask
            return full.reshape(pq, bq, pk, bk).any(axis=(1, 3))
        first = np.where(self.mask, np.arange(nk), nk)  # first attended key of each key block
        first = np.concatenate([first, np.full(pk * bk - nk, nk)]).reshape(pk, bk).min(1)
        last_row = np.minimum(nq, (np.arange(pq) + 1) * bq) - 1 if self.causal else np.full(pq, nk - 1)
        return first[None, :] <= last_row[:, None]


class _Tally:
    """The heads' scans as they go: key tiles read per head (``done``, which progress.follow sums) and
    ``stop``, set when the caller stops waiting for them."""

    def __init__(self, h: int):
        self.done, self.stop = [0] * h, False


def _scan_head(qh: np.ndarray, kh: np.ndarray, plan: _Plan, out: tuple, tally: _Tally, hd: int) -> tuple[float, float]:
    """One head: scaled queries ``qh`` ``(Q, d)``, keys ``kh`` ``(K, d)``; fills ``out`` (``idx``, ``top``,
    ``pool``, ``lse``, thumbnail sums), counts its tiles in ``tally.done[hd]`` and returns (largest weight,
    summed row entropy); stops, half done, at the first tile after ``tally.stop``."""
    idx, top, pool, lse, thumbs = out
    head_max, ent_sum = 0.0, 0.0
    buf = np.empty((2, plan.rows, plan.cols), np.float32)  # a tile's scores and their exponentials
    for r0 in range(0, plan.nq, plan.rows):
        r1 = min(r0 + plan.rows, plan.nq)
        rs = _RowState(r0, r1, plan)
        for c0 in plan.key_tiles(r0, r1):
            if tally.stop:
                return head_max, ent_sum
            kt = kh[c0:c0 + plan.cols]
            s, e = buf[0][:r1 - r0, :len(kt)], buf[1][:r1 - r0, :len(kt)]
            np.matmul(qh[r0:r1], kt.T, out=s)
            plan.apply(s, r0, c0)
            rs.add(s, c0, plan, e)
            tally.done[hd] += 1
        idx[r0:r1], top[r0:r1] = rs.top_keys(qh[r0:r1], kh, plan)
        weights, ent = rs.finish(plan, lse[r0:r1], top[r0:r1], thumbs)
        pool[r0 // plan.bq:-(-r1 // plan.bq)] = stats.row_pool(weights, plan.bq)
        head_max = max(head_max, float(np.max(rs.peak)) if rs.peak.size else 0.0)
        ent_sum += ent
    return head_max, ent_sum


class _RowState:
    """Running state of a block of query rows over its key tiles: the maximum score ``m``, the sums of
    ``e = exp(s − m)`` (``l``), of ``e·(s − m)`` (``u``, for the entropy) and of ``e`` per thumbnail
    column (``bins``), rescaled when ``m`` grows; and the largest score of each run of ``plan.run`` keys
    (``runs``), from which the top keys and the pool are found once the row is complete."""

    def __init__(self, r0: int, r1: int, plan: _Plan):
        n, self.r0 = r1 - r0, r0
        self.m = np.full(n, MASKED, np.float32)
        self.l, self.u = np.zeros(n), np.zeros(n)
        self.bins = np.zeros((n, len(plan.kstarts)))
        self.runs = np.full((n, -(-plan.nk // plan.run)), MASKED, np.float32)
        self.peak = np.zeros(0)

    def add(self, s: np.ndarray, c0: int, plan: _Plan, e: np.ndarray) -> None:
        """Fold tile ``s`` (scores of keys from ``c0``; overwritten) in, with ``e`` as scratch of its shape."""
        rm = stats.key_pool(s, plan.run)
        self.runs[:, c0 // plan.run:c0 // plan.run + rm.shape[1]] = rm
        m_new = np.maximum(self.m, rm.max(1))
        alpha = np.exp(self.m - m_new).astype(np.float64)
        np.subtract(s, m_new[:, None], out=s)
        np.exp(s, out=e)
        u_tile = np.vecdot(e, s).astype(np.float64)
        self.u = alpha * (self.u + (self.m - m_new).astype(np.float64) * self.l) + u_tile
        self.bins *= alpha[:, None]
        for col, a, b in plan.kbins[c0 // plan.cols]:
            self.bins[:, col] += e[:, a:b].sum(1)  # pairwise sums: accurate, one read of e
        self.l = self.bins.sum(1)
        self.m = m_new

    def top_keys(self, qb: np.ndarray, kh: np.ndarray, plan: _Plan) -> tuple[np.ndarray, np.ndarray]:
        """Each row's ``top_k`` best keys and their scores ``(n, top_k)``: the ``top_k`` runs with the
        largest maxima hold them (:func:`attnwidget.stats.top_k_rows`), whose scores are recomputed."""
        n = self.runs.shape[0]
        k = plan.top_k
        best, _ = stats.top_k_rows(self.runs, k)
        cand = (best[:, :, None] * plan.run + np.arange(plan.run)).reshape(n, -1)
        past = cand >= plan.nk
        np.minimum(cand, plan.nk - 1, out=cand)
        sc = np.vecdot(np.take(kh, cand, axis=0), qb[:, None, :])
        np.putmask(sc, past | ~plan.keep(np.arange(self.r0, self.r0 + n)[:, None], cand), MASKED)
        sel = np.argpartition(sc, sc.shape[1] - k, axis=1)[:, sc.shape[1] - k:]
        return np.take_along_axis(cand, sel, 1), np.take_along_axis(sc, sel, 1)

    def finish(self, plan: _Plan, lse: np.ndarray, top: np.ndarray, thumbs: np.ndarray):
        """Write this block's ``lse``, turn ``top`` (scores) into weights and add its thumbnail rows;
        return the largest weight of each pooling block per row and the summed entropy of the rows."""
        fully = self.m <= _IS_MASKED
        ll = np.where(fully, 1.0, self.l)
        row_lse = np.where(fully, -np.inf, self.m + np.log(ll))
        lse[:] = row_lse
        self.peak = 1.0 / ll[~fully]  # a row's largest weight is exp(m − lse) = 1 / l
        ent = np.where(fully, 0.0, np.log(ll) - self.u / ll)
        shift = np.where(fully, 0.0, row_lse).astype(np.float32)[:, None]
        top[:] = np.where(top <= _IS_MASKED, np.float32(-np.inf), np.exp(top - shift))
        pooled = stats.key_pool(self.runs, plan.bk // plan.run)  # the maximum commutes with exp within a row
        weights = np.where(pooled <= _IS_MASKED, np.float32(-np.inf), np.exp(pooled - shift))
        np.add.at(thumbs, plan.qbin[self.r0:self.r0 + len(ll)], np.where(fully[:, None], 0.0, self.bins / ll[:, None]))
        return weights, float(ent.sum())
