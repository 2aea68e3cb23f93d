"""Configuration of one attention run: parse, resolve ``$names`` and validate.

A configuration is a flat mapping of the keys in :data:`KEYS`. It comes from a cell body in
YAML, from the magic's line options, or from keyword arguments of :func:`attnwidget.attention`.
Every problem raises :class:`ConfigError` (a ``ValueError``) with one line that names the key
and what was expected; the magic turns it into an IPython ``UsageError``.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, make_dataclass, replace
from typing import Any, Mapping

import numpy as np


class ConfigError(ValueError):
    """A bad configuration value; the message is one line naming the key."""


#: What one attention layer is: self-attention, causal (masked) self-attention, or cross attention.
LAYER_KINDS = ("self", "causal", "cross")
KINDS = ("global", "cross", "causal", "base", "encoder", "decoder", "transformer")
STACK_KINDS = ("encoder", "decoder", "transformer")  # the tutorial's stacks (attnwidget.models)
VIEWS = ("graph", "matrix", "heads", "explain", "model")
DEFAULT_MAX_TOKENS = 512


@dataclass(frozen=True)
class Key:
    name: str
    default: Any
    doc: str


KEYS: dict[str, Key] = {k.name: k for k in [
    Key("kind", "global", "global | cross | causal | base (a bare MultiHeadAttention) | encoder | decoder | transformer (the tutorial's stacks)"),
    Key("num_heads", 2, "number of attention heads (positive integer)"),
    Key("key_dim", 2, "size of each head's query and key projections (positive integer)"),
    Key("value_dim", None, "size of each head's value projection (default: key_dim)"),
    Key("d_model", 16, "embedding size when the input is text or tokens"),
    Key("query", None, "text, a list of tokens, an array (T, D) / (B, T, D), a shape [B, T, D], or $name"),
    Key("context", None, "what the query attends to (cross; base: the value); same forms as query"),
    Key("key", None, "base only: keys, if different from the value (context); same forms as query"),
    Key("tokens", None, "labels of the query positions when query is an array (default 0..T-1)"),
    Key("context_tokens", None, "labels of the context positions when context is an array"),
    Key("seed", 0, "seed of the layer's initial weights and random inputs (integer)"),
    Key("device", "auto", "auto (first GPU, else CPU) | cpu | gpu | gpu:N"),
    Key("view", "graph", "graph | matrix | heads | explain | model: the widget's first view"),
    Key("layer", None, "$name of your own Keras attention layer to run instead of building one"),
    Key("model", None, "$name of your own Keras model (any nesting of MultiHeadAttention layers): every attention layer is recorded"),
    Key("inputs", None, "with model: what the model is called with ($name of an array, a tuple or a dict)"),
    Key("num_layers", 2, "encoder | decoder | transformer: layers per stack (positive integer)"),
    Key("dff", None, "encoder | decoder | transformer: feed-forward width (default: 4 × d_model)"),
    Key("batch", 0, "which batch element the widget shows first"),
    Key("select", None, "query token pinned at first: its index, or its text (first occurrence)"),
    Key("hide_keys", None, "key positions the views leave out, each query's weights renormalised over the rest (a sink such as <s>): an index or a list"),
    Key("max_tokens", DEFAULT_MAX_TOKENS, "longest text accepted, in tokens (raise it for longer texts)"),
    Key("max_memory", None, "memory a run may need: bytes or a size like 8GB (default: half of what is available)"),
    Key("scale", 1.0, "size of the widget's text, controls and cells (1.75 for a projector; slides use 1.75 by default)"),
]}

class _ReadOnlyMapping:
    """Read access by key (``cfg["kind"]``), for code and users that treat a configuration as a dict."""

    def __getitem__(self, key: str) -> Any:
        if key not in KEYS:
            raise KeyError(key)
        return getattr(self, key)

    def get(self, key: str, default: Any = None) -> Any:
        return getattr(self, key) if key in KEYS else default

    def as_dict(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in KEYS}

    def with_(self, **changes: Any) -> "RunConfig":
        """A copy with ``changes`` (the configuration itself is frozen)."""
        return replace(self, **changes)


#: One validated run: a frozen dataclass with a field per key of :data:`KEYS` (``cfg.kind``, ``cfg.num_heads``).
RunConfig = make_dataclass(
    "RunConfig", [(k.name, Any, k.default) for k in KEYS.values()], bases=(_ReadOnlyMapping,),
    frozen=True, eq=False)
RunConfig.__module__ = __name__
RunConfig.__doc__ = "A validated configuration of one run (frozen; every key of :data:`KEYS` as a field)."


# Other spellings of a key: the line option --heads, and Keras's name for the context of a bare
# MultiHeadAttention (kind: base), `value`.
ALIASES = {"heads": "num_heads", "value": "context"}

# Combining marks, joiners, variation selectors, skin tones and emoji tags stay with their base.
_MARKS = "\u0300-\u036f\u0483-\u0489\u0591-\u05bd\u05bf-\u05c7\u0610-\u061a\u064b-\u065f\u0670" \
         "\u06d6-\u06ed\u0900-\u0903\u093a-\u094f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe00-\ufe0f\ufe20-\ufe2f"
_EXTEND = f"[{_MARKS}\\U0001F3FB-\\U0001F3FF\\U000E0020-\\U000E007F]"
_TOKEN_RE = re.compile(
    rf"[\U0001F1E6-\U0001F1FF]{{2}}"                                     # a flag: two regional indicators
    rf"|(?:\w|[{_MARKS}])+(?:['’](?:\w|[{_MARKS}])+)*"                    # a word, apostrophes inside
    rf"|[^\w\s]{_EXTEND}*(?:\u200d[^\w\s]{_EXTEND}*)*",                  # a symbol or emoji sequence
    re.UNICODE)


def tokenize(text: str) -> list[str]:
    """Split ``text`` into words and punctuation.

    A word is a run of letters, digits, ``_`` and combining marks with inner apostrophes kept
    ("didn't" is one token); every other non-space character is a token of its own, together with
    what extends it (an emoji with its skin tone, variation selector or zero-width-joined parts; a
    flag's two regional indicators).
    """
    return _TOKEN_RE.findall(text)


def check_names(cfg: Mapping[str, Any]) -> None:
    """Refuse unknown keys, suggesting the closest known one."""
    for name in cfg:
        if name not in KEYS and name not in ALIASES:
            close = difflib.get_close_matches(name, list(KEYS) + list(ALIASES), n=1, cutoff=0.6)
            hint = f" (did you mean '{ALIASES.get(close[0], close[0])}'?)" if close else ""
            raise ConfigError(f"{name}: unknown key{hint}; known keys: {', '.join(KEYS)}")


def resolve_names(cfg: dict[str, Any], namespace: Mapping[str, Any] | None) -> dict[str, Any]:
    """Replace string values ``$name`` by ``namespace[name]``."""
    out = {}
    for key, value in cfg.items():
        if isinstance(value, str) and value.startswith("$"):
            name = value[1:]
            if not name.isidentifier():
                raise ConfigError(f"{key}: '{value}' is not a valid $name")
            if namespace is None or name not in namespace:
                raise ConfigError(f"{key}: ${name} is not defined")
            value = namespace[name]
        out[key] = value
    return out


#: Largest values accepted: past them a layer would not fit a notebook's memory (or Keras's int32 seeds).
LIMITS = {"num_heads": 128, "key_dim": 4096, "value_dim": 4096, "d_model": 4096, "max_tokens": 16384,
          "num_layers": 48, "dff": 65536, "seed": 2**31 - 1, "batch": 4096}
#: Largest number of attention weights (batch × heads × query_len × key_len) one run may return.
MAX_WEIGHTS = 8 * 4096 * 4096


def _positive_int(key: str, value: Any, allow_none: bool = False) -> int | None:
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value <= 0:
        raise ConfigError(f"{key}: expected a positive integer, got {value!r}")
    _below_limit(key, value)
    return int(value)


def _below_limit(key: str, value: int) -> None:
    if key in LIMITS and value > LIMITS[key]:
        raise ConfigError(f"{key}: expected at most {LIMITS[key]:,}, got {value:,}")


def _choice(key: str, value: Any, choices: tuple[str, ...]) -> str:
    if value not in choices:
        raise ConfigError(f"{key}: expected one of {' | '.join(choices)}, got {value!r}")
    return value


def _scale(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)) or not 0.5 <= value <= 4:
        raise ConfigError(f"scale: expected a number from 0.5 to 4 (1.75 for a projector), got {value!r}")
    return float(value)


def _device(value: Any) -> str:
    v = str(value).strip().lower() if isinstance(value, str) else value
    if isinstance(v, str) and (v in ("auto", "cpu", "gpu") or re.fullmatch(r"(cpu|gpu):\d+", v)):
        return v
    raise ConfigError(f"device: expected auto | cpu | gpu | gpu:N, got {value!r}")


def _merge_aliases(cfg: Mapping[str, Any]) -> dict[str, Any]:
    """``value:`` (Keras's name) is the context of ``kind: base``; ``heads`` is ``num_heads``."""
    out = dict(cfg)
    if "value" in out:
        if out.get("kind") != "base":
            raise ConfigError(f"value: only kind 'base' takes a value (Keras's name for what the query attends "
                              f"to); for kind {out.get('kind', KEYS['kind'].default)!r} use context")
        if "context" in out:
            raise ConfigError("value: give either value or context (the same thing for kind 'base'), not both")
    for alias, key in ALIASES.items():
        if alias in out:
            if key in out:
                raise ConfigError(f"{alias}: give either {alias} or {key} (the same key), not both")
            out[key] = out.pop(alias)
    return out


def validate(cfg: Mapping[str, Any]) -> "RunConfig":
    """Fill defaults and check scalar keys; inputs (query, context, key) are checked by ``inputs``.

    Returns the resolved, frozen :class:`RunConfig` (every key of :data:`KEYS`).
    """
    cfg = _merge_aliases(cfg)
    check_names(cfg)
    out = {name: cfg.get(name, k.default) for name, k in KEYS.items()}
    out["kind"] = _choice("kind", out["kind"], KINDS)
    out["num_heads"] = _positive_int("num_heads", out["num_heads"])
    out["key_dim"] = _positive_int("key_dim", out["key_dim"])
    out["value_dim"] = _positive_int("value_dim", out["value_dim"], allow_none=True)
    out["d_model"] = _positive_int("d_model", out["d_model"])
    out["max_tokens"] = _positive_int("max_tokens", out["max_tokens"])
    out["num_layers"] = _positive_int("num_layers", out["num_layers"])
    out["dff"] = _positive_int("dff", out["dff"], allow_none=True)
    for key in ("seed", "batch"):
        v = out[key]
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 0:
            raise ConfigError(f"{key}: expected a non-negative integer, got {v!r}")
        _below_limit(key, v)
        out[key] = int(v)
    out["device"] = _device(out["device"])
    out["scale"] = _scale(out["scale"])
    out["view"] = _choice("view", out["view"], VIEWS)
    _check_models(cfg, out)
    if out["query"] is None and out["layer"] is None and out["model"] is None or _is_empty(out["query"]):
        raise ConfigError("query: expected a text, tokens or an array; got nothing (an empty query)")
    kind = out["kind"]
    if kind == "cross" and out["context"] is None:
        raise ConfigError("context: kind 'cross' needs a context to attend to (context: ...)")
    if kind in ("global", "causal") and out["context"] is not None:
        raise ConfigError(f"context: kind '{kind}' is self-attention and takes no context; use kind: cross")
    if out["key"] is not None and kind not in ("base", "model"):
        raise ConfigError(f"key: only kind 'base' takes a separate key, not '{kind}'")
    sel = out["select"]
    if sel is not None and (isinstance(sel, bool) or not isinstance(sel, (int, str))
                            or (isinstance(sel, int) and sel < 0)):
        raise ConfigError(f"select: expected a token's index (0, 1, ...) or its text, got {sel!r}")
    hk = out["hide_keys"]
    hk = [hk] if isinstance(hk, int) and not isinstance(hk, bool) else hk
    if hk is not None and (not isinstance(hk, (list, tuple))
                           or not all(isinstance(i, int) and not isinstance(i, bool) and i >= 0 for i in hk)):
        raise ConfigError(f"hide_keys: expected a key index (0, 1, ...) or a list of them, got {out['hide_keys']!r}")
    out["hide_keys"] = None if hk is None else sorted(set(hk))
    for key in ("tokens", "context_tokens"):
        v = out[key]
        if v is not None and (not isinstance(v, (list, tuple)) or not all(isinstance(s, (str, int, float)) for s in v)):
            raise ConfigError(f"{key}: expected a list of labels, got {type(v).__name__}")
    return RunConfig(**out)


def _check_models(cfg: Mapping[str, Any], out: dict[str, Any]) -> None:
    """``model:`` / ``inputs:`` and the stack kinds (encoder, decoder, transformer)."""
    kind = out["kind"]
    if out["model"] is not None:
        if out["layer"] is not None:
            raise ConfigError("model: give either model (a whole model) or layer (one attention layer), not both")
        if out["inputs"] is None:
            raise ConfigError("inputs: model needs inputs to run on (inputs: $x, or a tuple like ($context, $target))")
        for key in ("query", "context", "key"):
            if out[key] is not None:
                raise ConfigError(f"{key}: model takes its input from inputs, not {key}")
        if "kind" in cfg:
            raise ConfigError(f"kind: model runs your own model; drop kind ({kind!r})")
        out["kind"] = "model"
    elif out["inputs"] is not None:
        raise ConfigError("inputs: only with model ($name of your own Keras model)")
    for key in ("num_layers", "dff"):
        if key in cfg and kind not in STACK_KINDS:
            raise ConfigError(f"{key}: only for kind encoder | decoder | transformer, not {out['kind']!r}")
    if kind not in STACK_KINDS:
        return
    if out["layer"] is not None:
        raise ConfigError(f"layer: kind {kind!r} builds its own stack; use model: $name for your own model")
    if out["key"] is not None:
        raise ConfigError(f"key: kind {kind!r} takes no separate key")
    if out["query"] is None:
        raise ConfigError(f"query: kind {kind!r} needs a text or tokens (the {'source' if kind == 'encoder' else 'target'} sentence)")
    if kind == "encoder" and out["context"] is not None:
        raise ConfigError("context: kind 'encoder' is self-attention and takes no context; use kind: transformer")
    if kind in ("decoder", "transformer") and out["context"] is None:
        raise ConfigError(f"context: kind {kind!r} needs a context (the source sentence) to attend to")
    if "key_dim" not in cfg:
        out["key_dim"] = out["d_model"]  # the tutorial: key_dim = d_model per head
    if out["dff"] is None:
        out["dff"] = 4 * out["d_model"]


def first_line(exc: BaseException) -> str:
    """The line of ``exc`` that says what went wrong (Keras puts "Exception encountered when calling …" first)."""
    lines = [ln.strip().replace("\x1b[1m", "").replace("\x1b[0m", "") for ln in str(exc).splitlines() if ln.strip()]
    if len(lines) > 1 and lines[0].startswith("Exception encountered when calling"):
        lines = lines[1:]
    return f"{type(exc).__name__}: {lines[0]}" if lines else type(exc).__name__


def _is_empty(value: Any) -> bool:
    return (isinstance(value, str) and not value.strip()) or (isinstance(value, (list, tuple)) and not value)
