"""Keys hidden at the browser's request, in a thread of their own (:mod:`attnwidget.passjob`).

Hiding a key in a layer from queries and keys is a tile pass, seconds at tens of thousands of tokens
(:mod:`attnwidget.blockwise`). The browser's checkboxes send ``{"hide_keys": [...], "id": n}``;
:class:`HideRequests` makes the new summaries in a thread, then sets ``hidden_keys`` (whose payloads then
come from them). An untick (a newer request) stops the running pass; the browser hears ``_hide_done = n``
when request ``n`` is settled, and ``_hide_error`` when it changed nothing for a reason. Python's own
``w.hidden_keys = …`` stays synchronous (widget.py).
"""

from __future__ import annotations

from typing import Any, Sequence

from . import hide
from .config import first_line
from .passjob import PassRequests


class HideRequests(PassRequests):
    """The browser's hide requests for one widget."""

    KEY, DONE, ERROR, NAME = "hide_keys", "_hide_done", "_hide_error", "hide"

    def check(self, keys: Any) -> list[int]:
        return hide.check(keys, [(x.name, x.scores) for x in self.widget._layers])

    def needs_pass(self, keys: list[int]) -> bool:
        # nothing hidden, or weights in hand (renormalised at once): no pass
        return bool(keys) and any(hasattr(x.scores, "hiding") for x in self.widget._layers)

    def _passes(self, keys: list[int], b: int) -> list:
        """The layers from queries and keys whose item ``b`` with ``keys`` hidden is still to be made."""
        made = (x.scores.hiding(keys) for x in self.widget._layers if hasattr(x.scores, "hiding"))
        return [s for s in made if not s.has_summary(b)]

    def work(self, keys: list[int]) -> None:
        """The summaries of every layer from queries and keys with ``keys`` hidden, for the batch element shown."""
        w, b = self.widget, self.widget.batch
        if w.hidden_keys:  # asked for again: the keys shown stay made while others come and go
            for x in w._layers:
                if hasattr(x.scores, "hiding"):
                    x.scores.hiding(w.hidden_keys)
        for scores in self._passes(keys, b):
            scores.summary(b)

    def missing(self, keys: list[int]) -> bool:
        return bool(self._passes(keys, self.widget.batch))  # another item shown meanwhile: the keys hidden in it

    def apply(self, keys: list[int]) -> None:
        self.widget.hidden_keys = keys

    def failed(self, keys: list[int], exc: BaseException) -> str:
        return failed(keys, exc)


def failed(keys: Sequence[int], exc: BaseException) -> str:
    """The notice's line for a pass that failed: which keys, and what went wrong (:func:`first_line`)."""
    return f"hiding key{'s' if len(keys) != 1 else ''} {', '.join(map(str, keys))} failed: {first_line(exc)}"
