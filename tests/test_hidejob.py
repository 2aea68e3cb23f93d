"""The browser's hide boxes ask Python for keys hidden (hidejob.py): the pass over queries and keys runs in a
thread of its own, so the widget hears the next request meanwhile, which stops it; the keys and the data come
together, and a pin meanwhile reads the keys shown. Through the widget's own message handler where it matters."""

from __future__ import annotations

import logging
import threading
import time

import numpy as np
import pytest

from attnwidget import AttentionWidget, blockwise, hide, protocol
from conftest import record
from test_blockwise import qk

T = 2048


@pytest.fixture
def widget(small_tiles):
    q, k = qk(4, T, T, d=16, seed=3)
    return AttentionWidget.from_qk(q, k, [f"t{i}" for i in range(T)])


def synchronous(widget, keys):
    """The same widget's payloads with ``keys`` hidden the synchronous way (Python's own setter)."""
    other = AttentionWidget(widget.scores, widget.query_tokens)
    other.hidden_keys = keys
    return other


def test_a_request_returns_at_once_and_its_pass_sets_the_keys_and_the_data_together(widget):
    before, seen = dict(widget._data), record(widget, "hidden_keys", "_data", "_hide_done")
    t0 = time.perf_counter()
    thread = widget._hide_requests.ask([0], 5)
    asked = time.perf_counter() - t0
    assert thread is not None and thread.is_alive() and asked < 0.1, asked
    assert widget._data == before and widget.hidden_keys == []  # nothing yet: the keys shown are still none
    thread.join(60)
    want = synchronous(widget, [0])
    assert widget.hidden_keys == [0] and widget._data == want._data and widget._hide_done == 5 and widget._progress is None
    names = [n for n, _ in seen]
    assert sorted(names[:-1]) == ["_data", "hidden_keys"] and names[-1] == "_hide_done", names  # settled last


def test_a_newer_request_stops_the_running_pass_and_settles_alone(widget, tallies):
    started = threading.Event()
    widget.observe(lambda c: c["new"] is not None and started.set(), "_progress")
    before, seen = dict(widget._data), record(widget, "hidden_keys", "_data", "_hide_done")
    first = widget._hide_requests.ask([0], 1)
    assert started.wait(30)
    assert widget._hide_requests.ask([], 2) is None  # nothing hidden: the summary in hand, settled at once
    first.join(60)
    assert widget.hidden_keys == [] and widget._data == before and widget._progress is None
    assert seen == [("_hide_done", 2)], seen  # the stopped request changed nothing and settled nothing
    blockwise.summarize_qk(widget.scores.q[0], widget.scores.k[0])  # the same pass, whole
    stopped, whole = (sum(t.done) for t in tallies[-2:])
    assert 0 < stopped < whole / 2, (stopped, whole)


def test_a_pin_during_a_pass_reads_the_keys_shown_then_the_new_ones(widget):
    started = threading.Event()
    widget.observe(lambda c: c["new"] is not None and started.set(), "_progress")
    thread = widget._hide_requests.ask([0], 1)
    assert started.wait(30)
    t0 = time.perf_counter()
    widget.selected_query = 700
    pinned = time.perf_counter() - t0
    row = np.frombuffer(widget._exact["row"], "<f4").reshape(4, T)
    np.testing.assert_allclose(row, widget.scores[0][:, 700, :], rtol=1e-6)  # no key hidden yet
    assert thread.is_alive() and pinned < 0.5, pinned  # it did not wait for the pass
    thread.join(60)
    row = np.frombuffer(widget._exact["row"], "<f4").reshape(4, T)
    want = hide.shown_rows(widget.scores[0], [0])[:, 700, :]
    assert row[:, 0].max() == 0
    np.testing.assert_allclose(row, want, rtol=1e-6)


def test_through_the_widgets_message_handler_and_for_weights_in_hand(widget):
    widget._handle_custom_msg({"hide_keys": [3], "id": 11}, [])
    deadline = time.monotonic() + 60
    while widget._hide_done != 11:
        assert time.monotonic() < deadline
        time.sleep(0.01)
    assert widget.hidden_keys == [3]
    dense = AttentionWidget(np.full((1, 2, 4, 4), 0.25, np.float32), list("abcd"))
    assert dense._hide_requests.ask([1], 4) is None  # weights in hand: renormalised at once
    assert dense.hidden_keys == [1] and dense._hide_done == 4
    assert "_hide_done" in protocol.SCHEMA["traits"]


def test_a_refused_or_failed_request_is_settled_and_changes_nothing(widget, monkeypatch, caplog):
    before = dict(widget._data)
    with caplog.at_level(logging.WARNING, logger="attnwidget"):
        assert widget._hide_requests.ask([T + 5], 3) is None
    assert widget._hide_done == 3 and widget.hidden_keys == [] and f"expected key indices in 0..{T - 1}" in caplog.text
    assert widget._hide_error == f"hidden_keys: expected key indices in 0..{T - 1}, got {T + 5}"  # the views' notice

    def fail(self, *a):
        raise MemoryError("out of memory")

    monkeypatch.setattr(blockwise._RowState, "finish", fail)
    with caplog.at_level(logging.ERROR, logger="attnwidget"):
        widget._hide_requests.ask([0], 4).join(60)
    assert widget._hide_done == 4 and widget.hidden_keys == [] and widget._data == before and widget._progress is None
    assert "hiding key 0 failed: MemoryError" in caplog.text and widget._hide_error == "hiding key 0 failed: MemoryError: out of memory"
    monkeypatch.undo()
    widget._hide_requests.ask([0, 7], 5).join(60)  # the next that works clears the notice
    assert widget.hidden_keys == [0, 7] and widget._hide_error == "" and widget._hide_done == 5


def test_the_static_copy_is_written_again_from_the_passs_thread(ip, monkeypatch):
    """Shown in a notebook, the view's static copy (what a saved notebook reopens) follows the keys the
    request hid, written from the pass's thread as the synchronous setter writes it."""
    import json
    import re

    from IPython.utils.capture import capture_output

    from conftest import shown_in_notebook

    widget = AttentionWidget.from_qk(*qk(2, 64, 64), [f"t{i}" for i in range(64)])  # small: its copy carries it
    copy = shown_in_notebook(monkeypatch, widget)[1]
    with capture_output() as cap:
        widget._hide_requests.ask([0], 1).join(60)
    updates = [o for o in cap.outputs if o.update and o.transient == copy.transient]
    assert len(updates) == 1
    state = json.loads(re.search(r'class="aw-state">(.*?)</script>', updates[0].data["text/html"]).group(1))
    assert state["hidden_keys"] == [0] and state["_data"]["head_max"] == widget._data["head_max"]
