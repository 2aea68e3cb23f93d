"""Before a pin, the explain view's rows show each key's value vector: a live widget sends the shown head's V
(``_explain_values``: float32 bytes keyed by head, with ``_explain_for`` = [layer, batch]) while the explain
view shows, the same for every query, so a pin does not send it again; a static copy carries every head's."""

from __future__ import annotations

import numpy as np

import attnwidget
from attnwidget import AttentionWidget, protocol


def values(w, hd: int, shape) -> np.ndarray:
    return np.frombuffer(w._explain_values[str(hd)], "<f4").reshape(shape)


def test_the_shown_heads_values_while_the_explain_view_shows():
    res = attnwidget.attention(kind="cross", num_heads=3, key_dim=4, value_dim=5, query=[2, 8, 16], context=[2, 4, 16])
    w = res.widget
    assert w._explain_values == {}  # the graph view: nothing made
    w.view = "explain"
    np.testing.assert_array_equal(values(w, 0, (4, 5)), res.explain(0, 0, 0).V.astype(np.float32))
    assert w._explain_for == [0, 0]
    w.head, w.batch = 2, 1
    assert list(w._explain_values) == ["2"] and w._explain_for == [0, 1]
    np.testing.assert_array_equal(values(w, 2, (4, 5)), res.explain(6, 2, 1).V.astype(np.float32))  # any query's: V is the keys'
    sent = w._explain_values
    w.selected_query = 3
    assert w._explain_values is sent and w._explain["query"] == 3  # a pin sends its numbers, not V again
    w.head = 1  # pinned: V taken from the pin's numbers, not computed again
    assert list(w._explain_values) == ["1"] and w._explain_values["1"] == w._explain["V"]
    np.testing.assert_array_equal(values(w, 1, (4, 5)), res.explain(3, 1, 1).V.astype(np.float32))
    state = protocol.snapshot(w)  # a static copy: every head's, of the layer and batch shown
    assert sorted(state["_explain_values"]) == ["0", "1", "2"] and state["_explain_for"] == [0, 1]


def test_none_where_there_are_no_values_or_too_many(monkeypatch):
    bare = AttentionWidget(np.full((1, 2, 3, 3), 1 / 3, np.float32), list("abc"), view="explain")
    assert bare._explain_values == {}
    monkeypatch.setattr(protocol, "EXPLAIN_MAX_BYTES", 4 * 4 * 5 - 1)  # one float short of a head's V
    res = attnwidget.attention(kind="cross", num_heads=1, key_dim=4, value_dim=5, query=[1, 3, 8], context=[1, 4, 8], view="explain")
    assert res.widget._explain_values == {}
