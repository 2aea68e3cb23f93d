"""Issue 14: the Keras-ops tile pass (``device="keras"``) equals the NumPy one and the dense softmax.

Run here on the CPU with the TensorFlow backend; on a GPU the same ops run there (benchmarks/gpu_check.py --long).
"""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from attnwidget import AttentionWidget, backend, blockwise, blockwise_ops, codec, overview, qkscores
from test_blockwise import assert_exact, assert_same_pooled, dense_softmax, holes, padded, qk

CASES = {  # (Q, K, causal, mask): smaller than one tile of the NumPy path, several of the Keras path
    "random": (70, 90, False, None),
    "causal": (70, 90, True, None),
    "padded": (70, 90, False, padded(90, 13)),
    "causal padded": (90, 90, True, padded(90, 20)),
    "mask with empty rows": (70, 90, False, holes(70, 90)),
}


@pytest.fixture(autouse=True)
def small_tiles(monkeypatch):
    monkeypatch.setattr(blockwise_ops, "TILE_BYTES", 4 * 3 * 90 * 16)  # 16 rows of 3 heads × 90 keys a tile
    monkeypatch.setattr(blockwise, "TILE", 1 << 10)


def assert_same(a: blockwise.QKSummary, b: blockwise.QKSummary) -> None:
    """Two summaries equal up to float32 rounding: top keys as sets, values within 1e-5."""
    x, y = a.sparse, b.sparse
    assert (x.shape, x.pool_block, x.mask_kind, x.lo, x.hi, x.probability) == \
        (y.shape, y.pool_block, y.mask_kind, y.lo, y.hi, y.probability)
    attended = np.isfinite(y.top)
    np.testing.assert_array_equal(np.isfinite(x.top), attended)
    for ia, ib, fin in zip(x.idx.reshape(-1, x.idx.shape[-1]), y.idx.reshape(-1, y.idx.shape[-1]),
                           attended.reshape(-1, attended.shape[-1])):
        assert set(ia[fin].tolist()) == set(ib[fin].tolist())
        assert len(set(ia.tolist())) == len(ia)  # masked slots hold distinct keys too
    np.testing.assert_allclose(np.where(attended, x.top, 0), np.where(attended, y.top, 0), atol=1e-5)
    assert_same_pooled(x, y, atol=1e-5)
    np.testing.assert_allclose(a.thumbs, b.thumbs, atol=1e-6)


@pytest.mark.parametrize("pool_max", [None, 16])
@pytest.mark.parametrize("case", list(CASES))
def test_keras_summary_equals_numpy_and_dense(case, pool_max):
    nq, nk, causal, mask = CASES[case]
    q, k = qk(3, nq, nk, seed=len(case))
    assert blockwise_ops.tile_rows(3, nq, nk) == 16  # 5 or 6 tiles; pool_max 16: blocks of 5 or 6 rows straddle them
    got = blockwise_ops.summarize_qk_keras(q, k, causal=causal, mask=mask, pool_max=pool_max)
    ref = blockwise.summarize_qk(q, k, causal=causal, mask=mask, pool_max=pool_max)
    assert_same(got, ref)
    np.testing.assert_array_equal(np.isfinite(got.lse), np.isfinite(ref.lse))
    np.testing.assert_allclose(np.where(np.isfinite(ref.lse), got.lse, 0), np.where(np.isfinite(ref.lse), ref.lse, 0),
                               atol=1e-5)
    p, keep = dense_softmax(q, k, causal, mask)
    dense = codec.summarize(p, None if keep.all() else keep, pool_max=pool_max)
    assert_same(got, blockwise.QKSummary(dense, ref.lse, overview.downsample(p)))
    s = np.einsum("hqd,hkd->hqk", q.astype(np.float64), k.astype(np.float64)) / 4  # d = 16
    with np.errstate(divide="ignore"):
        lse = np.log(np.where(keep, np.exp(s), 0).sum(-1))
    np.testing.assert_allclose(np.where(np.isfinite(lse), got.lse, 0), np.where(np.isfinite(lse), lse, 0), atol=1e-5)
    assert np.isneginf(got.lse[:, ~keep.any(-1)]).all()


@pytest.mark.parametrize("extents", [8, 1])
def test_causal_tiles_read_as_many_key_extents_as_their_device_calls_for(monkeypatch, extents):
    """Causal tiles read keys up to their last row, in one of CAUSAL_EXTENTS[kind] extents (a GPU: every key,
    so that JAX compiles each op once); either way the summary equals the NumPy one and the dense softmax."""
    nq, nk, causal, mask = CASES["causal padded"]
    q, k = qk(3, nq, nk, seed=7)
    src = blockwise_ops.KerasQK(q, k, 0.25)  # 1/√d, as from_qk scales
    kind = src.where.split(":")[0]
    monkeypatch.setitem(blockwise_ops.CAUSAL_EXTENTS, kind, extents)
    read, tile = [], blockwise_ops.KerasQK._tile
    monkeypatch.setattr(blockwise_ops.KerasQK, "_tile", lambda self, r0, r1, kt, *a: read.append(kt.shape[-1]) or
                        tile(self, r0, r1, kt, *a))
    got = src.summarize(causal=True, mask=mask)
    step = -(-nk // extents)  # keys an extent: 12 of 90 for 8 extents (pooling blocks of 1 key here)
    want = [min(nk, -(-min(r0 + 16, nq) // step) * step) for r0 in range(0, nq, 16)]  # 6 tiles of 16 rows
    assert read == want and (read == [nk] * 6) == (extents == 1), read
    ref = blockwise.summarize_qk(q, k, causal=True, mask=mask)
    assert_same(got, ref)
    p, keep = dense_softmax(q, k, True, mask)
    assert_same(got, blockwise.QKSummary(codec.summarize(p, keep), ref.lse, overview.downsample(p)))


@pytest.mark.parametrize("case", ["random", "causal padded", "mask with empty rows"])
def test_exact_rows_and_columns_on_keras(case):
    nq, nk, causal, mask = CASES[case]
    q, k = qk(2, nq, nk, seed=1)
    p, _ = dense_softmax(q, k, causal, mask)
    src = qkscores.QKScores(q, k, causal=causal, mask=mask, device="keras")
    keras = backend.load_keras(None)
    assert src.engine == "keras" and src.on_device(0).placed == ("gpu:0" if backend.gpu_count(keras) else "cpu:0")
    assert_exact(src, p, col_atol=1e-5)


def test_from_qk_on_keras_sends_what_numpy_sends():
    q, k = qk(4, 90, 90, seed=2)
    qb, kb = np.stack([q, q[::-1]]), np.stack([k, k[::-1]])
    tokens = [f"t{i}" for i in range(90)]
    wk = AttentionWidget.from_qk(qb, kb, tokens, causal=True, device="gpu")  # no GPU here: Keras on the CPU
    wn = AttentionWidget.from_qk(qb, kb, tokens, causal=True, device="cpu")
    assert (wk.scores.engine, wn.scores.engine) == ("keras", "numpy")
    p, _ = dense_softmax(q, k, causal=True)
    for b in (0, 1):
        wk.batch = wn.batch = b
        dk, dn = wk._data, wn._data
        assert dk.keys() == dn.keys() and dk["mode"] == "sparse" and dk["mask_kind"] == "causal"
        np.testing.assert_allclose(dk["head_max"], dn["head_max"], atol=1e-5)
        np.testing.assert_allclose(dk["head_entropy"], dn["head_entropy"], atol=1e-5)
        wk.selected_query, wk.selected_key = 70, 20
        heads = p if b == 0 else p[::-1]
        np.testing.assert_allclose(np.frombuffer(wk._exact["row"], "<f4").reshape(4, 90), heads[:, 70], atol=1e-6)
        np.testing.assert_allclose(np.frombuffer(wk._exact["col"], "<f4").reshape(4, 90), heads[:, :, 20], atol=1e-5)


def test_device_rule(monkeypatch):
    q, k = qk(1, 8, 8)
    with pytest.raises(ValueError, match=r"^device: expected None, 'cpu', 'gpu' or 'keras', got 'tpu'$"):
        qkscores.QKScores(q, k, device="tpu")
    with pytest.raises(ValueError, match="device: "):
        AttentionWidget.from_qk(q, k, list("abcdefgh"), device=0)
    assert qkscores.QKScores(q, k, device="cpu").engine == "numpy"
    assert qkscores.QKScores(q, k, device="keras").engine == "keras"
    keras = backend.load_keras(None)  # imported: None asks the backend for a GPU

    assert qkscores.QKScores(q, k).engine == ("keras" if backend.gpu_count(keras) else "numpy")
    monkeypatch.setattr(backend, "gpu_count", lambda keras: 1)
    assert qkscores.QKScores(q, k).engine == "keras"


def test_default_device_does_not_import_keras():
    code = ("import sys, numpy as np; from attnwidget import qkscores; "
            "s = qkscores.QKScores(np.ones((1, 4, 2), 'f4'), np.ones((1, 4, 2), 'f4')); s.summary(0); "
            "print(s.engine, 'keras' in sys.modules, 'tensorflow' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out == ["numpy", "False", "False"]


def test_matrix_products_in_full_float32_then_put_back():
    keras = backend.load_keras(None)
    if keras.backend.backend() != "tensorflow":
        pytest.skip("the TensorFloat-32 switch checked here is TensorFlow's")
    from tensorflow.config import experimental as tfx

    was = tfx.tensor_float_32_execution_enabled()
    with blockwise_ops.full_float32(keras):
        assert not tfx.tensor_float_32_execution_enabled()
    assert tfx.tensor_float_32_execution_enabled() == was
