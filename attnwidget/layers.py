"""The lecture's attention layers, written with ``keras.ops`` (TensorFlow, JAX and PyTorch backends).

They follow the TensorFlow tutorial "Neural machine translation with a Transformer and Keras":
each keeps its ``MultiHeadAttention`` as ``.mha`` and the last scores as ``.last_attn_scores``.
``call(..., return_attention_scores=True)`` also returns the scores,
``(batch, heads, query_len, key_len)``.

Importing this module imports Keras (and so the backend); the package imports it lazily.
"""

from __future__ import annotations

import math

import keras
from keras import ops


def positional_encoding(length: int, depth: int):
    """The tutorial's encoding, ``(length, depth)``: sines in the first half, cosines in the second."""
    half = (depth + 1) // 2
    positions = ops.cast(ops.arange(length), "float32")[:, None]             # (length, 1)
    depths = ops.cast(ops.arange(half), "float32")[None, :] / float(half)     # (1, half)
    angle_rads = positions / ops.power(10000.0, depths)                       # (length, half)
    enc = ops.concatenate([ops.sin(angle_rads), ops.cos(angle_rads)], axis=-1)
    return enc[:, :depth]


class PositionalEmbedding(keras.layers.Layer):
    """Token ids ``(batch, T)`` → embeddings ``(batch, T, d_model)`` scaled by √d_model, plus positions."""

    def __init__(self, vocab_size: int, d_model: int, embeddings_initializer="uniform", **kwargs):
        super().__init__(**kwargs)
        self.vocab_size = vocab_size
        self.d_model = d_model
        self.embedding = keras.layers.Embedding(vocab_size, d_model, embeddings_initializer=embeddings_initializer)

    def call(self, x):
        length = ops.shape(x)[1]
        x = self.embedding(x) * math.sqrt(self.d_model)
        return x + ops.cast(positional_encoding(length, self.d_model), x.dtype)[None]

    def get_config(self):
        return {**super().get_config(), "vocab_size": self.vocab_size, "d_model": self.d_model}


class BaseAttention(keras.layers.Layer):
    """MultiHeadAttention + Add + LayerNormalization; keyword arguments go to MultiHeadAttention."""

    def __init__(self, name: str | None = None, **kwargs):
        super().__init__(name=name)
        self.mha = keras.layers.MultiHeadAttention(**kwargs)
        self.layernorm = keras.layers.LayerNormalization()
        self.add = keras.layers.Add()
        self.last_attn_scores = None

    def _finish(self, x, attn_output, scores, return_attention_scores):
        self.last_attn_scores = scores
        x = self.layernorm(self.add([x, attn_output]))
        return (x, scores) if return_attention_scores else x


class GlobalSelfAttention(BaseAttention):
    """Every token of ``x`` ``(batch, T, d)`` attends to every token of ``x`` (or, with ``attention_mask``
    ``(batch, T, T)``, to those where it is True)."""

    def call(self, x, return_attention_scores=False, training=None, attention_mask=None):
        out, scores = self.mha(query=x, value=x, key=x, attention_mask=attention_mask,
                               return_attention_scores=True, training=training)
        return self._finish(x, out, scores, return_attention_scores)


class CrossAttention(BaseAttention):
    """Tokens of ``x`` ``(batch, T, d)`` attend to ``context`` ``(batch, S, d_ctx)``."""

    def call(self, x, context, return_attention_scores=False, training=None):
        out, scores = self.mha(query=x, key=context, value=context,
                               return_attention_scores=True, training=training)
        return self._finish(x, out, scores, return_attention_scores)


class CausalSelfAttention(BaseAttention):
    """Token ``i`` of ``x`` attends to tokens ``0..i`` only (weights above the diagonal are 0)."""

    def call(self, x, return_attention_scores=False, training=None):
        out, scores = self.mha(query=x, value=x, key=x, use_causal_mask=True,
                               return_attention_scores=True, training=training)
        return self._finish(x, out, scores, return_attention_scores)


KIND_CLASSES = {"global": GlobalSelfAttention, "cross": CrossAttention, "causal": CausalSelfAttention}
