"""Whole models: every attention layer recorded in one forward pass, checked against each layer called directly."""

from __future__ import annotations

import time

import numpy as np
import pytest

import attnwidget
from attnwidget import stats
from attnwidget.capture import find_attention_layers
from attnwidget.build import seed_weights
from conftest import numpy_attention


@pytest.fixture(scope="module")
def keras():
    from attnwidget import backend

    return backend.load_keras(None)


def _direct(mha, inputs, causal):
    """Scores of ``mha`` called on the inputs it saw, asking Keras itself for them."""
    kw = dict(query=inputs["query"], value=inputs["value"], key=inputs["key"], return_attention_scores=True,
              training=False)
    if causal:
        kw["use_causal_mask"] = True
    _, s = mha(**kw)
    return np.asarray(s)


def _check_every_layer(res, model, keras):
    mhas = find_attention_layers(model, keras)
    assert set(res.layers) == set(mhas)
    for r in res.records:
        path, scores, inp, causal = r.path, r.scores, r.inputs, r.kind == "causal"
        assert r.layer is mhas[path]
        np.testing.assert_allclose(scores, _direct(mhas[path], inp, causal), atol=1e-6, err_msg=path)
        ref, _ = numpy_attention(mhas[path], inp["query"], inp["value"], inp["key"], causal=causal)
        np.testing.assert_allclose(scores, ref, atol=1e-5, err_msg=path)
    assert all("call" not in vars(m) for m in mhas.values())


def test_functional_model(keras):
    x_in = keras.Input((6, 8))
    c_in = keras.Input((4, 8))
    a = keras.layers.MultiHeadAttention(num_heads=2, key_dim=4, name="self_mha")(x_in, x_in)
    b = keras.layers.MultiHeadAttention(num_heads=3, key_dim=4, name="cross_mha")(a, c_in)
    model = keras.Model([x_in, c_in], keras.layers.Dense(5)(b))
    rng = np.random.default_rng(0)
    x, c = rng.standard_normal((2, 6, 8)).astype("f4"), rng.standard_normal((2, 4, 8)).astype("f4")
    bare = np.asarray(model([x, c], training=False))
    res = attnwidget.capture(model, [x, c], tokens=list("abcdef"), context_tokens=list("wxyz"))
    assert list(res.layers) == ["self_mha", "cross_mha"]
    assert res.layers["self_mha"].shape == (2, 2, 6, 6) and res.layers["cross_mha"].shape == (2, 3, 6, 4)
    assert res.layer_kinds == {"self_mha": "self", "cross_mha": "cross"}
    assert res.layer_tokens["cross_mha"] == (list("abcdef"), list("wxyz"))
    np.testing.assert_array_equal(res.output, bare)
    _check_every_layer(res, model, keras)
    assert res.scores is res.layers["self_mha"] and res.selected_layer == "self_mha"


def test_sequential_model(keras):
    from attnwidget.layers import GlobalSelfAttention, PositionalEmbedding

    model = keras.Sequential([keras.Input((7,), dtype="int32"), PositionalEmbedding(20, 16, name="embed"),
                              GlobalSelfAttention(num_heads=2, key_dim=8, name="gsa_a"),
                              GlobalSelfAttention(num_heads=4, key_dim=8, name="gsa_b"), keras.layers.Dense(3)])
    ids = np.arange(14).reshape(2, 7).astype("int32")
    bare = np.asarray(model(ids, training=False))
    res = attnwidget.capture(model, ids, layer="gsa_b/mha")
    assert list(res.layers) == ["gsa_a/mha", "gsa_b/mha"]
    assert res.layers["gsa_b/mha"].shape == (2, 4, 7, 7) and res.scores.shape == (2, 4, 7, 7)
    np.testing.assert_array_equal(res.output, bare)
    _check_every_layer(res, model, keras)


@pytest.mark.parametrize("dropout", [0.1, 0.0])
def test_tutorial_transformer_with_cross_attention(keras, dropout):
    from attnwidget.models import Transformer

    model = Transformer(num_layers=2, d_model=16, num_heads=2, dff=32, input_vocab_size=9, target_vocab_size=11,
                        dropout_rate=dropout)
    ctx = np.array([[1, 2, 3, 4, 5], [5, 4, 3, 2, 1]], "int32")
    tgt = np.array([[1, 7, 3], [2, 9, 10]], "int32")
    model((ctx, tgt))
    seed_weights([model], 4)
    bare = np.asarray(model((ctx, tgt), training=False))
    res = attnwidget.capture(model, (ctx, tgt), tokens=["<s>", "b", "c"], context_tokens=list("vwxyz"))
    assert list(res.layers) == [
        "encoder/enc_layers_0/self_attention/mha", "encoder/enc_layers_1/self_attention/mha",
        "decoder/dec_layers_0/causal_self_attention/mha", "decoder/dec_layers_0/cross_attention/mha",
        "decoder/dec_layers_1/causal_self_attention/mha", "decoder/dec_layers_1/cross_attention/mha"]
    shapes = {k: v.shape for k, v in res.layers.items()}
    assert shapes["encoder/enc_layers_1/self_attention/mha"] == (2, 2, 5, 5)
    assert shapes["decoder/dec_layers_0/causal_self_attention/mha"] == (2, 2, 3, 3)
    assert shapes["decoder/dec_layers_1/cross_attention/mha"] == (2, 2, 3, 5)
    assert list(res.layer_kinds.values()) == ["self", "self", "causal", "cross", "causal", "cross"]
    cross = "decoder/dec_layers_0/cross_attention/mha"
    assert res.layer_tokens[cross] == (["<s>", "b", "c"], list("vwxyz"))  # cross: labelled with the context
    assert res.layer_tokens["encoder/enc_layers_0/self_attention/mha"][0] == list("vwxyz")
    causal = res.layers["decoder/dec_layers_0/causal_self_attention/mha"]
    assert (causal[..., np.triu(np.ones((3, 3), bool), 1)] == 0).all()
    np.testing.assert_array_equal(res.output, bare)  # the model's outputs, bit for bit
    _check_every_layer(res, model, keras)
    # the widget gets every layer, each with its own shape and tokens
    w = res.widget
    assert w.layer_names == list(res.layers) and w.layer_kinds == list(res.layer_kinds.values())
    w.layer = 3
    assert w.query_tokens == ["<s>", "b", "c"] and w.key_tokens == list("vwxyz") and w._data["shape"] == [2, 3, 5]
    assert len(w._overview["layers"]) == 6


def test_nothing_stays_patched_when_the_forward_pass_raises(keras):
    from attnwidget.models import Transformer

    class Boom(Exception):
        pass

    model = Transformer(num_layers=1, d_model=8, num_heads=2, dff=8, input_vocab_size=5, target_vocab_size=5)
    ids = np.array([[1, 2, 3]], "int32")
    model((ids, ids))
    orig = model.decoder.call

    def failing(x, context):
        orig(x, context)
        raise Boom("after the attention layers ran")

    object.__setattr__(model.decoder, "call", failing)
    try:
        with pytest.raises(Boom):
            attnwidget.capture(model, (ids, ids))
    finally:
        object.__delattr__(model.decoder, "call")
    mhas = find_attention_layers(model, keras)
    assert len(mhas) == 3
    assert all("call" not in vars(m) for m in mhas.values())
    # and the model still runs as before, returning no scores
    assert np.asarray(model((ids, ids), training=False)).shape == (1, 3, 5)


def test_a_model_without_attention_is_refused(keras):
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    with pytest.raises(ValueError, match=r"model: Sequential has no attention layer inside \(no MultiHeadAttention"):
        attnwidget.capture(model, np.zeros((1, 3), "f4"))


def test_trained_reversal_learns_the_anti_diagonal():
    from attnwidget.examples import train_reversal

    t0 = time.perf_counter()
    rev = train_reversal(seed=0)
    elapsed = time.perf_counter() - t0
    assert rev.train_seconds < 60 and elapsed < 90, (rev.train_seconds, elapsed)
    assert rev.accuracy > 0.95
    after, before = rev.anti_diagonal(), rev.anti_diagonal(rev.before)
    assert after > 0.5, after
    assert before < 0.35, before
    assert rev.after.layer_tokens["decoder/dec_layers_0/cross_attention/mha"][1] == rev.context_tokens


# --- statistics -------------------------------------------------------------------------------

def test_entropy_and_max_per_head():
    s = np.zeros((1, 2, 2, 4), np.float32)
    s[0, 0, :, 0] = 1.0            # head 0: all on one key
    s[0, 1] = 0.25                 # head 1: uniform
    np.testing.assert_allclose(stats.head_entropy(s), [[0.0, np.log(4)]], atol=1e-7)
    np.testing.assert_allclose(stats.head_max(s), [[1.0, 0.25]])
    np.testing.assert_allclose(stats.aggregate(s, "mean")[0, 0], [0.625, 0.125, 0.125, 0.125])
    np.testing.assert_allclose(stats.aggregate(s, "max")[0, 0], [1.0, 0.25, 0.25, 0.25])


def test_rollout_by_hand():
    a1 = np.array([[1.0, 0.0], [1.0, 0.0]])       # both tokens read token 0
    a2 = np.array([[0.0, 1.0], [0.0, 1.0]])       # both tokens read token 1
    layers = [a1[None, None], np.stack([a2, a2])[None]]  # layer 2 has two identical heads
    # Â1 = 0.5 I + 0.5 a1 = [[1, 0], [.5, .5]];  Â2 = [[.5, .5], [0, 1]];  R = Â2 · Â1
    expected = np.array([[0.5, 0.5], [0.0, 1.0]]) @ np.array([[1.0, 0.0], [0.5, 0.5]])
    np.testing.assert_allclose(stats.rollout(layers)[0], expected)
    np.testing.assert_allclose(stats.rollout(layers)[0].sum(-1), 1.0)
    with pytest.raises(ValueError, match="T = 3 but the first layer has 2"):
        stats.rollout([a1[None, None], np.ones((1, 1, 3, 3)) / 3])
    with pytest.raises(ValueError, match="rollout needs square"):
        stats.rollout([np.ones((1, 1, 2, 3)) / 3])


def test_rollout_of_a_transformer_needs_one_stack():
    rev_like = attnwidget.attention(kind="transformer", num_layers=2, query="a b c", context="x y z w", seed=2)
    with pytest.raises(ValueError, match="mixes kinds of attention"):
        stats.rollout(rev_like)
    r = stats.rollout(rev_like, select="self")
    assert r.shape == (1, 4, 4)
    np.testing.assert_allclose(r.sum(-1), 1.0, atol=1e-6)
    enc = [v for k, v in rev_like.layers.items() if rev_like.layer_kinds[k] == "self"]
    np.testing.assert_allclose(r, stats.rollout(enc))


def test_compare_is_a_minus_b_on_every_layer():
    a = attnwidget.attention(kind="transformer", num_layers=1, query="a b c", context="x y", seed=1)
    b = attnwidget.attention(kind="transformer", num_layers=1, query="a b c", context="x y", seed=2)
    d = attnwidget.compare(a, b)
    assert list(d.layers) == list(a.layers)
    for k in a.layers:
        np.testing.assert_allclose(d.layers[k], a.layers[k] - b.layers[k])
    np.testing.assert_array_equal((a - b).scores, d.scores)
    w = d.widget
    assert w._data["probability"] is False and w._data["lo"] < 0 < w._data["hi"]  # the diverging scale
    with pytest.raises(ValueError, match="compare: layer"):
        attnwidget.compare(a, attnwidget.attention(kind="transformer", num_layers=1, query="a b", context="x y"))
