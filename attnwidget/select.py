"""Which layer and query token a view opens on: ``select`` (``--select it``, ``select="the#2"``, an index)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Sequence

import numpy as np

from .config import ConfigError

if TYPE_CHECKING:
    from .result import LayerRecord


def select_query(select: Any, records: Sequence[LayerRecord], query_tokens: Sequence[str] | None) -> tuple[int, int | None]:
    """``(record index, query index)`` of ``select`` (an index or a token of the user's ``query``).

    With ``select``, the view opens on the first record whose queries are ``query_tokens`` (the decoder's
    layers in a Transformer, whose query is the target text); without ``select`` or such a record, on the first. A token given
    twice is taken at its first occurrence; ``"the#2"`` names the second. ConfigError names the tokens
    ``select`` could have been.
    """
    if select is None:
        return 0, None
    start = 0
    if query_tokens is not None:
        want = tuple(str(t) for t in query_tokens)
        start = next((i for i, r in enumerate(records) if r.query_tokens == want), 0)
    tokens = records[start].query_tokens
    if isinstance(select, (int, np.integer)) and not isinstance(select, bool):
        if not 0 <= select < len(tokens):
            raise ConfigError(f"select: index {select} is past the last query token ({len(tokens) - 1}: "
                              f"{tokens[-1]!r})")
        return start, int(select)
    text, nth = str(select), 1
    if text not in tokens and "#" in text:
        base, _, num = text.rpartition("#")
        if num.isdigit() and int(num) >= 1:
            text, nth = base, int(num)
    places = [i for i, t in enumerate(tokens) if t == text]
    if len(places) < nth:
        shown = ", ".join(tokens[:40]) + (" …" if len(tokens) > 40 else "")
        raise ConfigError(f"select: {select!r} is not one of the query tokens ({shown})")
    return start, places[nth - 1]
