"""The browser's requests for work that may need a tile pass, each pass in a thread of its own.

A tile pass over queries and keys (:mod:`attnwidget.blockwise`) takes seconds at tens of thousands of
tokens. Run where the request came in (a trait's observer), it would hold the widget's messages: the
browser's next choice, which means to stop it, would wait for it. So the browser sends a request (a
custom message ``{KEY: value, "id": n}``), and :class:`PassRequests` runs the pass in a thread, then
applies the value under the widget's lock (which a pin or a layer switch also takes, so each reads what
is shown). A newer request stops the running pass at its next report; the browser hears ``DONE = n``
when request ``n`` is settled (applied, refused or failed), and ``ERROR``, one line, when it changed
nothing for a reason. :mod:`attnwidget.hidejob` (hidden keys) and :mod:`attnwidget.batchjob` (another
batch item) say what each pass and value are. Python's own setters stay synchronous (widget.py).
"""

from __future__ import annotations

import logging
import threading
from typing import Any

import traitlets as t

from . import progress

log = logging.getLogger("attnwidget")
#: Passes a request runs at most before its value is applied (each after the other kind changed what is shown).
ROUNDS = 3


class PassRequests:
    """One widget's requests of one kind; ``lock`` (the widget's) is held while payloads are made and sent.

    A subclass names its message ``KEY``, the traits ``DONE`` and ``ERROR`` it settles in (and ``PROGRESS``, how
    far its pass is, where two kinds may run side by side), and says how a
    value is checked, whether it needs a pass, what the pass makes and how the value is applied."""

    KEY = DONE = ERROR = NAME = ""
    PROGRESS = "_progress"  # the synced trait its passes' progress goes to (progress.shown_in)

    def __init__(self, widget: Any):
        self.widget, self.lock, self.current = widget, widget._lock, None
        widget.on_msg(self._on_msg)

    # --- what a kind of request says -----------------------------------------------------------
    def check(self, value: Any) -> Any:
        """``value`` as it is applied; TraitError, TypeError or ValueError (one line) when it cannot be."""
        raise NotImplementedError

    def needs_pass(self, value: Any) -> bool:
        raise NotImplementedError

    def work(self, value: Any) -> None:
        """The pass (in the request's thread; it reports with :mod:`attnwidget.progress`, which may stop it)."""
        raise NotImplementedError

    def apply(self, value: Any) -> None:
        raise NotImplementedError

    def missing(self, value: Any) -> bool:
        """Whether applying ``value`` now would need a pass still (what is shown changed since :meth:`work`)."""
        return False

    def failed(self, value: Any, exc: BaseException) -> str:
        """The notice's line for a request whose pass or application failed."""
        raise NotImplementedError

    # --- the mechanism ---------------------------------------------------------------------------
    def _on_msg(self, _widget: Any, content: Any, _buffers: Any) -> None:
        if isinstance(content, dict) and self.KEY in content:
            self.ask(content[self.KEY], content.get("id"))

    def ask(self, value: Any, rid: Any = None) -> threading.Thread | None:
        """Apply ``value`` (request ``rid``): at once where no pass is needed, else in a thread (returned)."""
        with self.lock:
            if self.current is not None:  # a newer request: the running pass stops, and settles nothing
                self.current["stop"] = True
                self.current = None
            try:
                value = self.check(value)
            except (t.TraitError, TypeError, ValueError) as exc:
                log.warning("attnwidget: %s", exc)
                return self._settle(rid, error=str(exc))
            if not self.needs_pass(value):
                return self._settle(rid, value, apply=True)
            job = self.current = {"value": value, "rid": rid, "stop": False}
        thread = threading.Thread(target=self._run, args=(job,), name=f"attnwidget-{self.NAME}", daemon=True)
        thread.start()
        return thread

    def _settle(self, rid: Any, value: Any = None, error: str = "", apply: bool = False) -> None:
        """Apply ``value`` (where ``apply``) and say request ``rid`` is done, with ``error`` (why nothing
        changed) for the views' notice; an error here is logged and said too, the trait put back (widget.py)."""
        try:
            if apply:
                self.apply(value)
        except Exception as exc:
            error = self.failed(value, exc)
            log.exception("attnwidget: %s", error)
        finally:
            setattr(self.widget, self.ERROR, error)
            if isinstance(rid, int) and not isinstance(rid, bool):
                setattr(self.widget, self.DONE, rid)

    def _run(self, job: dict) -> None:
        """The pass for ``job["value"]``, then the value applied; a newer request stops it (nothing changes).
        Where the other kind's request changed what is shown meanwhile (another item, other keys) and the value
        now needs more (:meth:`missing`), the pass goes on for that, here, not under the lock while applying."""
        for round_ in range(1, ROUNDS + 1):
            try:
                with progress.shown_in(self.widget, stop=lambda: job["stop"], trait=self.PROGRESS):
                    self.work(job["value"])
            except progress.Stopped:
                return  # a newer request took its place, and settles instead
            except Exception as exc:
                job["error"] = self.failed(job["value"], exc)
                log.exception("attnwidget: %s", job["error"])
            with self.lock:
                if self.current is not job:
                    return
                error = job.get("error", "")
                if not error and round_ < ROUNDS and self.missing(job["value"]):
                    continue
                self.current = None
                self._settle(job["rid"], job["value"], error, apply=not error)
                return
