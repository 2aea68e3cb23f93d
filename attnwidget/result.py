"""The outcome of one attention run; it displays as the attention widget."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np


def _shape(s) -> str:
    return "(" + ", ".join(str(int(d)) for d in s) + ")"


@dataclass(eq=False)
class AttentionResult:
    """Scores and output of an attention layer, with the tokens they belong to.

    ``scores``: float32 ``(batch, heads, query_len, key_len)``, exactly as Keras returned them.
    ``output``: the layer's output, ``(batch, query_len, d)``.
    ``mask``: boolean ``(query_len, key_len)`` (True = may attend) for causal runs, else None.
    ``device``: where the run was placed (``cpu:0``, ``gpu:0``); ``placed_on``: what the backend
    reports for the scores tensor. ``inputs``: the arrays that entered the layer by name
    (``query``, ``context``, ``key``; text already embedded), ``(batch, T, d)``. ``timings``: ``build_ms`` (0 when cached) and ``run_ms``.
    """

    scores: np.ndarray
    output: np.ndarray
    query_tokens: list[str]
    key_tokens: list[str]
    layer: Any = None
    config: dict = field(default_factory=dict)
    device: str = "cpu:0"
    placed_on: str = ""
    backend: str = ""
    mask: np.ndarray | None = None
    timings: dict = field(default_factory=dict)
    inputs: dict = field(default_factory=dict, repr=False)
    input_shapes: dict = field(default_factory=dict)
    _widget: Any = field(default=None, repr=False)

    @property
    def kind(self) -> str:
        return self.config.get("kind", "attention")

    def info(self) -> dict:
        """The widget's header: kind, shapes, device, run time."""
        qs = self.input_shapes.get("query")
        ks = self.input_shapes.get("context", self.input_shapes.get("key", qs))
        return {
            "kind": self.kind,
            "query_shape": _shape(qs) if qs else "",
            "key_shape": _shape(ks) if ks else "",
            "scores_shape": _shape(self.scores.shape),
            "device": f"{self.device} ({self.backend})" if self.backend else self.device,
            "run_ms": round(float(self.timings.get("run_ms", 0.0)), 2),
            "batch_size": int(self.scores.shape[0]),
        }

    def selected_index(self) -> int | None:
        """Index of the ``select`` key's query token (its index, or its text's first occurrence)."""
        sel = self.config.get("select")
        if sel is None or isinstance(sel, int):
            return sel
        return self.query_tokens.index(sel)

    @property
    def widget(self):
        """The :class:`~attnwidget.widget.AttentionWidget` of this result (made once, on first use)."""
        if self._widget is None:
            from .widget import AttentionWidget

            self._widget = AttentionWidget(
                self.scores, self.query_tokens, self.key_tokens, mask=self.mask, info=self.info(),
                view=self.config.get("view", "graph"), batch=self.config.get("batch", 0),
                selected_query=self.selected_index())
        return self._widget

    def _repr_mimebundle_(self, include=None, exclude=None):
        return self.widget._repr_mimebundle_(include=include, exclude=exclude)

    def __repr__(self) -> str:
        return (f"<AttentionResult {self.kind}: scores {_shape(self.scores.shape)} "
                f"(batch, heads, query_len, key_len) on {self.device}>")
