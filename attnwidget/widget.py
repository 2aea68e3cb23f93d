"""The attention widget: scores in, a clickable graph / matrix / heads / model / explain view out.

The synced traits are declared once, in :class:`attnwidget.protocol.WireState`; this class checks
them against the data and sends the payloads when the selection changes. What only the browser
needs (hover, the canvas size, the theme) stays in the front end.
"""

from __future__ import annotations

import contextlib
import math
import threading
import uuid
from typing import Any, Sequence

import anywidget
import numpy as np
import traitlets as t

from . import batchjob, export, hide, hidejob, progress, protocol
from .config import ConfigError
from .scores import clean_labels, one_of, widget_layers
from .qkscores import QKScores, qk_layers


class AttentionWidget(protocol.WireState, anywidget.AnyWidget):
    """Interactive view of attention scores.

    ``scores``: ``(heads, query_len, key_len)``, ``(batch, heads, query_len, key_len)``, or a list of
    those (one per layer; layers may differ in heads and lengths: then give ``query_tokens`` /
    ``key_tokens`` / ``mask`` per layer). ``query_tokens`` has ``query_len`` labels; ``key_tokens``
    has ``key_len`` (default: the query tokens, for self-attention). ``mask``: optional boolean
    ``(query_len, key_len)``, True where a query may attend to a key. ``layer_kinds``: ``self`` /
    ``causal`` / ``cross`` per layer (default: read from the mask and the scores).
    ``explainer``: ``(layer, query, head, batch) -> Explanation`` for the explain view, or None.
    ``attention=`` and ``tokens=`` are BertViz's names for ``scores`` and ``query_tokens``.
    ``max_token_chars``: tokens, head and layer names longer than this are cut to it (the last character an
    ellipsis) in the widget's traits, so in every message to the browser and every static copy; None keeps
    them whole. Lone surrogates (not encodable as UTF-8) become U+FFFD.
    """

    _esm = export.front_end("widget.js", export.MISSING_BUNDLE)
    _css = export.front_end("widget.css", "")

    def __init__(
        self,
        scores: Any = None,
        query_tokens: Sequence[str] | None = None,
        key_tokens: Sequence[str] | None = None,
        head_names: Sequence[str] | None = None,
        layer_names: Sequence[str] | None = None,
        *,
        mask: Any = None,
        info: dict | None = None,
        explainer: Any = None,
        layer_kinds: Sequence[str] | None = None,
        attention: Any = None,
        tokens: Sequence[str] | None = None,
        max_token_chars: int | None = 200,
        **kwargs: Any,
    ) -> None:
        # BertViz's names: attention= for the scores, tokens= for the query tokens.
        scores = one_of("scores", scores, "attention", attention)
        query_tokens = one_of("query_tokens", query_tokens, "tokens", tokens)
        read = qk_layers if isinstance(scores, QKScores) else widget_layers
        layers = [clean_labels(w, max_token_chars)
                  for w in read(scores, query_tokens, key_tokens, head_names, layer_names, mask, layer_kinds)]
        self._layers = layers
        self._explainer = explainer
        self._lock = threading.RLock()  # payloads made and sent one change at a time (hidejob.py's thread too)
        n = len(layers)
        start = kwargs.get("layer", 0) or 0
        if isinstance(start, bool) or not isinstance(start, (int, np.integer)) or not 0 <= start < n:
            raise ConfigError(f"layer: expected an index in 0..{n - 1} ({n} layers), got {start!r}")
        first = layers[start]
        self._shown_heads = first.scores.shape[1]
        kwargs.setdefault("heads", list(range(first.scores.shape[1])))
        kwargs.setdefault("_uid", uuid.uuid4().hex)
        super().__init__(
            _schema=protocol.SCHEMA, query_tokens=first.query_tokens, key_tokens=first.key_tokens,
            head_names=first.head_names, layer_names=[w.name for w in layers], layer_kinds=[w.kind for w in layers],
            _layers_meta=protocol.layers_meta(
                [w.name for w in layers], [w.kind for w in layers], [w.scores.shape for w in layers],
                [(w.query_tokens, w.key_tokens) for w in layers], [w.head_names for w in layers]),
            info=protocol.header_info(info, first.scores.shape[0]), **kwargs)
        self._send_payloads("_data", "_exact", "_overview")
        # the browser's hide boxes and batch picker: their passes in threads of their own
        self._hide_requests, self._batch_requests = hidejob.HideRequests(self), batchjob.BatchRequests(self)
        self._can_hide = hide.offered(layers, self._data, self._overview)
        self._can_explain = explainer is not None
        self._send_explain()

    @classmethod
    def from_qk(cls, q: Any, k: Any, tokens: Sequence[str], key_tokens: Sequence[str] | None = None, *,
                causal: bool = False, mask: Any = None, scale: float | None = None, device: str | None = None,
                **kwargs: Any) -> "AttentionWidget":
        """The view of ``softmax(q·kᵀ·scale)`` without the ``(T, T)`` matrix, for long sequences.

        Args:
            q: queries ``(heads, T, d)`` or ``(batch, heads, T, d)``; k: keys ``(heads, S, d)`` or
                ``(batch, heads, S, d)``, as the attention's dot product sees them (after projection).
            tokens: ``T`` query labels; key_tokens: ``S`` key labels (default: ``tokens``).
            causal: query ``i`` sees keys ``0 … i``. mask: bool ``(S,)`` (padded keys) or ``(T, S)``,
                True where attended. scale: default ``1/√d``.
            device: ``"cpu"`` (NumPy), ``"gpu"`` / ``"keras"`` (Keras ops, on the GPU when the backend sees one),
                or None: Keras ops only when Keras is already imported and sees a GPU, else NumPy.
            **kwargs: as :class:`AttentionWidget` (``head_names``, ``layer_names``, ``view``, ...).

        Read in tiles (:mod:`attnwidget.blockwise`, :mod:`attnwidget.blockwise_ops`): each query's top keys, the
        pooled overview and per-head statistics travel (sparse); pinned rows and columns are recomputed exactly."""
        return cls(QKScores(q, k, causal=causal, mask=mask, scale=scale, device=device), tokens, key_tokens, **kwargs)

    # --- shapes -------------------------------------------------------------------------------
    @property
    def scores(self) -> np.ndarray:
        """Scores of the current layer, ``(batch, heads, query_len, key_len)`` float32 (not a copy); for
        :meth:`from_qk`, a :class:`~attnwidget.qkscores.QKScores` (rows and columns on demand)."""
        return self._layers[self.layer].scores

    @property
    def shape(self) -> tuple[int, int, int, int]:
        """``(batch, heads, query_len, key_len)`` of the current layer."""
        return tuple(self.scores.shape)  # type: ignore[return-value]

    @property
    def mask(self) -> np.ndarray | None:
        """The current layer's mask, bool ``(query_len, key_len)`` or None."""
        return self._layers[self.layer].mask

    def _check_index(self, name: str, value: int | None, size: int, what: str) -> None:
        if value is not None and not 0 <= value < size:
            raise t.TraitError(f"{name}: expected an index in 0..{size - 1} ({what}), got {value}")

    @t.validate("selected_query", "selected_key", "head", "layer", "batch")
    def _v_index(self, proposal):
        name = proposal.trait.name
        b, h, q, k = self.shape
        size, what = {"selected_query": (q, f"{q} query tokens"), "selected_key": (k, f"{k} key tokens"),
                      "head": (h, f"{h} heads"), "layer": (len(self._layers), f"{len(self._layers)} layers"),
                      "batch": (b, f"batch of {b}")}[name]
        self._check_index(name, proposal.value, size, what)
        return proposal.value

    @t.validate("threshold")
    def _v_threshold(self, proposal):
        if not math.isfinite(proposal.value):  # NaN passes Float's bounds; JSON cannot carry it
            raise t.TraitError(f"threshold: expected a number in 0..1, got {proposal.value}")
        return proposal.value

    @t.validate("heads")
    def _v_heads(self, proposal):
        for i in proposal.value:
            self._check_index("heads", i, self.shape[1], f"{self.shape[1]} heads")
        return sorted(set(proposal.value))

    @t.validate("mode")
    def _v_mode(self, proposal):
        want = protocol.MODE_KINDS.get(proposal.value)
        if want is not None and want not in self.layer_kinds:
            raise t.TraitError(f"mode: no {want} layer here (layer kinds: {', '.join(sorted(set(self.layer_kinds)))})")
        return proposal.value

    # --- outside a live kernel ------------------------------------------------------------------
    def to_html(self, path=None, *, title: str = "attention", max_weights: int | None = None) -> str:
        """A self-contained page of this view (offline, no kernel): written to ``path`` if given; returned."""
        return export.to_html(self, path, title=title, max_weights=max_weights)

    _ui_record = None  # export.UiRecord, once shown in a notebook
    _copies = None  # {display id: render} of the static copies it was shown in (export.show_copy)

    @t.observe(*protocol.UI_TRAITS)
    def _on_ui(self, change):
        if self._ui_record is not None:
            self._ui_record.changed()

    def _ipython_display_(self) -> None:
        export.display_widget(self)

    # --- what the browser gets ----------------------------------------------------------------
    def slice_data(self, layer: int, batch: int) -> dict[str, Any]:
        """``_data`` of one layer and batch element (see :func:`attnwidget.protocol.slice_payload`), without
        the ``hidden_keys`` (:mod:`attnwidget.hide`)."""
        w = self._layers[layer]
        return protocol.slice_payload(*hide.shown_slice(w.scores[batch], w.mask, self.hidden_keys))

    def _payload(self, name: str) -> dict[str, Any]:
        """``_data``, ``_exact`` or ``_overview`` of the shown layer, batch, pin and hidden keys."""
        if name == "_data":
            return self.slice_data(self.layer, self.batch)
        layers, b, hidden = self._layers, self.batch, self.hidden_keys
        if name == "_exact":
            s = self.scores[b]
            if hidden:  # one renormalised row and column, their totals read once per layer and batch
                key = (self.layer, b, tuple(hidden))
                if self._shown is None or self._shown[0] != key:
                    self._shown = (key, hide.shown_rows(s, hidden))
                s = self._shown[1]
            return protocol.exact_payload(s, self.selected_query, self.selected_key)
        from .overview import overview

        # Only a model (several layers) has the model view: a single layer sends nothing for it.
        # With keys hidden, each layer's shown slice is made as the overview reaches it (one at a time).
        shown = (hide.shown_layer(w.scores, b, hidden) for w in layers)
        return overview(shown, b, self.layer_names, self.layer_kinds) if len(layers) > 1 else {}

    _shown = None  # (layer, batch, hidden_keys) and its rows shown (hide.shown_rows)

    def _send_payloads(self, *names: str) -> None:
        """Make the payloads ``names`` (:meth:`_payload`), then send them, one message each (a message has a
        size limit): all are made before any is sent, so a failure half way sends nothing."""
        with self._lock:
            made = {name: self._payload(name) for name in names}
            for name, value in made.items():
                setattr(self, name, value)

    @t.validate("hidden_keys")
    def _v_hidden(self, proposal):
        return hide.check(proposal.value, [(w.name, w.scores) for w in self._layers])

    _putting_back = False  # a failed change undone: hidden_keys' observer has nothing to send (the browser has the old)

    @contextlib.contextmanager
    def _or_put_back(self, change):
        """The work of ``change`` (its passes' progress shown); if it fails or is interrupted (the notebook's stop
        button, to stop a long pass), the trait goes back to its old value whole, then the error goes on."""
        try:
            with progress.shown_in(self):
                yield
        except BaseException:
            if not self._putting_back:
                self._putting_back = True
                try:
                    setattr(self, change["name"], change["old"])
                finally:
                    self._putting_back = False
            raise

    @t.observe("hidden_keys")
    def _on_hidden(self, change):
        if self._putting_back:
            return
        with self._or_put_back(change):  # a tile pass per layer from queries and keys (unless hidejob.py made it)
            self._send_payloads("_data", "_exact", "_overview")
        if self._copies:  # shown in a notebook: its static copies show the new weights too
            export.rewrite_copies(self)

    @t.observe("layer", "batch")
    def _on_slice(self, change):
        with self._or_put_back(change):  # another batch item of a layer from queries and keys: a tile pass per layer
            if change["name"] == "layer":
                self._apply_layer()
                self._send_payloads("_data", "_exact")
            else:
                self._send_payloads("_overview", "_data", "_exact")

    @t.observe("selected_query", "selected_key")
    def _on_select(self, change):
        self._send_payloads("_exact")

    def _apply_layer(self) -> None:
        """Tokens and head names follow the new layer; the selection follows :func:`protocol.switch_layer`."""
        w = self._layers[self.layer]
        _, h, q, k = w.scores.shape
        frm = {"H": self._shown_heads}
        to = {"layer": self.layer, "H": h, "Q": q, "K": k, "kind": w.kind}
        state = protocol.switch_layer(protocol.selection(self), frm, to)
        with self.hold_sync(), self.hold_trait_notifications():
            for key, value in state.items():
                if getattr(self, key) != value:
                    setattr(self, key, value)
            self._shown_heads = h
            self.query_tokens, self.key_tokens, self.head_names = w.query_tokens, w.key_tokens, w.head_names

    @t.observe("mode")
    def _on_mode(self, change):
        want = protocol.MODE_KINDS.get(self.mode)
        if want is not None and self.layer_kinds[self.layer] != want:
            self.layer = self.layer_kinds.index(want)

    # --- explain view -------------------------------------------------------------------------
    def _explain_dict(self, query: int, head: int, batch: int) -> dict[str, Any]:
        try:
            return self._explainer(self.layer, query, head, batch).to_dict()
        except ValueError as exc:  # e.g. a layer without inputs, or a user's layer that changes its input
            return {"query": query, "head": head, "batch": batch, "error": str(exc)}

    @t.observe("selected_query", "head", "batch", "layer", "view")
    def _send_explain(self, change=None) -> None:
        """``_explain`` for the pinned query and ``head`` and ``_explain_values`` (``head``'s V, which the rows
        show before a pin), only while the explain view shows (:func:`protocol.explain_update`)."""
        for name, value in protocol.explain_update(self, change).items():
            setattr(self, name, value)

    def explain_table(self, max_queries: int = 64) -> dict[str, dict]:
        """Every query × head of the current layer and batch in ``_explain``'s form, keyed ``"q,h"``
        (for static copies). Empty without an explainer, or past ``max_queries`` query tokens."""
        _, h, q, _ = self.shape
        if self._explainer is None or q > max_queries:
            return {}
        return {f"{i},{hd}": self._explain_dict(i, hd, self.batch) for i in range(q) for hd in range(h)}
