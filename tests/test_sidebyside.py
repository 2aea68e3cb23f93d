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
