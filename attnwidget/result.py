"""The outcome of a run: an ordered list of attention-layer records, one shape for a layer and a model.

A single layer (``%%attention`` with ``kind: global``) is a result with one record; a whole model
(:func:`attnwidget.capture`, ``kind: transformer``) has one record per attention call, in call order.
Both are built once, complete, and not changed afterwards: the selection a user asked for
(``select``) is resolved when the result is made.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, Mapping

import numpy as np

from . import hide
from .config import LAYER_KINDS, ConfigError
from .scores import is_blockwise


def _shape(s) -> str:
    return "(" + ", ".join(str(int(d)) for d in s) + ")"


@dataclass(frozen=True, eq=False)
class LayerRecord:
    """One attention layer's scores with the tokens they belong to.

    ``scores``: float32 ``(batch, heads, query_len, key_len)``, as the layer computed them; or, for a
    layer :func:`attnwidget.capture` recorded past its ``dense_limit``, a :class:`~attnwidget.qkscores.QKScores`
    of the same shape (exact rows ``scores.row(b, i)``; its masks are its own and ``mask`` is None).
    ``kind``: ``self`` | ``causal`` | ``cross``. ``mask``: bool ``(query_len, key_len)``, True where a
    query may attend (None: all). ``layer``: the Keras layer that made the scores (its
    ``MultiHeadAttention``, or the tutorial's wrapper with an ``.mha``), None for bare scores.
    ``inputs``: the arrays that entered it, ``query`` / ``value`` / ``key`` ``(batch, T, d)`` (may be
    empty); :meth:`AttentionResult.explain` needs them, or for an operation-level record ``op``, what the
    op was given (:class:`~attnwidget.opexplain.OpInputs`, taken from the recording as the record is made).
    """

    path: str
    kind: str
    scores: np.ndarray
    query_tokens: tuple[str, ...]
    key_tokens: tuple[str, ...]
    mask: np.ndarray | None = None
    layer: Any = None
    inputs: Mapping[str, np.ndarray] = field(default_factory=dict, repr=False)
    op: Any = field(default=None, repr=False)

    def __post_init__(self):
        if self.kind not in LAYER_KINDS:
            raise ValueError(f"kind: expected one of {' | '.join(LAYER_KINDS)}, got {self.kind!r}")
        b, h, q, k = np.shape(self.scores)
        if len(self.query_tokens) != q or len(self.key_tokens) != k:
            raise ValueError(f"{self.path}: scores {_shape(np.shape(self.scores))} need {q} query and {k} key "
                             f"tokens, got {len(self.query_tokens)} and {len(self.key_tokens)}")
        object.__setattr__(self, "query_tokens", tuple(str(t) for t in self.query_tokens))
        object.__setattr__(self, "key_tokens", tuple(str(t) for t in self.key_tokens))

    @property
    def shape(self) -> tuple[int, int, int, int]:
        """``(batch, heads, query_len, key_len)``."""
        return tuple(int(d) for d in np.shape(self.scores))  # type: ignore[return-value]


@dataclass(frozen=True, eq=False)
class AttentionResult:
    """Every attention layer a run recorded, and the one shown first.

    ``records``: :class:`LayerRecord` in call order (one for a single layer). ``shown``: index of the
    record the view opens on; ``scores``, ``query_tokens``, ``key_tokens``, ``mask`` are that record's.
    ``selected``: the query index pinned at first (``select``), or None. ``output``: what the layer or
    model returned, ``(batch, query_len, d)`` for a layer. ``source``: the Keras layer or model that ran.
    ``device``: where the run was placed (``cpu:0``, ``gpu:0``); ``placed_on``: what the backend reports
    for the scores. ``input_shapes``: shapes of the arrays given (``query``, ``context``, ``key``).
    ``timings``: ``build_ms`` (0 when cached) and ``run_ms``. ``a - b`` is :func:`compare`.
    """

    records: tuple[LayerRecord, ...]
    output: Any = None
    shown: int = 0
    selected: int | None = None
    source: Any = None
    config: Any = None
    device: str = "cpu:0"
    placed_on: str = ""
    backend: str = ""
    timings: Mapping[str, float] = field(default_factory=dict)
    input_shapes: Mapping[str, tuple] = field(default_factory=dict)
    diverging: bool = False
    _widget: list = field(default_factory=lambda: [None], repr=False, compare=False)

    def __post_init__(self):
        if not self.records:
            raise ValueError("records: a result needs at least one attention layer")
        object.__setattr__(self, "records", tuple(self.records))
        if not 0 <= self.shown < len(self.records):
            raise ValueError(f"shown: expected an index in 0..{len(self.records) - 1}, got {self.shown}")
        hidden = (self.config or {}).get("hide_keys")
        why = hidden and hide.problem(hidden, [(r.path, r.scores) for r in self.records])
        if why:  # the run's config: a ConfigError, which the magic shows as one line
            raise ConfigError(why.replace("hidden_keys:", "hide_keys:", 1))

    # --- the shown layer ------------------------------------------------------------------------
    @property
    def record(self) -> LayerRecord:
        return self.records[self.shown]

    @property
    def scores(self) -> np.ndarray:
        """The shown layer's scores, float32 ``(batch, heads, query_len, key_len)``."""
        return self.record.scores

    @property
    def query_tokens(self) -> list[str]:
        return list(self.record.query_tokens)

    @property
    def key_tokens(self) -> list[str]:
        return list(self.record.key_tokens)

    @property
    def mask(self) -> np.ndarray | None:
        return self.record.mask

    @property
    def inputs(self) -> Mapping[str, np.ndarray]:
        """The arrays that entered the shown layer (``query``, ``value``, ``key``; text already embedded)."""
        return self.record.inputs

    @property
    def layer(self) -> Any:
        """The Keras layer or model that ran (the tutorial's classes keep their MultiHeadAttention as ``.mha``)."""
        return self.source

    @property
    def kind(self) -> str:
        return self.config.get("kind", "attention") if self.config is not None else "attention"

    # --- every layer, by path -----------------------------------------------------------------------
    @property
    def layers(self) -> dict[str, np.ndarray]:
        """Path → scores ``(batch, heads, q, k)``, in call order."""
        return {r.path: r.scores for r in self.records}

    @property
    def layer_kinds(self) -> dict[str, str]:
        return {r.path: r.kind for r in self.records}

    @property
    def layer_tokens(self) -> dict[str, tuple[list[str], list[str]]]:
        return {r.path: (list(r.query_tokens), list(r.key_tokens)) for r in self.records}

    @property
    def layer_masks(self) -> dict[str, np.ndarray | None]:
        return {r.path: r.mask for r in self.records}

    @property
    def selected_layer(self) -> str:
        return self.record.path

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
            **({"layers": len(self.records)} if len(self.records) > 1 else {}),
        }

    # --- views ----------------------------------------------------------------------------------------
    @property
    def widget(self):
        """The :class:`~attnwidget.widget.AttentionWidget` of this result (made on first use, again after close)."""
        w = self._widget[0]
        if w is None or w.comm is None:  # none yet, or closed by the user
            from .widget import AttentionWidget

            recs = self.records
            cfg = self.config if self.config is not None else {}
            explainable = [r.layer is not None and ("query" in r.inputs or getattr(r.op, "has_values", False))
                           and not is_blockwise(r.scores) for r in recs]  # the view needs V: a softmax's is unknown
            w = AttentionWidget(
                [r.scores for r in recs], [list(r.query_tokens) for r in recs], [list(r.key_tokens) for r in recs],
                layer_names=[r.path for r in recs], layer_kinds=[r.kind for r in recs], mask=[r.mask for r in recs],
                info=self.info(), layer=self.shown, selected_query=self.selected, hidden_keys=cfg.get("hide_keys") or [],
                view=cfg.get("view", "graph"), batch=cfg.get("batch", 0), scale=cfg.get("scale", 1.0) or 1.0,
                explainer=self._explainer if any(explainable) else None)
            self._widget[0] = w
        return w

    def _explainer(self, layer: int, query: int, head: int, batch: int):
        from .explain import explain

        return explain(_dense(self.records[layer], "explain"), query, head, batch)

    def explain(self, query_index: int, head: int = 0, batch: int = 0, *, layer: int | str | None = None,
                temperature: float = 1.0, drop=(), unmask: bool = False):
        """Query ``query_index`` of ``head`` walked through the attention computation, with NumPy from the
        layer's own weights: an :class:`~attnwidget.explain.Explanation` (``q``, ``K``, ``dots`` (unscaled
        q·kⱼ), ``scale``, ``logits``, ``mask``, ``masked_logits``, ``weights``, ``V``, ``output``).
        ``layer``: a record's index or path (default: the shown one). What-if: ``temperature`` divides the
        logits, ``drop`` leaves keys out of the softmax, ``unmask`` lifts the mask. ValueError names a bad argument.
        KerasHub-style records (``op``): from what the op was given, see :class:`~attnwidget.explain.Explanation`.
        """
        from .explain import explain

        return explain(_dense(self.records[self._record_index(layer)], "explain"), query_index, head, batch,
                       temperature=temperature, drop=drop, unmask=unmask)

    def _record_index(self, layer: int | str | None) -> int:
        if layer is None:
            return self.shown
        paths = [r.path for r in self.records]
        if isinstance(layer, str):
            if layer not in paths:
                raise ValueError(f"layer: {layer!r} is not one of the attention layers ({', '.join(paths)})")
            return paths.index(layer)
        if isinstance(layer, bool) or not isinstance(layer, (int, np.integer)) or not -len(paths) <= layer < len(paths):
            raise ValueError(f"layer: expected an index in 0..{len(paths) - 1} or a path, got {layer!r}")
        return int(layer) % len(paths)

    def _repr_mimebundle_(self, include=None, exclude=None):
        return self.widget._repr_mimebundle_(include=include, exclude=exclude)

    def _ipython_display_(self) -> None:
        self.widget._ipython_display_()

    def to_html(self, path=None, *, title: str | None = None, max_weights: int | None = None) -> str:
        """A self-contained, offline page of this result's view; see :meth:`AttentionWidget.to_html`."""
        return self.widget.to_html(path, title=title or f"attention: {self.kind}", max_weights=max_weights)

    def __sub__(self, other):
        """``a - b``: :func:`compare` (differences ``a − b`` of every layer)."""
        if not isinstance(other, AttentionResult):
            return NotImplemented
        return compare(self, other)

    def __repr__(self) -> str:
        more = f", {len(self.records)} attention layers" if len(self.records) > 1 else ""
        return (f"<AttentionResult {self.kind}: scores {_shape(self.scores.shape)} "
                f"(batch, heads, query_len, key_len){more} on {self.device}>")


def _dense(record: LayerRecord, what: str) -> LayerRecord:
    """``record``, or ValueError when its scores are queries and keys (past :func:`attnwidget.capture`'s ``dense_limit``)."""
    if is_blockwise(record.scores):
        raise ValueError(f"{what}: {record.path} was recorded as queries and keys, its scores {_shape(record.shape)} "
                         "being past capture's dense_limit; read rows with scores.row(b, i), or capture with a larger "
                         "dense_limit (None: never switch)")
    return record


def compare(a: AttentionResult, b: AttentionResult) -> AttentionResult:
    """``a − b`` of two results, layer by layer: a result of differences, shown on a diverging scale
    (0 white; positive blue: ``a`` attends more; negative red: ``b`` attends more).

    It opens on the layer with the largest difference. Shapes must match record by record.
    """
    if not isinstance(a, AttentionResult) or not isinstance(b, AttentionResult):
        raise TypeError(f"compare: expected two AttentionResults, got {type(a).__name__} and {type(b).__name__}")
    if len(a.records) != len(b.records):
        raise ValueError(f"compare: a has {len(a.records)} layers, b has {len(b.records)}")
    records = []
    for ra, rb in zip(a.records, b.records):
        if ra.shape != rb.shape:
            raise ValueError(f"compare: layer {ra.path} has scores {ra.shape} in a but {rb.shape} in b")
        diff = (np.asarray(_dense(ra, "compare").scores, np.float32)
                - np.asarray(_dense(rb, "compare").scores, np.float32)).astype(np.float32)
        records.append(dataclasses.replace(ra, scores=diff, layer=None, inputs={}, op=None))
    largest = int(np.argmax([float(np.nanmax(np.abs(r.scores))) for r in records]))
    same_out = np.shape(a.output) == np.shape(b.output)
    base = a.config.as_dict() if hasattr(a.config, "as_dict") else dict(a.config or {})
    cfg = {**base, "kind": f"{a.kind}: a − b", "view": "matrix"}
    return AttentionResult(
        records=tuple(records), shown=largest, selected=None, source=None, config=cfg,
        output=(np.asarray(a.output) - np.asarray(b.output)) if same_out else np.asarray(a.output),
        device=a.device, placed_on=a.placed_on, backend=a.backend, input_shapes=dict(a.input_shapes),
        diverging=True)

