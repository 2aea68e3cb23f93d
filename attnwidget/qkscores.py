"""Attention weights held as queries and keys: the ``(batch, heads, Q, K)`` scores of a long sequence.

:class:`QKScores` stands where a widget holds an array of scores (``AttentionWidget.from_qk``): it has
the array's ``shape`` and ``size``, its slices (:class:`QKSlice`) give ``_data`` from a tile pass
(:func:`attnwidget.blockwise.summarize_qk`) and the exact rows and columns of pinned tokens, each
recomputed from ``q`` and ``k`` when asked for. The ``(Q, K)`` matrix is never made.
"""

from __future__ import annotations

import copy
import threading
from typing import Any, Sequence

import numpy as np

from . import blockwise_ops, codec
from .blockwise import QKSummary, summarize_qk
from .config import ConfigError
from .scores import WidgetLayer
from .masks import causal_mask, is_causal

#: Largest ``np.asarray`` of a :class:`QKScores` (weights): past it, read rows and columns instead.
DENSE_MAX = 1 << 27
#: How many sets of hidden keys :meth:`QKScores.hiding` keeps made (each its own summaries).
HIDINGS_KEPT = 2


def _normalize(mask: Any, causal: bool, nq: int, nk: int) -> tuple[np.ndarray | None, bool]:
    """``(mask, causal)`` of one batch element: a ``(Q, K)`` mask takes ``causal`` in; an all-True mask is
    None; a ``(Q, K)`` mask that is exactly causal is ``causal``."""
    m = None if mask is None else np.asarray(mask, dtype=bool)
    if m is not None and m.shape not in ((nk,), (nq, nk)):
        raise ValueError(f"mask: expected shape ({nk},) (padded keys) or ({nq}, {nk}), got {m.shape}")
    if m is not None and m.ndim == 2 and causal:
        m, causal = m & causal_mask(nq, nk), False
    if m is not None and m.all():
        m = None
    if m is not None and m.ndim == 2 and is_causal(m):
        m, causal = None, True
    return m, causal


def _without_keys(mask: np.ndarray | None, keep: np.ndarray) -> np.ndarray:
    """``mask`` (None, ``(K,)`` or ``(Q, K)``) with the keys ``keep`` (bool ``(K,)``) leaves False left out."""
    if mask is None:
        return keep
    return mask & keep if mask.ndim == 1 else mask & keep[None]


def _as_bhtd(x: Any, name: str) -> np.ndarray:
    a = np.asarray(x.detach().cpu() if hasattr(x, "detach") else x)
    if a.ndim == 3:
        a = a[None]
    if a.ndim != 4 or min(a.shape) == 0 or not np.issubdtype(a.dtype, np.number):
        raise ValueError(f"{name}: expected numbers shaped (heads, T, d) or (batch, heads, T, d), got {a.shape}")
    a = np.ascontiguousarray(a, dtype=np.float32)
    if not np.isfinite(a).all():
        raise ValueError(f"{name}: contains NaN or infinite values")
    return a


class QKScores:
    """Softmax attention weights ``(batch, heads, Q, K)`` given by queries and keys, never held whole.

    Args:
        q: queries ``(heads, Q, d)`` or ``(batch, heads, Q, d)``, as the layer's dot product sees them.
        k: keys ``(heads, K, d)`` or ``(batch, heads, K, d)``.
        causal: query ``i`` sees keys ``0 … i`` only.
        mask: bool, True where attended: ``(K,)`` (padded keys) or ``(Q, K)``; combined with ``causal``.
        scale: multiplies ``q`` before the product (default ``1/√d``, Keras's ``MultiHeadAttention``).
        batch_mask: instead of ``mask``, one mask per batch element (each None, ``(K,)`` or ``(Q, K)``), as
            padding differs from one sequence of a batch to the next; ``mask`` is then None.
        device: ``"cpu"``: NumPy (:mod:`attnwidget.blockwise`); ``"gpu"`` or ``"keras"``: Keras ops
            (:mod:`attnwidget.blockwise_ops`), on the backend's GPU when it sees one, else its CPU; None (default):
            Keras ops only where Keras is already imported and sees a GPU (:func:`~attnwidget.blockwise_ops.uses_keras`).
            ``engine`` says which was taken (``"numpy"`` or ``"keras"``).

    A fully masked row has weight 0 everywhere. Slices (``scores[b]``) are :class:`QKSlice`.
    """

    def __init__(self, q: Any, k: Any, *, causal: bool = False, mask: Any = None, scale: float | None = None,
                 batch_mask: Any = None, device: str | None = None):
        self.engine = "keras" if blockwise_ops.uses_keras(device) else "numpy"
        self.q, self.k = _as_bhtd(q, "q"), _as_bhtd(k, "k")
        (b, h, nq, d), (bk, hk, nk, dk) = self.q.shape, self.k.shape
        if (b, h, d) != (bk, hk, dk):
            raise ValueError(f"q {self.q.shape} and k {self.k.shape}: batch, heads and d must agree")
        if batch_mask is not None and (mask is not None or len(batch_mask) != b):
            raise ValueError(f"batch_mask: expected {b} masks (one per batch element) and no mask=, "
                             f"got {len(batch_mask)}{' and mask=' if mask is not None else ''}")
        self._parts = ([_normalize(mask, bool(causal), nq, nk)] * b if batch_mask is None  # (mask, causal) per element
                       else [_normalize(m, bool(causal), nq, nk) for m in batch_mask])
        self.causal = all(c for _, c in self._parts)
        self.mask = self._parts[0][0] if batch_mask is None else None  # shared by every batch element
        self.scale = float(1.0 / np.sqrt(d) if scale is None else scale)
        self._summaries: dict[int, QKSummary] = {}
        self._tensors: dict[int, blockwise_ops.KerasQK] = {}  # the Keras path's q and k, per batch element
        self._hidings: dict[tuple[int, ...], QKScores] = {}  # the last hiding()s, made once (HIDINGS_KEPT)
        # hiding()'s bookkeeping is asked from a hide request's thread, a batch request's and the kernel's
        self._hidings_lock = threading.Lock()

    shape = property(lambda self: (self.q.shape[0], self.q.shape[1], self.q.shape[2], self.k.shape[2]))
    size = property(lambda self: int(np.prod(self.shape, dtype=np.int64)))
    ndim, dtype = 4, np.dtype(np.float32)

    @property
    def kind(self) -> str:
        """``causal`` | ``self`` | ``cross`` (the widget's layer kinds)."""
        return "causal" if self.causal else ("self" if self.shape[2] == self.shape[3] else "cross")

    def __getitem__(self, b: int) -> "QKSlice":
        if isinstance(b, bool) or not isinstance(b, (int, np.integer)) or not -self.shape[0] <= b < self.shape[0]:
            raise IndexError(f"QKScores: index a batch element 0..{self.shape[0] - 1}, got {b!r}")
        return QKSlice(self, int(b) % self.shape[0])

    def __array__(self, dtype=None, copy=None):
        if self.size > DENSE_MAX:
            raise ValueError(f"QKScores {self.shape}: {self.size * 4 / 2**30:.1f} GiB as an array; read rows "
                             "and columns instead (scores[b][:, i, :], scores[b][:, :, j]); attnwidget.capture records "
                             "such layers as queries and keys past its dense_limit")
        out = np.stack([np.stack([self.row(b, i) for i in range(self.shape[2])], 1) for b in range(self.shape[0])])
        return out if dtype is None else out.astype(dtype)

    def hiding(self, hidden: Sequence[int]) -> "QKScores":
        """The same queries and keys with the keys ``hidden`` masked: each row's softmax over the other keys,
        which is its weights renormalised over them (:mod:`attnwidget.hide`). Its summaries are another tile
        pass each (as long as the first); the :data:`HIDINGS_KEPT` sets of keys asked for last are kept (the
        one shown and the one being made, :mod:`attnwidget.hidejob`), so a toggle back is free."""
        cols = tuple(sorted({int(j) for j in hidden if 0 <= int(j) < self.shape[3]}))
        if not cols:
            return self
        with self._hidings_lock:
            if cols in self._hidings:
                self._hidings[cols] = self._hidings.pop(cols)  # the most recent now: the last to go
            else:
                keep = np.ones(self.shape[3], dtype=bool)
                keep[list(cols)] = False
                out = copy.copy(self)  # q, k and their device tensors shared
                out._parts = [(_without_keys(m, keep), c) for m, c in self._parts]
                out._summaries, out._hidings, out._hidings_lock = {}, {}, threading.Lock()
                while len(self._hidings) >= HIDINGS_KEPT:
                    self._hidings.pop(next(iter(self._hidings)))  # the least recently asked for
                self._hidings[cols] = out
            return self._hidings[cols]

    def has_summary(self, b: int) -> bool:
        """Whether :meth:`summary` of batch element ``b`` is made (no pass left)."""
        return b in self._summaries

    def summary(self, b: int) -> QKSummary:
        """:func:`summarize_qk` of batch element ``b`` (computed once)."""
        if b not in self._summaries:
            m, causal = self._parts[b]
            if self.engine == "keras":
                self._summaries[b] = self.on_device(b).summarize(causal=causal, mask=m)
            else:
                self._summaries[b] = summarize_qk(self.q[b], self.k[b], causal=causal, mask=m, scale=self.scale)
        return self._summaries[b]

    def on_device(self, b: int) -> blockwise_ops.KerasQK:
        """Batch element ``b``'s ``q`` and ``k`` as Keras tensors (the Keras path; made once)."""
        if b not in self._tensors:
            self._tensors[b] = blockwise_ops.KerasQK(self.q[b], self.k[b], self.scale)
        return self._tensors[b]

    def _keep_row(self, b: int, i: int, nk: int) -> np.ndarray:
        m, causal = self._parts[b]
        keep = np.arange(nk) <= i if causal else np.ones(nk, bool)
        if m is not None:
            keep &= m if m.ndim == 1 else m[i]
        return keep

    def _keep_col(self, b: int, j: int, nq: int) -> np.ndarray:
        m, causal = self._parts[b]
        keep = np.arange(nq) >= j if causal else np.ones(nq, bool)
        if m is not None:
            keep &= np.broadcast_to(m[j], (nq,)) if m.ndim == 1 else m[:, j]
        return keep

    def row(self, b: int, i: int) -> np.ndarray:
        """Exact weights of query ``i``: float32 ``(H, K)``, a softmax of its recomputed scores."""
        if self.engine == "keras":
            return self.on_device(b).row(i, self._keep_row(b, i, self.shape[3]))
        s = np.matmul(self.q[b][:, i:i + 1] * np.float32(self.scale), self.k[b].transpose(0, 2, 1))[:, 0]
        s = np.where(self._keep_row(b, i, self.shape[3]), s, np.float32(-np.inf))
        top = s.max(-1, keepdims=True)
        e = np.exp(s - np.where(np.isfinite(top), top, 0))
        total = e.sum(-1, keepdims=True)
        return (e / np.where(total > 0, total, 1)).astype(np.float32)

    def col(self, b: int, j: int) -> np.ndarray:
        """Exact weights on key ``j``: float32 ``(H, Q)``, from its recomputed scores and each row's log-sum-exp."""
        lse = self.summary(b).lse
        if self.engine == "keras":
            return self.on_device(b).col(j, self._keep_col(b, j, self.shape[2]), lse)
        s = np.matmul(self.q[b] * np.float32(self.scale), self.k[b][:, j:j + 1].transpose(0, 2, 1))[..., 0]
        keep = self._keep_col(b, j, self.shape[2]) & np.isfinite(lse)
        with np.errstate(invalid="ignore", over="ignore"):
            return np.where(keep, np.exp(s - lse), 0).astype(np.float32)


class QKSlice:
    """One batch element of a :class:`QKScores`, ``(H, Q, K)``: ``s[:, i, :]`` is query ``i``'s exact
    row, ``s[:, :, j]`` key ``j``'s exact column; :meth:`sparse_summary` is what ``_data`` sends."""

    def __init__(self, source: QKScores, b: int):
        self.source, self.b = source, b
        self.shape = source.shape[1:]

    def summary(self) -> QKSummary:
        return self.source.summary(self.b)

    def hiding(self, hidden: Sequence[int]) -> "QKSlice":
        """This batch element of :meth:`QKScores.hiding`."""
        return QKSlice(self.source.hiding(hidden), self.b)

    def sparse_summary(self) -> codec.SparseSummary:
        return self.summary().sparse

    def __getitem__(self, key):
        full = slice(None)
        if isinstance(key, tuple) and len(key) == 3 and key[0] == full:
            if isinstance(key[1], (int, np.integer)) and key[2] == full:
                return self.source.row(self.b, int(key[1]))
            if key[1] == full and isinstance(key[2], (int, np.integer)):
                return self.source.col(self.b, int(key[2]))
        raise TypeError("a slice of QKScores reads whole rows [:, i, :] and columns [:, :, j] only")


def qk_layers(source: QKScores, query_tokens: Any, key_tokens: Any = None, head_names: Any = None,
              layer_names: Any = None, mask: Any = None, layer_kinds: Any = None) -> list[WidgetLayer]:
    """The widget's one layer for ``source``, its arguments checked as :func:`attnwidget.scores.widget_layers`
    checks them (``mask`` belongs to ``source``, so it must be None here)."""
    if mask is not None:
        raise ConfigError("mask: give it to QKScores / from_qk (it masks the scores as they are made)")
    _, h, nq, nk = source.shape
    qt = [str(t) for t in query_tokens]
    kt = qt if key_tokens is None else [str(t) for t in key_tokens]
    if len(qt) != nq or len(kt) != nk:
        raise ConfigError(f"tokens: q and k give query_len={nq}, key_len={nk} but got {len(qt)} query tokens "
                          f"and {len(kt)} key tokens")
    hn = [f"head {j}" for j in range(h)] if head_names is None else [str(s) for s in head_names]
    if len(hn) != h:
        raise ConfigError(f"head_names: q has {h} heads but got {len(hn)} names")
    name = "layer 0" if layer_names is None else str(list(layer_names)[0])
    kind = source.kind if layer_kinds is None else str(list(layer_kinds)[0])
    return [WidgetLayer(source, qt, kt, hn, source.mask if source.mask is not None and source.mask.ndim == 2 else None,
                        name, kind)]
