"""Build the layers of a configuration, with weights drawn from ``seed`` alone.

Keras's default initializers draw their seeds from Python's global ``random``; building here runs
inside :func:`private_random`, and the weights are then set from a private NumPy generator, so the
user's ``random``, NumPy and Keras global states are untouched.
"""

from __future__ import annotations

import contextlib
import random

import numpy as np


@contextlib.contextmanager
def private_random():
    """Restore Python's and NumPy's global random states after the block (Keras draws default seeds)."""
    py, npst = random.getstate(), np.random.get_state()
    try:
        yield
    finally:
        random.setstate(py)
        np.random.set_state(npst)


def _kernel(rng: np.random.Generator, shape: tuple[int, ...], output: bool) -> np.ndarray:
    """A dense or einsum kernel.

    Query/key/value kernels ``(d, heads, key_dim)`` are LeCun-normal (std 1/√d), so each projected
    component has the spread of the input and q·k/√key_dim has unit spread at any key_dim.
    Keras's Glorot default, with its convolution-style fans, makes an untrained head attend
    almost uniformly (entropy ln T on the lecture's sentence at key_dim 512), which shows nothing.
    The output kernel ``(heads, value_dim, d)`` is Glorot-uniform over heads × value_dim → d.
    """
    if output:
        fan_in, fan_out = int(np.prod(shape[:-1])), shape[-1]
        limit = np.sqrt(6.0 / (fan_in + fan_out))
        return rng.uniform(-limit, limit, shape)
    return rng.normal(0.0, 1.0 / np.sqrt(shape[0]), shape)


def seed_weights(layers: list, seed: int) -> None:
    """Weights of the layers the engine built, from ``seed`` alone (see :func:`_kernel`).

    Embeddings N(0, 1/d), zero biases and betas, unit gammas.
    """
    rng = np.random.default_rng([seed, 0x5EED])
    for layer in layers:
        for w in layer.weights:
            shape = tuple(int(s) for s in w.shape)
            name = w.path if hasattr(w, "path") else w.name
            leaf = name.rsplit("/", 1)[-1]
            if leaf == "gamma":
                value = np.ones(shape)
            elif leaf in ("beta", "bias"):
                value = np.zeros(shape)
            elif leaf == "embeddings":
                # N(0, 1/d): after the tutorial's × √d_model each entry is about N(0, 1), as
                # large as the positional encoding, so words matter as much as positions.
                value = rng.normal(0.0, 1.0 / np.sqrt(shape[-1]), shape)
            else:
                value = _kernel(rng, shape, output="attention_output" in name)
            w.assign(value.astype(w.dtype))


def build_layer(keras, cfg: dict, vocab: list[str]):
    from . import layers as L

    # Explicit seeds everywhere: Keras's default seeds would draw from Python's global `random`.
    mha_kwargs = dict(
        num_heads=cfg["num_heads"], key_dim=cfg["key_dim"], value_dim=cfg["value_dim"],
        kernel_initializer=keras.initializers.GlorotUniform(seed=cfg["seed"]), seed=cfg["seed"])
    kind = cfg["kind"]
    layer = (keras.layers.MultiHeadAttention(**mha_kwargs) if kind == "base"
             else L.KIND_CLASSES[kind](**mha_kwargs))
    embed = None
    if vocab:
        embed = L.PositionalEmbedding(len(vocab), cfg["d_model"],
                                      embeddings_initializer=keras.initializers.RandomUniform(seed=cfg["seed"]))
    return layer, embed


def build_stack(keras, cfg: dict, vocab: list[str]):
    from . import layers as L
    from . import models as M

    # Dropout only acts in training; the tutorial's 0.1 is kept except on torch, where Keras 3.15 cannot
    # create a Dropout's seed state inside keras.device(...) (torch 2.13: "Only Tensors of floating point
    # ... can require gradients"); without dropout the layers compute the same at training=False.
    common = dict(num_layers=cfg["num_layers"], d_model=cfg["d_model"], num_heads=cfg["num_heads"],
                  dff=cfg["dff"], key_dim=cfg["key_dim"],
                  dropout_rate=0.0 if keras.backend.backend() == "torch" else 0.1)
    kind, n = cfg["kind"], max(1, len(vocab))
    embed = None
    if kind == "encoder":
        model = M.Encoder(vocab_size=n, **common)
    elif kind == "decoder":
        model = M.Decoder(vocab_size=n, **common)
        embed = L.PositionalEmbedding(n, cfg["d_model"])  # embeds a text context
    else:
        model = M.Transformer(input_vocab_size=n, target_vocab_size=n, **common)
    return model, embed
