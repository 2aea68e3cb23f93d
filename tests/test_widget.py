"""AttentionWidget: shapes, traits, and the binary form the browser receives."""

from __future__ import annotations

import numpy as np
import pytest
import traitlets

from attnwidget import AttentionWidget, codec
from attnwidget.scores import normalize_scores


def softmax(x, axis=-1):
    e = np.exp(x - x.max(axis, keepdims=True))
    return e / e.sum(axis, keepdims=True)


@pytest.fixture
def scores():
    return softmax(np.random.default_rng(0).standard_normal((2, 3, 5, 4))).astype("float32")  # (B, H, Q, K)


def _buffers(w):
    """What ipywidgets sends: the state with bytes lifted out as binary buffers."""
    from ipywidgets.widgets.widget import _remove_buffers

    state = w.get_state()
    return _remove_buffers(state)


def test_bulk_travels_as_one_byte_per_weight_in_binary_buffers(scores):
    w = AttentionWidget(scores, list("abcde"), list("wxyz"))
    state, paths, buffers = _buffers(w)
    assert ["_data", "q"] in paths
    q = buffers[paths.index(["_data", "q"])]
    assert len(q) == 3 * 5 * 4  # heads × q × k of batch 0, one byte each
    assert w._data["shape"] == [3, 5, 4] and w._data["probability"] is True
    back = codec.dequantize(bytes(q), (3, 5, 4), w._data["lo"], w._data["hi"])
    assert np.abs(back - scores[0]).max() <= codec.MAX_ERROR + 1e-7
    # no JSON lists of numbers anywhere in the state
    assert all(not (isinstance(v, list) and v and isinstance(v[0], float) and len(v) > 16) for v in state.values())


def test_batch_and_layer_choose_the_slice(scores):
    other = scores[:, ::-1].copy()
    w = AttentionWidget([scores, other], list("abcde"), list("wxyz"), layer_names=["enc", "dec"])
    first = bytes(w._data["q"])
    w.batch = 1
    assert bytes(w._data["q"]) == codec.quantize(scores[1])
    w.layer = 1
    assert bytes(w._data["q"]) == codec.quantize(other[1])
    assert first == codec.quantize(scores[0])


def test_pinned_token_row_is_sent_exact(scores):
    w = AttentionWidget(scores, list("abcde"), list("wxyz"))
    assert "row" not in w._exact
    w.selected_query = 3
    row = np.frombuffer(w._exact["row"], dtype="<f4").reshape(3, 4)
    np.testing.assert_array_equal(row, scores[0, :, 3, :])
    w.selected_key = 2
    col = np.frombuffer(w._exact["col"], dtype="<f4").reshape(3, 5)
    np.testing.assert_array_equal(col, scores[0, :, :, 2])
    w.selected_query = None
    assert w._exact["query"] is None and "row" not in w._exact


def test_inputs_of_every_array_kind():
    tf_like = np.ones((2, 3, 3), dtype=np.float64) / 3
    w = AttentionWidget(tf_like, ["a", "b", "c"])
    assert w.shape == (1, 2, 3, 3) and w.scores.dtype == np.float32
    assert w.key_tokens == ["a", "b", "c"] and w.heads == [0, 1]
    assert w.head_names == ["head 0", "head 1"]
    f32 = np.full((1, 1, 2, 2), 0.5, np.float32)
    assert normalize_scores(f32)[0] is f32  # held once, not copied


@pytest.mark.parametrize("args, message", [
    ((np.ones((2, 3, 3)), ["a", "b"]), "tokens: scores have shape (1, 2, 3, 3) (query_len=3, key_len=3) but got 2 query tokens and 2 key tokens"),
    ((np.ones((3, 3)), ["a", "b", "c"]), "scores: expected shape (heads, q, k) or (batch, heads, q, k), got (3, 3)"),
    ((np.ones((2, 3, 4)), ["a", "b", "c"], ["x"]), "tokens: scores have shape (1, 2, 3, 4) (query_len=3, key_len=4) but got 3 query tokens and 1 key tokens"),
    (([np.ones((1, 1, 2, 2)), np.ones((2, 1, 3, 3))], ["a", "b"]), "scores[1]: every layer must have the same batch size"),
    (([np.ones((1, 2, 2)), np.ones((1, 3, 3))], ["a", "b"]), "tokens: scores of layer 1 have shape (1, 1, 3, 3)"),
    ((np.array([["x"]]), ["a"]), "scores: expected an array of numbers"),
])
def test_shape_errors_name_both_shapes(args, message):
    with pytest.raises(ValueError) as err:
        AttentionWidget(*args)
    assert str(err.value).startswith(message)


def test_trait_validation(scores):
    w = AttentionWidget(scores, list("abcde"), list("wxyz"))
    with pytest.raises(traitlets.TraitError, match=r"selected_query: expected an index in 0..4 \(5 query tokens\), got 5"):
        w.selected_query = 5
    with pytest.raises(traitlets.TraitError, match="heads: expected an index in 0..2"):
        w.heads = [0, 7]
    with pytest.raises(traitlets.TraitError, match="batch: expected an index in 0..1"):
        w.batch = 2
    with pytest.raises(traitlets.TraitError):
        w.view = "table"
    with pytest.raises(traitlets.TraitError):
        w.threshold = 1.5
    w.heads = [2, 0, 2]
    assert w.heads == [0, 2]
    assert w.selected_query is None  # nothing half-set after the errors


def test_observe_sees_changes(scores):
    w = AttentionWidget(scores, list("abcde"), list("wxyz"))
    seen = []
    w.observe(lambda c: seen.append(c["new"]), names=["selected_query"])
    w.selected_query = 1
    w.selected_query = None
    assert seen == [1, None]


def test_raw_scores_are_scaled_not_normalised():
    logits = np.array([[[-2.0, 3.0], [0.5, 8.0]]], np.float32)
    w = AttentionWidget(logits, ["a", "b"])
    assert w._data["probability"] is False
    assert (w._data["lo"], w._data["hi"]) == (-2.0, 8.0)
    back = codec.dequantize(w._data["q"], (1, 2, 2), -2.0, 8.0)
    assert np.abs(back - logits[0]).max() <= 10 / 510 + 1e-6


def test_mask_travels(scores):
    m = np.tril(np.ones((5, 4), bool))
    w = AttentionWidget(scores, list("abcde"), list("wxyz"), mask=m)
    assert np.frombuffer(w._data["mask"], np.uint8).reshape(5, 4).tolist() == m.astype(int).tolist()


def test_layers_of_their_own_shape_tokens_and_kinds(scores):
    enc = softmax(np.random.default_rng(1).standard_normal((2, 2, 4, 4))).astype("float32")
    dec = softmax(np.random.default_rng(2).standard_normal((2, 3, 3, 3))).astype("float32")
    cross = softmax(np.random.default_rng(3).standard_normal((2, 2, 3, 4))).astype("float32")
    w = AttentionWidget([enc, dec, cross], [list("abcd"), list("xyz"), list("xyz")], [list("abcd"), list("xyz"), list("abcd")],
                        layer_names=["enc", "dec", "cross"], layer_kinds=["self", "causal", "cross"],
                        mask=[None, np.tril(np.ones((3, 3), bool)), None])
    assert w.query_tokens == list("abcd") and w._data["shape"] == [2, 4, 4] and w._data["mask"] == b""
    w.selected_query, w.selected_key, w.head = 3, 1, 1
    w.layer = 1
    assert w.query_tokens == list("xyz") and w.key_tokens == list("xyz") and w.heads == [0, 1, 2]
    assert w.selected_query is None and w.selected_key == 1 and w.head == 1  # out of range: dropped
    assert w._data["shape"] == [3, 3, 3] and len(w._data["mask"]) == 9
    w.mode = "cross"  # the layer follows the mode
    assert w.layer == 2 and w.key_tokens == list("abcd") and w.heads == [0, 1]
    w.layer = 0  # a layer outside the mode resets it
    assert w.mode == "all"
    with pytest.raises(traitlets.TraitError, match="mode: no causal layer"):
        AttentionWidget(enc, list("abcd")).mode = "decoder"
    with pytest.raises(traitlets.TraitError, match="head: expected an index in 0..1"):
        w.head = 2


def test_overview_has_a_thumbnail_per_layer_and_head():
    big = softmax(np.random.default_rng(0).standard_normal((1, 8, 100, 100))).astype("float32")
    w = AttentionWidget([big] * 6, [str(i) for i in range(100)])
    ov = w._overview
    assert len(ov["layers"]) == 6
    first = ov["layers"][0]
    assert (first["H"], first["h"], first["w"]) == (8, 48, 48)  # downsampled to at most 48 × 48
    assert len(ov["q"]) == 6 * 9 * 48 * 48  # 8 heads and their mean, one byte per pixel
    thumb = np.frombuffer(ov["q"], np.uint8, 48 * 48, first["offset"] + 3 * 48 * 48).reshape(48, 48) * first["hi"] / 255
    from attnwidget.overview import downsample
    small = downsample(big[0, 3])
    np.testing.assert_allclose(small.sum(-1), 1.0, atol=1e-5)  # mass per key block: rows still sum to 1
    assert first["lo"] == 0 and first["hi"] == pytest.approx(downsample(big[0]).max())
    np.testing.assert_allclose(thumb, small, atol=first["hi"] / 510 + 1e-6)
    np.testing.assert_allclose(first["entropy"], w._data["head_entropy"], atol=1e-4)
    np.testing.assert_allclose(first["max"], w._data["head_max"], atol=1e-4)


def test_a_single_layer_sends_no_model_overview(scores):
    w = AttentionWidget(scores, list("abcde"), list("wxyz"))
    assert w._overview == {}  # the model view needs several layers; nothing extra on the wire


def test_palette_is_a_synced_trait_the_front_end_knows_and_static_copies_carry(scores):
    """``palette=``: names the browser's colors.js PALETTES knows, in the same order; a bad name is a
    TraitError; the snapshot a static copy embeds carries the choice."""
    import json
    import pathlib
    import shutil
    import subprocess

    from attnwidget import protocol

    root = pathlib.Path(__file__).resolve().parents[1]
    node = shutil.which("node")
    if node is None:
        pytest.fail("node is needed to read js/colors.js's palettes")
    out = subprocess.run([node, "--input-type=module", "-e",
                          "import('./js/colors.js').then((m) => console.log(JSON.stringify(Object.keys(m.PALETTES))))"],
                         cwd=root, capture_output=True, text=True, timeout=60, check=True)
    assert list(protocol.WireState.palette.values) == json.loads(out.stdout)
    assert "palette" in protocol.SCHEMA["traits"]
    w = AttentionWidget(scores, list("abcde"), list("wxyz"))
    assert w.palette == "default"
    w = AttentionWidget(scores, list("abcde"), list("wxyz"), palette="okabe-ito")
    assert w.palette == "okabe-ito" and w.get_state()["palette"] == "okabe-ito"
    assert protocol.snapshot(w)["palette"] == "okabe-ito"
    w.palette = "tol-bright"
    assert protocol.snapshot(w)["palette"] == "tol-bright"
    with pytest.raises(traitlets.TraitError):
        w.palette = "rainbow"
