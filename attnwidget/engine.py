"""Build (or reuse) the attention layer of a configuration and run it on the chosen device.

The run is ``layer(..., return_attention_scores=True, training=False)`` under
``keras.device(...)``. Layers the engine builds get their weights from a private NumPy
generator seeded by ``seed``, so the user's ``random``, NumPy and Keras global states are
untouched, and a cache keeps built layers so re-running an unchanged cell reuses them.
"""

from __future__ import annotations

import collections
import time
from typing import Any

import numpy as np

from . import backend
from .capture import find_mha, recording
from .config import ConfigError
from .inputs import Sequence, check_batches, to_sequence
from .result import AttentionResult

_CACHE: "collections.OrderedDict[tuple, tuple[Any, Any]]" = collections.OrderedDict()
CACHE_SIZE = 8


def clear_cache() -> None:
    """Forget every layer the engine built (the next run builds new ones)."""
    _CACHE.clear()


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


def _build(keras, cfg: dict, vocab: list[str]):
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


def _call(layer, kind: str, x, ctx, key, keras):
    """Run ``layer``; return ``(output, scores)``."""
    from .layers import BaseAttention

    causal = kind == "causal"
    if isinstance(layer, keras.layers.MultiHeadAttention):
        value = x if ctx is None else ctx
        return layer(query=x, value=value, key=key if key is not None else value,
                     use_causal_mask=causal, return_attention_scores=True, training=False)
    if isinstance(layer, BaseAttention):
        args = (x, ctx) if kind == "cross" else (x,)
        return layer(*args, return_attention_scores=True, training=False)
    mha = find_mha(layer, keras)
    if mha is None:
        raise ConfigError(
            f"layer: expected a keras MultiHeadAttention or a layer with an .mha attribute, got {type(layer).__name__}")
    with recording(mha) as recorded:
        out = layer(x, ctx) if kind == "cross" else layer(x)
    if not recorded:
        raise ConfigError(f"layer: {type(layer).__name__} did not call its .mha, so it gave no scores")
    return out, recorded[-1]


def run(cfg: dict, announce=print) -> AttentionResult:
    """Run the validated configuration ``cfg`` (see :func:`attnwidget.config.validate`)."""
    keras = backend.load_keras(announce)
    device = backend.resolve_device(keras, cfg["device"])
    kind = cfg["kind"]
    rng = np.random.default_rng(cfg["seed"])  # random inputs from a shape: private generator
    common = dict(max_tokens=cfg["max_tokens"], rng=rng)
    seqs: dict[str, Sequence] = {
        "query": to_sequence("query", cfg["query"], labels=cfg["tokens"], label_key="tokens", **common)}
    if cfg["context"] is not None:
        seqs["context"] = to_sequence("context", cfg["context"], labels=cfg["context_tokens"],
                                      label_key="context_tokens", **common)
    if cfg["key"] is not None:
        seqs["key"] = to_sequence("key", cfg["key"], labels=None, label_key="key", **common)
        if "context" in seqs and seqs["key"].shape[1] != seqs["context"].shape[1]:
            raise ConfigError(
                f"key: has {seqs['key'].shape[1]} positions but context (the value) has {seqs['context'].shape[1]}")
    batch = check_batches(seqs)
    if cfg["batch"] >= batch:
        raise ConfigError(f"batch: expected an index in 0..{batch - 1}, got {cfg['batch']}")
    vocab = sorted({tok for s in seqs.values() if s.is_text for tok in s.tokens})

    user_layer = cfg["layer"]
    if user_layer is not None and not isinstance(user_layer, keras.layers.Layer):
        raise ConfigError(f"layer: expected a Keras attention layer, got {type(user_layer).__name__}")
    dims = tuple((k, s.shape[1:] if s.array is not None else None) for k, s in seqs.items())
    cache_key = (keras.backend.backend(), kind, cfg["num_heads"], cfg["key_dim"], cfg["value_dim"],
                 cfg["d_model"], cfg["seed"], tuple(vocab), tuple((k, s and s[-1]) for k, s in dims), device)
    t0 = time.perf_counter()
    built = False
    with keras.device(device):
        if user_layer is not None:
            layer = user_layer
            embed = _CACHE.get(("embed", cache_key), (None, None))[1] if vocab else None
            if vocab and embed is None:
                embed = _build(keras, cfg, vocab)[1]
                built = True
                _remember(("embed", cache_key), (None, embed))
        elif cache_key in _CACHE:
            layer, embed = _CACHE[cache_key]
            _CACHE.move_to_end(cache_key)
        else:
            layer, embed = _build(keras, cfg, vocab)
            built = True

        def tensors():
            out = {}
            for name, s in seqs.items():
                if s.is_text:
                    ids = np.array([[vocab.index(tok) for tok in s.tokens]], dtype="int32")
                    a = embed(ids)
                    out[name] = keras.ops.tile(a, (batch, 1, 1)) if batch > 1 else a
                else:
                    out[name] = keras.ops.convert_to_tensor(s.array)
            return out

        try:
            if built:  # the first call builds the weights; then they are set from `seed`
                t = tensors()
                _call(layer, kind, t["query"], t.get("context"), t.get("key"), keras)
                seed_weights([m for m in (None if user_layer is not None else layer, embed) if m is not None],
                             cfg["seed"])
            t1 = time.perf_counter()
            t = tensors()
            output, scores = _call(layer, kind, t["query"], t.get("context"), t.get("key"), keras)
            scores_np = np.asarray(keras.ops.convert_to_numpy(scores), dtype=np.float32)
            output_np = np.asarray(keras.ops.convert_to_numpy(output))
            t2 = time.perf_counter()
            inputs_np = {k: np.asarray(keras.ops.convert_to_numpy(v)) for k, v in t.items()}
        except (ValueError, TypeError) as exc:
            if user_layer is None:
                raise
            raise ConfigError(f"layer: {type(user_layer).__name__} failed on these inputs: "
                              f"{str(exc).splitlines()[0] if str(exc) else type(exc).__name__}") from exc
    if built and user_layer is None:
        _remember(cache_key, (layer, embed))
    if scores_np.ndim != 4:
        raise ConfigError(f"layer: expected scores (batch, heads, q, k) from {type(layer).__name__}, got {scores_np.shape}")
    q_len, k_len = scores_np.shape[2:]
    key_seq = seqs.get("context", seqs.get("key", seqs["query"])) if kind in ("cross", "base") else seqs["query"]
    mask = np.tril(np.ones((q_len, k_len), dtype=bool)) if kind == "causal" else None
    _check_select(cfg["select"], seqs["query"].tokens)
    return AttentionResult(
        scores=scores_np, output=output_np,
        query_tokens=list(seqs["query"].tokens), key_tokens=list(key_seq.tokens),
        layer=layer, config=dict(cfg), device=device,
        placed_on=backend.placed_on(scores), backend=keras.backend.backend(), mask=mask,
        timings={"build_ms": (t1 - t0) * 1e3, "run_ms": (t2 - t1) * 1e3},
        inputs=inputs_np, input_shapes={k: v.shape for k, v in inputs_np.items()},
    )


def _check_select(select, tokens: list[str]) -> None:
    if select is None:
        return
    if isinstance(select, int) and select >= len(tokens):
        raise ConfigError(f"select: index {select} is past the last query token ({len(tokens) - 1})")
    if isinstance(select, str) and select not in tokens:
        raise ConfigError(f"select: {select!r} is not one of the query tokens")


def _remember(key, value) -> None:
    _CACHE[key] = value
    _CACHE.move_to_end(key)
    while len(_CACHE) > CACHE_SIZE:
        _CACHE.popitem(last=False)
