"""Keys hidden at the browser's request, in a thread of their own.

Hiding a key in a layer from queries and keys is a tile pass, seconds at tens of thousands of tokens
(:mod:`attnwidget.blockwise`). Run where the request came in, it would hold the widget's messages: the
untick that means to stop it would wait for it. So the browser's checkboxes send a request (a custom
message ``{"hide_keys": [...], "id": n}``), and :class:`HideRequests` makes the new summaries in a
thread, then sets ``hidden_keys`` (whose payloads then come from them) under the widget's lock, which
a pin or a layer switch also takes, so each reads the keys that are shown. A newer request stops the
running pass at its next report; the browser hears ``_hide_done = n`` when request ``n`` is settled
(applied, refused or failed). Python's own ``w.hidden_keys = …`` stays synchronous (widget.py).
"""

from __future__ import annotations

import logging
import threading
from typing import Any, Sequence

import traitlets as t

from . import hide, progress
from .config import first_line

log = logging.getLogger("attnwidget")


class HideRequests:
    """The browser's hide requests for one widget; ``lock`` (the widget's) is held while payloads are made
    and sent."""

    def __init__(self, widget: Any):
        self.widget, self.lock, self.current = widget, widget._lock, None
        widget.on_msg(self._on_msg)

    def _on_msg(self, _widget: Any, content: Any, _buffers: Any) -> None:
        if isinstance(content, dict) and "hide_keys" in content:
            self.ask(content["hide_keys"], content.get("id"))

    def ask(self, keys: Sequence[int], rid: Any = None) -> threading.Thread | None:
        """Hide ``keys`` (request ``rid``): at once where no pass is needed, else in a thread (returned)."""
        w = self.widget
        with self.lock:
            if self.current is not None:  # a newer request: the running pass stops, and settles nothing
                self.current["stop"] = True
                self.current = None
            try:
                keys = hide.check(keys, [(x.name, x.scores) for x in w._layers])
            except (t.TraitError, TypeError, ValueError) as exc:
                log.warning("attnwidget: %s", exc)
                return self._settle(rid, error=str(exc))
            if not keys or not any(hasattr(x.scores, "hiding") for x in w._layers):
                return self._settle(rid, keys)  # weights in hand: renormalised at once
            job = self.current = {"keys": keys, "rid": rid, "stop": False}
        thread = threading.Thread(target=self._run, args=(job,), name="attnwidget-hide", daemon=True)
        thread.start()
        return thread

    def _settle(self, rid: Any, keys: list[int] | None = None, error: str = "") -> None:
        """Set ``keys`` (if given) and say request ``rid`` is done, with ``error`` (why nothing changed) for
        the views' notice; an error here is logged and said too, the keys put back (widget.py)."""
        try:
            if keys is not None:
                self.widget.hidden_keys = keys
        except Exception as exc:
            log.exception("attnwidget: hiding keys %s failed", keys)
            error = failed(keys, exc)
        finally:
            self.widget._hide_error = error
            if isinstance(rid, int) and not isinstance(rid, bool):
                self.widget._hide_done = rid

    def _run(self, job: dict) -> None:
        """The summaries of every layer from queries and keys with ``job["keys"]`` hidden, for the batch
        element shown, then the keys set; a newer request stops it (the keys stay as they are)."""
        w, keys = self.widget, job["keys"]
        try:
            with progress.shown_in(w, stop=lambda: job["stop"]):
                for layer in w._layers:
                    if hasattr(layer.scores, "hiding"):
                        if w.hidden_keys:  # asked for again: the keys shown stay made while others come and go
                            layer.scores.hiding(w.hidden_keys)
                        layer.scores.hiding(keys).summary(w.batch)
        except progress.Stopped:
            pass
        except Exception as exc:
            log.exception("attnwidget: hiding keys %s failed", keys)
            job["error"] = failed(keys, exc)
        with self.lock:
            if self.current is job:  # not stopped by a newer request, which settles instead
                self.current = None
                error = job.get("error", "")
                self._settle(job["rid"], None if error else keys, error)


def failed(keys: Sequence[int], exc: BaseException) -> str:
    """The notice's line for a pass that failed: which keys, and what went wrong (:func:`first_line`)."""
    return f"hiding key{'s' if len(keys) != 1 else ''} {', '.join(map(str, keys))} failed: {first_line(exc)}"
