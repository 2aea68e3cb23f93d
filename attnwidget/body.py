"""A ``%%attention`` cell body: YAML, one ``key: value`` per line, into a dict.

Every problem raises :class:`~attnwidget.config.ConfigError` with one line naming where it is.
"""

from __future__ import annotations

from typing import Any

import yaml

from .config import ConfigError


class _UniqueKeyLoader(yaml.SafeLoader):
    """``yaml.SafeLoader`` that refuses a key given twice in one mapping."""


def _construct_mapping(loader, node, deep=False):
    seen = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            raise ConfigError(f"{key}: given twice (line {key_node.start_mark.line + 1})")
        seen.add(key)
    return loader.construct_mapping(node, deep=deep)


_UniqueKeyLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def parse_body(body: str) -> dict[str, Any]:
    """Parse a cell body (YAML mapping) into a dict; empty body gives ``{}``."""
    if not body or not body.strip():
        return {}
    try:
        data = yaml.load(body, Loader=_UniqueKeyLoader)  # noqa: S506 - SafeLoader subclass
    except yaml.MarkedYAMLError as exc:
        mark = exc.context_mark or exc.problem_mark  # where the broken construct starts
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise ConfigError(f"cell body: YAML syntax error{where}: {exc.problem or exc}") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"cell body: YAML syntax error: {exc}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(
            f"cell body: expected 'key: value' lines (a YAML mapping), got a {type(data).__name__}")
    for k in data:
        if not isinstance(k, str):
            raise ConfigError(f"cell body: keys must be names, got {k!r}")
    return data
