"""A tile pass over queries and keys says how far it is (progress.py), and a widget hiding a key sends that
to the browser (``_progress``), then None: the hide box's label shows the share (js/hidekeys.js)."""

from __future__ import annotations

import numpy as np
import pytest

from attnwidget import AttentionWidget, blockwise, blockwise_ops, progress
from test_blockwise import padded, qk

CASES = {  # (Q, K, causal, mask): tile counts differ with each
    "random": (300, 300, False, None),
    "causal": (260, 260, True, None),
    "padded": (257, 400, False, padded(400, 150)),
}


def shares_of(run) -> list[float]:
    got: list[float] = []
    with progress.listening(got.append):
        run()
    return got


def fail_late(monkeypatch):
    """Tile passes from now on run out of memory after a few blocks of rows; returns the real step to put back."""
    real, calls = blockwise._RowState.finish, []

    def finish(self, *a):
        calls.append(1)
        if len(calls) > 3:
            raise MemoryError("out of memory")
        return real(self, *a)

    monkeypatch.setattr(blockwise._RowState, "finish", finish)
    return real


@pytest.mark.parametrize("case", list(CASES))
def test_numpy_pass_reports_a_growing_share_that_ends_at_exactly_one(case, monkeypatch):
    """The share is the key tiles scanned over those there are (_Plan.tile_count): ending at 1.0 exactly,
    not short of it or past it, means the count matches the scan, causal and padded tiles skipped."""
    monkeypatch.setattr(blockwise, "TILE", 1 << 10)  # hundreds of tiles a head
    monkeypatch.setattr(progress, "POLL_S", 0.001)
    nq, nk, causal, mask = CASES[case]
    q, k = qk(3, nq, nk)
    got = shares_of(lambda: blockwise.summarize_qk(q, k, causal=causal, mask=mask))
    assert got and got == sorted(got) and got[-1] == 1.0 and got[0] >= 0, got


@pytest.mark.parametrize("case", list(CASES))
def test_keras_pass_reports_each_tile_of_rows(case, monkeypatch):
    """The Keras ops path reports after each tile of rows, weighted by the keys it reads (causal: more
    further down), so the shares grow strictly and the last is 1.0."""
    monkeypatch.setattr(blockwise_ops, "TILE_BYTES", 4 * 3 * 400 * 16)
    nq, nk, causal, mask = CASES[case]
    q, k = qk(3, nq, nk)
    got = shares_of(lambda: blockwise_ops.summarize_qk_keras(q, k, causal=causal, mask=mask))
    assert len(got) >= 5 and all(a < b for a, b in zip(got, got[1:])) and got[-1] == 1.0, got
    if causal:  # the first rows read fewer keys: less than their share of the rows
        assert got[0] < 1 / len(got)


def test_with_nobody_listening_the_pass_counts_nothing(monkeypatch):
    def boom(self):
        raise AssertionError("tile_count asked with nobody listening")

    monkeypatch.setattr(blockwise._Plan, "tile_count", boom)
    q, k = qk(2, 40, 40)
    blockwise.summarize_qk(q, k)


def test_hiding_a_key_sends_the_share_done_then_none(monkeypatch):
    """``_progress`` follows the hiding pass in order, then goes back to None; a layer of weights (no pass)
    and a pass shorter than SEND_S send nothing."""
    monkeypatch.setattr(blockwise, "TILE", 1 << 10)
    monkeypatch.setattr(progress, "POLL_S", 0.001)
    q, k = qk(2, 300, 300)
    widget = AttentionWidget.from_qk(q, k, [f"t{i}" for i in range(300)])
    sent: list = []
    widget.observe(lambda c: sent.append(c["new"]), "_progress")

    monkeypatch.setattr(progress, "SEND_S", 0.0)
    widget.hidden_keys = [0]
    assert len(sent) >= 2 and sent[-1] is None and widget._progress is None, sent
    shares = sent[:-1]
    assert shares == sorted(shares) and shares[-1] == 1.0 and all(0 <= s <= 1 for s in shares), sent

    sent.clear()
    monkeypatch.setattr(progress, "SEND_S", 60.0)
    widget.hidden_keys = [1]
    assert sent == [] and widget._progress is None

    dense = AttentionWidget(np.full((1, 1, 4, 4), 0.25, np.float32), list("abcd"))
    dense.observe(lambda c: sent.append(c["new"]), "_progress")
    monkeypatch.setattr(progress, "SEND_S", 0.0)
    dense.hidden_keys = [0]
    assert sent == [] and dense._progress is None


def test_a_failed_pass_changes_nothing_and_leaves_no_share_behind(monkeypatch):
    """A pass that fails half way sends nothing: ``hidden_keys`` is put back (the browser's box unticks),
    the data stays the old keys', and ``_progress`` is None (the label stops saying it computes)."""
    monkeypatch.setattr(blockwise, "TILE", 1 << 10)
    monkeypatch.setattr(progress, "POLL_S", 0.001)
    monkeypatch.setattr(progress, "SEND_S", 0.0)
    q, k = qk(2, 300, 300)
    widget = AttentionWidget.from_qk(q, k, [f"t{i}" for i in range(300)])
    real = fail_late(monkeypatch)
    before, sent = dict(widget._data), []
    widget.observe(lambda c: sent.append(c["name"]), ["_data", "_exact", "_overview"])
    with pytest.raises(MemoryError):
        widget.hidden_keys = [0]
    assert widget._progress is None and widget.hidden_keys == [] and widget._data == before and sent == []
    monkeypatch.setattr(blockwise._RowState, "finish", real)
    widget.hidden_keys = [0]  # the same keys again: a whole pass this time
    assert widget.hidden_keys == [0] and widget._data != before and "_data" in sent


def test_an_interrupt_stops_the_pass_puts_the_keys_back_and_sends_nothing(monkeypatch, tallies):
    """KeyboardInterrupt (the notebook's stop button) raised in the kernel's thread while the heads are
    scanned: the heads stop at their next tile instead of finishing, ``hidden_keys`` goes back (the browser's
    box unticks), no payload is sent and ``_progress`` is None. Raised here from a ``_progress`` observer,
    in the thread and at the place where a SIGINT lands (progress.follow's wait)."""
    monkeypatch.setattr(blockwise, "TILE", 1 << 10)
    monkeypatch.setattr(progress, "POLL_S", 0.001)
    monkeypatch.setattr(progress, "SEND_S", 0.0)
    q, k = qk(4, 600, 600)
    widget = AttentionWidget.from_qk(q, k, [f"t{i}" for i in range(600)])
    before, sent = dict(widget._data), []

    def interrupt(change):
        if change["new"] is not None and change["new"] > 0.05:
            raise KeyboardInterrupt

    widget.observe(interrupt, "_progress")
    widget.observe(lambda c: sent.append(c["name"]), ["_data", "_exact", "_overview"])
    with pytest.raises(KeyboardInterrupt):
        widget.hidden_keys = [3]
    assert widget.hidden_keys == [] and widget._data == before and sent == [] and widget._progress is None
    blockwise.summarize_qk(q, k)  # the same pass, whole (one key masked skips no tile)
    stopped, whole = (sum(t.done) for t in tallies[-2:])
    assert 0 < stopped < whole / 2, (stopped, whole)


def test_another_batch_item_shows_its_pass_and_a_failed_one_puts_the_item_back(monkeypatch):
    """A batch item of a layer from queries and keys is a tile pass of its own: ``_progress`` follows it (the
    batch picker's label, js/busy.js), then None; a pass that fails half way puts ``batch`` back, sends no
    payload and leaves the data the old item's, and the same item asked again is made whole."""
    monkeypatch.setattr(blockwise, "TILE", 1 << 10)
    monkeypatch.setattr(progress, "POLL_S", 0.001)
    monkeypatch.setattr(progress, "SEND_S", 0.0)
    q, k = qk(2, 300, 300)
    widget = AttentionWidget.from_qk(np.stack([q, -q]), np.stack([k, k]), [f"t{i}" for i in range(300)])
    shares, sent = [], []
    widget.observe(lambda c: shares.append(c["new"]), "_progress")
    widget.batch = 1
    assert len(shares) >= 2 and shares[-1] is None and shares[:-1] == sorted(shares[:-1]) and shares[-2] == 1.0, shares
    one = dict(widget._data)
    widget.batch = 0  # made once: no pass, nothing to say
    assert shares[-1] is None and widget._data != one

    widget._layers[0].scores._summaries.pop(1)  # item 1 to make again, failing half way this time
    real = fail_late(monkeypatch)
    before = dict(widget._data)
    widget.observe(lambda c: sent.append(c["name"]), ["_data", "_exact", "_overview"])
    with pytest.raises(MemoryError):
        widget.batch = 1
    assert widget.batch == 0 and widget._data == before and sent == [] and widget._progress is None
    monkeypatch.setattr(blockwise._RowState, "finish", real)
    widget.batch = 1
    assert widget.batch == 1 and widget._data == one and "_data" in sent


STOP_CELLS = (
    "import pathlib, numpy as np\n"
    "from attnwidget import AttentionWidget\n"
    "rng = np.random.default_rng(0)\n"
    "q, k = (rng.standard_normal((8, {t}, 64), dtype=np.float32) for _ in range(2))\n"
    "w = AttentionWidget.from_qk(q, k, [f't{{i}}' for i in range({t})])\n"
    "mark = pathlib.Path({mark!r})\n"
    "w.observe(lambda c: c['new'] is not None and mark.write_text(str(c['new'])), '_progress')",
    "w.hidden_keys = [5]",
    "print('AFTER', w.hidden_keys, w._progress, w._data['head_max'] == before)",
)


def test_the_notebooks_stop_button_stops_a_hiding_pass_in_a_real_kernel(tmp_path):
    """A kernel of its own (ipykernel, through jupyter_client, as a notebook runs it): a cell hides a key of
    a 16,384-token layer from queries and keys; once the pass has said how far it is, the kernel is
    interrupted (what the stop button sends). The cell ends with KeyboardInterrupt well before the pass
    would have, and the kernel, alive, holds the keys and data it had and no progress."""
    jupyter_client = pytest.importorskip("jupyter_client.manager", reason="jupyter_client is not installed (the test extra installs it: pip install -e '.[test]')")
    import time

    mark = tmp_path / "progress"
    km, kc = jupyter_client.start_new_kernel(kernel_name="python3")
    try:
        def run(code, timeout=300):
            return kc.execute_interactive(code, timeout=timeout, output_hook=lambda m: out.append(m))

        out: list = []
        assert run(STOP_CELLS[0].format(t=16_384, mark=str(mark)))["content"]["status"] == "ok", out
        assert run("before = w._data['head_max']")["content"]["status"] == "ok"
        started = time.monotonic()
        msg_id = kc.execute(STOP_CELLS[1])
        while not mark.exists():
            assert time.monotonic() - started < 120, "the pass never said how far it was"
            time.sleep(0.05)
        shown = float(mark.read_text())
        asked = time.monotonic()
        km.interrupt_kernel()
        reply = kc.get_shell_msg(timeout=60)
        while reply["parent_header"].get("msg_id") != msg_id:
            reply = kc.get_shell_msg(timeout=60)
        stopped = time.monotonic() - asked
        assert reply["content"]["status"] == "error" and reply["content"]["ename"] == "KeyboardInterrupt", reply["content"]
        assert shown < 0.9 and stopped < 3, (shown, stopped)  # the heads stop at their next tile
        out.clear()
        assert run(STOP_CELLS[2])["content"]["status"] == "ok"
        text = "".join(m["content"].get("text", "") for m in out if m["msg_type"] == "stream")
        assert "AFTER [] None True" in text, text
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)
