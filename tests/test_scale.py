"""Issue 7: 8 heads × 4096² stays under the Jupyter server's 10 MiB message limit (sparse `_data`)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from attnwidget import AttentionWidget, codec, protocol, stats

LIMIT = 10 * 1024 * 1024


def softmax_heads(h, q, k, seed=0, local=True):
    """float32 softmax weights, generated head by head (one array, no float64 copy of all heads)."""
    rng = np.random.default_rng(seed)
    out = np.empty((h, q, k), np.float32)
    j = np.arange(k, dtype=np.float32)
    for hd in range(h):
        x = rng.standard_normal((q, k), dtype=np.float32) * 2
        if local:
            x -= np.abs(np.arange(q, dtype=np.float32)[:, None] * (k / q) - j) / (4 + 8 * hd)
        x -= x.max(-1, keepdims=True)
        np.exp(x, out=x)
        x /= x.sum(-1, keepdims=True)
        out[hd] = x
    return out


def message_sizes(w):
    """(JSON bytes, binary bytes) of the widget's full state as ipywidgets sends it."""
    from ipywidgets.widgets.widget import _remove_buffers

    state, _, buffers = _remove_buffers(w.get_state())
    return len(json.dumps(state, default=str)), sum(len(memoryview(b).cast("B")) for b in buffers)


@pytest.fixture(scope="module")
def big():
    s = softmax_heads(8, 4096, 4096)
    return s, AttentionWidget(s, [f"t{i}" for i in range(4096)])


def test_8_heads_by_4096_squared_fits_every_message(big):
    s, w = big
    d = w._data
    assert d["mode"] == "sparse" and d["shape"] == [8, 4096, 4096] and d["probability"] is True
    assert d["idx_bits"] == 16 and d["pool_block"] == [8, 8] and d["pool_shape"] == [512, 512]
    assert d["mask_kind"] == "none" and "q" not in d
    js, binary = message_sizes(w)
    assert js + binary < LIMIT, (js, binary)
    # pin / unpin: the exact row and column follow, and every state still fits
    w.selected_query = 4000
    np.testing.assert_array_equal(np.frombuffer(w._exact["row"], "<f4").reshape(8, 4096), s[:, 4000])
    w.selected_key = 17
    np.testing.assert_array_equal(np.frombuffer(w._exact["col"], "<f4").reshape(8, 4096), s[:, :, 17])
    js, binary = message_sizes(w)
    assert js + binary < LIMIT, (js, binary)
    w.selected_query = w.selected_key = None
    assert "row" not in w._exact and "col" not in w._exact
    # statistics as the dense path computes them
    np.testing.assert_allclose(d["head_max"], s.reshape(8, -1).max(-1), rtol=1e-6)


def test_sparse_top_k_and_pool_decode_to_the_truth(monkeypatch):
    monkeypatch.setattr(codec, "SPARSE_THRESHOLD", 1000)
    s = softmax_heads(3, 40, 70, seed=3, local=False)
    w = AttentionWidget(s, [str(i) for i in range(40)], [str(j) for j in range(70)])
    d = w._data
    assert d["mode"] == "sparse" and d["k"] == 16
    idx = np.frombuffer(d["idx"], "<u2").reshape(3, 40, 16)
    val = np.frombuffer(d["val"], np.uint8).reshape(3, 40, 16)
    true = np.argsort(-s, axis=-1, kind="stable")[..., :16]
    for hd in range(3):
        for i in range(40):
            assert set(idx[hd, i]) == set(true[hd, i]), (hd, i)  # random floats: no ties
            np.testing.assert_array_equal(idx[hd, i], true[hd, i])  # sorted by weight
    np.testing.assert_array_equal(val, np.frombuffer(codec.quantize(np.take_along_axis(s, true, -1)), np.uint8).reshape(3, 40, 16))
    # pool: 40 × 70 fit in one block each way at POOL_MAX 512; with a small pool, blocks of 8 × 8
    pooled = codec.sparse_encode(s, pool_max=8)
    bq, bk = pooled["pool_block"]
    pq, pk = pooled["pool_shape"]
    assert (bq, bk, pq, pk) == (5, 9, 8, 8)
    pool = np.frombuffer(pooled["pool"], np.uint8).reshape(3, pq, pk)
    for a in range(pq):
        for b in range(pk):
            blk = s[:, a * bq:(a + 1) * bq, b * bk:(b + 1) * bk]
            np.testing.assert_array_equal(pool[:, a, b], np.frombuffer(codec.quantize(blk.max(axis=(1, 2))), np.uint8))


def test_sparse_masks(monkeypatch):
    monkeypatch.setattr(codec, "SPARSE_THRESHOLD", 100)
    causal = np.tri(30, 30, dtype=bool)
    logits = np.where(causal, np.random.default_rng(1).standard_normal((2, 30, 30)), -np.inf)
    s = np.exp(logits - logits.max(-1, keepdims=True))
    s = (s / s.sum(-1, keepdims=True)).astype(np.float32)
    w = AttentionWidget(s, [str(i) for i in range(30)], mask=causal)
    assert w._data["mask_kind"] == "causal" and "pool_mask" not in w._data
    idx = np.frombuffer(w._data["idx"], "<u2").reshape(2, 30, 16)
    val = np.frombuffer(w._data["val"], np.uint8).reshape(2, 30, 16)
    for i in range(30):  # masked keys never come before an attended one
        n = min(16, i + 1)
        assert (idx[:, i, :n] <= i).all()
    odd = np.ones((30, 30), bool)
    odd[:, 5] = False
    w2 = AttentionWidget(s, [str(i) for i in range(30)], mask=odd)
    assert w2._data["mask_kind"] == "pooled" and len(w2._data["pool_mask"]) == 30 * 30
    assert not (np.frombuffer(w2._data["idx"], "<u2").reshape(2, 30, 16)[np.frombuffer(w2._data["val"], np.uint8).reshape(2, 30, 16) > 0] == 5).any()
    assert val.dtype == np.uint8


def test_small_widgets_stay_dense():
    s = softmax_heads(8, 1024, 1024, local=False)
    w = AttentionWidget(s, [str(i) for i in range(1024)])
    assert "mode" not in w._data and len(w._data["q"]) == 8 * 1024 * 1024


@pytest.mark.parametrize("case", ["softmax", "logits", "nonfinite", "negative weights"])
def test_one_pass_statistics_equal_the_per_head_ones(case, monkeypatch):
    monkeypatch.setattr(codec, "SPARSE_THRESHOLD", 100)
    rng = np.random.default_rng(2)
    s = softmax_heads(3, 50, 70, seed=2, local=False)
    if case == "logits":
        s = rng.standard_normal((3, 50, 70)).astype(np.float32) * 3
    if case == "nonfinite":
        s[0, 3, 5], s[1, 7, 9], s[2, 10, 3] = np.nan, np.inf, -np.inf
    if case == "negative weights":
        s[1, 4, 4] = -0.25
    d = protocol.slice_payload(s, None)
    assert d["mode"] == "sparse"
    assert (d["lo"], d["hi"], d["probability"]) == codec.value_range(s)
    assert d["nonfinite"] == int((~np.isfinite(s)).sum())
    np.testing.assert_allclose(d["head_max"], [stats.max_2d(s[j]) for j in range(3)], rtol=1e-6)
    np.testing.assert_allclose(d["head_entropy"], [stats.mean_entropy_2d(s[j]) for j in range(3)], rtol=1e-5)


def test_top_k_by_runs_equals_a_full_sort():
    rng = np.random.default_rng(8)
    for n_keys in (16, 17, 100, 1000, 4099):
        x = rng.standard_normal((40, n_keys)).astype(np.float32)
        x[:5, 3:] = -np.inf  # rows with fewer finite values than k
        idx, vals = stats.sort_top(*stats.top_k_rows(x, 16))
        stats.fill_masked(idx, vals, n_keys)
        want = np.sort(x, axis=-1)[:, ::-1][:, :16]
        np.testing.assert_array_equal(vals, want)
        np.testing.assert_array_equal(np.take_along_axis(x, idx, -1), want)
        assert all(len(set(r)) == 16 for r in idx.tolist())


@pytest.mark.parametrize("shape,keys", [((8, 4096, 4096), 16), ((8, 32768, 32768), 8), ((8, 131072, 131072), 1),
                                        ((32, 32768, 32768), 2)])
def test_sparse_form_fits_one_message_at_any_length(shape, keys):
    h, q, key = shape
    k, pool_max = codec.sparse_size(h, q, key)
    bq, bk, pq, pk = codec.pool_blocks(q, key, pool_max)
    assert k == keys
    assert h * q * k * (1 + (2 if key <= 65535 else 4)) + h * pq * pk <= codec.SPARSE_BYTES < LIMIT
