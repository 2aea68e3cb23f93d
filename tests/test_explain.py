"""Teaching mode: result.explain(i, head, batch) walks one query through the attention computation.

Checked against what Keras returned (the scores, the MHA output) and against conftest's independent
NumPy reference; the widget's ``_explain`` trait follows the pin, the head and the view.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

import attnwidget
from attnwidget import AttentionWidget
from attnwidget.explain import Explanation
from conftest import IT_SENTENCE, mha_weights, numpy_attention

RUNS = {
    "global": dict(kind="global", num_heads=2, key_dim=512, query=IT_SENTENCE),
    "cross": dict(kind="cross", num_heads=3, key_dim=4, value_dim=5, query=[1, 8, 16], context=[1, 4, 16]),
    "causal": dict(kind="causal", num_heads=2, key_dim=8, query=IT_SENTENCE),
    "base": dict(kind="base", num_heads=2, key_dim=3, query=[1, 2, 6], context=[1, 5, 6], key=[1, 5, 6]),
    "batch": dict(kind="global", num_heads=2, key_dim=4, query=[3, 5, 8]),
}


@pytest.fixture(scope="module")
def runs():
    return {name: attnwidget.attention(**cfg) for name, cfg in RUNS.items()}


def mha(res):
    return getattr(res.layer, "mha", res.layer)


def head_context(res):
    """(B, T, H, value_dim): Keras's own scores times Keras's own value projection, per head."""
    m = mha(res)
    value = res.inputs.get("value", res.inputs["query"])
    v = np.asarray(m._value_dense(value))  # Keras's value projection (B, S, H, value_dim)
    return np.einsum("bhts,bshv->bthv", res.scores.astype(np.float64), v.astype(np.float64))


def every(res):
    b, h, t, _ = res.scores.shape
    return [(i, hd, bb) for bb in range(b) for hd in range(h) for i in range(t)]


@pytest.mark.parametrize("name", list(RUNS))
def test_weights_are_the_scores_keras_returned(runs, name):
    res = runs[name]
    for i, hd, b in every(res):
        e = res.explain(i, hd, b)
        np.testing.assert_allclose(e.weights, res.scores[b, hd, i], rtol=0, atol=1e-6)
        assert e.weights.sum() == pytest.approx(1.0, abs=1e-12)


@pytest.mark.parametrize("name", list(RUNS))
def test_output_is_the_heads_weighted_sum_of_values(runs, name):
    res = runs[name]
    ctx = head_context(res)
    for i, hd, b in every(res):
        e = res.explain(i, hd, b)
        np.testing.assert_allclose(e.output, ctx[b, i, hd], rtol=1e-5, atol=1e-5)


def test_steps_match_the_numpy_reference(runs):
    """q, K, dots, scale, logits against conftest's projection formulas; the softmax against its scores."""
    res = runs["cross"]
    w = mha_weights(mha(res))
    x, c = res.inputs["query"].astype(np.float64), res.inputs["value"].astype(np.float64)
    e = res.explain(5, 2)
    q = x[0, 5] @ w["query/kernel"][:, 2] + w["query/bias"][2]
    k = c[0] @ w["key/kernel"][:, 2] + w["key/bias"][2]
    v = c[0] @ w["value/kernel"][:, 2] + w["value/bias"][2]
    np.testing.assert_allclose(e.q, q, rtol=1e-6)
    np.testing.assert_allclose(e.K, k, rtol=1e-6)
    np.testing.assert_allclose(e.V, v, rtol=1e-6)
    np.testing.assert_allclose(e.dots, k @ q, rtol=1e-6)   # unscaled
    assert e.scale == pytest.approx(1 / np.sqrt(4))
    np.testing.assert_allclose(e.logits, e.dots * e.scale, rtol=1e-12)
    scores, _ = numpy_attention(mha(res), x, c)
    np.testing.assert_allclose(e.weights, scores[0, 2, 5], atol=1e-9)
    assert e.q.shape == (4,) and e.K.shape == (4, 4) and e.V.shape == (4, 5) and e.output.shape == (5,)
    assert e.query_token == "5" and e.key_tokens == ("0", "1", "2", "3") and e.head == 2
    assert e.mask.all() and np.array_equal(e.masked_logits, e.logits)


def test_heads_through_the_output_projection_give_keras_output(runs):
    """kind base: Σ over heads of output · W_o + b_o is exactly the layer's output Keras returned."""
    res = runs["base"]
    w = mha_weights(res.layer)
    b, h, t, _ = res.scores.shape
    heads = np.stack([[res.explain(i, hd).output for hd in range(h)] for i in range(t)])  # (T, H, v)
    out = np.einsum("thv,hvd->td", heads, w["attention_output/kernel"]) + w["attention_output/bias"]
    np.testing.assert_allclose(out, res.output[0], rtol=1e-5, atol=1e-5)


def test_causal_masked_keys_get_weight_zero_and_logit_minus_infinity(runs):
    res = runs["causal"]
    e = res.explain(3, 1)
    assert e.mask.tolist() == [True] * 4 + [False] * 7
    assert (e.weights[4:] == 0.0).all() and (res.scores[0, 1, 3, 4:] == 0.0).all()
    assert np.isneginf(e.masked_logits[4:]).all() and np.isfinite(e.masked_logits[:4]).all()
    assert np.isfinite(e.logits).all()  # the unmasked logits are kept for teaching
    assert e.weights[:4].sum() == pytest.approx(1.0)
    assert res.explain(0, 0).weights.tolist() == [1.0] + [0.0] * 10


def test_explanation_is_frozen(runs):
    e = runs["base"].explain(0)
    with pytest.raises(dataclasses.FrozenInstanceError):
        e.head = 1
    with pytest.raises(ValueError):
        e.weights[0] = 0.5  # read-only arrays
    assert isinstance(e, Explanation) and "head 0" in repr(e)


@pytest.mark.parametrize("args, message", [
    ((11,), "query_index: expected an index in 0..10 (11 query tokens), got 11"),
    ((-1,), "query_index: expected an index in 0..10 (11 query tokens), got -1"),
    ((0, 2), "head: expected an index in 0..1 (2 heads), got 2"),
    ((0, 0, 1), "batch: expected an index in 0..0 (batch of 1), got 1"),
    (("it",), "query_index: expected an integer index in 0..10 (11 query tokens), got 'it'"),
])
def test_bad_arguments_name_the_argument_and_range(runs, args, message):
    with pytest.raises(ValueError) as err:
        runs["causal"].explain(*args)
    assert str(err.value) == message


# --- a user's own layer --------------------------------------------------------------------------

def test_users_tutorial_layer_and_bare_mha(ip):
    import keras

    class BaseAttention(keras.layers.Layer):  # the lecture's code, Keras 3
        def __init__(self, **kwargs):
            super().__init__()
            self.mha = keras.layers.MultiHeadAttention(**kwargs)
            self.layernorm = keras.layers.LayerNormalization()
            self.add = keras.layers.Add()

    class GlobalSelfAttention(BaseAttention):
        def call(self, x):
            attn_output = self.mha(query=x, value=x, key=x)
            return self.layernorm(self.add([x, attn_output]))

    x = np.random.default_rng(3).standard_normal((1, 6, 16)).astype("float32")
    ip.user_ns.update(gsa=GlobalSelfAttention(num_heads=2, key_dim=8), x6=x,
                      bare=keras.layers.MultiHeadAttention(num_heads=3, key_dim=4, value_dim=6))
    for layer in ("gsa", "bare"):
        ip.run_cell_magic("attention", "-o user", f"kind: global\nlayer: ${layer}\nquery: $x6")
        res = ip.user_ns["user"]
        m = res.layer if layer == "bare" else res.layer.mha
        scores, _ = numpy_attention(m, x, x)
        for i, hd, b in every(res):
            e = res.explain(i, hd, b)
            np.testing.assert_allclose(e.weights, res.scores[b, hd, i], atol=1e-6)
            np.testing.assert_allclose(e.weights, scores[b, hd, i], atol=1e-6)
        np.testing.assert_allclose(res.explain(5, m.num_heads - 1).output, head_context(res)[0, 5, -1], atol=1e-5)


def test_a_layer_that_changes_its_input_is_refused_not_explained_wrongly():
    import keras

    class PreNorm(keras.layers.Layer):
        def __init__(self):
            super().__init__()
            self.mha = keras.layers.MultiHeadAttention(num_heads=2, key_dim=4)
            self.norm = keras.layers.LayerNormalization()

        def call(self, x):
            y = self.norm(x) * 5.0
            return x + self.mha(query=y, value=y, key=y)

    res = attnwidget.attention(kind="global", layer=PreNorm(), query=[1, 6, 8])
    with pytest.raises(ValueError, match="changes its input before its MultiHeadAttention sees it"):
        res.explain(0)
    w = res.widget
    w.view, w.selected_query = "explain", 0
    assert "changes its input" in w._explain["error"]


# --- the widget --------------------------------------------------------------------------------

def decode(d):
    f = lambda k: np.frombuffer(d[k], dtype="<f4")  # noqa: E731
    return {"weights": f("weights"), "dots": f("dots"), "logits": f("logits"), "q": f("q"), "output": f("output"),
            "V": f("V").reshape(d["S"], d["value_dim"]), "mask": np.frombuffer(d["mask"], np.uint8).astype(bool)}


def test_explain_trait_only_in_the_explain_view_and_follows_the_pin(runs):
    res = runs["causal"]
    w = AttentionWidget(res.scores, res.query_tokens, mask=res.mask,
                        explainer=lambda layer, q, h, b: res.explain(q, h, b))
    assert w._can_explain is True and w._explain == {}
    w.selected_query = 7
    assert w._explain == {}  # graph view: nothing computed
    w.view = "explain"
    assert (w._explain["query"], w._explain["head"], w._explain["batch"]) == (7, 0, 0)
    np.testing.assert_allclose(decode(w._explain)["weights"], res.scores[0, 0, 7], atol=1e-6)
    w.head = 1
    assert w._explain["head"] == 1
    np.testing.assert_allclose(decode(w._explain)["weights"], res.scores[0, 1, 7], atol=1e-6)
    w.selected_query = 2
    d = w._explain
    assert d["query"] == 2 and d["S"] == 11 and d["key_dim"] == 8 and d["value_dim"] == 8
    assert decode(d)["mask"].tolist() == [True] * 3 + [False] * 8
    assert np.isneginf(decode(d)["logits"]).sum() == 0  # logits travel unmasked; the mask says which are masked
    w.selected_query = None
    assert w._explain == {}
    w.selected_query = 4
    w.view = "matrix"
    assert w._explain == {}


def test_result_widget_passes_its_explainer_and_select(runs):
    res = attnwidget.attention(kind="global", num_heads=2, key_dim=4, query=IT_SENTENCE, view="explain", select="it")
    w = res.widget
    assert w.view == "explain" and w.selected_query == 7 and w._explain["query"] == 7
    np.testing.assert_allclose(decode(w._explain)["output"], res.explain(7).output, rtol=1e-6)


def test_bare_scores_have_no_explainer():
    s = np.full((1, 2, 3, 3), 1 / 3, np.float32)
    w = AttentionWidget(s, list("abc"), view="explain", selected_query=1)
    assert w._can_explain is False and w._explain == {} and w.explain_table() == {}


def test_explain_table_round_trip(runs):
    res = runs["batch"]
    w = res.widget
    w.batch = 2
    table = w.explain_table()
    assert sorted(table) == sorted(f"{i},{hd}" for i in range(5) for hd in range(2))
    for key, d in table.items():
        i, hd = map(int, key.split(","))
        e = res.explain(i, hd, 2)
        got = decode(d)
        assert (d["query"], d["head"], d["batch"]) == (i, hd, 2)
        for name in ("weights", "dots", "logits", "q", "output", "V"):
            np.testing.assert_array_equal(got[name], getattr(e, name).astype(np.float32))
        assert got["mask"].all() and d["scale"] == pytest.approx(0.5)
    w.view, w.head, w.selected_query = "explain", 1, 3
    assert w._explain == table["3,1"]
    assert w.explain_table(max_queries=4) == {}


# --- what-if: temperature, dropped keys, the mask lifted ------------------------------------------------

def _softmax_np(z):
    z = np.asarray(z, dtype=np.float64)
    e = np.exp(z - z[np.isfinite(z)].max())
    e[~np.isfinite(z)] = 0.0
    return e / e.sum()


@pytest.mark.parametrize("t, drop", [(1.0, [2]), (0.5, []), (2.0, [0, 3]), (0.25, [1])])
def test_what_if_equals_a_numpy_softmax_of_the_same_logits(runs, t, drop):
    res = runs["causal"]
    base = res.explain(6, head=1)
    e = res.explain(6, head=1, temperature=t, drop=drop)
    z = np.where(base.mask, base.logits / t, -np.inf)
    z[drop] = -np.inf
    want = _softmax_np(z)
    np.testing.assert_allclose(e.weights, want, atol=1e-12)
    np.testing.assert_allclose(e.output, want @ e.V, atol=1e-12)
    assert e.temperature == t and e.dropped == tuple(sorted(drop)) and not e.unmasked
    assert (e.weights[drop] == 0).all() and (e.weights[~base.mask] == 0).all()


def test_unmask_lets_a_causal_query_see_the_future(runs):
    res = runs["causal"]
    e = res.explain(2, head=0, unmask=True)
    assert (e.weights[3:] > 0).all()
    np.testing.assert_allclose(e.weights, _softmax_np(e.logits), atol=1e-12)
    assert res.explain(2, head=0).weights[3:].max() == 0


def test_temperature_one_and_nothing_dropped_is_the_layers_own(runs):
    res = runs["causal"]
    np.testing.assert_array_equal(res.explain(5, head=1, temperature=1.0).weights, res.explain(5, head=1).weights)


@pytest.mark.parametrize("kw, message", [
    (dict(temperature=0), "temperature: expected a positive number (1 = the layer's own scaling), got 0"),
    (dict(temperature=float("nan")), "temperature: expected a positive number"),
    (dict(drop=[99]), "drop: expected an index in 0..10 (11 keys), got 99"),
])
def test_what_if_refuses_bad_arguments_in_one_line(runs, kw, message):
    with pytest.raises(ValueError) as err:
        runs["causal"].explain(1, **kw)
    assert str(err.value).startswith(message)
