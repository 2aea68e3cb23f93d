"""side_by_side: several views in one row, live (an HBox) and in exports (one text/html row of static copies)."""

from __future__ import annotations

import re

import numpy as np
import pytest

from attnwidget.sidebyside import side_by_side
from attnwidget.widget import AttentionWidget
from conftest import shown_in_notebook


def _view(seed: int) -> AttentionWidget:
    w = np.random.default_rng(seed).random((1, 2, 3, 3)).astype("float32")
    return AttentionWidget(w / w.sum(-1, keepdims=True), ["a", "b", "c"])


_shown = shown_in_notebook


def test_one_row_of_static_copies_then_the_live_row(ip, monkeypatch):
    a, b = _view(0), _view(1)
    a.selected_query, b.heads = 2, [1]
    outputs = _shown(monkeypatch, side_by_side(a, b, captions=["il <b>", "elle & co"]))
    assert [o.transient for o in outputs[:2]] == [{"display_id": f"aw-ui-{a._uid}"}, {"display_id": f"aw-ui-{b._uid}"}]
    row = outputs[2].data["text/html"]
    # both copies in one flex row, each tied to its live view, in order, captions as text
    assert re.findall(r'class="attnwidget-static" id="[^"]+" data-aw-uid="([^"]+)"', row) == [a._uid, b._uid]
    assert row.startswith('<div class="aw-row" style="display:flex')
    assert re.findall(r"<figcaption[^>]*>(.*?)</figcaption>", row) == ["il &lt;b&gt;", "elle &amp; co"]
    live = outputs[3].data
    assert live["text/plain"] == "" and "application/vnd.jupyter.widget-view+json" in live


def test_the_live_row_holds_the_views_and_their_captions():
    a, b = _view(0), _view(1)
    box = side_by_side(a, b, captions=["left", "right"]).box()
    cells = box.children
    assert [c.children[0] for c in cells] == [a, b]
    assert [c.children[1].value for c in cells] == ["left", "right"]


def test_bad_arguments_are_one_line_value_errors():
    with pytest.raises(ValueError, match=r"^widgets: expected one or more AttentionWidget or AttentionResult$"):
        side_by_side()
    with pytest.raises(ValueError, match=r"^widgets: expected"):
        side_by_side(_view(0), "not a view")
    with pytest.raises(ValueError, match=r"^captions: expected 2 strings, one per view, got \['only one'\]$"):
        side_by_side(_view(0), _view(1), captions=["only one"])


def test_the_row_carries_the_front_end_once():
    """The first copy carries the bundle and stylesheet; the others name their hashes and load them from it."""
    from attnwidget import export

    views = [_view(0), _view(1), _view(2)]
    row = side_by_side(*views).static_html()
    single = export.fragment(views[0])
    assert row.count('class="aw-bundle"') == 1 and row.count('class="aw-css"') == 1
    hashes = re.findall(r'data-aw-bundle="([0-9a-f]+)" data-aw-css="([0-9a-f]+|none)"', row)
    assert len(hashes) == 3 and len(set(hashes)) == 1
    bundle = re.search(r'class="aw-bundle" data-hash="([0-9a-f]+)"', row).group(1)
    assert hashes[0][0] == bundle
    assert len(row) < len(single) + 2 * (len(single) - len(export.asset("widget.js")[0])) + 2000


def test_a_copy_too_big_to_carry_passes_the_front_end_on(monkeypatch):
    """A view over the static limit is a note: the next copy carries the front end instead."""
    from attnwidget import export

    w = np.random.default_rng(3).random((1, 2, 6, 6)).astype("float32")
    big, small = AttentionWidget(w / w.sum(-1, keepdims=True), list("abcdef")), _view(1)  # 72 and 18 weights
    monkeypatch.setattr(export, "STATIC_MAX_WEIGHTS", 50)
    first, second = side_by_side(big, small).static_html().split("<figure")[1:]
    assert "more than a static copy carries" in first and 'class="aw-bundle"' not in first
    assert second.count('class="aw-bundle"') == 1 and second.count('class="aw-css"') == 1


def test_hiding_keys_in_a_view_rewrites_the_row_it_was_shown_in(ip, monkeypatch):
    """The row is the static copy (what a saved notebook reopens and exports): a view's ``hidden_keys`` write
    it again, with that view's renormalised weights and the other view as it was."""
    import json

    from IPython.utils.capture import capture_output

    a, b = _view(0), _view(1)
    row = _shown(monkeypatch, side_by_side(a, b, captions=["a", "b"]))[2]
    assert row.transient["display_id"].startswith("aw-row-")
    with capture_output() as cap:
        b.hidden_keys = [0]
    updates = [o for o in cap.outputs if o.update]
    assert [o.transient for o in updates] == [row.transient]
    states = [json.loads(s) for s in re.findall(r'class="aw-state">(.*?)</script>', updates[0].data["text/html"])]
    assert [s["hidden_keys"] for s in states] == [[], [0]]
    assert states[1]["_data"]["head_max"] == b._data["head_max"]
    assert "aw-bundle" in updates[0].data["text/html"] and re.findall(r"<figcaption[^>]*>(.*?)</figcaption>",
                                                                       updates[0].data["text/html"]) == ["a", "b"]
