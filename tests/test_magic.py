"""The %%attention magic in a real IPython shell: results, binding, options, and every bad input."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from IPython.core.error import UsageError

from attnwidget.result import AttentionResult
from conftest import IT_SENTENCE


def run_error(ip, source: str) -> BaseException | None:
    res = ip.run_cell(source, store_history=False)
    return res.error_in_exec or res.error_before_exec


def test_lecture_cross_example(ip, ns):
    res = ip.run_cell_magic("attention", "-o res --heads 2",
                            "kind: cross   # global | cross | causal | base\nkey_dim: 2\nquery: $target\ncontext: $source\n")
    assert isinstance(res, AttentionResult)
    assert ns["res"] is res
    assert res.scores.shape == (1, 2, 8, 4)
    assert res.config["num_heads"] == 2 and res.config["kind"] == "cross"
    np.testing.assert_allclose(res.scores.sum(-1), 1.0, atol=1e-5)
    assert res.layer.mha.num_heads == 2  # the tutorial class keeps its .mha


def test_base_kind_bare_name_binds(ip, ns):
    res = ip.run_cell_magic("attention", "lookup", "kind: base\nnum_heads: 2\nkey_dim: 2\nquery: $target\ncontext: $source")
    assert ns["lookup"] is res and res.scores.shape == (1, 2, 8, 4)
    assert type(res.layer).__name__ == "MultiHeadAttention"


def test_global_it_sentence_and_line_overrides_body(ip):
    res = ip.run_cell_magic("attention", "--heads 4 --view matrix",
                            f"kind: global\nnum_heads: 2\nkey_dim: 512\nquery: {IT_SENTENCE}\n")
    assert res.scores.shape == (1, 4, 11, 11)
    assert res.query_tokens[7] == "it"
    assert res.widget.view == "matrix"


def test_select_pins_a_token_before_display(ip):
    res = ip.run_cell_magic("attention", "--select it", f"query: {IT_SENTENCE}")
    assert res.widget.selected_query == 7
    res = ip.run_cell_magic("attention", "", "query: a b c\nselect: 2")
    assert res.widget.selected_query == 2
    err = run_error(ip, "%%attention\nquery: a b c\nselect: z")
    assert type(err) is UsageError and str(err) == "select: 'z' is not one of the query tokens (a, b, c)"


def test_line_form(ip):
    res = ip.run_line_magic("attention", '--kind causal --query "one two three four"')
    assert res.scores.shape == (1, 2, 4, 4)
    assert res.scores[0, :, 0, 1:].max() == 0.0


def test_tokens_list_and_labels_for_arrays(ip, ns):
    res = ip.run_cell_magic("attention", "", "kind: cross\nquery: [ich, bin, hier]\ncontext: $source\n"
                                             "context_tokens: [a, b, c, d]")
    assert res.query_tokens == ["ich", "bin", "hier"] and res.key_tokens == ["a", "b", "c", "d"]
    res = ip.run_cell_magic("attention", "", "kind: global\nquery: $target")
    assert res.query_tokens == [str(i) for i in range(8)]


def test_result_displays_as_the_widget(ip, ns):
    res = ip.run_cell_magic("attention", "", "kind: global\nquery: $target")
    bundle = res._repr_mimebundle_()
    data = bundle[0] if isinstance(bundle, tuple) else bundle
    assert "application/vnd.jupyter.widget-view+json" in data
    assert data["application/vnd.jupyter.widget-view+json"]["model_id"] == res.widget.model_id


def test_usage_lists_every_key(ip):
    from attnwidget.config import KEYS

    doc = ip.find_cell_magic("attention").__doc__
    for key in KEYS:
        assert f"  {key} " in doc
    assert "--heads" in doc and "-o NAME" in doc


def test_load_ext_does_not_import_tensorflow():
    code = ("import sys; from IPython.testing.globalipapp import get_ipython; ip = get_ipython(); "
            "ip.run_line_magic('load_ext', 'attnwidget'); "
            "assert ip.find_cell_magic('attention') is not None; "
            "print(sorted(m for m in ('tensorflow', 'keras', 'jax', 'torch') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().splitlines()[-1] == "[]"


def test_first_run_says_it_is_loading_and_is_quiet():
    code = ("from IPython.testing.globalipapp import get_ipython; ip = get_ipython(); "
            "ip.run_line_magic('load_ext', 'attnwidget'); "
            "r = ip.run_cell_magic('attention', '', 'query: a b c'); print(r.scores.shape)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert "attnwidget: loading Keras" in out.stdout and "(1, 2, 3, 3)" in out.stdout
    assert "oneDNN" not in out.stderr and "absl" not in out.stderr and "cuda" not in out.stderr.lower()


BAD = [
    ("kind: globl\nquery: a", "", "kind: expected one of global | cross | causal | base | encoder | decoder | transformer, got 'globl'"),
    ("num_head: 2\nquery: a", "", "num_head: unknown key (did you mean 'num_heads'?)"),
    ("key_dims: 2\nquery: a", "", "key_dims: unknown key (did you mean 'key_dim'?)"),
    ("num_heads: two\nquery: a", "", "num_heads: expected a positive integer, got 'two'"),
    ("num_heads: 0\nquery: a", "", "num_heads: expected a positive integer, got 0"),
    ("key_dim: 1.5\nquery: a", "", "key_dim: expected a positive integer, got 1.5"),
    ("query: a\nkey_dim: [2", "", "cell body: YAML syntax error at line 2"),
    ("query: $nowhere", "", "query: $nowhere is not defined"),
    ("query: $source", "--kind global --heads 2 --context $target", "context: kind 'global' is self-attention and takes no context"),
    ("kind: global\nquery: $rank4", "", "query: expected an array of rank 2 (T, D) or 3 (B, T, D), got shape (1, 1, 2, 2)"),
    ("kind: global\nquery: ''", "", "query: expected a text, tokens or an array; got nothing (an empty query)"),
    ("", "", "%%attention is a cell magic, but the cell body is empty"),  # IPython's own line
    ("# only a comment", "", "query: expected a text, tokens or an array; got nothing (an empty query)"),
    ("kind: cross\nquery: a b", "", "context: kind 'cross' needs a context to attend to"),
    ("query: $long", "", "query: the text has 600 tokens, more than max_tokens (512); raise it with 'max_tokens: 600' or --max-tokens 600"),
    ("query: a\nquery: b", "", "query: given twice (line 2)"),
    ("query: a", "--heads 2 --heads 3", "--heads: given twice on the line"),
    ("query: a", "-o 2bad", "-o: expected a Python name to bind the result to, got '2bad'"),
    ("query: a\ndevice: tpu", "", "device: expected auto | cpu | gpu | gpu:N, got 'tpu'"),
    ("query: a\ndevice: gpu", "", "device: 'gpu' asked for a GPU but none is visible to Keras"),
    ("query: a\nview: table", "", "view: expected one of graph | matrix | heads | explain | model, got 'table'"),
    ("- a\n- b", "", "cell body: expected 'key: value' lines (a YAML mapping), got a list"),
    ("query: a\nlayer: $source", "", "layer: expected a Keras attention layer, got ndarray"),
]


@pytest.mark.parametrize("body, line, message", BAD, ids=[m.split(":")[0] + str(i) for i, (_, _, m) in enumerate(BAD)])
def test_bad_input_is_one_exact_usage_error_and_keeps_the_old_result(ip, ns, body, line, message):
    if "device: gpu" in body:
        from attnwidget import backend
        if backend.gpu_count(backend.load_keras(None)):
            pytest.skip("a GPU is visible on this machine, so 'device: gpu' is valid here")
    ns["rank4"] = np.zeros((1, 1, 2, 2), "float32")
    ns["long"] = "w " * 600
    sentinel = object()
    ns["kept"] = sentinel
    out_line = line if "-o" in line else f"-o kept {line}".strip()
    err = run_error(ip, f"%%attention {out_line}\n{body}")
    assert type(err) is UsageError  # exactly: a subclass would print a traceback
    assert str(err).startswith(message), str(err)
    assert "\n" not in str(err)
    assert ns["kept"] is sentinel
