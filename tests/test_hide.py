"""Keys hidden from the views (an attention sink), each row renormalised over the rest: the ``hidden_keys``
trait, the ``hide_keys`` key of the magic, against an independent NumPy computation."""

from __future__ import annotations

import sys
import threading

import numpy as np
import pytest
import traitlets
from IPython.core.error import UsageError

from attnwidget import AttentionWidget, codec, export, qkscores

TOKENS = "<s> The animal didn't cross the street because it was too tired".split()


def sink_weights(b=1, h=4, q=12, k=12, seed=0) -> np.ndarray:
    """Softmax rows whose first key takes most of each row's weight, as a sink does."""
    x = np.random.default_rng(seed).standard_normal((b, h, q, k))
    x[..., 0] += 3.0
    return (np.exp(x) / np.exp(x).sum(-1, keepdims=True)).astype(np.float32)


def without(w: np.ndarray, keys) -> np.ndarray:
    """The reference: float64, the keys' columns dropped, every row divided by what is left."""
    r = np.array(w, dtype=np.float64)
    r[..., list(keys)] = 0.0
    with np.errstate(invalid="ignore"):  # a row left with nothing: NaN here, never compared
        return r / r.sum(-1, keepdims=True)


def shown(widget) -> np.ndarray:
    d = widget._data
    return codec.dequantize(d["q"], tuple(d["shape"]), d["lo"], d["hi"])


def test_the_views_get_each_row_renormalised_without_the_hidden_keys():
    w = sink_weights()
    widget = AttentionWidget(w, TOKENS, hidden_keys=[0])
    ref = without(w[0], [0])
    np.testing.assert_allclose(shown(widget), ref, atol=0.5 / 255 + 1e-6)  # one byte a weight
    np.testing.assert_allclose(widget._data["head_max"], ref.max(axis=(1, 2)), rtol=1e-5)
    p = np.where(ref > 0, ref, 1.0)
    np.testing.assert_allclose(widget._data["head_entropy"], -(ref * np.log(p)).sum(-1).mean(-1), rtol=1e-4)
    mask = np.frombuffer(widget._data["mask"], np.uint8).reshape(12, 12)
    assert (mask[:, 0] == 0).all() and (mask[:, 1:] == 1).all()
    assert widget.scores is not None and np.array_equal(widget.scores, w)  # the layer's own scores stay


def test_a_pinned_tokens_exact_row_and_column_are_renormalised():
    w = sink_weights()
    widget = AttentionWidget(w, TOKENS, hidden_keys=[0, 11], selected_query=8, selected_key=4)
    ref = without(w[0], [0, 11])
    row = np.frombuffer(widget._exact["row"], "<f4").reshape(4, 12)
    col = np.frombuffer(widget._exact["col"], "<f4").reshape(4, 12)
    np.testing.assert_allclose(row, ref[:, 8], atol=1e-6)
    np.testing.assert_allclose(col, ref[:, :, 4], atol=1e-6)
    widget.selected_key = 0  # a hidden key's column: nothing
    assert not np.frombuffer(widget._exact["col"], "<f4").any()


def test_a_mask_of_the_layer_is_kept_and_a_row_left_with_nothing_stays_zero():
    causal = np.tril(np.ones((12, 12), dtype=bool))
    w = sink_weights() * causal
    w /= w.sum(-1, keepdims=True)
    widget = AttentionWidget(w, TOKENS, mask=causal, hidden_keys=[0])
    got = shown(widget)
    assert not got[:, 0].any()  # query 0 sees only the hidden key
    np.testing.assert_allclose(got[:, 1:], without(w[0], [0])[:, 1:], atol=0.5 / 255 + 1e-6)
    mask = np.frombuffer(widget._data["mask"], np.uint8).reshape(12, 12).astype(bool)
    assert np.array_equal(mask, causal & (np.arange(12) > 0))


def test_every_layer_of_a_model_and_its_static_copy_hide_the_keys():
    a, b = sink_weights(seed=1), sink_weights(k=6, seed=2)[:, :, :, :6]
    b = b / b.sum(-1, keepdims=True)
    widget = AttentionWidget([a, b], [TOKENS, TOKENS], [TOKENS, TOKENS[:6]], hidden_keys=[0, 7])
    got = [layer["max"] for layer in widget._overview["layers"]]
    want = [without(a[0], [0, 7]).max(axis=(1, 2)), without(b[0], [0]).max(axis=(1, 2))]  # 7: past layer 1's keys
    for g, ref in zip(got, want):
        np.testing.assert_allclose(g, ref, atol=1e-4)
    state = export.static_state(widget)
    second = state["_slices"]["1,0"]
    np.testing.assert_allclose(codec.dequantize(second["q"], tuple(second["shape"]), second["lo"], second["hi"]),
                               without(b[0], [0]), atol=0.5 / 255 + 1e-6)
    assert state["hidden_keys"] == [0, 7]
    widget.hidden_keys = []
    np.testing.assert_allclose(shown(widget), a[0], atol=0.5 / 255 + 1e-6)


@pytest.mark.parametrize("make, keys, message", [
    (lambda: AttentionWidget(sink_weights(), TOKENS), [12], "hidden_keys: expected key indices in 0..11, got 12"),
    (lambda: AttentionWidget(np.log(sink_weights()), TOKENS), [0],
     "hidden_keys: layer 'layer 0' holds no softmax weights (values outside 0..1 or rows not summing to 1): "
     "there is nothing to renormalise"),
])
def test_a_bad_value_is_one_line_and_changes_nothing(make, keys, message):
    widget = make()
    before = dict(widget._data)
    with pytest.raises(traitlets.TraitError) as err:
        widget.hidden_keys = keys
    assert str(err.value) == message
    assert widget.hidden_keys == [] and widget._data == before


def qk_dense(q, k, causal, mask):
    """Float64 softmax of ``q·kᵀ/√d`` ``(H, Q, K)`` and the cells attended ``(Q, K)`` (0 in rows with none)."""
    s = np.einsum("hqd,hkd->hqk", q.astype(np.float64), k.astype(np.float64)) / np.sqrt(q.shape[-1])
    keep = np.tri(*s.shape[1:], dtype=bool) if causal else np.ones(s.shape[1:], bool)
    if mask is not None:
        keep &= mask[None, :]
    e = np.where(keep, np.exp(s - np.where(keep, s, -np.inf).max(-1, keepdims=True)), 0.0)
    return e / e.sum(-1, keepdims=True), keep


@pytest.mark.parametrize("causal, pad", [(False, 0), (True, 0), (False, 3)])
def test_weights_from_queries_and_keys_hide_keys_as_the_dense_ones_do(causal, pad):
    """from_qk masks the hidden keys (a softmax over the others is the renormalised row): its top keys and
    weights, head maxima, exact row and column equal the dense weights renormalised in NumPy; shown again,
    the keys give back the first summary, not a new tile pass."""
    rng = np.random.default_rng(2)
    q, k = rng.standard_normal((2, 2, 12, 8)).astype(np.float32) * 2
    k[:, 0] = 3 * q.mean(1)  # key 0 a sink
    mask = np.arange(12) < 12 - pad if pad else None
    widget = AttentionWidget.from_qk(q, k, TOKENS, causal=causal, mask=mask)
    assert widget._can_hide
    before = dict(widget._data)
    widget.selected_query, widget.selected_key = 8, 4
    widget.hidden_keys = [0]
    p, keep = qk_dense(q, k, causal, mask)
    ref = np.nan_to_num(without(p, [0]))  # causal row 0 has nothing left: 0
    keep[:, 0] = False
    want = codec.summarize(ref.astype(np.float32), keep)
    got = widget.scores.hiding([0]).summary(0).sparse
    attended = np.isfinite(want.top)
    np.testing.assert_array_equal(np.isfinite(got.top), attended)
    np.testing.assert_array_equal(np.where(attended, got.idx, -1), np.where(attended, want.idx, -1))
    np.testing.assert_allclose(np.where(attended, got.top, 0), np.where(attended, want.top, 0), rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(widget._data["head_max"], ref.max(axis=(1, 2)), rtol=1e-5)
    assert widget._data["mask_kind"] == want.mask_kind != "none"
    np.testing.assert_allclose(np.frombuffer(widget._exact["row"], "<f4").reshape(2, 12), ref[:, 8], rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(np.frombuffer(widget._exact["col"], "<f4").reshape(2, 12), ref[:, :, 4], rtol=1e-5, atol=1e-7)
    first = widget.scores.summary(0)
    widget.hidden_keys = []
    assert widget._data == before and widget.scores.summary(0) is first
    assert widget.scores.hiding([0]) is widget.scores.hiding([0])  # kept: hidden again without a new pass


def test_the_kept_hidings_are_asked_for_from_several_threads_at_once():
    """A hide request's thread, a batch request's and the kernel each ask ``hiding()``: its cache of the last
    sets asked for stays whole (without its lock, threads switching every microsecond lost a set between
    looking it up and taking it: KeyError)."""
    old = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    rng = np.random.default_rng(5)
    scores = qkscores.QKScores(*rng.standard_normal((2, 2, 2, 16, 4)).astype(np.float32), device="cpu")
    errors = []

    def ask(n):
        try:
            for i in range(4000):
                assert scores.hiding([(i + n) % 5]) is not scores
        except Exception as exc:  # noqa: BLE001 - every kind of failure is what this test looks for
            errors.append(repr(exc))

    threads = [threading.Thread(target=ask, args=(n,)) for n in range(4)]
    try:
        for th in threads:
            th.start()
        for th in threads:
            th.join()
    finally:
        sys.setswitchinterval(old)
    assert errors == [] and len(scores._hidings) == qkscores.HIDINGS_KEPT
    assert scores.hiding([3]) is scores.hiding([3])


def test_the_magic_hides_keys_and_says_what_is_wrong(ip):
    body = "num_heads: 2\nkey_dim: 8\nquery: the animal didn't cross the street\n"
    res = ip.run_cell_magic("attention", "--hide-keys 0", body)
    assert res.widget.hidden_keys == [0]
    np.testing.assert_allclose(shown(res.widget), without(res.scores[0], [0]), atol=0.5 / 255 + 1e-6)
    res = ip.run_cell_magic("attention", "", body + "hide_keys: [0, 5]")
    assert res.widget.hidden_keys == [0, 5]
    with pytest.raises(UsageError) as err:
        ip.run_cell_magic("attention", "", body + "hide_keys: 6")
    assert str(err.value) == "hide_keys: expected key indices in 0..5, got 6"
    with pytest.raises(UsageError) as err:
        ip.run_cell_magic("attention", "--hide-keys first", body)
    assert str(err.value) == "hide_keys: expected a key index (0, 1, ...) or a list of them, got 'first'"


def test_the_views_offer_to_hide_keys_only_where_it_can_be_done():
    q = np.random.default_rng(0).standard_normal((2, 12, 8)).astype(np.float32)
    assert AttentionWidget(sink_weights(), TOKENS)._can_hide
    assert AttentionWidget([sink_weights(), sink_weights(seed=3)], [TOKENS, TOKENS])._can_hide
    assert not AttentionWidget(np.log(sink_weights()), TOKENS)._can_hide
    assert not AttentionWidget([sink_weights(), np.log(sink_weights())], [TOKENS, TOKENS])._can_hide
    assert AttentionWidget.from_qk(q, q, TOKENS)._can_hide  # a softmax of queries and keys
