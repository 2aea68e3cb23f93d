"""BertViz's entry points on NumPy attention shaped as Hugging Face returns it (torch in test_hf_models.py)."""

from __future__ import annotations

import numpy as np
import pytest

import attnwidget
from attnwidget import AttentionWidget, ConfigError, head_view, model_view, protocol


def _attn(layers=3, batch=1, heads=4, q=5, k=5, causal=False, seed=0):
    """A tuple of per-layer (batch, heads, q, k) softmaxed weights, as outputs.attentions."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(layers):
        logits = rng.standard_normal((batch, heads, q, k))
        if causal:
            logits = np.where(np.tri(q, k, dtype=bool), logits, -np.inf)
        e = np.exp(logits - logits.max(-1, keepdims=True))
        out.append((e / e.sum(-1, keepdims=True)).astype("f4"))
    return tuple(out)


TOKENS = ["[CLS]", "Ġthe", "Ġcat", "▁sat", "[SEP]"]


def test_head_view_tuple_and_stack_agree():
    a = _attn()
    w = head_view(a, TOKENS)
    assert isinstance(w, AttentionWidget) and w.view == "graph"
    assert w.layer_names == ["layer 0", "layer 1", "layer 2"] and w.layer_kinds == ["self"] * 3
    assert w.query_tokens == ["[CLS]", " the", " cat", " sat", "[SEP]"]  # prettified
    s = model_view(np.stack(a), TOKENS, prettify_tokens=False)
    assert s.view == "model" and s.query_tokens == TOKENS
    for i in range(3):
        np.testing.assert_array_equal(s._layers[i].scores, a[i])


def test_layer_heads_include_layers_include_heads():
    a = _attn(layers=4)
    w = head_view(a, TOKENS, layer=2, heads=[1, 3], include_layers=[1, 2])
    assert w.layer_names == ["layer 1", "layer 2"] and w.layer == 1 and w.heads == [1, 3]
    np.testing.assert_array_equal(w.scores, a[2])
    m = model_view(a, TOKENS, include_layers=[0, 3], include_heads=[0, 2])
    assert m.layer_names == ["layer 0", "layer 3"] and m.head_names == ["head 0", "head 2"]
    np.testing.assert_array_equal(m._layers[1].scores, a[3][:, [0, 2]])
    with pytest.raises(ConfigError, match="layer: 0 is not one of the included layers"):
        head_view(a, TOKENS, layer=0, include_layers=[1, 2])
    with pytest.raises(ConfigError, match=r"include_heads: expected indices in 0..3"):
        model_view(a, TOKENS, include_heads=[4])


def test_causal_detected_with_left_padding_rows():
    a = [x.copy() for x in _attn(causal=True, batch=2)]
    for x in a:  # a fully masked (left-padded) query row: uniform over every key, as transformers leaves it
        x[1, :, 0] = 1.0 / 5
    assert head_view(a, TOKENS).layer_kinds == ["causal"] * 3
    assert AttentionWidget(attention=a, tokens=TOKENS).layer_kinds == ["causal"] * 3


def test_encoder_decoder_groups():
    enc, dec = ["a", "b", "c", "d", "e"], ["x", "y", "z"]
    w = model_view(encoder_attention=_attn(layers=2), decoder_attention=_attn(layers=2, q=3, k=3, causal=True),
                   cross_attention=_attn(layers=2, q=3, k=5), encoder_tokens=enc, decoder_tokens=dec)
    assert w.layer_names == ["encoder 0", "encoder 1", "decoder 0", "decoder 1", "cross 0", "cross 1"]
    assert w.layer_kinds == ["self", "self", "causal", "causal", "cross", "cross"]
    assert w._layers[4].query_tokens == dec and w._layers[4].key_tokens == enc
    h = head_view(cross_attention=_attn(layers=2, q=3, k=5), encoder_tokens=enc, decoder_tokens=dec, layer=1)
    assert h.layer_names == ["cross 0", "cross 1"] and h.layer == 1


def test_sentence_b_start_splits_the_header():
    w = head_view(_attn(), TOKENS, sentence_b_start=3)
    assert w.info["notice"].startswith("sentence A: tokens 0–2") and "sentence B: tokens 3–4" in w.info["notice"]
    with pytest.raises(ConfigError, match="sentence_b_start: expected an index in 1..4"):
        head_view(_attn(), TOKENS, sentence_b_start=5)


def test_sentence_b_start_and_display_mode_reach_the_wire():
    """The two sentences drawn apart (``segment_start``) and the forced colours (``theme``), live and in a static copy."""
    w = head_view(_attn(), TOKENS, sentence_b_start=3, display_mode="dark")
    assert (w.segment_start, w.theme) == (3, "dark")
    m = model_view(_attn(), TOKENS, sentence_b_start=np.int64(2), display_mode="light")
    assert (m.segment_start, m.theme) == (2, "light") and type(m.segment_start) is int
    plain = head_view(_attn(), TOKENS)
    assert (plain.segment_start, plain.theme) == (-1, "auto")  # one sentence, the notebook's colours
    assert model_view(_attn(), TOKENS).theme == "auto"
    assert {"segment_start", "theme"} <= set(protocol.SCHEMA["traits"])
    state = protocol.snapshot(w)
    assert (state["segment_start"], state["theme"]) == (3, "dark")
    page = w.to_html()
    assert '"segment_start":3' in page.replace(" ", "") and '"theme":"dark"' in page.replace(" ", "")


@pytest.mark.parametrize("call, kwargs, message", [
    (head_view, {"sentence_b_start": 0}, "sentence_b_start: expected an index in 1..4, got 0"),
    (head_view, {"sentence_b_start": 5}, "sentence_b_start: expected an index in 1..4, got 5"),
    (model_view, {"sentence_b_start": 2.0}, "sentence_b_start: expected an index in 1..4, got 2.0"),
    (head_view, {"sentence_b_start": True}, "sentence_b_start: expected an index in 1..4, got True"),
    (head_view, {"display_mode": "dim"}, "display_mode: expected one of dark | light (or None: the notebook's theme), got 'dim'"),
    (model_view, {"display_mode": "Dark"}, "display_mode: expected one of dark | light (or None: the notebook's theme), got 'Dark'"),
])
def test_bad_sentence_b_start_or_display_mode_is_one_line_naming_it(call, kwargs, message):
    with pytest.raises(ValueError) as err:
        call(_attn(), TOKENS, **kwargs)
    assert str(err.value) == message and "\n" not in str(err.value)


def test_segment_start_and_theme_are_checked_traits_of_the_widget():
    w = AttentionWidget(attention=_attn()[0], tokens=TOKENS, segment_start=2, theme="light")
    assert (w.segment_start, w.theme) == (2, "light")
    with pytest.raises(Exception, match="theme"):
        w.theme = "dim"
    with pytest.raises(Exception, match="segment_start"):
        w.segment_start = -2


def test_mistakes_are_errors():
    with pytest.raises(TypeError, match="unexpected keyword argument 'include_head'"):
        model_view(_attn(), TOKENS, include_head=[0])  # a misspelt argument is never ignored
    with pytest.raises(ConfigError, match=r"output_attentions=True.*attn_implementation=\"eager\""):
        head_view((), TOKENS)
    with pytest.raises(ConfigError, match=r"ambiguous.*\.squeeze\(1\)"):
        head_view(np.stack(_attn())[:, 0], TOKENS)  # (layers, heads, q, k): the batch axis squeezed away
    with pytest.raises(ConfigError, match="tokens: 4 tokens for attention over 5 positions"):
        head_view(_attn(), TOKENS[:4])
    with pytest.raises(ConfigError, match="display_mode"):
        model_view(_attn(), TOKENS, display_mode="dim")
    with pytest.raises(ConfigError, match="query_tokens and tokens: give one of them"):
        AttentionWidget(_attn()[0], TOKENS, tokens=TOKENS)


def test_html_action_return_is_an_offline_page():
    page = head_view(_attn(), TOKENS, html_action="return")
    assert "<html" in page.data.lower() and "head view" in page.data


def test_exports():
    assert attnwidget.head_view is head_view and "model_view" in attnwidget.__all__


def test_hidden_keys_leave_cls_out_of_every_layer_and_the_returned_page():
    """``hidden_keys=[0]``: each row of every layer renormalised over the keys after [CLS] (NumPy), in the
    widget and in the page ``html_action="return"`` gives, where no trait can be set afterwards."""
    import json
    import re

    a = _attn()
    for view in (head_view, model_view):
        w = view(a, TOKENS, hidden_keys=[0])
        assert w.hidden_keys == [0]
        for layer in range(3):
            w.layer = layer
            rest = a[layer][0, :, :, 1:]
            np.testing.assert_allclose(w.slice_data(layer, 0)["head_max"], (rest / rest.sum(-1, keepdims=True)).max((1, 2)),
                                       rtol=1e-5)
    page = head_view(a, TOKENS, hidden_keys=[0], html_action="return").data
    assert json.loads(re.search(r'class="aw-state">(.*?)</script>', page).group(1))["hidden_keys"] == [0]
    with pytest.raises(Exception, match=r"hidden_keys: .*5"):
        model_view(a, TOKENS, hidden_keys=[5])
