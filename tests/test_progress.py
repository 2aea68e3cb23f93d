"""A tile pass over queries and keys says how far it is (progress.py)."""

from __future__ import annotations

import pytest

from attnwidget import blockwise, blockwise_ops, progress
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
