"""Turn the ``query`` / ``context`` / ``key`` values of a configuration into sequences.

A value is one of: a text (tokenized by :func:`attnwidget.config.tokenize`), a list of
strings (tokens), a list of 2 or 3 integers (the shape ``[T, D]`` / ``[B, T, D]`` of seeded
random inputs, as in the lecture's ``Input(shape=[8, 16])``), or an array-like ``(T, D)`` /
``(B, T, D)`` of embeddings.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence as Seq

import numpy as np

from .config import ConfigError, tokenize


@dataclass
class Sequence:
    """One input sequence: ``tokens`` (labels, length T) and, unless it is text, ``array`` (B, T, D)."""

    tokens: list[str]
    array: np.ndarray | None = None

    @property
    def is_text(self) -> bool:
        return self.array is None

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(self.array.shape) if self.array is not None else (1, len(self.tokens))


def _labels(key: str, labels: Seq[Any] | None, length: int, label_key: str) -> list[str]:
    if labels is None:
        return [str(i) for i in range(length)]
    labels = [str(s) for s in labels]
    if len(labels) != length:
        raise ConfigError(f"{label_key}: {key} has {length} positions but {len(labels)} labels were given")
    return labels


def _from_array(key: str, value: Any) -> np.ndarray:
    try:
        a = np.asarray(value.detach().cpu() if hasattr(value, "detach") else value)
    except Exception as exc:  # noqa: BLE001 - symbolic tensors and other objects
        raise ConfigError(
            f"{key}: expected a text, tokens or an array (T, D) / (B, T, D), got {type(value).__name__} ({exc})"
        ) from None
    if a.dtype == object or not np.issubdtype(a.dtype, np.number):
        raise ConfigError(f"{key}: expected an array of numbers (T, D) or (B, T, D), got dtype {a.dtype}")
    if a.ndim == 2:
        a = a[None]
    if a.ndim != 3:
        raise ConfigError(f"{key}: expected an array of rank 2 (T, D) or 3 (B, T, D), got shape {a.shape}")
    if 0 in a.shape:
        raise ConfigError(f"{key}: expected a non-empty array, got shape {a.shape}")
    a = a.astype(np.float32)
    if not np.isfinite(a).all():
        raise ConfigError(f"{key}: the array contains NaN or infinite values")
    return a


def to_sequence(key: str, value: Any, *, labels: Seq[Any] | None, label_key: str,
                max_tokens: int, rng: np.random.Generator) -> Sequence:
    """Normalize one input value; ``rng`` draws the random inputs of a shape."""
    if isinstance(value, str):
        tokens = tokenize(value)
        if not tokens:
            raise ConfigError(f"{key}: the text has no tokens (it is empty or only spaces)")
        if len(tokens) > max_tokens:
            raise ConfigError(
                f"{key}: the text has {len(tokens)} tokens, more than max_tokens ({max_tokens}); "
                f"raise it with 'max_tokens: {len(tokens)}' or --max-tokens {len(tokens)}")
        return Sequence(tokens)
    if isinstance(value, (list, tuple)):
        if value and all(isinstance(v, str) for v in value):
            if len(value) > max_tokens:
                raise ConfigError(
                    f"{key}: {len(value)} tokens, more than max_tokens ({max_tokens}); raise it with 'max_tokens: {len(value)}'")
            return Sequence([str(v) for v in value])
        if len(value) in (2, 3) and all(isinstance(v, int) and not isinstance(v, bool) for v in value):
            if min(value) <= 0:
                raise ConfigError(f"{key}: a shape needs positive sizes, got {list(value)}")
            shape = tuple(value) if len(value) == 3 else (1, *value)
            if shape[0] > 4096 or shape[2] > 4096:
                raise ConfigError(f"{key}: a shape's batch and feature sizes may be at most 4,096, got {list(value)}")
            if shape[1] > max_tokens:
                raise ConfigError(f"{key}: {shape[1]} positions, more than max_tokens ({max_tokens}); raise it with 'max_tokens: {shape[1]}'")
            a = rng.standard_normal(shape).astype(np.float32)
            return Sequence(_labels(key, labels, shape[1], label_key), a)
        if not value or not all(isinstance(v, (list, tuple, int, float)) for v in value):
            raise ConfigError(
                f"{key}: expected a text, a list of token strings, a shape like [1, 8, 16] or an array")
    if isinstance(value, (dict, bool, int, float)) or value is None:
        raise ConfigError(
            f"{key}: expected a text, a list of token strings, a shape like [1, 8, 16] or an array, "
            f"got {type(value).__name__}")
    a = _from_array(key, value)
    if a.shape[1] > max_tokens:
        raise ConfigError(f"{key}: {a.shape[1]} positions, more than max_tokens ({max_tokens}); raise it with 'max_tokens: {a.shape[1]}'")
    return Sequence(_labels(key, labels, a.shape[1], label_key), a)


def check_batches(seqs: dict[str, Sequence]) -> int:
    """All array inputs must share one batch size; return it (1 for text)."""
    sizes = {k: s.shape[0] for k, s in seqs.items() if s.array is not None}
    if len(set(sizes.values())) > 1:
        described = ", ".join(f"{k} {seqs[k].shape}" for k in sizes)
        raise ConfigError(f"{next(iter(sizes))}: batch sizes differ ({described})")
    return next(iter(sizes.values()), 1)
