"""The batch picker asks Python for another batch item (batchjob.py): in a layer from queries and keys the
item's tile pass runs in a thread of its own, so the widget hears the picker's next choice meanwhile, which
stops it; ``batch`` and the item's data come together. Through the widget's own message handler where it
matters."""

from __future__ import annotations

import logging
import threading
import time

import numpy as np
import pytest

from attnwidget import AttentionWidget, batchjob, blockwise, hidejob, protocol, qkscores
from conftest import record
from test_blockwise import qk

T = 2048


@pytest.fixture
def widget(small_tiles):
    (q0, k0), (q1, k1) = qk(4, T, T, d=16, seed=3), qk(4, T, T, d=16, seed=4)
    return AttentionWidget.from_qk(np.stack([q0, q1]), np.stack([k0, k1]), [f"t{i}" for i in range(T)])


def synchronous(widget, b, hidden=()):
    """The same widget's payloads for item ``b`` made the synchronous way (Python's own setter)."""
    other = AttentionWidget(widget.scores, widget.query_tokens)
    other.hidden_keys = list(hidden)
    other.batch = b
    return other


def started(widget) -> threading.Event:
    ev = threading.Event()
    widget.observe(lambda c: c["new"] is not None and ev.set(), "_batch_progress")
    return ev


def test_a_request_returns_at_once_and_its_pass_sets_the_item_and_its_data_together(widget):
    before, seen = dict(widget._data), record(widget, "batch", "_data", "_batch_done")
    t0 = time.perf_counter()
    thread = widget._batch_requests.ask(1, 5)
    asked = time.perf_counter() - t0
    assert thread is not None and thread.is_alive() and asked < 0.1, asked
    assert widget._data == before and widget.batch == 0  # nothing yet: item 0 is still shown
    thread.join(60)
    want = synchronous(widget, 1)
    assert widget.batch == 1 and widget._data == want._data and widget._overview == want._overview
    assert widget._batch_done == 5 and widget._batch_error == "" and widget._batch_progress is widget._progress is None
    names = [n for n, _ in seen]
    assert sorted(names[:-1]) == ["_data", "batch"] and names[-1] == "_batch_done", names  # settled last
    # item 1 is made now: asked again later, it needs no pass
    assert widget._batch_requests.ask(0, 6) is None and widget._batch_requests.ask(1, 7) is None
    assert widget.batch == 1 and widget._batch_done == 7


def test_the_picker_back_on_the_item_shown_stops_the_pass_and_settles_alone(widget, tallies):
    go = started(widget)
    before, seen = dict(widget._data), record(widget, "batch", "_data", "_batch_done")
    first = widget._batch_requests.ask(1, 1)
    assert go.wait(30)
    assert widget._batch_requests.ask(0, 2) is None  # the item shown: nothing to make, settled at once
    first.join(60)
    assert widget.batch == 0 and widget._data == before and widget._batch_progress is widget._progress is None
    assert seen == [("_batch_done", 2)], seen  # the stopped request changed nothing and settled nothing
    assert not widget.scores.has_summary(1)
    blockwise.summarize_qk(widget.scores.q[1], widget.scores.k[1])  # the same pass, whole
    stopped, whole = (sum(t.done) for t in tallies[-2:])
    assert 0 < stopped < whole / 2, (stopped, whole)


def test_with_keys_hidden_the_item_comes_with_them_hidden(widget):
    widget.hidden_keys = [0, 9]
    widget._batch_requests.ask(1, 3).join(60)
    want = synchronous(widget, 1, [0, 9])
    assert widget.batch == 1 and widget._data == want._data and widget.hidden_keys == [0, 9]


def test_through_the_widgets_message_handler_and_for_weights_in_hand(widget):
    widget._handle_custom_msg({"batch": 1, "id": 11}, [])
    deadline = time.monotonic() + 60
    while widget._batch_done != 11:
        assert time.monotonic() < deadline
        time.sleep(0.01)
    assert widget.batch == 1
    dense = AttentionWidget(np.full((2, 2, 4, 4), 0.25, np.float32), list("abcd"))
    assert dense._batch_requests.ask(1, 4) is None  # weights in hand: at once
    assert dense.batch == 1 and dense._batch_done == 4
    assert {"_batch_done", "_batch_error"} <= set(protocol.SCHEMA["traits"])


def test_a_refused_or_failed_request_is_settled_and_changes_nothing(widget, monkeypatch, caplog):
    before = dict(widget._data)
    for bad in (2, -1, True, "1"):
        with caplog.at_level(logging.WARNING, logger="attnwidget"):
            assert widget._batch_requests.ask(bad, 3) is None
        assert widget._batch_done == 3 and widget.batch == 0
        assert widget._batch_error == f"batch: expected an item in 0..1, got {bad!r}"  # the views' notice
        widget._batch_done = -1

    def fail(self, *a):
        raise MemoryError("out of memory")

    monkeypatch.setattr(blockwise._RowState, "finish", fail)
    with caplog.at_level(logging.ERROR, logger="attnwidget"):
        widget._batch_requests.ask(1, 4).join(60)
    assert widget._batch_done == 4 and widget.batch == 0 and widget._data == before
    assert widget._batch_progress is widget._progress is None
    assert "batch item 1 failed: MemoryError" in caplog.text and widget._batch_error == "batch item 1 failed: MemoryError: out of memory"
    monkeypatch.undo()
    widget._batch_requests.ask(1, 5).join(60)  # the next that works clears the notice
    assert widget.batch == 1 and widget._batch_error == "" and widget._batch_done == 5


def test_keys_hidden_during_the_pass_are_made_in_it_not_while_the_item_is_applied(widget, monkeypatch):
    """Keys hidden while the picker's pass runs (here at its end, as a hide request's thread may): the pass goes
    on for item 1 with them, reported in ``_batch_progress``, so applying the item makes nothing under the
    widget's lock (a pin or a cell's message would wait for it); the hide's own pass reports in ``_progress``."""
    work, made = batchjob.BatchRequests.work, []

    def work_then_hide(self, b):
        work(self, b)
        if not self.widget.hidden_keys:
            self.widget.hidden_keys = [0]  # Python's setter: item 0 with key 0 hidden, made at once

    def spy(self, b):
        if not self.has_summary(b):
            made.append((b, widget._lock._is_owned()))  # an RLock: held by the thread making it
        return summary(self, b)

    summary = qkscores.QKScores.summary
    monkeypatch.setattr(batchjob.BatchRequests, "work", work_then_hide)
    monkeypatch.setattr(qkscores.QKScores, "summary", spy)
    sent = {"_progress": [], "_batch_progress": []}
    for name, out in sent.items():
        widget.observe(lambda c, out=out: out.append(c["new"]), name)
    widget._batch_requests.ask(1, 1).join(60)
    assert [b for b, _ in made] == [1, 0, 1] and not any(held for b, held in made if b == 1), made
    assert widget.batch == 1 and widget.hidden_keys == [0] and widget._batch_done == 1 and widget._batch_error == ""
    assert widget._data == synchronous(widget, 1, [0])._data
    for name, got in sent.items():  # the picker's passes in its trait, the setter's in _progress
        assert any(x is not None for x in got) and got[-1] is None, (name, got)


def test_an_item_shown_during_a_hide_pass_gets_the_keys_hidden_in_that_pass(widget, monkeypatch):
    """The other way round: another item shown while a hide request's pass runs; that pass goes on for the
    item, so hiding the keys then makes nothing under the lock."""
    work, made = hidejob.HideRequests.work, []

    def work_then_pick(self, keys):
        work(self, keys)
        if self.widget.batch == 0:
            self.widget.batch = 1  # Python's setter: item 1 without hidden keys, made at once

    def spy(self, b):
        if not self.has_summary(b):
            made.append((b, widget._lock._is_owned()))
        return summary(self, b)

    summary = qkscores.QKScores.summary
    monkeypatch.setattr(hidejob.HideRequests, "work", work_then_pick)
    monkeypatch.setattr(qkscores.QKScores, "summary", spy)
    widget._hide_requests.ask([0, 9], 4).join(60)
    assert [b for b, _ in made] == [0, 1, 1] and not made[-1][1], made  # item 1 with 0 and 9 hidden: in the pass
    assert widget.batch == 1 and widget.hidden_keys == [0, 9] and widget._hide_done == 4 and widget._hide_error == ""
    assert widget._data == synchronous(widget, 1, [0, 9])._data
