"""Keys left out of the views, each query's weights renormalised over the rest.

A first token (``<s>``, ``[CLS]``, BOS) often takes most of every row's weight, an "attention sink",
and leaves the rest too faint to read. AttentionViz hides it and renormalises; so does the widget's
``hidden_keys`` trait: the graph, matrix, heads and model views (and their statistics) show each row
``w / Σ w`` over the keys kept, the hidden keys drawn as masked. The layer's own scores stay as they
are (``widget.scores``, the explain view). Weights from queries and keys
(:class:`attnwidget.qkscores.QKScores`) hide keys by masking them: a softmax over the other keys is the
same renormalised row, made by another tile pass.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np
import traitlets as t

from . import codec


def renormalise(s: np.ndarray, hidden: Sequence[int]) -> np.ndarray:
    """Weights ``s`` ``(..., key_len)`` with the keys ``hidden`` (those below key_len) set to 0 and each row
    divided by what is left: a new float32 array. A row with nothing left stays 0."""
    out = np.array(s, dtype=np.float32)
    cols = [i for i in hidden if i < out.shape[-1]]
    out[..., cols] = 0.0
    total = out.sum(-1, keepdims=True)
    np.divide(out, total, out=out, where=total > 0)
    return out


def hidden_mask(mask: np.ndarray | None, hidden: Sequence[int], q: int, k: int) -> np.ndarray | None:
    """The mask ``(q, k)`` the views draw: ``mask`` (True = attended; None: every pair) with the hidden keys'
    columns False."""
    cols = [i for i in hidden if i < k]
    if not cols:
        return mask
    out = np.ones((q, k), dtype=bool) if mask is None else np.array(mask, dtype=bool)
    out[:, cols] = False
    return out


def shown_slice(s: Any, mask: np.ndarray | None, hidden: Sequence[int]) -> tuple[Any, np.ndarray | None]:
    """``(scores, mask)`` of one slice ``(heads, q, k)`` as the views show it with the keys ``hidden`` left out."""
    if not hidden:
        return s, mask
    if hasattr(s, "hiding"):  # queries and keys: those keys masked (its summary carries the mask)
        return s.hiding(hidden), mask
    return renormalise(s, hidden), hidden_mask(mask, hidden, s.shape[1], s.shape[2])


def shown_rows(s: Any, hidden: Sequence[int]) -> Any:
    """One slice ``(heads, q, k)`` with the keys ``hidden`` left out, read a row or a column at a time
    (:class:`ShownSlice`; a :class:`~attnwidget.qkscores.QKSlice` masks them)."""
    return s.hiding(hidden) if hasattr(s, "hiding") else ShownSlice(s, hidden)


def shown_layer(scores: Any, b: int, hidden: Sequence[int]) -> Any:
    """A layer's ``scores`` ``(batch, heads, q, k)`` as the model view shows batch element ``b``: itself, or
    with the keys ``hidden`` left out (an array of that element alone, or the masked queries and keys)."""
    if not hidden:
        return scores
    return scores.hiding(hidden) if hasattr(scores, "hiding") else renormalise(scores[b], hidden)[None]


def problem(value: Sequence[int], layers: Sequence[tuple[str, Any]]) -> str | None:
    """What is wrong with hiding the keys ``value`` in ``layers`` (``(name, scores)`` pairs), in one line that
    names the key and what is expected, or None: indices below the longest layer's key_len, every layer
    softmax weights (an array, or queries and keys)."""
    if not value:
        return None
    longest = max(s.shape[3] for _, s in layers)
    bad = [i for i in value if not 0 <= i < longest]
    if bad:
        return f"hidden_keys: expected key indices in 0..{longest - 1}, got {bad[0]}"
    for name, s in layers:
        if hasattr(s, "hiding"):  # a softmax of queries and keys: always weights
            continue
        if not codec.value_range(s)[2]:
            return (f"hidden_keys: layer {name!r} holds no softmax weights (values outside 0..1 or rows "
                    "not summing to 1): there is nothing to renormalise")
    return None


def offered(layers: Sequence[Any], data: dict, overview: dict) -> bool:
    """Whether the views may offer to hide keys (``_can_hide``), from what was read already: every layer's
    scores an array or queries and keys, and softmax weights in the shown slice (``data``: ``_data``) or, for
    a model, in every layer's (``overview``: ``_overview``). :func:`check` reads every batch element when keys
    are hidden."""
    if not all(isinstance(w.scores, np.ndarray) or hasattr(w.scores, "hiding") for w in layers):
        return False
    return all(layer["probability"] for layer in overview["layers"]) if overview else bool(data.get("probability"))


def check(value: Sequence[int], layers: Sequence[tuple[str, Any]]) -> list[int]:
    """``value`` sorted and without repeats, or a :class:`traitlets.TraitError` saying :func:`problem`."""
    out = sorted(set(int(i) for i in value))
    why = problem(out, layers)
    if why:
        raise t.TraitError(why)
    return out


class ShownSlice:
    """A slice ``(heads, q, k)`` as the views show it with the keys ``hidden`` left out, read a row
    (``s[:, i, :]``) or a column (``s[:, :, j]``) at a time, as :func:`attnwidget.protocol.exact_payload`
    reads the pinned token's: no renormalised copy of the whole slice."""

    def __init__(self, s: np.ndarray, hidden: Sequence[int]):
        self.s, self.cols, self._kept = s, [i for i in hidden if i < s.shape[-1]], None
        self.shape = s.shape

    def kept(self) -> np.ndarray:
        """``(heads, q)``: each row's weight on the keys kept (read once)."""
        if self._kept is None:
            s = self.s
            self._kept = (s.sum(-1, dtype=np.float64) - s[..., self.cols].sum(-1, dtype=np.float64)).astype(np.float32)
        return self._kept

    def __getitem__(self, index: tuple) -> np.ndarray:
        _, i, j = index
        if isinstance(i, (int, np.integer)):  # a query's row
            return renormalise(self.s[:, i, :], self.cols)
        col = np.zeros(self.s.shape[:2], dtype=np.float32)
        if j not in self.cols:
            total = self.kept()
            np.divide(self.s[:, :, j], total, out=col, where=total > 0)
        return col
