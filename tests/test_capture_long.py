"""Issue 14: ``capture`` records a layer past ``dense_limit`` as its queries and keys, and shows the same weights."""

from __future__ import annotations

import numpy as np
import pytest

import attnwidget
from attnwidget.qkscores import QKScores

T, S, D, H = 12, 7, 16, 2


@pytest.fixture(scope="module")
def keras():
    from attnwidget import backend

    return backend.load_keras(None)


@pytest.fixture(scope="module")
def floats(keras):
    """Self (with an attention_mask), causal and cross attention on float inputs; Keras's own scores of each."""
    x_in, c_in = keras.Input((T, D)), keras.Input((S, D))
    m_in = keras.Input((T, T), dtype="bool")
    self_mha = keras.layers.MultiHeadAttention(num_heads=H, key_dim=8, name="self_mha")
    causal_mha = keras.layers.MultiHeadAttention(num_heads=H, key_dim=8, name="causal_mha")
    cross_mha = keras.layers.MultiHeadAttention(num_heads=3, key_dim=4, name="cross_mha")
    a = self_mha(x_in, x_in, attention_mask=m_in)
    b = causal_mha(a, a, use_causal_mask=True)
    model = keras.Model([x_in, c_in, m_in], keras.layers.Dense(5)(cross_mha(b, c_in)))
    rng = np.random.default_rng(0)
    x, c = rng.standard_normal((2, T, D)).astype("f4") * 2, rng.standard_normal((2, S, D)).astype("f4")
    m = rng.random((2, T, T)) > 0.3
    m[1, 4] = False  # a query that sees no key: weight 0 everywhere, in Keras and here
    inputs = [x, c, m]
    # Each layer's scores from Keras itself, on the inputs the model gives it: its layers run without scores
    # (Keras's fused path, which leaves a query that sees no key a uniform row, where the scores have 0).
    _, sa = self_mha(x, x, attention_mask=m, return_attention_scores=True)
    ha = self_mha(x, x, attention_mask=m)
    _, sb = causal_mha(ha, ha, use_causal_mask=True, return_attention_scores=True)
    hb = causal_mha(ha, ha, use_causal_mask=True)
    _, sc = cross_mha(hb, c, return_attention_scores=True)
    want = {"self_mha": sa, "causal_mha": sb, "cross_mha": sc}
    return model, inputs, {k: np.asarray(v) for k, v in want.items()}


@pytest.fixture(scope="module")
def padded(keras):
    """Token ids padded with 0 (Embedding(mask_zero=True)): each sequence of the batch masks its own keys and queries."""
    ids_in = keras.Input((T,), dtype="int32")
    embed = keras.layers.Embedding(30, D, mask_zero=True, name="embed",
                                   embeddings_initializer=keras.initializers.RandomNormal(stddev=1.0, seed=1))
    pad_mha = keras.layers.MultiHeadAttention(num_heads=H, key_dim=8, name="pad_mha")
    pad_causal = keras.layers.MultiHeadAttention(num_heads=H, key_dim=8, name="pad_causal")
    h = pad_mha(embed(ids_in), embed(ids_in))
    model = keras.Model(ids_in, pad_causal(h, h, use_causal_mask=True))
    ids = np.zeros((3, T), "int32")
    for row, n in enumerate((T, 5, 9)):
        ids[row, :n] = np.arange(1, n + 1) + row
    e = embed(ids)
    _, sa = pad_mha(e, e, return_attention_scores=True)
    e = embed(ids)  # the call took the mask off
    h = pad_mha(e, e)
    _, sb = pad_causal(h, h, use_causal_mask=True, return_attention_scores=True)
    return model, ids, {"pad_mha": np.asarray(sa), "pad_causal": np.asarray(sb)}


def _rows_equal_keras(res, want):
    for r in res.records:
        assert isinstance(r.scores, QKScores), r.path
        assert r.shape == want[r.path].shape and r.mask is None
        b_n, _, q_n, _ = r.shape
        for b in range(b_n):
            for i in range(q_n):
                np.testing.assert_allclose(r.scores.row(b, i), want[r.path][b, :, i], atol=1e-6, err_msg=f"{r.path} {b} {i}")


def _top_keys_agree(res, want):
    for r in res.records:
        for b in range(r.shape[0]):
            sp = r.scores.summary(b).sparse
            dense = want[r.path][b]  # (H, Q, K)
            for hd in range(dense.shape[0]):
                for i in range(dense.shape[1]):
                    n = min(3, int((dense[hd, i] > 0).sum()))
                    best = -np.sort(-dense[hd, i])[:n]
                    # the keys it names carry Keras's n largest weights (keys tied within 1e-6 in either order)
                    np.testing.assert_allclose(dense[hd, i, sp.idx[hd, i, :n]], best, atol=1e-6, err_msg=r.path)
                    np.testing.assert_allclose(sp.top[hd, i, :n], best, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("which", ["floats", "padded"])
def test_past_the_limit_rows_and_top_keys_equal_keras(which, request):
    model, inputs, want = request.getfixturevalue(which)
    bare = keras_output(model, inputs)
    res = attnwidget.capture(model, inputs, dense_limit=0)
    assert [r.path for r in res.records] == list(want)
    _rows_equal_keras(res, want)
    _top_keys_agree(res, want)
    np.testing.assert_array_equal(res.output, bare)  # the model's outputs, bit for bit
    kinds = {r.path: r.kind for r in res.records}
    if which == "floats":
        assert kinds == {"self_mha": "self", "causal_mha": "causal", "cross_mha": "cross"}
        assert res.records[1].scores.causal and res.records[2].scores.shape == (2, 3, T, S)
    else:
        assert kinds == {"pad_mha": "self", "pad_causal": "causal"}
        padded_keys = res.records[0].scores.summary(1).sparse
        assert np.isneginf(padded_keys.top[:, 0, 5:]).all()  # row 1 has 5 tokens: no weight past them


@pytest.mark.parametrize("which", ["floats", "padded"])
def test_without_a_limit_the_scores_stay_dense_and_equal(which, request):
    model, inputs, want = request.getfixturevalue(which)
    res = attnwidget.capture(model, inputs, dense_limit=None)
    for r in res.records:
        assert isinstance(r.scores, np.ndarray) and r.scores.dtype == np.float32
        np.testing.assert_allclose(r.scores, want[r.path], atol=1e-6, err_msg=r.path)
    switched = attnwidget.capture(model, inputs, dense_limit=0)
    np.testing.assert_array_equal(switched.output, res.output)
    for a, b in zip(res.records, switched.records):
        np.testing.assert_allclose(np.asarray(b.scores), a.scores, atol=1e-6, err_msg=a.path)  # small: dense on demand


def keras_output(model, inputs):
    return np.asarray(model(inputs, training=False))


def test_the_switch_is_at_the_limit_and_no_scores_are_made(floats, keras, monkeypatch):
    model, inputs, want = floats
    sizes = {k: v.size for k, v in want.items()}  # self and causal: 2·2·12·12 = 576; cross: 2·3·12·7 = 504
    softmaxes = []
    real = keras.layers.MultiHeadAttention._masked_softmax
    monkeypatch.setattr(keras.layers.MultiHeadAttention, "_masked_softmax",
                        lambda self, *a, **kw: softmaxes.append(self.name) or real(self, *a, **kw))
    res = attnwidget.capture(model, inputs, dense_limit=sizes["cross_mha"])  # 576 > limit, 504 is not past it
    assert {r.path: type(r.scores).__name__ for r in res.records} == {
        "self_mha": "QKScores", "causal_mha": "QKScores", "cross_mha": "ndarray"}
    assert softmaxes == ["cross_mha"]  # the switched layers never formed their (T, S) weights
    res = attnwidget.capture(model, inputs, dense_limit=sizes["self_mha"])
    assert not any(isinstance(r.scores, QKScores) for r in res.records)
    res = attnwidget.capture(model, inputs, dense_limit=sizes["self_mha"] - 1)
    assert [isinstance(r.scores, QKScores) for r in res.records] == [True, True, False]
    assert all("call" not in vars(m) for m in (model.get_layer(n) for n in want))  # nothing stays patched


def test_the_widget_pins_a_query_with_keras_row(floats, padded):
    model, inputs, want = floats
    res = attnwidget.capture(model, inputs, dense_limit=0, select=6)
    w = res.widget
    assert w.layer_names == list(want) and w.layer_kinds == ["self", "causal", "cross"]
    assert w._data["mode"] == "sparse" and w._data["shape"] == [H, T, T] and w.selected_query == 6
    for layer, name in enumerate(want):
        w.layer = layer
        _, h, _, k = w.shape
        for b in (0, 1):
            w.batch = b
            for i in (0, 4, 6, T - 1):
                w.selected_query = i
                np.testing.assert_allclose(np.frombuffer(w._exact["row"], "<f4").reshape(h, k), want[name][b, :, i],
                                           atol=1e-6, err_msg=f"{name} {b} {i}")
    assert len(w._overview["layers"]) == 3
    model, ids, want = padded
    w = attnwidget.capture(model, ids, dense_limit=0).widget
    w.layer, w.batch, w.selected_query = 1, 2, 8
    np.testing.assert_allclose(np.frombuffer(w._exact["row"], "<f4").reshape(H, T), want["pad_causal"][2, :, 8], atol=1e-6)
    w.selected_query = 10  # a padded query: Keras leaves its row 0
    assert not np.frombuffer(w._exact["row"], "<f4").any() and not want["pad_causal"][2, :, 10].any()


def test_keys_hidden_in_a_model_of_recorded_and_dense_layers_equal_keras_renormalised(floats):
    """Self and causal recorded as queries and keys, cross dense: ``hidden_keys=[0]`` renormalises every
    layer's rows over the other keys (Keras's own scores, key 0 dropped, in NumPy), the pinned row and the
    model view's per-head maxima alike."""
    model, inputs, want = floats
    res = attnwidget.capture(model, inputs, dense_limit=2 * H * T * T - 1, select=6)
    assert [isinstance(r.scores, QKScores) for r in res.records] == [True, True, False]
    w = res.widget
    assert w._can_hide
    w.hidden_keys = [0]
    for layer, name in enumerate(want):
        a = np.array(want[name], dtype=np.float64)
        a[..., 0] = 0
        total = a.sum(-1, keepdims=True)
        ref = np.divide(a, total, out=np.zeros_like(a), where=total > 0)
        w.layer = layer
        _, h, _, k = w.shape
        for b in (0, 1):
            w.batch = b
            np.testing.assert_allclose(np.frombuffer(w._exact["row"], "<f4").reshape(h, k), ref[b, :, 6], atol=1e-6,
                                       err_msg=f"{name} {b}")
            np.testing.assert_allclose(w._overview["layers"][layer]["max"], ref[b].max(axis=(1, 2)), atol=1e-4)


def test_what_needs_dense_scores_says_dense_limit(floats):
    model, inputs, _ = floats
    res = attnwidget.capture(model, inputs, dense_limit=0)
    with pytest.raises(ValueError, match="dense_limit"):
        res.explain(3)
    with pytest.raises(ValueError, match="dense_limit"):
        attnwidget.compare(res, res)
    w = res.widget
    w.view, w.selected_query = "explain", 2
    assert w._explain == {}  # no explainer for queries and keys: the explain view is not offered


def test_layers_it_cannot_reproduce_stay_dense(keras):
    x_in = keras.Input((T, D))
    window = keras.layers.MultiHeadAttention(num_heads=H, key_dim=8, sliding_window=3, name="window")
    asked = keras.layers.MultiHeadAttention(num_heads=H, key_dim=8, name="asked")
    a = window(x_in, x_in)
    b, scores = asked(a, a, return_attention_scores=True)  # the model asks for the scores itself
    model = keras.Model(x_in, [b, scores])
    x = np.random.default_rng(2).standard_normal((1, T, D)).astype("f4")
    res = attnwidget.capture(model, x, dense_limit=0)
    assert [type(r.scores).__name__ for r in res.records] == ["ndarray", "ndarray"]
    np.testing.assert_array_equal(res.records[1].scores, res.output[1])
    band = np.abs(np.subtract.outer(np.arange(T), np.arange(T))) < 3
    assert not res.records[0].scores[..., ~band].any()


def test_the_tile_pass_runs_where_capture_was_asked_to(floats, monkeypatch):
    """``capture(device="cpu")`` keeps a recorded layer's tile pass in NumPy even where Keras sees a GPU (made
    visible here by patching the count: this machine has none); without ``device`` it goes to Keras's GPU."""
    from attnwidget import backend

    model, inputs, want = floats
    monkeypatch.setattr(backend, "gpu_count", lambda keras: 1)
    monkeypatch.setattr(backend, "resolve_device", lambda keras, device: "cpu:0")
    on_cpu = attnwidget.capture(model, inputs, dense_limit=0, device="cpu")
    default = attnwidget.capture(model, inputs, dense_limit=0)
    assert {r.scores.engine for r in on_cpu.records} == {"numpy"}
    assert {r.scores.engine for r in default.records} == {"keras"}  # the Keras-ops path, on the CPU here
    for res in (on_cpu, default):
        np.testing.assert_allclose(res.records[0].scores.row(0, 6), want["self_mha"][0, :, 6], atol=1e-6)
