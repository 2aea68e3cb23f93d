"""Kinds of input NumPy and Python allow but the widget did not expect (issue #17, item 8), table-driven:
each ends in its exact one-line error or in a correct view (what the browser gets, checked here).

Refused: masked arrays with masked entries, complex numbers, values past float32, open files and iterators
(not consumed), views whose size passes the limits (refused from the shape, nothing allocated),
non-finite trait and header values. Shown correctly: NumPy scalars in traits, lone surrogates (U+FFFD),
bidi overrides (kept; the browser isolates them), 100,000-character tokens (cut to ``max_token_chars``).
"""

from __future__ import annotations

import io
import json
import tracemalloc

import numpy as np
import pytest
import traitlets

import attnwidget
from attnwidget import AttentionWidget, codec, export
from attnwidget.inputs import to_sequence

TOKS = ["a", "b", "c"]


def sm(shape, seed=0):
    x = np.random.default_rng(seed).standard_normal(shape)
    return (np.exp(x) / np.exp(x).sum(-1, keepdims=True)).astype(np.float32)


def masked():
    return np.ma.masked_array(sm((2, 3, 3)), mask=np.eye(3, dtype=bool)[None].repeat(2, 0))


def page_state(w) -> dict:
    """The JSON state a static copy of ``w`` embeds."""
    return json.loads(w.to_html().split('class="aw-state">', 1)[1].split("</script>", 1)[0])


# --- refused: (name, make, error type, the exact one line) ---------------------------------------------
REFUSED = [
    ("masked-scores", lambda: AttentionWidget(masked(), TOKS), ValueError,
     "scores: a masked array with 6 masked entries; pass x.filled(value) (for scores, with mask= for the pairs a "
     "query may attend to)"),
    ("masked-layer", lambda: AttentionWidget([sm((2, 3, 3)), masked()], TOKS), ValueError,
     "scores[1]: a masked array with 6 masked entries"),
    ("complex-scores", lambda: AttentionWidget(sm((2, 3, 3)).astype(np.complex128), TOKS), ValueError,
     "scores: expected real numbers, got complex values (dtype complex128); pass abs(x) or x.real"),
    ("complex-query", lambda: attnwidget.attention(kind="global", query=np.ones((4, 8), np.complex64)), ValueError,
     "query: expected real numbers, got complex values (dtype complex64); pass abs(x) or x.real"),
    ("past-float32", lambda: AttentionWidget(np.full((2, 3, 3), 1e300), TOKS), ValueError,
     "scores: values beyond float32's range (±3.4e+38); scale them down"),
    ("past-float32-query", lambda: attnwidget.attention(kind="global", query=np.full((4, 8), -1e300)), ValueError,
     "query: values beyond float32's range (±3.4e+38); scale them down"),
    ("iterator-scores", lambda: AttentionWidget(iter([sm((2, 3, 3))]), TOKS), ValueError,
     "scores: expected an array of numbers, got list_iterator (an iterator: reading it would use it up; pass a list "
     "or an array)"),
    ("generator-tokens", lambda: AttentionWidget(sm((2, 3, 3)), (t for t in TOKS)), ValueError,
     "query_tokens: expected a list of strings, got generator (an iterator: reading it would use it up; pass a list "
     "or an array)"),
    ("view-past-memory", lambda: AttentionWidget(np.broadcast_to(np.float64(0.1), (1, 8, 10**6, 10**6)), TOKS),
     ValueError, "scores: shape (1, 8, 1000000, 1000000) would take 29,802.3 GiB as float32, more than the memory "
                 "available now"),
    ("view-past-max-tokens", lambda: attnwidget.attention(
        kind="global", query=np.broadcast_to(np.float64(0.1), (1, 10**7, 4096))), ValueError,
     "query: 10000000 positions, more than max_tokens (512); raise it with 'max_tokens: 10000000'"),
    ("view-past-memory-query", lambda: attnwidget.attention(
        kind="global", query=np.broadcast_to(np.float64(0.1), (10**7, 8, 4096))), ValueError,
     "query: shape (10000000, 8, 4096) would take 1,220.7 GiB as float32, more than the memory available now"),
    ("nan-threshold", lambda: setattr(AttentionWidget(sm((2, 3, 3)), TOKS), "threshold", float("nan")),
     traitlets.TraitError, "threshold: expected a number in 0..1, got nan"),
    ("float32-threshold", lambda: setattr(AttentionWidget(sm((2, 3, 3)), TOKS), "threshold", np.float32(0.5)),
     traitlets.TraitError, "The 'threshold' trait of an AttentionWidget instance expected a float"),
    ("nan-info", lambda: AttentionWidget(sm((2, 3, 3)), TOKS, info={"run_ms": float("nan")}), ValueError,
     "info: run_ms is nan; expected a finite number"),
    ("inf-info-array", lambda: AttentionWidget(sm((2, 3, 3)), TOKS, info={"shape": np.array([1.0, np.inf])}),
     ValueError, "info: shape is inf; expected a finite number"),
    ("max-token-chars", lambda: AttentionWidget(sm((2, 3, 3)), TOKS, max_token_chars=0), ValueError,
     "max_token_chars: expected a positive integer or None, got 0"),
]


@pytest.mark.parametrize("name, make, error, message", REFUSED, ids=[r[0] for r in REFUSED])
def test_refused_in_one_line(name, make, error, message):
    with pytest.raises(error) as err:
        make()
    assert str(err.value).startswith(message), str(err.value)
    assert "\n" not in str(err.value)


@pytest.mark.parametrize("make, name", [
    (lambda path: open(path, encoding="utf-8"), "query_tokens"),
    (lambda path: io.StringIO("a\nb\nc\n"), "query_tokens"),
])
def test_an_open_file_is_refused_unread(tmp_path, make, name):
    path = tmp_path / "tokens.txt"
    path.write_text("a\nb\nc\n", encoding="utf-8")
    with make(path) as f:
        for args in ((sm((2, 3, 3)), f), (f, TOKS)):
            with pytest.raises(ValueError) as err:
                AttentionWidget(*args)
            what = name if args[1] is f else "scores"
            assert str(err.value).startswith(f"{what}: expected "), str(err.value)
            assert f"got {type(f).__name__} (an open file: reading it would use it up" in str(err.value)
        assert f.tell() == 0 and f.read() == "a\nb\nc\n"  # nothing consumed


def test_a_generator_is_refused_unconsumed():
    gen = (t for t in TOKS)
    with pytest.raises(ValueError, match=r"^query_tokens: expected a list of strings, got generator"):
        AttentionWidget(sm((2, 3, 3)), gen)
    assert next(gen) == "a"


def test_a_view_past_max_tokens_is_refused_from_its_shape_alone():
    view = np.broadcast_to(np.float64(0.1), (1, 10**6, 512))  # 2 GiB as float32, 8 bytes held
    tracemalloc.start()
    try:
        with pytest.raises(ValueError, match=r"^query: 1000000 positions, more than max_tokens \(512\)"):
            to_sequence("query", view, labels=None, label_key="query_tokens", max_tokens=512,
                        rng=np.random.default_rng(0))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 1 << 20, f"{peak:,} bytes allocated before refusing"


# --- shown correctly ----------------------------------------------------------------------------------------
def test_numpy_scalars_in_traits_are_plain_numbers():
    w = AttentionWidget(sm((2, 2, 3, 3)), TOKS, info={"run_ms": np.float32(1.5), "shape": np.array([2, 3])},
                       selected_query=np.int64(1))
    w.top_k, w.selected_query, w.heads, w.batch = np.int64(3), np.int64(2), [np.int64(0)], np.int64(1)
    assert (w.top_k, w.selected_query, w.heads, w.batch) == (3, 2, [0], 1)
    assert all(type(v) is int for v in (w.top_k, w.selected_query, w.heads[0], w.batch))
    assert w.info == {"run_ms": 1.5, "shape": [2, 3], "batch_size": 2} and type(w.info["run_ms"]) is float
    np.testing.assert_array_equal(np.frombuffer(w._exact["row"], "<f4").reshape(2, 3), w.scores[1][:, 2, :])
    state = page_state(w)  # JSON takes every trait
    assert state["top_k"] == 3 and state["info"]["run_ms"] == 1.5


def test_lone_surrogates_become_replacement_characters():
    from jupyter_client.session import json_packer

    w = AttentionWidget(sm((2, 3, 3)), ["a", "\ud800", "\ud83d\ude00"], head_names=["h\udcff", "h1"],
                        layer_names=["x\udc80"], info={"kind": "self \ud801"})
    assert w.query_tokens == ["a", "\ufffd", "😀"]  # a pair written as two code points is joined
    assert w.head_names == ["h\ufffd", "h1"] and w.layer_names == ["x\ufffd"] and w.info["kind"] == "self \ufffd"
    json_packer(w.get_state())  # the comm's own encoder: UTF-8, which cannot carry a lone surrogate
    assert page_state(w)["_layers_meta"][0]["query_tokens"] == ["a", "\ufffd", "😀"]


def test_bidi_overrides_are_kept_as_text():
    toks = ["\u202egnirts", "a\u2066b", "שלום"]
    w = AttentionWidget(sm((2, 3, 3)), toks)
    assert w.query_tokens == toks and page_state(w)["query_tokens"] == toks  # the browser isolates them


def test_long_tokens_are_cut_for_the_browser_and_the_copy():
    long = ["x" * 100_000, "y" * 100_000] + [f"t{i}" for i in range(298)]
    w = AttentionWidget(np.full((1, 300, 300), 1 / 300, np.float32), long)
    assert w.query_tokens[0] == "x" * 199 + "…" and len(w.query_tokens[1]) == 200 and w.query_tokens[2] == "t0"
    assert w._layers_meta[0]["key_tokens"][1] == "y" * 199 + "…"
    assert len(w.to_html()) < 2_000_000  # 60 MB of token text before the cut, in four copies
    whole = AttentionWidget(np.full((1, 2, 2), 0.5, np.float32), ["z" * 100_000, "w"], max_token_chars=None)
    assert whole.query_tokens[0] == "z" * 100_000


def test_bare_scores_with_a_batch_axis_say_their_batch_size():
    w = AttentionWidget(sm((3, 2, 3, 3)), TOKS, info={"batch_size": 7, "kind": "mine"})
    assert w.info == {"batch_size": 3, "kind": "mine"}  # the data's, not a claim
    assert AttentionWidget(sm((2, 3, 3)), TOKS).info == {"batch_size": 1}
    state = page_state(w)
    assert state["info"]["batch_size"] == 3 and sorted(state["_slices"]) == ["0,0", "0,1", "0,2"]


def test_a_masked_array_with_nothing_masked_is_its_data():
    s = sm((2, 3, 3))
    w = AttentionWidget(np.ma.masked_array(s, mask=False), TOKS)
    assert w._data["q"] == AttentionWidget(s, TOKS)._data["q"]


def test_values_at_the_ends_of_float32_are_drawn_on_their_range():
    s = np.array([[[3e38, -3e38, 0.0]] * 3] * 2, np.float32)
    with np.errstate(over="ignore"):
        d = AttentionWidget(s, TOKS)._data
    assert (d["lo"], d["hi"], d["probability"], d["nonfinite"]) == (float(np.float32(-3e38)), float(np.float32(3e38)),
                                                                    False, 0)
    assert list(d["q"][:3]) == [255, 0, 128]


@pytest.mark.parametrize("value", [1e30, -3e38, 2.0**60])
def test_a_constant_of_huge_magnitude_is_drawn_flat(value):
    d = AttentionWidget(np.full((2, 3, 3), value, np.float32), TOKS)._data
    assert d["hi"] > d["lo"] == float(np.float32(value)) and len(set(d["q"])) == 1
    assert export.script_json(d)
    assert codec.dequantize(d["q"], (2, 3, 3), d["lo"], d["hi"])[0, 0, 0] == pytest.approx(value, rel=1e-6)
