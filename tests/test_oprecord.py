"""Op-level capture without KerasHub: dot_product_attention's weights, softmaxes inside attention layers,
nothing left patched, the message when nothing is readable, and Keras masks kept for the scores call."""

from __future__ import annotations

import numpy as np
import pytest

import attnwidget
from attnwidget.oprecord import dpa_weights


@pytest.fixture(scope="module")
def keras():
    from attnwidget import backend

    return backend.load_keras(None)


def _np_dpa(q, k, bias, mask, scale, cap):
    """NumPy weights of dot_product_attention with grouped heads: query head n reads key head n // groups."""
    k = np.repeat(k, q.shape[2] // k.shape[2], axis=2)
    logits = np.einsum("btnh,bsnh->bnts", q, k) * scale
    logits = np.tanh(logits / cap) * cap + bias
    logits = np.where(mask, logits, -np.inf)
    e = np.exp(logits - logits.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


def test_dpa_weights_grouped_heads_bias_mask_cap(keras):
    rng = np.random.default_rng(1)
    q = rng.standard_normal((2, 5, 6, 4)).astype("f4")  # 6 query heads
    k = rng.standard_normal((2, 7, 2, 4)).astype("f4")  # 2 key heads: groups of 3
    v = rng.standard_normal((2, 7, 2, 4)).astype("f4")
    bias = rng.standard_normal((1, 6, 5, 7)).astype("f4")
    mask = rng.random((2, 1, 5, 7)) > 0.3
    mask[..., 0] = True
    w = np.asarray(dpa_weights(keras, q, k, bias, mask, 0.3, False, 5.0))
    assert w.shape == (2, 6, 5, 7)
    np.testing.assert_allclose(w, _np_dpa(q, k, bias, np.broadcast_to(mask, w.shape), 0.3, 5.0), atol=1e-6)
    # Without the soft cap the weights reproduce the op's own output.
    w = np.asarray(dpa_weights(keras, q, k, bias, mask, 0.3))
    out = np.asarray(keras.ops.dot_product_attention(q, k, v, bias=bias, mask=mask, scale=0.3))
    np.testing.assert_allclose(np.einsum("bnts,bsnh->btnh", w, np.repeat(v, 3, axis=2)), out, atol=1e-5)


def test_dpa_weights_causal_default_scale(keras):
    rng = np.random.default_rng(2)
    q, k = rng.standard_normal((1, 4, 2, 8)).astype("f4"), rng.standard_normal((1, 4, 2, 8)).astype("f4")
    w = np.asarray(dpa_weights(keras, q, k, is_causal=True))
    ref = _np_dpa(q, k, 0.0, np.tri(4, dtype=bool), 1 / np.sqrt(8), 1e9)
    np.testing.assert_allclose(w, ref, atol=1e-6)
    assert not np.triu(w, 1).any()


def _attention_layer(keras, how: str):
    """A self-attention layer of its own class that forms weights by ``how``: dpa | layer | ops | nn."""

    class TinyAttention(keras.layers.Layer):
        def __init__(self, **kw):
            super().__init__(**kw)
            self.qkv = keras.layers.Dense(3 * 8)
            self.softmax = keras.layers.Softmax() if how == "layer" else None

        def call(self, x, attention_mask=None):
            ops = keras.ops
            b, t = ops.shape(x)[0], ops.shape(x)[1]
            q, k, v = ops.split(ops.reshape(self.qkv(x), (b, t, 2, 12)), 3, axis=-1)
            if how == "dpa":
                return ops.reshape(ops.dot_product_attention(q, k, v, mask=attention_mask), (b, t, 8))
            logits = ops.einsum("btnh,bsnh->bnts", q, k) / 2.0
            if how == "layer":
                w = self.softmax(logits, mask=attention_mask)
            else:
                if attention_mask is not None:
                    logits = ops.where(attention_mask, logits, -1e9)
                w = (ops.softmax if how == "ops" else ops.nn.softmax)(logits, axis=-1)
            return ops.reshape(ops.einsum("bnts,bsnh->btnh", w, v), (b, t, 8))

    return TinyAttention(name="tiny")


@pytest.mark.parametrize("how", ["dpa", "layer", "ops", "nn"])
def test_own_attention_class(keras, how):
    x_in = keras.Input((5, 8))
    layer = _attention_layer(keras, how)
    h = layer(x_in, attention_mask=np.tri(5, dtype=bool)[None, None])
    model = keras.Model(x_in, keras.layers.Dense(3)(h))
    x = np.random.default_rng(3).standard_normal((2, 5, 8)).astype("f4")
    bare = np.asarray(model(x, training=False))
    before = (keras.ops.softmax, keras.ops.nn.softmax, keras.ops.dot_product_attention, keras.activations.softmax)
    res = attnwidget.capture(model, x, tokens=list("abcde"))
    assert np.array_equal(res.output, bare)
    assert [(r.path, r.kind, r.shape) for r in res.records] == [("tiny", "causal", (2, 2, 5, 5))]
    np.testing.assert_allclose(res.scores.sum(-1), 1.0, atol=1e-6)
    assert res.query_tokens == list("abcde") and res.records[0].layer is layer
    after = (keras.ops.softmax, keras.ops.nn.softmax, keras.ops.dot_product_attention, keras.activations.softmax)
    assert after == before and "call" not in vars(layer)
    assert all("call" not in vars(x) for x in layer._flatten_layers())


def test_message_names_layers_that_looked_like_attention(keras):
    class OddAttention(keras.layers.Layer):
        def call(self, x):
            return x * 2.0

    x_in = keras.Input((4, 8))
    model = keras.Model(x_in, OddAttention(name="odd")(x_in))
    with pytest.raises(ValueError, match=r"looked like attention.*odd \(OddAttention\)"):
        attnwidget.capture(model, np.zeros((1, 4, 8), "f4"))
    plain = keras.Sequential([keras.Input((4, 8)), keras.layers.Dense(3)])
    with pytest.raises(ValueError, match="has no attention layer inside"):
        attnwidget.capture(plain, np.zeros((1, 4, 8), "f4"))


def test_keras_masks_reach_the_scores_call(keras):
    """Padding from Embedding(mask_zero=True), no dropout: the scores are Keras's own, padded query rows 0."""
    ids_in = keras.Input((6,), dtype="int32")
    emb = keras.layers.Embedding(20, 8, mask_zero=True)
    mha = keras.layers.MultiHeadAttention(num_heads=2, key_dim=4)
    e = emb(ids_in)
    model = keras.Model(ids_in, mha(query=e, value=e))
    ids = np.array([[3, 4, 5, 6, 7, 8], [3, 4, 5, 0, 0, 0]], "int32")
    bare = np.asarray(model(ids, training=False))
    res = attnwidget.capture(model, ids)
    emb_out = emb(ids)
    _, want = mha(query=emb_out, value=emb_out, return_attention_scores=True, training=False)
    want = np.asarray(want)
    np.testing.assert_array_equal(res.output, bare)
    np.testing.assert_allclose(res.scores, want, atol=1e-7)
    assert not res.scores[1, :, 3:].any() and not res.scores[1, :, :, 3:].any()
