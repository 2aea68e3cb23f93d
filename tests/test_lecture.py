"""Issue #16 on the Python side: the magic's help, --scale and the ambiguous --select line; one colour scale for
the model view; a static copy's explain table packed; the small output that keeps the live view's last state."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest
from IPython.core.error import UsageError
from IPython.utils.capture import capture_output

import attnwidget
from attnwidget import config as C
from attnwidget import export
from attnwidget.magic import AttentionMagics, select_note
from attnwidget.overview import overview
from attnwidget.widget import AttentionWidget
from conftest import IT_SENTENCE, shown_in_notebook


def test_help_lists_every_option_in_both_spellings():
    doc = AttentionMagics.attention.__doc__
    for key in C.KEYS:
        assert f"--{key.replace('_', '-')}" in doc, key
        if "_" in key:
            assert f"--{key}" in doc, key
    for extra in ("-o NAME", "--html", "--heads"):
        assert extra in doc


def test_every_key_is_an_option_of_the_magic(ip):
    parser = AttentionMagics.attention.parser
    dests = {a.dest for a in parser._actions}  # noqa: SLF001 - the parser is the contract here
    assert set(C.KEYS) <= dests, set(C.KEYS) - dests


def test_an_ambiguous_select_says_which_it_took_and_how_to_pick_another(ip, capsys):
    res = ip.run_cell_magic("attention", "--select the", "num_heads: 2\nkey_dim: 8\nquery: the animal didn't cross the street")
    out = capsys.readouterr().out
    assert res.selected == 0
    assert "select: 'the' occurs 2 times; pinned the first (index 0); the#2 or select: 4 picks another" in out
    res2 = ip.run_cell_magic("attention", "--select the#2", "num_heads: 2\nkey_dim: 8\nquery: the animal didn't cross the street")
    assert res2.selected == 4 and "occurs" not in capsys.readouterr().out
    assert select_note("it", 7, IT_SENTENCE.split()) is None  # once only: nothing to say
    assert select_note(3, 3, ["a", "a", "a", "a"]) is None  # an index is not ambiguous


def test_scale_option_sizes_the_widget(ip):
    res = ip.run_cell_magic("attention", "--scale 1.75", "num_heads: 2\nkey_dim: 8\nquery: a b c")
    assert res.widget.scale == 1.75
    assert ip.run_cell_magic("attention", "", "num_heads: 2\nkey_dim: 8\nquery: a b c").widget.scale == 1.0
    with pytest.raises(UsageError, match="scale: expected a number from 0.5 to 4"):
        ip.run_cell_magic("attention", "--scale 9", "num_heads: 2\nkey_dim: 8\nquery: a b c")


def test_model_view_thumbnails_share_one_colour_scale():
    rng = np.random.default_rng(0)
    sharp = np.eye(6, dtype="float32")[None, None].repeat(2, 1)  # max 1.0
    soft = rng.dirichlet(np.ones(6), size=(1, 2, 6)).astype("float32") / 3  # rows sum to 1/3: max about 0.3
    ov = overview([sharp, soft], 0, ["sharp", "soft"], ["self", "self"])
    assert {(l["lo"], l["hi"]) for l in ov["layers"]} == {(0.0, 1.0)}
    q = np.frombuffer(ov["q"], np.uint8)
    soft_bytes = q[ov["layers"][1]["offset"]:ov["layers"][1]["mean_offset"]]
    assert soft_bytes.max() <= round(float(soft.max()) * 255) + 1  # a layer with max 0.3 is not drawn as dark as one with max 1
    diff = overview([sharp - 0.2, soft], 0, ["d", "s"], ["self", "self"])
    lo, hi = diff["layers"][0]["lo"], diff["layers"][0]["hi"]
    assert lo == -hi and all(l["lo"] == lo for l in diff["layers"])


def test_static_copy_carries_the_explain_table_packed():
    res = attnwidget.attention(kind="global", num_heads=8, key_dim=64, query=IT_SENTENCE, select="it")
    state = export.static_state(res.widget)
    table = state["_explain_table"]
    assert len(table) == 8 * 11 and state["_explain_packed"] is True
    assert all(set(e) & set(export.DERIVED) == set() for e in table.values())
    full = res.widget.explain_table()
    packed = sum(len(v) for e in table.values() for v in e.values() if isinstance(v, bytes))
    whole = sum(len(v) for e in full.values() for k, v in e.items() if isinstance(v, bytes) and k != "V")
    assert packed < 0.6 * whole, (packed, whole)
    assert state["_explain"]["weights"]  # the pinned query's entry stays whole


_shown = shown_in_notebook


def _ui(output) -> dict:
    return json.loads(re.search(r">(\{.*\})</script>", output.data["text/html"]).group(1))


def test_hiding_keys_rewrites_the_static_copy_where_it_was_shown(ip, monkeypatch):
    """hidden_keys changes the weights, which the small output of UI traits does not carry: the static copy
    (what a saved notebook reopens and exports) is written again, with the renormalised weights."""
    from IPython.utils.capture import capture_output

    x = np.exp(np.random.default_rng(0).standard_normal((1, 2, 4, 4)))
    w = AttentionWidget((x / x.sum(-1, keepdims=True)).astype("float32"), ["<s>", "a", "b", "c"])
    copy = _shown(monkeypatch, w)[1]
    assert copy.transient == {"display_id": f"aw-copy-{w._uid}"}
    with capture_output() as cap:
        w.hidden_keys = [0]
    updates = [o for o in cap.outputs if o.update and o.transient == {"display_id": f"aw-copy-{w._uid}"}]
    assert len(updates) == 1
    state = json.loads(re.search(r'class="aw-state">(.*?)</script>', updates[0].data["text/html"]).group(1))
    assert state["hidden_keys"] == [0]
    assert state["_data"]["head_max"] == w._data["head_max"] != json.loads(
        re.search(r'class="aw-state">(.*?)</script>', copy.data["text/html"]).group(1))["_data"]["head_max"]


def test_display_writes_the_live_views_state_first_and_keeps_it_current(ip, monkeypatch):
    w = AttentionWidget(np.full((1, 2, 3, 3), 1 / 3, "float32"), ["a", "b", "c"])
    outputs = _shown(monkeypatch, w)
    assert len(outputs) == 3
    ui = outputs[0]
    assert ui.transient == {"display_id": f"aw-ui-{w._uid}"} and ui.data["text/plain"] == ""
    assert _ui(ui) == {k: getattr(w, k) for k in export.UI_TRAITS}
    assert "aw-state" in outputs[1].data["text/html"]
    w._ui_record.delay = 0.2
    with capture_output() as cap:
        w._ui_record._last = 0  # after a quiet spell: written at once, in the cell that changed it
        w.view = "matrix"
        w.heads = [1]
        w.selected_query = 2
        w.scale = 1.5
        w.color_max = True
        import time

        time.sleep(0.5)  # the changes that followed are written together
    updates = [o for o in cap.outputs if o.update]
    assert len(updates) == 2, [_ui(o) for o in updates]
    assert _ui(updates[0])["view"] == "matrix"
    last = _ui(updates[-1])
    assert (last["view"], last["heads"], last["head"], last["selected_query"], last["scale"], last["color_max"]) == \
        ("matrix", [1], 0, 2, 1.5, True)
    assert all(o.transient == {"display_id": f"aw-ui-{w._uid}"} for o in updates)
