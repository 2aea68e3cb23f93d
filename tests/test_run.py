"""The run step against an independent NumPy computation, for every kind, on the lecture's shapes."""

from __future__ import annotations

import random

import numpy as np
import pytest

import attnwidget
from attnwidget import run as run_step
from conftest import IT_SENTENCE, layer_norm, mha_weights, numpy_attention


def _mha(res):
    return res.layer if res.config["kind"] == "base" else res.layer.mha


def _ln(layer):
    w = mha_weights(layer)
    return next(v for k, v in w.items() if k.endswith("gamma")), next(v for k, v in w.items() if k.endswith("beta"))


def test_base_and_cross_on_lecture_shapes():
    rng = np.random.default_rng(0)
    target = rng.standard_normal((1, 8, 16)).astype("float32")
    source = rng.standard_normal((1, 4, 16)).astype("float32")
    base = attnwidget.attention(kind="base", num_heads=2, key_dim=2, query=target, context=source)
    assert base.scores.shape == (1, 2, 8, 4) and base.scores.dtype == np.float32
    assert base.output.shape == (1, 8, 16)
    ref, out = numpy_attention(base.layer, target, source)
    np.testing.assert_allclose(base.scores, ref, atol=1e-5)
    np.testing.assert_allclose(base.output, out, atol=1e-4)

    cross = attnwidget.attention(kind="cross", num_heads=2, key_dim=2, query=target, context=source)
    assert cross.scores.shape == (1, 2, 8, 4)
    ref, mha_out = numpy_attention(cross.layer.mha, target, source)
    np.testing.assert_allclose(cross.scores, ref, atol=1e-5)
    np.testing.assert_allclose(cross.output, layer_norm(target + mha_out, *_ln(cross.layer.layernorm)), atol=1e-4)


def test_global_on_the_it_sentence_matches_numpy():
    res = attnwidget.attention(kind="global", num_heads=2, key_dim=512, query=IT_SENTENCE)
    assert res.query_tokens == ["The", "animal", "didn't", "cross", "the", "street", "because",
                                "it", "was", "too", "tired"]
    assert res.key_tokens == res.query_tokens
    assert res.scores.shape == (1, 2, 11, 11)
    x = res.inputs["query"]
    assert x.shape == (1, 11, 16)  # d_model 16 embedding of the text
    ref, mha_out = numpy_attention(res.layer.mha, x, x)
    np.testing.assert_allclose(res.scores, ref, atol=1e-5)
    np.testing.assert_allclose(res.scores.sum(-1), 1.0, atol=1e-5)
    np.testing.assert_allclose(res.output, layer_norm(x + mha_out, *_ln(res.layer.layernorm)), atol=1e-4)


def test_causal_is_exactly_zero_above_the_diagonal():
    res = attnwidget.attention(kind="causal", num_heads=3, key_dim=4, query=[1, 6, 8], seed=5)
    s = res.scores
    assert s.shape == (1, 3, 6, 6)
    upper = np.triu(np.ones((6, 6), bool), k=1)
    assert (s[..., upper] == 0.0).all()
    assert (s[..., ~upper] > 0).all()
    rng = np.random.default_rng(5)
    x = rng.standard_normal((1, 6, 8)).astype("float32")  # the engine's seeded input for [1, 6, 8]
    ref, _ = numpy_attention(res.layer.mha, x, x, causal=True)
    np.testing.assert_allclose(s, ref, atol=1e-5)
    assert res.mask is not None and (res.mask == ~upper).all()


def test_separate_key_in_base():
    rng = np.random.default_rng(3)
    q, v, k = (rng.standard_normal(s).astype("float32") for s in [(2, 5, 6), (2, 3, 4), (2, 3, 4)])
    res = attnwidget.attention(kind="base", num_heads=2, key_dim=3, query=q, context=v, key=k)
    ref, _ = numpy_attention(res.layer, q, v, k)
    assert res.scores.shape == (2, 2, 5, 3)
    np.testing.assert_allclose(res.scores, ref, atol=1e-5)


def test_seed_fixes_weights_and_leaves_global_random_state_alone():
    attnwidget.attention(kind="global", query="warm up")  # Keras loaded
    py, npst = random.getstate(), np.random.get_state()[1].copy()
    run_step.clear_cache()
    a = attnwidget.attention(kind="cross", query="a b c", context="d e", seed=11)
    run_step.clear_cache()
    b = attnwidget.attention(kind="cross", query="a b c", context="d e", seed=11)
    c = attnwidget.attention(kind="cross", query="a b c", context="d e", seed=12)
    assert random.getstate() == py
    assert (np.random.get_state()[1] == npst).all()
    np.testing.assert_array_equal(a.scores, b.scores)
    assert not np.allclose(a.scores, c.scores)
    # Query and key projections are drawn separately (a shared seeded initializer would make them equal).
    w = mha_weights(a.layer.mha)
    assert not np.allclose(w["query/kernel"], w["key/kernel"])


def test_cache_reuses_the_layer_of_an_unchanged_configuration():
    a = attnwidget.attention(kind="global", num_heads=2, key_dim=8, query="one two three")
    b = attnwidget.attention(kind="global", num_heads=2, key_dim=8, query="one two three")
    c = attnwidget.attention(kind="global", num_heads=4, key_dim=8, query="one two three")
    assert a.layer is b.layer and a.layer is not c.layer
    assert b.timings["build_ms"] < a.timings["build_ms"] or a.timings["build_ms"] < 1.0
    np.testing.assert_array_equal(a.scores, b.scores)


def test_users_own_layer_runs_and_is_not_reinitialised():
    import keras

    mha = keras.layers.MultiHeadAttention(num_heads=2, key_dim=2)
    rng = np.random.default_rng(1)
    target = rng.standard_normal((1, 8, 16)).astype("float32")
    source = rng.standard_normal((1, 4, 16)).astype("float32")
    mha(query=target, value=source)  # built with the user's own weights
    before = [np.array(w) for w in mha.get_weights()]
    res = attnwidget.attention(kind="base", layer=mha, query=target, context=source)
    assert res.layer is mha
    for x, y in zip(before, mha.get_weights()):
        np.testing.assert_array_equal(x, y)
    ref, _ = numpy_attention(mha, target, source)
    np.testing.assert_allclose(res.scores, ref, atol=1e-5)


def test_users_tutorial_style_layer_without_scores_is_recorded_and_restored():
    import keras

    class TutorialGSA(keras.layers.Layer):  # the tutorial's class, verbatim in spirit: no scores returned
        def __init__(self, **kwargs):
            super().__init__()
            self.mha = keras.layers.MultiHeadAttention(**kwargs)
            self.add = keras.layers.Add()
            self.layernorm = keras.layers.LayerNormalization()

        def call(self, x):
            return self.layernorm(self.add([x, self.mha(query=x, value=x, key=x)]))

    layer = TutorialGSA(num_heads=2, key_dim=4)
    x = np.random.default_rng(2).standard_normal((1, 5, 8)).astype("float32")
    res = attnwidget.attention(kind="global", layer=layer, query=x)
    ref, _ = numpy_attention(layer.mha, x, x)
    np.testing.assert_allclose(res.scores, ref, atol=1e-5)
    assert "call" not in vars(layer.mha)  # nothing left patched
    assert np.asarray(layer(x)).shape == (1, 5, 8)


def test_device_is_reported():
    res = attnwidget.attention(kind="global", query="a b", device="cpu")
    assert res.device == "cpu:0"
    assert "CPU" in res.placed_on.upper()
    auto = attnwidget.attention(kind="global", query="a b")
    assert auto.device in ("cpu:0", "gpu:0")
    assert auto.info()["device"].startswith(auto.device)


@pytest.mark.parametrize("cfg, message", [
    ({"kind": "global", "query": "a", "device": "gpu"}, "device: 'gpu' asked for a GPU but none is visible"),
    ({"kind": "global", "query": np.zeros((2, 2, 2, 2))}, "query: expected an array of rank 2 (T, D) or 3 (B, T, D), got shape (2, 2, 2, 2)"),
    ({"kind": "cross", "query": "a b"}, "context: kind 'cross' needs a context"),
    ({"kind": "global", "query": "   "}, "query: expected a text, tokens or an array; got nothing (an empty query)"),
    ({"kind": "global", "query": "w " * 600}, "query: the text has 600 tokens, more than max_tokens (512); raise it with 'max_tokens: 600'"),
    ({"kind": "global", "query": "a", "num_heads": -1}, "num_heads: expected a positive integer, got -1"),
    ({"kind": "global", "query": "a", "keydim": 2}, "keydim: unknown key (did you mean 'key_dim'?)"),
])
def test_api_errors_are_value_errors_naming_the_key(cfg, message):
    if cfg.get("device") == "gpu" and run_step.backend.gpu_count(run_step.backend.load_keras(None)):
        pytest.skip("a GPU is visible here, so device: gpu is valid")
    with pytest.raises(ValueError) as err:
        attnwidget.attention(**cfg)
    assert str(err.value).startswith(message)
    assert "\n" not in str(err.value)


def test_positional_embedding_is_the_tutorials():
    res = attnwidget.attention(kind="global", query="a b a", d_model=6, seed=4)
    vocab = ["a", "b"]
    ids = [vocab.index(t) for t in res.query_tokens]
    emb = None
    for (_, embed) in run_step._CACHE.values():
        if embed is not None and embed.d_model == 6:
            emb = np.asarray(embed.embedding.embeddings)
    pos = np.arange(3)[:, None] / np.power(10000.0, np.arange(3)[None, :] / 3.0)
    enc = np.concatenate([np.sin(pos), np.cos(pos)], -1)
    np.testing.assert_allclose(res.inputs["query"][0], emb[ids] * np.sqrt(6) + enc, atol=1e-5)


def test_building_a_stack_leaves_global_random_state_alone():
    attnwidget.attention(kind="global", query="warm up")
    py, npst = random.getstate(), np.random.get_state()[1].copy()
    run_step.clear_cache()
    attnwidget.attention(kind="transformer", num_layers=1, num_heads=2, d_model=8, query="a b c", context="d e")
    assert random.getstate() == py
    assert (np.random.get_state()[1] == npst).all()
