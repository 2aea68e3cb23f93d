"""Issue 14: attention from queries and keys, tile by tile, equals the dense softmax it never builds."""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest

from attnwidget import AttentionWidget, blockwise, blockwise_ops, codec, overview, protocol, qkscores
from attnwidget.config import ConfigError


def dense_softmax(q, k, causal=False, mask=None, scale=None):
    """float32 weights ``(H, Q, K)`` and the attended cells ``(Q, K)``, in float64 (0 in fully masked rows)."""
    scale = 1 / np.sqrt(q.shape[-1]) if scale is None else scale
    s = np.einsum("hqd,hkd->hqk", q.astype(np.float64), k.astype(np.float64)) * scale
    keep = np.ones(s.shape[1:], bool)
    if causal:
        keep &= np.tri(*s.shape[1:], dtype=bool)
    if mask is not None:
        keep &= mask if mask.ndim == 2 else mask[None, :]
    s = np.where(keep, s, -np.inf)
    top = s.max(-1, keepdims=True)
    e = np.exp(s - np.where(np.isfinite(top), top, 0))
    total = e.sum(-1, keepdims=True)
    return (e / np.where(total > 0, total, 1)).astype(np.float32), keep


def qk(h, nq, nk, d=16, seed=0, spread=2.0):
    rng = np.random.default_rng(seed)
    return (rng.standard_normal((h, nq, d), dtype=np.float32) * spread,
            rng.standard_normal((h, nk, d), dtype=np.float32) * spread)


def padded(nk, n_pad):
    m = np.ones(nk, bool)
    m[nk - n_pad:] = False
    return m


def holes(nq, nk, seed=5):
    m = np.random.default_rng(seed).random((nq, nk)) > 0.4
    m[7:11] = False  # fully masked queries: weight 0 everywhere
    return m


CASES = {  # (Q, K, causal, mask)
    "random": (300, 300, False, None),
    "causal": (260, 260, True, None),
    "cross": (130, 1000, False, None),
    "padded": (257, 1000, False, padded(1000, 37)),
    "causal padded": (200, 200, True, padded(200, 30)),
    "mask with empty rows": (120, 170, False, holes(120, 170)),
}


@pytest.mark.parametrize("case", list(CASES))
def test_tile_statistics_equal_the_dense_ones(case, monkeypatch):
    monkeypatch.setattr(blockwise, "TILE", 1 << 12)  # many tiles even at small T
    nq, nk, causal, mask = CASES[case]
    q, k = qk(3, nq, nk, seed=len(case))
    p, keep = dense_softmax(q, k, causal, mask)
    got = blockwise.summarize_qk(q, k, causal=causal, mask=mask)
    want = codec.summarize(p, None if keep.all() else keep)
    a, b = got.sparse, want
    assert (a.lo, a.hi, a.probability, a.nonfinite) == (0.0, 1.0, True, 0) == (b.lo, b.hi, b.probability, b.nonfinite)
    assert a.pool_block == b.pool_block and a.mask_kind == b.mask_kind
    attended = np.isfinite(b.top)  # rows with fewer attended keys than k end in -inf
    np.testing.assert_array_equal(np.isfinite(a.top), attended)
    np.testing.assert_array_equal(np.where(attended, a.idx, -1), np.where(attended, b.idx, -1))
    for row_idx in a.idx.reshape(-1, a.idx.shape[-1]):
        assert len(set(row_idx.tolist())) == len(row_idx)  # masked slots hold distinct keys too
    np.testing.assert_allclose(np.where(attended, a.top, 0), np.where(attended, b.top, 0), rtol=1e-5, atol=1e-7)
    assert_same_pooled(a, b, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(got.thumbs, overview.downsample(p), atol=1e-6)
    # the payload is the one the browser already reads, byte for byte up to a rounding step
    pa, pb = codec.sparse_payload(a), codec.sparse_payload(b)
    assert pa.keys() == pb.keys()
    for field in ("val", "pool"):
        assert np.abs(np.frombuffer(pa[field], np.uint8).astype(int) - np.frombuffer(pb[field], np.uint8)).max() <= 1


@pytest.mark.parametrize("case", ["random", "causal padded", "mask with empty rows"])
def test_exact_rows_and_columns(case):
    nq, nk, causal, mask = CASES[case]
    q, k = qk(2, nq, nk, seed=1)
    p, _ = dense_softmax(q, k, causal, mask)
    assert_exact(qkscores.QKScores(q, k, causal=causal, mask=mask), p)


def assert_same_pooled(a, b, **tol) -> None:
    """Two sparse summaries' pooled overviews (unattended blocks alike), head maxima, head entropies and
    pool masks agree within ``tol`` (``np.testing.assert_allclose``'s)."""
    np.testing.assert_array_equal(np.isfinite(a.pool), np.isfinite(b.pool))
    np.testing.assert_allclose(np.where(np.isfinite(a.pool), a.pool, 0), np.where(np.isfinite(b.pool), b.pool, 0), **tol)
    np.testing.assert_allclose(a.head_max, b.head_max, **tol)
    np.testing.assert_allclose(a.head_entropy, b.head_entropy, **tol)
    if b.pool_mask is None:
        assert a.pool_mask is None
    else:
        np.testing.assert_array_equal(a.pool_mask, b.pool_mask)


def assert_exact(src, p, col_atol=1e-7) -> None:
    """``src``'s rows 0, 8, last and columns 0, 3, last, and its whole dense form, equal the dense weights ``p``."""
    s, nq, nk = src[0], p.shape[1], p.shape[2]
    for i in (0, 8, nq - 1):
        np.testing.assert_allclose(s[:, i, :], p[:, i], rtol=1e-5, atol=1e-7)
    for j in (0, 3, nk - 1):
        np.testing.assert_allclose(s[:, :, j], p[:, :, j], rtol=1e-5, atol=col_atol)
    np.testing.assert_allclose(np.asarray(src)[0], p, rtol=1e-5, atol=1e-7)


def test_from_qk_widget_pins_a_token_with_its_exact_row():
    q, k = qk(4, 200, 200, seed=2)
    qb, kb = np.stack([q, q[::-1]]), np.stack([k, k[::-1]])  # batch of 2: heads reversed in the second
    w = AttentionWidget.from_qk(qb, kb, [f"t{i}" for i in range(200)], causal=True)
    p, _ = dense_softmax(q, k, causal=True)
    d = w._data
    assert d["mode"] == "sparse" and d["shape"] == [4, 200, 200] and (d["lo"], d["hi"], d["probability"]) == (0, 1, True)
    assert d["mask_kind"] == "causal" and w.layer_kinds == ["causal"] and w.shape == (2, 4, 200, 200)
    w.selected_query, w.selected_key = 150, 20
    np.testing.assert_allclose(np.frombuffer(w._exact["row"], "<f4").reshape(4, 200), p[:, 150], rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(np.frombuffer(w._exact["col"], "<f4").reshape(4, 200), p[:, :, 20], rtol=1e-5, atol=1e-7)
    w.batch = 1
    np.testing.assert_allclose(np.frombuffer(w._exact["row"], "<f4").reshape(4, 200), p[::-1, 150], rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(w._data["head_max"], p[::-1].reshape(4, -1).max(-1), rtol=1e-5)
    state = protocol.snapshot(w)  # a static copy carries every batch element's sparse slice, no floats
    assert {s["mode"] for s in state["_slices"].values()} == {"sparse"} and state["_exact"] == {"query": None, "key": None}


def test_from_qk_row_equals_keras_scores():
    import keras
    rng = np.random.default_rng(3)
    x = rng.standard_normal((1, 48, 32)).astype("float32")
    mha = keras.layers.MultiHeadAttention(num_heads=4, key_dim=8)
    with blockwise_ops.full_float32(keras):  # on a GPU Keras's default TF32 products move scores by ~1e-4
        _, scores = mha(x, x, return_attention_scores=True, use_causal_mask=True)
        # the layer's own projections, (B, T, H, d) -> (B, H, T, d)
        q = np.transpose(np.asarray(mha.query_dense(x)), (0, 2, 1, 3))
        k = np.transpose(np.asarray(mha.key_dense(x)), (0, 2, 1, 3))
    w = AttentionWidget.from_qk(q, k, [str(i) for i in range(48)], causal=True)
    for i in (0, 30, 47):
        w.selected_query = i
        np.testing.assert_allclose(np.frombuffer(w._exact["row"], "<f4").reshape(4, 48), np.asarray(scores)[0, :, i],
                                   rtol=1e-5, atol=1e-6)


def test_the_score_matrix_is_never_built():
    q, k = qk(1, 4096, 4096, d=16, seed=4)  # one head's scores would be 64 MiB
    tracemalloc.start()
    blockwise.summarize_qk(q, k)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 16 * 2**20, peak


def test_bad_arguments_say_what_is_wrong(monkeypatch):
    q, k = qk(2, 10, 12)
    with pytest.raises(ValueError, match="batch, heads and d"):
        qkscores.QKScores(q, k[:1])
    with pytest.raises(ValueError, match=r"mask: expected shape \(12,\)"):
        qkscores.QKScores(q, k, mask=np.ones(10, bool))
    with pytest.raises(ConfigError, match="query_len=10, key_len=12"):
        AttentionWidget.from_qk(q, k, [str(i) for i in range(10)])
    monkeypatch.setattr(qkscores, "DENSE_MAX", 100)
    with pytest.raises(ValueError, match="read rows and columns"):
        np.asarray(qkscores.QKScores(q, k))


def test_model_view_thumbnails_of_a_qk_layer_equal_the_dense_ones():
    q, k = qk(3, 100, 100, d=8, seed=6)
    src = qkscores.QKScores(q, k, causal=True)
    dense = np.asarray(src)
    a = overview.overview([dense, dense], 0, ["a", "b"], ["causal", "causal"])
    b = overview.overview([src, dense], 0, ["a", "b"], ["causal", "causal"])
    assert np.abs(np.frombuffer(a["q"], np.uint8).astype(int) - np.frombuffer(b["q"], np.uint8)).max() <= 1
    for field in ("entropy", "max"):
        np.testing.assert_allclose(a["layers"][0][field], b["layers"][0][field], atol=2e-4)
