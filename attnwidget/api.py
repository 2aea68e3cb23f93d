"""Plain-Python entry point: the same run as ``%%attention``, without the magic."""

from __future__ import annotations

from typing import Any

from . import config as C


def attention(**cfg: Any):
    """Build and run an attention layer; return an :class:`~attnwidget.result.AttentionResult`.

    Takes the keys of the ``%%attention`` cell (``kind``, ``num_heads``, ``key_dim``, ``query``,
    ``context`` …, see :data:`attnwidget.config.KEYS`); values are Python objects, not ``$names``.
    Raises ``ValueError`` (:class:`~attnwidget.config.ConfigError`) naming the bad key.

    >>> res = attention(kind="cross", num_heads=2, key_dim=2, query=[1, 8, 16], context=[1, 4, 16])
    >>> res.scores.shape   # (batch, heads, query_len, key_len)
    (1, 2, 8, 4)
    """
    from .run import run

    resolved = C.validate(cfg)
    return run(resolved, announce=None)
