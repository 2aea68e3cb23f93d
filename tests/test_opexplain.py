"""Explain for attention recorded at the operation level: tiny random KerasHub backbones (no downloads).

On TensorFlow's CPU, Llama and Gemma form their weights with a ``keras.layers.Softmax`` (given a mask)
and T5 with ``keras.ops.nn.softmax`` over logits + position bias (its padding folded in as −1e9);
``keras.ops.dot_product_attention`` is what Llama takes where KerasHub finds a fused op (JAX) and Gemma
on a GPU or TPU: the ``dpa`` cases make them take it here. Every record of every case is explained and
checked against the captured scores, an independent NumPy softmax of the same logits, and, for
dot_product_attention, Keras's own op run on the recorded query, key and value.
"""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest

pytestmark = pytest.mark.skipif(importlib.util.find_spec("keras_hub") is None,
                                reason="keras-hub is not installed (pip install keras-hub; CI installs it)")

SMALL = dict(vocabulary_size=50, num_layers=2, hidden_dim=16, intermediate_dim=32)
GQA = dict(SMALL, num_query_heads=4, num_key_value_heads=2)
CASES = {  # name: (backbone, kwargs, seq2seq); "Llama dpa", "Gemma dpa": the same model on the fused op
    "Llama": ("LlamaBackbone", GQA, False),
    "Gemma": ("GemmaBackbone", dict(GQA, head_dim=8), False),
    "T5": ("T5Backbone", dict(SMALL, num_heads=2), True),
}
RUNS = ["Llama", "Llama dpa", "Gemma", "Gemma dpa", "T5"]


def _pad(n: int) -> np.ndarray:
    m = np.ones((2, n), bool)
    m[1, -2:] = False  # the second sequence's last two positions are padding
    return m


def _inputs(seq2seq: bool):
    rng = np.random.default_rng(0)
    ids = np.where(_pad(6), rng.integers(1, 50, (2, 6)), 0).astype("int32")
    if not seq2seq:
        return {"token_ids": ids, "padding_mask": _pad(6)}
    dec = np.where(_pad(5), rng.integers(1, 50, (2, 5)), 0).astype("int32")
    return {"encoder_token_ids": ids, "encoder_padding_mask": _pad(6), "decoder_token_ids": dec,
            "decoder_padding_mask": _pad(5)}


@pytest.fixture(scope="module")
def runs():
    import keras_hub
    from keras_hub.src.models.gemma.gemma_attention import CachedGemmaAttention
    from keras_hub.src.models.llama import llama_attention

    import attnwidget

    out = {}
    for name, (ctor, kwargs, seq2seq) in CASES.items():
        model = getattr(keras_hub.models, ctor)(**kwargs)
        out[name] = attnwidget.capture(model, _inputs(seq2seq))
        if name != "T5":
            with pytest.MonkeyPatch.context() as mp:
                mp.setattr(llama_attention, "fused_attention_op_available", lambda: True)
                mp.setattr(CachedGemmaAttention, "_use_fused_attention_op", lambda self: True)
                out[f"{name} dpa"] = attnwidget.capture(model, _inputs(seq2seq))
    return out


def _softmax(z: np.ndarray) -> np.ndarray:
    e = np.where(np.isfinite(z), np.exp(z - z[np.isfinite(z)].max()), 0.0)
    return e / e.sum()


def _queries(r):
    b, h, t, _ = r.shape
    return [(bb, hd, i) for bb in range(b) for hd in range(h) for i in range(t)]


@pytest.mark.parametrize("name", RUNS)
def test_weights_are_the_captured_scores_and_the_what_if_a_numpy_softmax(runs, name):
    res = runs[name]
    assert res.records and all(r.op is not None for r in res.records)
    assert {r.op.op for r in res.records} == {"dot_product_attention" if name.endswith("dpa") else "softmax"}
    for r in res.records:
        s = r.shape[3]
        for bb, hd, i in _queries(r):
            e = res.explain(i, hd, bb, layer=r.path)
            np.testing.assert_allclose(e.weights, r.scores[bb, hd, i], atol=1e-6)
            np.testing.assert_allclose(e.weights[~e.mask], 0.0, atol=0)
            j = (i + 1) % s
            w = res.explain(i, hd, bb, layer=r.path, temperature=0.7, drop=[j]).weights
            z = np.where(e.mask, e.logits / 0.7, -np.inf)
            z[j] = -np.inf
            if np.isfinite(z).any():
                np.testing.assert_allclose(w, _softmax(z), atol=1e-12)
                assert w[j] == 0.0


@pytest.mark.parametrize("name", ["Llama dpa", "Gemma dpa"])
def test_dot_product_attention_steps_and_output(runs, name):
    import keras

    res = runs[name]
    for r in res.records:
        op = r.op
        groups = op.query.shape[2] // op.key.shape[2]
        # Gemma gives the op its 2 key/value heads for 4 query heads; Llama repeats them first
        assert groups == (2 if name == "Gemma dpa" else 1)
        q, k, v = op.query.astype(np.float64), np.repeat(op.key, groups, 2), np.repeat(op.value, groups, 2)
        mask = op.mask if op.mask is not None else np.ones((1, 1, 1, 1), bool)
        # Keras's own op on the recorded inputs: its output is Σ w v of every head.
        keras_out = np.asarray(keras.ops.dot_product_attention(op.query, op.key, op.value, mask=op.mask,
                                                               scale=op.scale, is_causal=op.is_causal))
        for bb, hd, i in _queries(r):
            e = res.explain(i, hd, bb, layer=r.path)
            dots = k[bb, :, hd].astype(np.float64) @ q[bb, i, hd]
            np.testing.assert_allclose(e.dots, dots, atol=1e-12)
            np.testing.assert_allclose(e.logits, dots * e.scale, atol=1e-12)
            np.testing.assert_array_equal(e.mask, np.broadcast_to(mask, r.shape)[bb, hd, i] & (np.arange(6) <= i))
            np.testing.assert_allclose(e.output, e.weights @ v[bb, :, hd].astype(np.float64), atol=1e-12)
            np.testing.assert_allclose(e.output, keras_out[bb, i, hd], atol=1e-5)
            np.testing.assert_array_equal(e.V, v[bb, :, hd])
            np.testing.assert_array_equal(e.K, k[bb, :, hd])
            lifted = res.explain(i, hd, bb, layer=r.path, unmask=True, temperature=2.0)
            np.testing.assert_allclose(lifted.weights, _softmax(e.logits / 2.0), atol=1e-12)
            np.testing.assert_allclose(lifted.output, lifted.weights @ v[bb, :, hd], atol=1e-12)
        assert e.scale == pytest.approx(1 / np.sqrt(q.shape[-1]))


@pytest.mark.parametrize("model", ["Llama", "Gemma"])
def test_softmax_logits_equal_the_dot_product_attention_ones(runs, model):
    """The softmax layer's input is q·k × scale: the same logits, head for head, as the op's inputs give."""
    for a, b in zip(runs[model].records, runs[f"{model} dpa"].records):
        assert a.path == b.path and a.shape == b.shape
        for bb, hd, i in _queries(a):
            ea, eb = (r.explain(i, hd, bb, layer=x.path) for r, x in ((runs[model], a), (runs[f"{model} dpa"], b)))
            np.testing.assert_allclose(ea.logits, eb.logits, atol=1e-5)
            np.testing.assert_array_equal(ea.mask, eb.mask)
            assert ea.q is None and ea.V is None and ea.output is None and ea.scale == 1.0
            np.testing.assert_array_equal(ea.dots, ea.logits)


def test_t5_folded_mask_and_position_bias(runs):
    res = runs["T5"]
    for r in res.records:
        t, s = r.shape[2:]
        for bb, hd, i in _queries(r):
            e = res.explain(i, hd, bb, layer=r.path)
            keys = np.ones(s, bool) if bb == 0 else np.arange(s) < s - 2
            if r.kind == "causal":
                keys &= np.arange(s) <= i
            np.testing.assert_array_equal(e.mask, keys)
            assert (e.logits[~keys] < -1e8).all() and (np.abs(e.logits[keys]) < 100).all()
            np.testing.assert_allclose(e.weights, _softmax(np.where(keys, e.logits, -np.inf)), atol=1e-12)


def test_widget_explains_dot_product_attention_records_only(runs):
    w = runs["Llama dpa"].widget
    assert w._can_explain is True
    table = w.explain_table()
    assert sorted(table) == sorted(f"{i},{hd}" for i in range(6) for hd in range(4))
    e = runs["Llama dpa"].explain(3, 2)
    d = table["3,2"]
    assert "error" not in d and d["S"] == 6 and d["key_dim"] == 4 and d["value_dim"] == 4
    assert d["scale"] == pytest.approx(e.scale)
    np.testing.assert_array_equal(np.frombuffer(d["dots"], "<f4"), e.dots.astype(np.float32))
    np.testing.assert_array_equal(np.frombuffer(d["output"], "<f4"), e.output.astype(np.float32))
    assert runs["Llama"].widget._can_explain is False
    with pytest.raises(ValueError, match="formed its weights with a softmax"):
        runs["T5"].explain(0).to_dict()


def test_a_dot_product_attention_bias_is_in_the_logits_and_the_view_gets_them(runs):
    import dataclasses

    from attnwidget.explain import explain

    r = runs["Llama dpa"].records[0]
    bias = np.linspace(-1, 1, 6, dtype=np.float32)[None, None, None]
    rec = dataclasses.replace(r, op=dataclasses.replace(r.op, bias=bias))
    e = explain(rec, 4, 1, check=False)
    np.testing.assert_allclose(e.logits, e.dots * e.scale + bias[0, 0, 0], atol=1e-12)
    np.testing.assert_array_equal(e.bias, bias[0, 0, 0])
    d = e.to_dict()
    assert d["scale"] == 1.0  # the view takes logits = dots × scale: dots carries the logits
    np.testing.assert_array_equal(np.frombuffer(d["dots"], "<f4"), e.logits.astype(np.float32))
    with pytest.raises(ValueError, match="recorded op's inputs do not give its weights"):
        explain(rec, 4, 1)
