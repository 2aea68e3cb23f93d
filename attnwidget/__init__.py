"""attnwidget: real Keras attention layers from a ``%%attention`` cell, shown as a clickable widget.

``%load_ext attnwidget`` registers the magics without importing Keras or TensorFlow; the first
run imports them.
"""

from __future__ import annotations

from .api import attention
from .bertviz import head_view, model_view
from .capture import capture  # the function; binding it here shadows the submodule's name on purpose
from .stats import rollout
from .config import ConfigError, tokenize
from .result import AttentionResult, LayerRecord, compare
from .sidebyside import side_by_side
from .widget import AttentionWidget

from ._version import __version__
__all__ = ["attention", "capture", "compare", "rollout", "AttentionResult", "AttentionWidget", "LayerRecord", "ConfigError", "tokenize",
           "load_ipython_extension", "head_view", "model_view", "side_by_side"]

_LAYERS = ("BaseAttention", "GlobalSelfAttention", "CrossAttention", "CausalSelfAttention",
           "PositionalEmbedding")
_MODELS = ("FeedForward", "EncoderLayer", "Encoder", "DecoderLayer", "Decoder", "Transformer")


def __getattr__(name):
    # The Keras layer classes import Keras: only when asked for.
    if name in _LAYERS:
        from . import layers

        return getattr(layers, name)
    if name in _MODELS:
        from . import models

        return getattr(models, name)
    raise AttributeError(f"module 'attnwidget' has no attribute {name!r}")


def load_ipython_extension(ipython) -> None:
    """``%load_ext attnwidget``: register ``%%attention`` and ``%attention``."""
    from .magic import AttentionMagics, install_one_line_errors

    ipython.register_magics(AttentionMagics)
    install_one_line_errors(ipython)


def unload_ipython_extension(ipython) -> None:  # noqa: D103 - nothing to undo beyond IPython's own
    pass
