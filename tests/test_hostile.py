"""Hostile input, table-driven: each case asserts its exact outcome (the message, or what the view gets).

Families: configuration (the magic, exact one-line UsageError, earlier result kept), arrays (the
widget API), text (tokenizer and caps), state (re-runs, closed widgets, names, interrupts).
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import traitlets
from IPython.core.error import UsageError

import attnwidget
from attnwidget import AttentionWidget, codec, export
from attnwidget.config import tokenize

IT = "The animal didn't cross the street because it was too tired"

# --- configuration: (line, body, exact start of the one-line message) --------------------------
CONFIG = [
    ("", "kind: globl\nquery: a", "kind: expected one of global | cross | causal | base | encoder | decoder | transformer, got 'globl'"),
    ("", "num_head: 2\nquery: a", "num_head: unknown key (did you mean 'num_heads'?)"),
    ("", "qeury: a", "qeury: unknown key (did you mean 'query'?)"),
    ("", "num_heads: two\nquery: a", "num_heads: expected a positive integer, got 'two'"),
    ("", "num_heads: 0\nquery: a", "num_heads: expected a positive integer, got 0"),
    ("", "num_heads: true\nquery: a", "num_heads: expected a positive integer, got True"),
    ("", "key_dim: 1.5\nquery: a", "key_dim: expected a positive integer, got 1.5"),
    ("", "key_dim: -3\nquery: a", "key_dim: expected a positive integer, got -3"),
    ("", "seed: -1\nquery: a", "seed: expected a non-negative integer, got -1"),
    ("", "max_tokens: 0\nquery: a", "max_tokens: expected a positive integer, got 0"),
    ("", "query: a\nkey_dim: [2", "cell body: YAML syntax error at line 2"),
    ("", "query: 'a\n", "cell body: YAML syntax error at line 1"),
    ("", "query: a\nquery: b", "query: given twice (line 2)"),
    ("--heads 2 --num-heads 3", "query: a", "--num-heads: given twice on the line"),
    ("--heads", "query: a", "argument --heads/--num-heads/--num_heads: expected one argument"),
    ("--colour", "query: a", "unrecognized arguments: --colour"),
    ('--query "unclosed', "query: a", "line: cannot split the options"),
    ("", "", "%%attention is a cell magic, but the cell body is empty"),
    ("", "# nothing but a comment", "query: expected a text, tokens or an array; got nothing (an empty query)"),
    ("", "query: $missing_name", "query: $missing_name is not defined"),
    ("", "query: $", "query: '$' is not a valid $name"),
    ("", "query: $obj", "query: expected an array of numbers (T, D) or (B, T, D), got dtype object"),
    ("", "query: a\nlayer: $arr", "layer: expected a Keras attention layer, got ndarray"),
    ("-o 2bad", "query: a", "-o: expected a Python name to bind the result to, got '2bad'"),
    ("-o class", "query: a", "-o: expected a Python name to bind the result to, got 'class'"),
    ("one -o two", "query: a", "-o: two result names given ('one' and 'two'); give one"),
    ("", "query: a\ndevice: tpu", "device: expected auto | cpu | gpu | gpu:N, got 'tpu'"),
    ("", "query: a\nview: table", "view: expected one of graph | matrix | heads"),
    ("", "- a\n- b", "cell body: expected 'key: value' lines (a YAML mapping), got a list"),
    ("", "42", "cell body: expected 'key: value' lines (a YAML mapping), got a int"),
    ("", "query: a\ncontext_tokens: false", "context_tokens: expected a list of labels, got bool"),
    ("", "query: a b\nselect: zebra", "select: 'zebra' is not one of the query tokens"),
    ("", "query: a b\nselect: 5", "select: index 5 is past the last query token (1: 'b')"),
    ("", "kind: cross\nquery: a", "context: kind 'cross' needs a context to attend to"),
    ("", "kind: global\nquery: a\ncontext: b", "context: kind 'global' is self-attention and takes no context"),
    ("", "query: $arr5", "query: expected an array of rank 2 (T, D) or 3 (B, T, D), got shape (1, 1, 1, 2, 2)"),
    ("", "query: $nan_arr", "query: the array contains NaN or infinite values"),
    ("", "query: [0, 8, 16]", "query: a shape needs positive sizes, got [0, 8, 16]"),
    ("", "kind: base\nquery: [2, 3, 4]\ncontext: [3, 2, 4]", "query: batch sizes differ"),
]


@pytest.mark.parametrize("line, body, message", CONFIG, ids=[f"config{i}" for i in range(len(CONFIG))])
def test_configuration(ip, line, body, message):
    ns = ip.user_ns
    ns.update(obj=object(), arr=np.zeros((2, 2)), arr5=np.zeros((1, 1, 1, 2, 2)),
              nan_arr=np.array([[np.nan, 1.0]]))
    sentinel = ns["kept"] = object()
    out = line if "-o" in line or line.startswith("one") else f"-o kept {line}".strip()
    res = ip.run_cell(f"%%attention {out}\n{body}", store_history=False)
    err = res.error_in_exec or res.error_before_exec
    assert type(err) is UsageError, repr(err)
    assert str(err).startswith(message), str(err)
    assert "\n" not in str(err)
    assert ns["kept"] is sentinel  # nothing half-written


# --- arrays: the widget API -------------------------------------------------------------------
def sm(shape, seed=0):
    x = np.random.default_rng(seed).standard_normal(shape)
    return (np.exp(x) / np.exp(x).sum(-1, keepdims=True)).astype(np.float32)


def with_nan():
    s = sm((2, 3, 3))
    s[0, 1, 1] = np.nan
    return s


def with_infs():
    s = sm((2, 3, 3)) * 5
    s[1, 0, 0], s[1, 2, 2] = np.inf, -np.inf
    return s


ARRAYS_OK = [
    ("nan", with_nan, {"nonfinite": 1, "probability": False}),
    ("inf", with_infs, {"nonfinite": 2, "probability": False}),
    ("negative", lambda: sm((2, 3, 3)) - 0.5, {"probability": False, "lo": float((sm((2, 3, 3)) - 0.5).min())}),
    ("rows-not-one", lambda: sm((2, 3, 3)) * 0.5, {"probability": False}),
    ("raw-logits", lambda: np.random.default_rng(1).standard_normal((2, 3, 3)).astype(np.float32) * 4, {"probability": False}),
    ("float64", lambda: sm((2, 3, 3)).astype(np.float64), {"probability": True}),
    ("int", lambda: np.eye(3, dtype=np.int64)[None].repeat(2, 0), {"probability": True}),
    ("non-contiguous", lambda: sm((2, 6, 3))[:, ::2, :], {"probability": True}),
    ("masked-rows-zero", lambda: np.concatenate([sm((2, 2, 3)), np.zeros((2, 1, 3), np.float32)], 1), {"probability": True}),
]


@pytest.mark.parametrize("name, make, expected", ARRAYS_OK, ids=[a[0] for a in ARRAYS_OK])
def test_arrays_that_are_shown(name, make, expected):
    s = make()
    w = AttentionWidget(s, ["a", "b", "c"])
    for key, value in expected.items():
        assert w._data[key] == pytest.approx(value) if isinstance(value, float) else w._data[key] == value, key
    # what is shown is the user's values, not normalised ones (within one quantization step)
    d = w._data
    back = codec.dequantize(d["q"], tuple(d["shape"]), d["lo"], d["hi"])
    finite = np.isfinite(np.asarray(s, np.float32))
    step = (d["hi"] - d["lo"]) / 510 + 1e-6
    clipped = np.clip(np.asarray(s, np.float32), d["lo"], d["hi"])
    assert np.all(np.abs(back - clipped)[finite] <= step)


ARRAYS_BAD = [
    ("0-d", lambda: AttentionWidget(np.float32(0.5), ["a"]), ValueError, "scores: expected shape (heads, q, k) or (batch, heads, q, k), got ()"),
    ("5-d", lambda: AttentionWidget(np.zeros((1, 1, 1, 2, 2)), ["a", "b"]), ValueError, "scores: expected shape (heads, q, k) or (batch, heads, q, k), got (1, 1, 1, 2, 2)"),
    ("empty-dim", lambda: AttentionWidget(np.zeros((1, 0, 2)), []), ValueError, "scores: every dimension must be at least 1, got (1, 1, 0, 2)"),
    ("tokens", lambda: AttentionWidget(sm((2, 3, 3)), ["a", "b"]), ValueError, "tokens: scores have shape (1, 2, 3, 3) (query_len=3, key_len=3) but got 2 query tokens and 2 key tokens"),
    ("key-tokens", lambda: AttentionWidget(sm((2, 3, 4)), ["a", "b", "c"], ["x"]), ValueError, "tokens: scores have shape (1, 2, 3, 4) (query_len=3, key_len=4) but got 3 query tokens and 1 key tokens"),
    ("strings", lambda: AttentionWidget(np.array([[["x"]]]), ["a"]), ValueError, "scores: expected an array of numbers, got dtype <U1"),
    ("no-layers", lambda: AttentionWidget([], ["a"]), ValueError, "scores: expected an array (heads, q, k) or (batch, heads, q, k), got an empty list"),
    ("batch", lambda: setattr(AttentionWidget(sm((2, 2, 3, 3)), ["a", "b", "c"]), "batch", 2), traitlets.TraitError, "batch: expected an index in 0..1 (batch of 2), got 2"),
    ("query-index", lambda: setattr(AttentionWidget(sm((2, 3, 3)), ["a", "b", "c"]), "selected_query", -1), traitlets.TraitError, "selected_query: expected an index in 0..2 (3 query tokens), got -1"),
]


@pytest.mark.parametrize("name, make, error, message", ARRAYS_BAD, ids=[a[0] for a in ARRAYS_BAD])
def test_arrays_that_are_refused(name, make, error, message):
    with pytest.raises(error) as err:
        make()
    assert str(err.value).startswith(message), str(err.value)


# --- text ---------------------------------------------------------------------------------------
SCRIPTS = ["<img src=x onerror=alert(1)>", "</script><script>window.__pwned=1</script>", "<!--", "\"'", "&amp;<b>"]
TEXT = [
    ("one-token", "hello", ["hello"]),
    ("emoji", "I 👍🏽 the 👩‍👩‍👧 🇭🇺", ["I", "👍🏽", "the", "👩‍👩‍👧", "🇭🇺"]),
    ("combining", "cafe\u0301 e\u0301te\u0301", ["cafe\u0301", "e\u0301te\u0301"]),
    ("rtl", "שלום עולם مرحبا", ["שלום", "עולם", "مرحبا"]),
    ("hungarian", "Az állat nem ment át", ["Az", "állat", "nem", "ment", "át"]),
    ("apostrophes", "didn't it’s", ["didn't", "it’s"]),
]


@pytest.mark.parametrize("name, text, tokens", TEXT, ids=[t[0] for t in TEXT])
def test_text_becomes_these_tokens(name, text, tokens):
    assert tokenize(text) == tokens
    res = attnwidget.attention(kind="global", query=text)
    assert res.query_tokens == tokens
    assert res.scores.shape == (1, 2, len(tokens), len(tokens))
    np.testing.assert_allclose(res.scores.sum(-1), 1.0, atol=1e-5)


@pytest.mark.parametrize("cfg", [
    dict(kind="global", query="hello"),                       # a one-token sentence: one key
    dict(kind="cross", query="a b", context="x"),             # one context token
    dict(kind="transformer", num_layers=1, num_heads=2, d_model=16, query="a", context="x"),
], ids=["self", "cross", "transformer"])
def test_one_key_to_attend_to_warns_nothing(cfg):
    """A query with a single key gets weight 1, as it should; Keras's warning at a softmax over an axis of size 1
    ("Did you mean to use a sigmoid instead?") would only puzzle a student, and is not shown."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        res = attnwidget.attention(**cfg)
    assert [str(w.message)[:60] for w in caught if "softmax" in str(w.message)] == []
    for r in res.records:
        if r.scores.shape[-1] == 1:
            np.testing.assert_array_equal(r.scores, 1.0)


@pytest.mark.parametrize("text, message", [
    ("", "query: expected a text, tokens or an array; got nothing (an empty query)"),
    ("   \n\t ", "query: expected a text, tokens or an array; got nothing (an empty query)"),
    ("word " * 10_000, "query: the text has 10000 tokens, more than max_tokens (512); raise it with 'max_tokens: 10000' or --max-tokens 10000"),
])
def test_text_that_is_refused(text, message):
    with pytest.raises(ValueError) as err:
        attnwidget.attention(kind="global", query=text)
    assert str(err.value) == message


def test_script_tokens_are_data_everywhere():
    res = attnwidget.attention(kind="global", query=SCRIPTS)  # a list of strings is taken as tokens
    assert res.query_tokens == SCRIPTS
    w = res.widget
    assert w.query_tokens == SCRIPTS and w.key_tokens == SCRIPTS
    page = w.to_html()
    state_json = page.split('class="aw-state">', 1)[1].split("</script>", 1)[0]
    assert "<" not in state_json and ">" not in state_json and "&" not in state_json
    assert "<img src=x" not in page and "__pwned=1</script>" not in page and "<!--" not in page
    assert export.script_json(SCRIPTS).count("\\u003c") == sum(t.count("<") for t in SCRIPTS)


# --- state --------------------------------------------------------------------------------------
def test_rerunning_a_cell_whose_widget_is_shown(ip):
    first = ip.run_cell_magic("attention", "-o same", "query: a b c")
    w = first.widget
    second = ip.run_cell_magic("attention", "-o same", "query: a b c")
    assert ip.user_ns["same"] is second and second is not first
    w.selected_query = 1  # the earlier view still works
    assert w.selected_query == 1 and second.widget.selected_query is None
    assert second.layer is first.layer  # unchanged cell: the cached layer, same weights


def test_a_closed_widget_is_remade(ip):
    res = ip.run_cell_magic("attention", "", "query: a b c")
    old = res.widget
    old.close()
    assert res.widget is not old and res.widget.comm is not None
    assert old.to_html()  # a closed widget still exports


def test_two_results_bound_to_one_name(ip):
    a = ip.run_cell_magic("attention", "-o name", "query: a b")
    b = ip.run_cell_magic("attention", "name", "query: c d e")
    assert ip.user_ns["name"] is b and a.scores.shape == (1, 2, 2, 2)


def test_interrupt_keeps_the_earlier_result(ip, monkeypatch):
    from attnwidget import run as run_step

    first = ip.run_cell_magic("attention", "-o kept2", "query: a b")

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(run_step, "_call", interrupted)
    with pytest.raises(KeyboardInterrupt):
        ip.run_cell_magic("attention", "-o kept2", "query: x y z")
    monkeypatch.undo()
    assert ip.user_ns["kept2"] is first
    assert first.widget.selected_query is None and first.scores.shape == (1, 2, 2, 2)


@pytest.mark.parametrize("cfg, message", [
    ({"query": "a", "num_heads": 10**9}, "num_heads: expected at most 128, got 1,000,000,000"),
    ({"query": "a", "key_dim": 10**6}, "key_dim: expected at most 4,096, got 1,000,000"),
    ({"query": "a", "seed": 2**40}, "seed: expected at most 2,147,483,647"),
    ({"query": [5000, 8, 16]}, "query: a shape's batch and feature sizes may be at most 4,096"),
    ({"query": [64, 512, 16], "num_heads": 128, "max_tokens": 1000}, "query: the scores would hold 2,147,483,648 weights"),
])
def test_sizes_past_the_limits_are_refused_before_allocating(cfg, message):
    with pytest.raises(ValueError) as err:
        attnwidget.attention(**cfg)
    assert str(err.value).startswith(message), str(err.value)
