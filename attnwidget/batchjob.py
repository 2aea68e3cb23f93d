"""Another batch item at the browser's request, in a thread of its own (:mod:`attnwidget.passjob`).

In a layer from queries and keys, another batch item is a tile pass per layer (seconds at tens of thousands
of tokens). The batch picker sends ``{"batch": b, "id": n}``; :class:`BatchRequests` makes item ``b``'s
summaries in a thread, then sets ``batch`` (whose payloads then come from them). The picker's next choice (a
newer request, the item shown included) stops the running pass, which the trait's observer could not: it
held the widget's messages. The browser hears ``_batch_done = n`` when request ``n`` is settled, and
``_batch_error`` when it changed nothing for a reason. Python's own ``w.batch = b`` stays synchronous.
"""

from __future__ import annotations

from typing import Any

from .config import first_line
from .passjob import PassRequests


class BatchRequests(PassRequests):
    """The batch picker's requests for one widget."""

    KEY, DONE, ERROR, NAME = "batch", "_batch_done", "_batch_error", "batch"
    PROGRESS = "_batch_progress"  # not _progress: a hide request's pass may run beside it

    def check(self, b: Any) -> int:
        n = self.widget.shape[0]
        if isinstance(b, bool) or not isinstance(b, int) or not 0 <= b < n:
            raise ValueError(f"batch: expected an item in 0..{n - 1}, got {b!r}")
        return b

    def _passes(self, b: int) -> list:
        """The layers from queries and keys whose item ``b`` (with the keys hidden now) is still to be made."""
        w = self.widget
        shown = (x.scores.hiding(w.hidden_keys) for x in w._layers if hasattr(x.scores, "hiding"))
        return [s for s in shown if not s.has_summary(b)]

    def needs_pass(self, b: int) -> bool:
        return b != self.widget.batch and bool(self._passes(b))

    def work(self, b: int) -> None:
        for scores in self._passes(b):
            scores.summary(b)

    def missing(self, b: int) -> bool:
        return bool(self._passes(b))  # keys hidden meanwhile: item b with them

    def apply(self, b: int) -> None:
        self.widget.batch = b

    def failed(self, b: int, exc: BaseException) -> str:
        return f"batch item {b} failed: {first_line(exc)}"
