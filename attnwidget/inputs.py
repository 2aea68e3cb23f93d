"""Turn the ``query`` / ``context`` / ``key`` values of a configuration into sequences.

A value is one of: a text (tokenized by :func:`attnwidget.config.tokenize`), a list of
strings (tokens), a list of 2 or 3 integers (the shape ``[T, D]`` / ``[B, T, D]`` of seeded
random inputs, as in the lecture's ``Input(shape=[8, 16])``), or an array-like ``(T, D)`` /
``(B, T, D)`` of embeddings.
"""

from __future__ import annotations

import collections.abc
from dataclasses import dataclass
from typing import Any, Sequence as Seq

import numpy as np

from .budget import available_memory
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


def refuse_unreadable(x: Any, name: str, expected: str) -> None:
    """One-line ConfigError, before any conversion, for what it would use up (an open file, an iterator) or
    misread (masked entries, which ``np.asarray`` unmasks; complex numbers, which lose their imaginary part)."""
    if hasattr(x, "read") or isinstance(x, collections.abc.Iterator):
        what = "an open file" if hasattr(x, "read") else "an iterator"
        raise ConfigError(f"{name}: expected {expected}, got {type(x).__name__} ({what}: reading it would use it up; "
                          "pass a list or an array)")
    if isinstance(x, np.ma.MaskedArray) and np.ma.count_masked(x):
        raise ConfigError(f"{name}: a masked array with {np.ma.count_masked(x):,} masked entries; pass x.filled(value) "
                          "(for scores, with mask= for the pairs a query may attend to)")
    dtype = getattr(x, "dtype", None)
    try:
        complex_ = dtype is not None and np.dtype(dtype).kind == "c"
    except TypeError:  # torch and TensorFlow dtypes say it themselves
        complex_ = getattr(dtype, "is_complex", False) is True
    if complex_:
        raise ConfigError(f"{name}: expected real numbers, got complex values (dtype {dtype}); pass abs(x) or x.real")


def refuse_oversized(x: Any, name: str) -> None:
    """One-line ConfigError for an array whose float32 copy would not fit in memory, from its shape alone."""
    needs, free = (x.size * 4, available_memory()) if isinstance(x, np.ndarray) else (0, 0)
    if needs > free:
        raise ConfigError(f"{name}: shape {tuple(x.shape)} would take {needs / 2**30:,.1f} GiB as float32, more than "
                          f"the memory available now ({free / 2**30:,.1f} GiB)")


def float32_or_refuse(convert, name: str):
    """``convert()``, values past float32 (±3.4e38) refused in one line rather than drawn as infinities."""
    try:
        with np.errstate(over="raise"):
            return convert()
    except FloatingPointError:
        raise ConfigError(f"{name}: values beyond float32's range (±3.4e+38); scale them down") from None


def clean_label(s: Any, max_chars: int | None = None) -> str:
    """``str(s)`` as UTF-8 carries it (lone surrogates become U+FFFD; a pair written as two code points is
    joined), cut to ``max_chars`` characters, the last an ellipsis."""
    t = str(s)
    if not t.isascii() and not t.isprintable():  # surrogates are not printable
        t = t.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
    return t[:max_chars - 1] + "…" if max_chars is not None and len(t) > max_chars else t


def to_numpy(x: Any, name: str, expected: str = "an array of numbers") -> np.ndarray:
    """``np.asarray`` of NumPy, TensorFlow, JAX and torch values (torch: detached, on the CPU).

    ConfigError (a ValueError) names ``name`` when ``x`` is not an array of real numbers (:func:`refuse_unreadable`).
    """
    refuse_unreadable(x, name, expected)
    if hasattr(x, "detach"):  # torch tensors that require grad refuse __array__
        x = x.detach().cpu()
    try:
        a = np.asarray(x)
    except Exception as exc:  # noqa: BLE001 - symbolic tensors and other objects
        raise ConfigError(f"{name}: expected {expected}, got {type(x).__name__} ({exc})") from None
    if a.dtype == object or not (np.issubdtype(a.dtype, np.number) or a.dtype == bool):
        raise ConfigError(f"{name}: expected {expected}, got dtype {a.dtype}")
    return a


def _from_array(key: str, value: Any, max_tokens: int) -> np.ndarray:
    a = to_numpy(value, key, "an array of numbers (T, D) or (B, T, D)")
    if a.dtype == bool:
        raise ConfigError(f"{key}: expected an array of numbers (T, D) or (B, T, D), got dtype {a.dtype}")
    if a.ndim == 2:
        a = a[None]
    if a.ndim != 3:
        raise ConfigError(f"{key}: expected an array of rank 2 (T, D) or 3 (B, T, D), got shape {a.shape}")
    if 0 in a.shape:
        raise ConfigError(f"{key}: expected a non-empty array, got shape {a.shape}")
    if a.shape[1] > max_tokens:
        raise ConfigError(f"{key}: {a.shape[1]} positions, more than max_tokens ({max_tokens}); raise it with 'max_tokens: {a.shape[1]}'")
    refuse_oversized(a, key)
    a = float32_or_refuse(lambda: a.astype(np.float32), key)
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
    a = _from_array(key, value, max_tokens)
    return Sequence(_labels(key, labels, a.shape[1], label_key), a)


def check_batches(seqs: dict[str, Sequence]) -> int:
    """All array inputs must share one batch size; return it (1 for text)."""
    sizes = {k: s.shape[0] for k, s in seqs.items() if s.array is not None}
    if len(set(sizes.values())) > 1:
        described = ", ".join(f"{k} {seqs[k].shape}" for k in sizes)
        raise ConfigError(f"{next(iter(sizes))}: batch sizes differ ({described})")
    return next(iter(sizes.values()), 1)
