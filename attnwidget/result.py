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

    Whole models (:func:`attnwidget.capture`, ``model:`` / ``kind: transformer`` in the magic) also fill
    ``layers`` (path → scores ``(batch, heads, q, k)``, in call order), ``layer_kinds`` (path →
    ``self`` / ``causal`` / ``cross``), ``layer_tokens`` (path → (query tokens, key tokens)),
    ``layer_masks`` and ``selected_layer`` (the path whose scores are ``scores``).
    ``a - b`` is :func:`attnwidget.compare` (``a − b``, every layer).
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
    layers: dict = field(default_factory=dict, repr=False)
    layer_kinds: dict = field(default_factory=dict, repr=False)
    layer_tokens: dict = field(default_factory=dict, repr=False)
    layer_masks: dict = field(default_factory=dict, repr=False)
    selected_layer: str | None = None
    layer_inputs: dict = field(default_factory=dict, repr=False)
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
            **({"layers": len(self.layers)} if self.layers else {}),
        }

    def selected_index(self) -> int | None:
        """Index of the ``select`` key's query token (its index, or its text's first occurrence)."""
        sel = self.config.get("select")
        if sel is None or isinstance(sel, int):
            return sel
        return self.query_tokens.index(sel)

    @property
    def widget(self):
        """The :class:`~attnwidget.widget.AttentionWidget` of this result (made on first use, again after close)."""
        if self._widget is None or self._widget.comm is None:  # none yet, or closed by the user
            from .widget import AttentionWidget

            if self.layers:  # a whole model: every attention layer, each with its own shape and tokens
                names = list(self.layers)
                self._widget = AttentionWidget(
                    list(self.layers.values()), [list(self.layer_tokens[n][0]) for n in names],
                    [list(self.layer_tokens[n][1]) for n in names], layer_names=names,
                    layer_kinds=[self.layer_kinds.get(n, "self") for n in names],
                    mask=[self.layer_masks.get(n) for n in names], info=self.info(),
                    layer=names.index(self.selected_layer) if self.selected_layer in names else 0,
                    view=self.config.get("view", "graph"), batch=self.config.get("batch", 0))
                return self._widget
            self._widget = AttentionWidget(
                self.scores, self.query_tokens, self.key_tokens, mask=self.mask, info=self.info(),
                view=self.config.get("view", "graph"), batch=self.config.get("batch", 0),
                selected_query=self.selected_index(),
                explainer=self.explain if self.layer is not None and self.inputs else None)
        return self._widget

    def __sub__(self, other):
        """``a - b``: :func:`attnwidget.compare` (differences ``a − b`` of every layer)."""
        from .stats import compare

        if not isinstance(other, AttentionResult):
            return NotImplemented
        return compare(self, other)

    def explain(self, query_index: int, head: int = 0, batch: int = 0):
        """Query ``query_index`` of ``head`` walked through the attention computation, with NumPy from the
        layer's own weights: an :class:`~attnwidget.explain.Explanation` (``q``, ``K``, ``dots`` (unscaled q·kⱼ),
        ``scale``, ``logits``, ``mask``, ``masked_logits``, ``weights``, ``V``, ``output``). ValueError names a bad argument.
        """
        from .explain import explain

        return explain(self, query_index, head, batch)

    def _repr_mimebundle_(self, include=None, exclude=None):
        return self.widget._repr_mimebundle_(include=include, exclude=exclude)

    def _ipython_display_(self) -> None:
        self.widget._ipython_display_()

    def to_html(self, path=None, *, title: str | None = None, max_weights: int | None = None) -> str:
        """A self-contained, offline page of this result's view; see :meth:`AttentionWidget.to_html`."""
        return self.widget.to_html(path, title=title or f"attention: {self.kind}", max_weights=max_weights)

    def __repr__(self) -> str:
        more = f", {len(self.layers)} attention layers" if self.layers else ""
        return (f"<AttentionResult {self.kind}: scores {_shape(self.scores.shape)} "
                f"(batch, heads, query_len, key_len){more} on {self.device}>")
