"""The tutorial's Transformer stacks, written with ``keras.ops`` (TensorFlow, JAX and PyTorch backends).

They follow "Neural machine translation with a Transformer and Keras" (TensorFlow tutorial):
``FeedForward``, ``EncoderLayer``, ``Encoder``, ``DecoderLayer``, ``Decoder`` and ``Transformer``,
built on :mod:`attnwidget.layers` (``GlobalSelfAttention``, ``CausalSelfAttention``,
``CrossAttention``, ``PositionalEmbedding``). As in the tutorial, ``key_dim`` defaults to
``d_model`` (per head) and the attention layers keep their ``MultiHeadAttention`` as ``.mha``, so
:func:`attnwidget.capture` finds them at paths such as ``encoder/enc_layers_0/self_attention/mha``.

Importing this module imports Keras (and so the backend); the package imports it lazily.
"""

from __future__ import annotations

import keras

from .layers import CausalSelfAttention, CrossAttention, GlobalSelfAttention, PositionalEmbedding


class FeedForward(keras.layers.Layer):
    """Dense(dff, relu) → Dense(d_model) → Dropout, added to the input and layer-normalised."""

    def __init__(self, d_model: int, dff: int, dropout_rate: float = 0.1, **kwargs):
        super().__init__(**kwargs)
        self.seq = keras.Sequential([
            keras.layers.Dense(dff, activation="relu"),
            keras.layers.Dense(d_model),
            keras.layers.Dropout(dropout_rate),
        ])
        self.add = keras.layers.Add()
        self.layer_norm = keras.layers.LayerNormalization()

    def call(self, x):
        return self.layer_norm(self.add([x, self.seq(x)]))


class EncoderLayer(keras.layers.Layer):
    """Global self-attention, then the feed-forward block."""

    def __init__(self, *, d_model: int, num_heads: int, dff: int, dropout_rate: float = 0.1,
                 key_dim: int | None = None, **kwargs):
        super().__init__(**kwargs)
        self.self_attention = GlobalSelfAttention(num_heads=num_heads, key_dim=key_dim or d_model,
                                                  dropout=dropout_rate)
        self.ffn = FeedForward(d_model, dff, dropout_rate)

    def call(self, x, attention_mask=None):
        return self.ffn(self.self_attention(x, attention_mask=attention_mask))


class Encoder(keras.layers.Layer):
    """Token ids ``(batch, T)`` → ``(batch, T, d_model)``: positional embedding, then ``num_layers`` EncoderLayers;
    with ``head_counts``, ``head_counts[i]`` heads in layer i (key_dim d_model / heads) instead."""

    def __init__(self, *, num_layers: int, d_model: int, num_heads: int, dff: int, vocab_size: int,
                 dropout_rate: float = 0.1, key_dim: int | None = None, head_counts=None, **kwargs):
        super().__init__(**kwargs)
        heads = [num_heads] * num_layers if head_counts is None else [int(h) for h in head_counts]
        self.d_model = d_model
        self.num_layers = len(heads)
        self.pos_embedding = PositionalEmbedding(vocab_size=vocab_size, d_model=d_model)
        self.enc_layers = [EncoderLayer(d_model=d_model, num_heads=h, dff=dff, dropout_rate=dropout_rate,
                                        key_dim=key_dim if head_counts is None else d_model // h)
                           for h in heads]
        self.dropout = keras.layers.Dropout(dropout_rate)

    def call(self, x, first_mask=None, return_attention_output=False):
        """``first_mask``: bool ``(batch, T, T)``, the first layer's attention mask (query i may attend to
        key j). With ``return_attention_output``, also the last layer's attention output (before its
        feed-forward block), ``(batch, T, d_model)``."""
        x = self.dropout(self.pos_embedding(x))
        for i, layer in enumerate(self.enc_layers[:-1]):
            x = layer(x, attention_mask=first_mask if i == 0 else None)
        if not self.enc_layers:
            return (x, None) if return_attention_output else x
        last, mask = self.enc_layers[-1], first_mask if len(self.enc_layers) == 1 else None
        if not return_attention_output:
            return last(x, attention_mask=mask)
        att = last.self_attention(x, attention_mask=mask)
        return last.ffn(att), att


class DecoderLayer(keras.layers.Layer):
    """Causal self-attention, cross-attention to ``context``, then the feed-forward block."""

    def __init__(self, *, d_model: int, num_heads: int, dff: int, dropout_rate: float = 0.1,
                 key_dim: int | None = None, **kwargs):
        super().__init__(**kwargs)
        self.causal_self_attention = CausalSelfAttention(num_heads=num_heads, key_dim=key_dim or d_model,
                                                         dropout=dropout_rate)
        self.cross_attention = CrossAttention(num_heads=num_heads, key_dim=key_dim or d_model,
                                              dropout=dropout_rate)
        self.ffn = FeedForward(d_model, dff, dropout_rate)
        self.last_attn_scores = None

    def call(self, x, context):
        x = self.causal_self_attention(x)
        x = self.cross_attention(x, context)
        self.last_attn_scores = self.cross_attention.last_attn_scores
        return self.ffn(x)


class Decoder(keras.layers.Layer):
    """Token ids ``(batch, U)`` and ``context`` ``(batch, T, d)`` → ``(batch, U, d_model)``."""

    def __init__(self, *, num_layers: int, d_model: int, num_heads: int, dff: int, vocab_size: int,
                 dropout_rate: float = 0.1, key_dim: int | None = None, **kwargs):
        super().__init__(**kwargs)
        self.d_model = d_model
        self.num_layers = num_layers
        self.pos_embedding = PositionalEmbedding(vocab_size=vocab_size, d_model=d_model)
        self.dropout = keras.layers.Dropout(dropout_rate)
        self.dec_layers = [DecoderLayer(d_model=d_model, num_heads=num_heads, dff=dff,
                                        dropout_rate=dropout_rate, key_dim=key_dim)
                           for _ in range(num_layers)]
        self.last_attn_scores = None

    def call(self, x, context):
        x = self.dropout(self.pos_embedding(x))
        for layer in self.dec_layers:
            x = layer(x, context)
        self.last_attn_scores = self.dec_layers[-1].last_attn_scores
        return x


class Transformer(keras.Model):
    """``(context_ids (batch, T), target_ids (batch, U))`` → logits ``(batch, U, target_vocab_size)``."""

    def __init__(self, *, num_layers: int, d_model: int, num_heads: int, dff: int, input_vocab_size: int,
                 target_vocab_size: int, dropout_rate: float = 0.1, key_dim: int | None = None,
                 encoder_class=None, **kwargs):
        super().__init__(**kwargs)
        # encoder_class: an Encoder subclass taking the same arguments (attnwidget.itmodel's ClauseEncoder)
        self.encoder = (encoder_class or Encoder)(num_layers=num_layers, d_model=d_model, num_heads=num_heads,
                                                  dff=dff, vocab_size=input_vocab_size,
                                                  dropout_rate=dropout_rate, key_dim=key_dim)
        self.decoder = Decoder(num_layers=num_layers, d_model=d_model, num_heads=num_heads, dff=dff,
                               vocab_size=target_vocab_size, dropout_rate=dropout_rate, key_dim=key_dim)
        self.final_layer = keras.layers.Dense(target_vocab_size)

    def call(self, inputs):
        context, x = inputs
        context = self.encoder(context)
        x = self.decoder(x, context)
        return self.final_layer(x)
