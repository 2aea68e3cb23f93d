"""The tile pass of :mod:`attnwidget.blockwise` in Keras ops: on the GPU when Keras's backend has one.

:class:`KerasQK` holds one batch element's scaled queries and transposed keys as backend tensors and
reads ``softmax(q·kᵀ·scale)`` in tiles of query rows × every key (all heads at once, ``TILE_BYTES`` of
scores, so 32 rows × 131,072 keys × 8 heads): per tile the scores, masked to :data:`blockwise.MASKED`,
give each row's maximum and log-sum-exp, its ``top_k`` keys (``keras.ops.top_k``), the largest weight of
each pooling block (the row's block maxima of scores, through ``exp(· − lse)``, then a segment maximum
over the tile's rows), the thumbnail sums (weights × a one-hot matrix of thumbnail columns, then a
segment sum over rows), entropy and largest weight. Only those come back to NumPy, in the structures of
:class:`attnwidget.blockwise.QKSummary`: nothing downstream knows which path made them. On a CPU, causal
rows read keys up to their tile's last row (rounded up to one of 8 key extents, so that a compiling
backend sees few shapes); on a GPU they read every key (:data:`CAUSAL_EXTENTS`). A pinned token's exact
row and column are the same ops.

Which path a :class:`attnwidget.qkscores.QKScores` takes (``device=``) is :func:`uses_keras`'s rule.
"""

from __future__ import annotations

import contextlib
import sys

import numpy as np

from . import backend, codec, progress, stats
from .blockwise import _IS_MASKED, MASKED, QKSummary, _Plan
from .overview import MAX_SIDE

#: Scores of one tile, all heads (128 MiB of float32); the tile's temporaries are a few times this.
TILE_BYTES = 1 << 27
DEVICES = (None, "cpu", "gpu", "keras")
#: How many key extents causal tiles read, by device kind. On a CPU the arithmetic a shorter extent saves
#: counts. On a GPU a tile costs its ops' overhead more than its arithmetic, and JAX compiles each op again
#: for each extent: 32,768 causal tokens took 73 s there with 8 extents (H200, 2026-11-29), 10 s not causal.
CAUSAL_EXTENTS = {"cpu": 8, "gpu": 1}


def uses_keras(device) -> bool:
    """True when ``device`` (as ``QKScores(device=)``) means Keras ops, False for NumPy.

    ``"cpu"``: NumPy. ``"gpu"`` / ``"keras"``: Keras ops, placed on the backend's GPU when it sees one,
    else on its CPU. ``None``: Keras ops only when Keras is already imported (``keras`` in
    ``sys.modules``) and its backend sees a GPU; Keras is never imported just to ask.
    """
    if not (device is None or isinstance(device, str)) or device not in DEVICES:
        raise ValueError(f"device: expected None, 'cpu', 'gpu' or 'keras', got {device!r}")
    if device is None:
        keras = sys.modules.get("keras")
        return keras is not None and hasattr(keras, "ops") and backend.gpu_count(backend.load_keras(None)) > 0
    return device != "cpu"


@contextlib.contextmanager
def full_float32(keras):
    """Matrix products in full float32 for the time of the block: GPUs default to TensorFloat-32 (10-bit
    mantissas) under JAX and TensorFlow, which moves scores by ~1e-3; the setting is put back after."""
    name = keras.backend.backend()
    if name == "jax":
        import jax

        with jax.default_matmul_precision("float32"):
            yield
        return
    if name == "tensorflow":
        from tensorflow.config import experimental as tfx

        get, put = tfx.tensor_float_32_execution_enabled, tfx.enable_tensor_float_32_execution
    elif name == "torch":
        from torch.backends.cuda import matmul as tm

        get, put = lambda: tm.allow_tf32, lambda v: setattr(tm, "allow_tf32", v)
    else:
        yield
        return
    was = get()
    put(False)
    try:
        yield
    finally:
        put(was)


def tile_rows(h: int, nq: int, nk: int) -> int:
    """Query rows per tile: ``TILE_BYTES`` of float32 scores for ``h`` heads × ``nk`` keys (at least 1)."""
    return max(1, min(nq, TILE_BYTES // (4 * h * nk)))


class KerasQK:
    """One batch element's ``q`` ``(H, Q, d)`` and ``k`` ``(H, K, d)`` as tensors on Keras's device."""

    def __init__(self, q: np.ndarray, k: np.ndarray, scale: float):
        self.keras = backend.load_keras(None)
        self.where = backend.resolve_device(self.keras, "auto")  # gpu:0 when the backend sees one
        ops = self.keras.ops
        with self.keras.device(self.where):
            self.qs = ops.convert_to_tensor(q * np.float32(scale))
            self.kt = ops.transpose(ops.convert_to_tensor(k), (0, 2, 1))  # (H, d, K)
        self.shape = (q.shape[0], q.shape[1], k.shape[1])

    @contextlib.contextmanager
    def _there(self):
        """Ops on this element's device, in full float32."""
        with self.keras.device(self.where), full_float32(self.keras):
            yield

    @property
    def placed(self) -> str:
        """``gpu:N`` or ``cpu:0``: where the tensors are."""
        return backend.device_name(backend.placed_on(self.qs))

    def _np(self, x) -> np.ndarray:
        return np.asarray(self.keras.ops.convert_to_numpy(x))

    def row(self, i: int, keep: np.ndarray) -> np.ndarray:
        """Exact weights of query ``i`` (``keep``: bool ``(K,)``, its attended keys): float32 ``(H, K)``."""
        ops = self.keras.ops
        with self._there():
            s = ops.matmul(self.qs[:, i:i + 1], self.kt)[:, 0]
            s = ops.where(ops.convert_to_tensor(keep)[None, :], s, float("-inf"))
            top = ops.max(s, -1, keepdims=True)
            e = ops.exp(s - ops.where(ops.isfinite(top), top, 0.0))
            total = ops.sum(e, -1, keepdims=True)
            return self._np(e / ops.where(total > 0, total, 1.0)).astype(np.float32)

    def col(self, j: int, keep: np.ndarray, lse: np.ndarray) -> np.ndarray:
        """Exact weights on key ``j`` from each row's log-sum-exp ``lse`` ``(H, Q)``: float32 ``(H, Q)``."""
        ops = self.keras.ops
        with self._there():
            s = ops.matmul(self.qs, self.kt[:, :, j:j + 1])[..., 0]
            lse_t = ops.convert_to_tensor(np.where(np.isfinite(lse), lse, 0).astype(np.float32))
            ok = ops.convert_to_tensor(keep[None, :] & np.isfinite(lse))
            return self._np(ops.where(ok, ops.exp(ops.where(ok, s - lse_t, 0.0)), 0.0)).astype(np.float32)

    def summarize(self, *, causal: bool = False, mask: np.ndarray | None = None, top_k: int | None = None,
                  pool_max: int | None = None, thumb_side: int = MAX_SIDE) -> QKSummary:
        """:func:`attnwidget.blockwise.summarize_qk` (same arguments, ``scale`` already applied) in Keras ops."""
        h, nq, nk = self.shape
        k0, p0 = codec.sparse_size(h, nq, nk)
        top_k, pool_max = max(1, min(int(top_k or k0), nk)), pool_max or p0
        bq, bk, pq, pk = codec.pool_blocks(nq, nk, pool_max)
        plan = _Plan(nq, nk, top_k, bq, bk, 1, nk, causal, mask, thumb_side)
        acc = _Acc(h, nq, top_k, pq, pk, plan)
        rows = tile_rows(h, nq, nk)
        extents = CAUSAL_EXTENTS[self.where.split(":")[0]]
        chunk = bk * -(-nk // (extents * bk))  # causal key extents: multiples of whole pooling blocks
        with self._there():
            onehot = self._onehot(plan)
            cut = (nk, self.kt, onehot)
            starts = range(0, nq, rows)
            ends = [min(nk, -(-min(r0 + rows, nq) // chunk) * chunk) if causal else nk for r0 in starts]
            work = np.cumsum([(min(r0 + rows, nq) - r0) * kend for r0, kend in zip(starts, ends)])  # cells read
            for n, (r0, kend) in enumerate(zip(starts, ends)):
                r1 = min(r0 + rows, nq)
                if kend != cut[0]:  # kend only grows: one slice of the keys at a time
                    cut = (kend, self.kt[:, :, :kend], onehot[:kend])
                acc.add(r0, r1, self._tile(r0, r1, cut[1], cut[2], plan))
                progress.report(int(work[n]), int(work[-1]))
        return acc.finish(plan)

    def _onehot(self, plan: _Plan):
        """float32 ``(K, columns)``: key ``j`` → its thumbnail column."""
        kbin = np.repeat(np.arange(len(plan.kstarts)), np.diff(np.append(plan.kstarts, plan.nk)))
        return self.keras.ops.convert_to_tensor(np.eye(len(plan.kstarts), dtype=np.float32)[kbin])

    def _keep(self, r0: int, r1: int, kend: int, plan: _Plan):
        """bool ``(rows, kend)`` tensor of the attended cells, None when every cell is."""
        ops, keep = self.keras.ops, None
        if plan.causal:
            keep = ops.arange(kend)[None, :] <= ops.arange(r0, r1)[:, None]
        if plan.mask is not None:
            m = plan.mask[None, :kend] if plan.mask.ndim == 1 else plan.mask[r0:r1, :kend]
            m = ops.convert_to_tensor(np.ascontiguousarray(m))
            keep = m if keep is None else ops.logical_and(keep, m)
        return keep

    def _tile(self, r0: int, r1: int, kt, onehot, plan: _Plan) -> tuple[np.ndarray, ...]:
        """Rows ``r0 … r1-1`` against the keys ``kt`` ``(H, d, kend)`` (the first ``kend``; ``onehot``
        their rows of :meth:`_onehot`): the rows' ``lse``, entropy, largest weight, top keys and weights,
        and the pool and thumbnail rows of the blocks they touch (NumPy arrays)."""
        ops = self.keras.ops
        kend = kt.shape[-1]
        s = ops.matmul(self.qs[:, r0:r1], kt)  # (H, n, kend)
        keep = self._keep(r0, r1, kend, plan)
        if keep is not None:
            s = ops.where(keep[None], s, MASKED)
        m = ops.max(s, -1, keepdims=True)
        fully = m[..., 0] <= _IS_MASKED
        z = s - m
        e = ops.exp(z)
        ll = ops.sum(e, -1)
        u = ops.sum(e * z, -1)
        lse = m[..., 0] + ops.log(ll)
        shift = ops.where(fully, 0.0, lse)[..., None]
        vals, idx = ops.top_k(s, min(plan.top_k, kend))
        top = ops.where(vals <= _IS_MASKED, float("-inf"), ops.exp(vals - shift))
        nb = -(-kend // plan.bk)
        if nb * plan.bk > kend:
            s = ops.pad(s, ((0, 0), (0, 0), (0, nb * plan.bk - kend)), constant_values=MASKED)
        blk = ops.max(ops.reshape(s, (s.shape[0], r1 - r0, nb, plan.bk)), -1)
        blk = ops.where(blk <= _IS_MASKED, float("-inf"), ops.exp(blk - shift))
        thumb = ops.where(fully[..., None], 0.0, ops.matmul(e, onehot) / ll[..., None])
        rows = np.arange(r0, r1)
        pool = _segments(ops, ops.segment_max, blk, rows // plan.bq)
        thumbs = _segments(ops, ops.segment_sum, thumb, plan.qbin[r0:r1])
        ent = ops.where(fully, 0.0, ops.log(ll) - u / ll)
        peak = ops.where(fully, 0.0, 1.0 / ll)
        return tuple(self._np(x) for x in (ops.where(fully, float("-inf"), lse), ent, peak, idx, top, pool, thumbs))


def _segments(ops, reduce, x, group: np.ndarray):
    """``reduce`` (segment max or sum) of ``x`` ``(H, n, c)`` over runs of rows with the same ``group``
    (sorted, ``(n,)``): ``(groups, H, c)``."""
    ids = (group - group[0]).astype(np.int32)
    return reduce(ops.transpose(x, (1, 0, 2)), ops.convert_to_tensor(ids), int(ids[-1]) + 1)


class _Acc:
    """The summary's NumPy arrays, filled tile by tile."""

    def __init__(self, h, nq, top_k, pq, pk, plan: _Plan):
        self.bq, self.qbin = plan.bq, plan.qbin
        tq, tk = len(plan.qstarts), len(plan.kstarts)
        self.idx = np.zeros((h, nq, top_k), np.int64)
        self.top = np.full((h, nq, top_k), -np.inf, np.float32)
        self.pool = np.full((h, pq, pk), -np.inf, np.float32)
        self.lse = np.empty((h, nq), np.float32)
        self.thumbs = np.zeros((h, tq, tk))
        self.ent, self.peak = np.zeros(h), np.zeros(h)

    def add(self, r0: int, r1: int, parts: tuple[np.ndarray, ...]) -> None:
        lse, ent, peak, idx, top, pool, thumbs = parts
        self.lse[:, r0:r1] = lse
        self.ent += ent.sum(-1, dtype=np.float64)
        self.peak = np.maximum(self.peak, peak.max(-1))
        self.idx[:, r0:r1, :idx.shape[-1]] = idx
        self.top[:, r0:r1, :top.shape[-1]] = top
        _merge(pool, self.pool, r0 // self.bq, np.maximum)
        _merge(thumbs, self.thumbs, int(self.qbin[r0]), np.add)

    def finish(self, plan: _Plan) -> QKSummary:
        h, nq, top_k = self.idx.shape
        idx, top = stats.sort_top(self.idx, self.top)
        stats.fill_masked(idx.reshape(-1, top_k), top.reshape(-1, top_k), plan.nk)
        pq, pk = self.pool.shape[1:]
        self.pool[self.pool <= _IS_MASKED] = -np.inf  # TensorFlow's segment maximum of -inf is the lowest float
        sparse = codec.SparseSummary(
            (h, nq, plan.nk), idx, top, self.pool, (plan.bq, plan.bk), 0.0, 1.0, True, 0,
            [float(x) for x in self.peak], [float(x) / nq for x in self.ent], plan.mask_kind, plan.pool_mask(pq, pk))
        return QKSummary(sparse, self.lse, (self.thumbs / plan.qcount[:, None]).astype(np.float32))


def _merge(part: np.ndarray, into: np.ndarray, g0: int, how) -> None:
    """Fold ``part`` ``(groups, H, c)`` into ``into`` ``(H, all groups, all c)`` from group ``g0`` on."""
    view = into[:, g0:g0 + part.shape[0], :part.shape[2]]
    view[...] = how(view, np.transpose(part, (1, 0, 2)))


def summarize_qk_keras(q: np.ndarray, k: np.ndarray, *, scale: float | None = None, **kwargs) -> QKSummary:
    """:func:`attnwidget.blockwise.summarize_qk` of ``q`` ``(H, Q, d)``, ``k`` ``(H, K, d)`` in Keras ops."""
    scale = 1.0 / np.sqrt(q.shape[-1]) if scale is None else scale
    return KerasQK(q, k, scale).summarize(**kwargs)
