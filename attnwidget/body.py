"""A ``%%attention`` cell body: YAML, one ``key: value`` per line, into a dict.

Every problem raises :class:`~attnwidget.config.ConfigError` with one line naming where it is.
"""

from __future__ import annotations

import sys
from typing import Any

import yaml

from .config import ConfigError


#: Deepest nesting of lists and mappings a body may have.
MAX_DEPTH = 32
#: Most values a body may hold once its aliases (``&a`` … ``*a``) are expanded: a few lines of aliases
#: can otherwise stand for billions of values (a "billion laughs" document).
MAX_VALUES = 1_000_000


class _Loader(yaml.SafeLoader):
    """``yaml.SafeLoader`` with bounded nesting and alias expansion, refusing a key given twice."""

    def compose_node(self, parent, index):
        self._depth = getattr(self, "_depth", 0) + 1
        try:
            if self._depth > MAX_DEPTH:
                mark = self.peek_event().start_mark
                raise ConfigError(f"cell body: nested deeper than {MAX_DEPTH} levels (line {mark.line + 1})")
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1

    def construct_document(self, node):
        expanded = _expanded_size(node, {})
        if expanded > MAX_VALUES:
            raise ConfigError(f"cell body: its aliases (&name … *name) expand to more than "
                              f"{MAX_VALUES:,} values; write the values out or pass an array as $name")
        return super().construct_document(node)


def _expanded_size(node, memo: dict) -> int:
    """Values ``node`` stands for with every alias expanded (aliases share node objects: counted once each)."""
    key = id(node)
    if key not in memo:
        memo[key] = 0  # a recursive alias counts as nothing more
        if isinstance(node, yaml.SequenceNode):
            memo[key] = 1 + sum(_expanded_size(n, memo) for n in node.value)
        elif isinstance(node, yaml.MappingNode):
            memo[key] = 1 + sum(_expanded_size(k, memo) + _expanded_size(v, memo) for k, v in node.value)
        else:
            memo[key] = 1
        memo[key] = min(memo[key], MAX_VALUES + 1)
    return memo[key]


def _construct_mapping(loader, node, deep=False):
    seen = set()
    for key_node, _ in node.value:
        if not isinstance(key_node, yaml.ScalarNode):
            raise ConfigError(f"cell body: keys must be names, got a {key_node.id} (line {key_node.start_mark.line + 1})")
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            raise ConfigError(f"{key}: given twice (line {key_node.start_mark.line + 1})")
        seen.add(key)
    return loader.construct_mapping(node, deep=deep)


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def _syntax_error(exc: yaml.MarkedYAMLError) -> ConfigError:
    mark = exc.context_mark or exc.problem_mark  # where the broken construct starts
    where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
    hint = ""
    if "mapping values are not allowed" in str(exc.problem):
        hint = "; a text with ': ' in it must be quoted (query: \"Note: it was late\")"
    return ConfigError(f"cell body: YAML syntax error{where}: {exc.problem or exc}{hint}")


def parse_body(body: str) -> dict[str, Any]:
    """Parse a cell body (YAML mapping) into a dict; empty body gives ``{}``."""
    if not body or not body.strip():
        return {}
    try:
        data = yaml.load(body, Loader=_Loader)  # noqa: S506 - SafeLoader subclass
    except yaml.MarkedYAMLError as exc:
        raise _syntax_error(exc) from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"cell body: YAML syntax error: {exc}") from None
    except ValueError as exc:  # e.g. an integer past Python's 4,300-digit limit
        if isinstance(exc, ConfigError):
            raise
        if "digits" in str(exc):
            raise ConfigError(f"cell body: a number has more than {sys.get_int_max_str_digits():,} digits, more "
                              "than Python reads; no key takes a number that large") from None
        raise ConfigError(f"cell body: a value YAML could not read ({str(exc).splitlines()[0]})") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(
            f"cell body: expected 'key: value' lines (a YAML mapping), got a {type(data).__name__}")
    for k in data:
        if not isinstance(k, str):
            raise ConfigError(f"cell body: keys must be names, got {k!r}")
    return data
