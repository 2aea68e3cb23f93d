"""How far a long computation has come, told to whoever waits for it.

A tile pass over queries and keys (:mod:`attnwidget.blockwise`, :mod:`attnwidget.blockwise_ops`) takes
seconds at tens of thousands of tokens; a widget that runs one (hiding a key) shows the fraction done in
its ``_progress`` trait with :func:`shown_in`, which may also stop it. The passes say how far they are with
:func:`report` (from the thread that listens) or :func:`follow` (work in a thread pool). With nobody
listening both cost nothing.
"""

from __future__ import annotations

import concurrent.futures as cf
import contextlib
import contextvars
import time
from typing import Any, Callable, Iterator, Sequence

Listener = Callable[[float], None]

_listener: contextvars.ContextVar[Listener | None] = contextvars.ContextVar("attnwidget_progress", default=None)

#: Seconds between two looks at a thread pool's count (:func:`follow`).
POLL_S = 0.1
#: Seconds between two fractions sent to the browser (:func:`shown_in`), and before the first.
SEND_S = 0.25


@contextlib.contextmanager
def listening(fn: Listener) -> Iterator[None]:
    """Within the block, passes call ``fn(fraction)`` (0 … 1) as they go, in this thread."""
    token = _listener.set(fn)
    try:
        yield
    finally:
        _listener.reset(token)


def report(done: int, total: int) -> None:
    """``done`` of ``total`` steps finished (call from the listening thread)."""
    fn = _listener.get()
    if fn is not None and total > 0:
        fn(done / total)


def follow(futures: Sequence[cf.Future], count: Callable[[], int], total: Callable[[], int]) -> None:
    """Wait for ``futures`` (worker threads cannot call the listener), reporting ``count()`` of ``total()``
    every :data:`POLL_S` seconds. Returns at once when nobody listens (``total`` is not even asked);
    the caller reads the results."""
    if _listener.get() is None:
        return
    pending, n = set(futures), total()
    while pending:
        _, pending = cf.wait(pending, timeout=POLL_S)
        report(count(), n)


class Stopped(Exception):
    """Raised in a pass, where it reports, once ``stop()`` of :func:`shown_in` says so."""


@contextlib.contextmanager
def shown_in(widget: Any, stop: Callable[[], bool] | None = None, trait: str = "_progress") -> Iterator[None]:
    """Within the block, ``widget``'s synced ``trait`` (``_progress``; the batch picker's requests
    ``_batch_progress``) follows the passes (a fraction, at most every :data:`SEND_S` seconds; a pass shorter
    than that sends nothing); None again after it, however it ends.
    ``stop``: asked at each report; True ends the pass there with :class:`Stopped` (its threads stop at
    their next tile, :mod:`attnwidget.blockwise`)."""
    last = time.monotonic()

    def send(fraction: float) -> None:
        nonlocal last
        if stop is not None and stop():
            raise Stopped
        now = time.monotonic()
        if now - last >= SEND_S:
            last = now
            setattr(widget, trait, round(fraction, 3))

    try:
        with listening(send):
            yield
    finally:
        if getattr(widget, trait) is not None:
            setattr(widget, trait, None)
