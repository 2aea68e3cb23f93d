"""One result shape and one wire protocol: the layer-switch rule, the schema, select, the import graph."""

from __future__ import annotations

import ast
import dataclasses
import json
import pathlib

import numpy as np
import pytest

import attnwidget
from attnwidget import protocol
from attnwidget.config import ConfigError

ROOT = pathlib.Path(__file__).resolve().parents[1]
FIXTURE = json.loads((ROOT / "tests" / "fixtures" / "layer_switch.json").read_text())


@pytest.mark.parametrize("case", FIXTURE["cases"], ids=[c["name"] for c in FIXTURE["cases"]])
def test_layer_switch_rule_matches_the_shared_fixture(case):
    assert protocol.switch_layer(case["state"], case["from"], case["to"]) == case["expected"]


def test_fixture_schema_is_what_python_sends():
    for key, value in FIXTURE["schema"].items():
        assert protocol.SCHEMA[key] == value, key
    assert set(protocol.SCHEMA["traits"]) == set(protocol.TRAITS) - {"_schema"}


def _two_layer_widget(**kw):
    rng = np.random.default_rng(0)
    a = rng.dirichlet(np.ones(5), size=(1, 2, 5)).astype("float32")      # (1, 2, 5, 5): 2 heads
    b = rng.dirichlet(np.ones(7), size=(1, 4, 6)).astype("float32")   # (1, 4, 6, 7): 4 heads, cross
    return attnwidget.AttentionWidget([a, b], [list("abcde"), list("uvwxyz")], [list("abcde"), list("pqrstuv")], **kw)


def _layer(rng, spec):
    return rng.dirichlet(np.ones(spec["K"]), size=(1, spec["H"], spec["Q"])).astype("float32")


@pytest.mark.parametrize("case", [c for c in FIXTURE["cases"] if c["from"] != {k: v for k, v in c["to"].items() if k != "layer"}],
                         ids=lambda c: c["name"])
def test_widget_applies_the_same_rule(case):
    """The live widget, switched by Python from a layer shaped like ``from`` to one like ``to``, ends where
    the fixture says (its layers are 0 and 1, so the layer index itself is not compared)."""
    rng = np.random.default_rng(0)
    frm, to, st = case["from"], case["to"], case["state"]
    w = attnwidget.AttentionWidget(
        [_layer(rng, frm), _layer(rng, to)], [[f"q{i}" for i in range(frm["Q"])], [f"q{i}" for i in range(to["Q"])]],
        [[f"k{j}" for j in range(frm["K"])], [f"k{j}" for j in range(to["K"])]], layer_kinds=[frm["kind"], to["kind"]])
    w.heads, w.head, w.mode = st["heads"], st["head"], st["mode"]
    w.selected_query, w.selected_key = st["selected_query"], st["selected_key"]
    w.layer = 1
    got = {k: v for k, v in protocol.selection(w).items() if k != "layer"}
    assert got == {k: v for k, v in case["expected"].items() if k != "layer"}


def test_a_solo_head_survives_a_layer_switch_in_python():
    w = _two_layer_widget()
    w.heads = [1]
    w.head = 1
    w.layer = 1
    assert (w.heads, w.head, w.query_tokens, w.key_tokens) == ([1], 1, list("uvwxyz"), list("pqrstuv"))
    assert w._layers_meta[1]["H"] == 4 and w._layers_meta[1]["key_tokens"] == list("pqrstuv")


# --- select on the target text of a transformer -------------------------------------------------------

TRANSFORMER = dict(kind="transformer", num_layers=1, num_heads=2, d_model=16, query="the cat sat on it",
                   context="a macska ült")


@pytest.mark.parametrize("kind", ["transformer", "decoder"])
def test_select_names_a_target_token_and_opens_on_a_decoder_layer(kind):
    res = attnwidget.attention(**{**TRANSFORMER, "kind": kind}, select="it")
    w = res.widget
    assert res.selected == 4 and w.selected_query == 4
    assert res.record.query_tokens == ("the", "cat", "sat", "on", "it")
    assert res.record.kind in ("causal", "cross") and res.record.path.startswith("dec")
    assert w.layer == res.shown and w.query_tokens[w.selected_query] == "it"


def test_select_of_a_source_token_names_the_query_tokens():
    with pytest.raises(ConfigError) as err:
        attnwidget.attention(**TRANSFORMER, select="macska")
    assert str(err.value) == "select: 'macska' is not one of the query tokens (the, cat, sat, on, it)"


def test_select_picks_the_nth_occurrence():
    res = attnwidget.attention(kind="global", query="the cat saw the dog", select="the#2")
    assert res.selected == 3 and res.widget.selected_query == 3


def test_value_is_kerass_name_for_the_context_of_base():
    x, c = [1, 8, 16], [1, 4, 16]
    a = attnwidget.attention(kind="base", num_heads=2, key_dim=2, query=x, value=c)
    b = attnwidget.attention(kind="base", num_heads=2, key_dim=2, query=x, context=c)
    assert a.scores.shape == (1, 2, 8, 4)
    np.testing.assert_array_equal(a.scores, b.scores)
    with pytest.raises(ConfigError, match="^value: only kind 'base' takes a value"):
        attnwidget.attention(kind="cross", query=x, value=c)


def test_results_are_frozen():
    res = attnwidget.attention(kind="global", query="a b c")
    with pytest.raises(dataclasses.FrozenInstanceError):
        res.shown = 0
    with pytest.raises(dataclasses.FrozenInstanceError):
        res.config.kind = "cross"
    assert not res.scores.flags.writeable or res.records[0].scores is res.scores


# --- layers that read one way -------------------------------------------------------------------------

def _imports(path: pathlib.Path) -> set[str]:
    """attnwidget modules ``path`` imports, lazily (inside functions) or not."""
    out = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.level == 1:
            if node.module:
                out.add(node.module.split(".")[0])
            else:
                out.update(a.name for a in node.names)
    return out


def test_no_import_circle_among_the_modules():
    pkg = ROOT / "attnwidget"
    graph = {p.stem: _imports(p) & {q.stem for q in pkg.glob("*.py")} for p in pkg.glob("*.py") if p.stem != "__init__"}
    for g in graph.values():
        g.discard("__init__")

    def visit(node, stack):
        for nxt in graph.get(node, ()):
            assert nxt not in stack, f"import circle: {' → '.join([*stack, nxt])}"
            visit(nxt, [*stack, nxt])

    for start in graph:
        visit(start, [start])


def test_python_files_stay_readable():
    for p in (ROOT / "attnwidget").glob("*.py"):
        lines = p.read_text().count("\n")
        assert lines <= 320, f"{p.name}: {lines} lines"
        for node in ast.walk(ast.parse(p.read_text())):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                length = node.end_lineno - node.lineno + 1
                assert length <= 85, f"{p.name}:{node.name}: {length} lines"


def test_every_recorded_layer_of_a_model_explains_to_its_scores():
    res = attnwidget.attention(**TRANSFORMER)
    for i, r in enumerate(res.records):
        e = res.explain(2 % r.shape[2], head=1, layer=r.path)
        np.testing.assert_allclose(e.weights, r.scores[0, 1, 2 % r.shape[2]], atol=1e-5, err_msg=r.path)
        assert e.query_token == r.query_tokens[2 % r.shape[2]] and list(e.key_tokens) == list(r.key_tokens)


def test_the_api_sizes_the_widget_as_the_magic_does():
    assert attnwidget.attention(kind="global", query="a b c", scale=1.75).widget.scale == 1.75
