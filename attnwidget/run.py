"""Run the attention layer (or whole model) of a configuration on the chosen device.

The run is ``layer(..., return_attention_scores=True, training=False)`` under
``keras.device(...)``. Layers come from :mod:`attnwidget.build` (seeded, global random states
untouched); a cache keeps built layers so re-running an unchanged cell reuses them.
"""

from __future__ import annotations

import collections
import time
from typing import Any

import numpy as np

from . import backend, budget
from .build import build_layer, build_stack, private_random, seed_weights
from .capture import input_shapes, record, recording
from .discover import find_mha
from .config import STACK_KINDS, ConfigError, RunConfig, first_line
from .inputs import Sequence, check_batches, to_sequence
from .masks import causal_mask
from .result import AttentionResult, LayerRecord
from .select import select_query

_CACHE: "collections.OrderedDict[tuple, tuple[Any, Any]]" = collections.OrderedDict()
CACHE_SIZE = 8


def clear_cache() -> None:
    """Forget every layer the engine built (the next run builds new ones)."""
    _CACHE.clear()


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


def _sequences(cfg: RunConfig) -> dict[str, Sequence]:
    """``query`` / ``context`` / ``key`` of a one-layer run; random inputs of a shape come from ``seed``."""
    rng = np.random.default_rng(cfg.seed)  # private generator: the user's global states stay untouched
    common = dict(max_tokens=cfg.max_tokens, rng=rng)
    seqs = {"query": to_sequence("query", cfg.query, labels=cfg.tokens, label_key="tokens", **common)}
    if cfg.context is not None:
        seqs["context"] = to_sequence("context", cfg.context, labels=cfg.context_tokens,
                                      label_key="context_tokens", **common)
    if cfg.key is not None:
        seqs["key"] = to_sequence("key", cfg.key, labels=None, label_key="key", **common)
        if "context" in seqs and seqs["key"].shape[1] != seqs["context"].shape[1]:
            raise ConfigError(
                f"key: has {seqs['key'].shape[1]} positions but context (the value) has {seqs['context'].shape[1]}")
    return seqs


def run(cfg: RunConfig, announce=print) -> AttentionResult:
    """Run the validated configuration ``cfg`` (see :func:`attnwidget.config.validate`)."""
    keras = backend.load_keras(announce)
    device = backend.resolve_device(keras, cfg["device"])
    kind = cfg["kind"]
    if cfg.get("model") is not None or kind in STACK_KINDS:
        return run_model(cfg, keras, device)
    seqs = _sequences(cfg)
    batch = check_batches(seqs)
    _check_size(cfg, seqs, batch)
    if cfg.layer is None:
        ctx = seqs.get("context", seqs["query"])
        d_of = lambda s: s.shape[2] if s.array is not None else cfg.d_model  # noqa: E731
        budget.check(cfg, seqs["query"].shape[1], ctx.shape[1], d_of(seqs["query"]), d_of(ctx), batch)
    if cfg["batch"] >= batch:
        raise ConfigError(f"batch: expected an index in 0..{batch - 1}, got {cfg['batch']}")
    vocab = sorted({tok for s in seqs.values() if s.is_text for tok in s.tokens})

    user_layer = cfg.layer
    if user_layer is not None and not isinstance(user_layer, keras.layers.Layer):
        raise ConfigError(f"layer: expected a Keras attention layer, got {type(user_layer).__name__}")
    dims = tuple((k, s.shape[1:] if s.array is not None else None) for k, s in seqs.items())
    cache_key = (keras.backend.backend(), kind, cfg["num_heads"], cfg["key_dim"], cfg["value_dim"],
                 cfg["d_model"], cfg["seed"], tuple(vocab), tuple((k, s and s[-1]) for k, s in dims), device)
    t0 = time.perf_counter()
    with private_random(), keras.device(device), backend.one_key_softmax():  # Keras's default seeds draw from `random`
        layer, embed, built, fresh = _layer_and_embed(keras, cfg, vocab, cache_key)

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
                seed_weights([m for m in (layer, embed) if m is not None], cfg.seed)
            t1 = time.perf_counter()
            t = tensors()
            output, scores = _call(layer, kind, t["query"], t.get("context"), t.get("key"), keras)
            scores_np = np.asarray(keras.ops.convert_to_numpy(scores), dtype=np.float32)
            output_np = np.asarray(keras.ops.convert_to_numpy(output))
            t2 = time.perf_counter()
            inputs_np = {k: np.asarray(keras.ops.convert_to_numpy(v)) for k, v in t.items()}
        except Exception as exc:  # noqa: BLE001 - a user's layer can fail in any way: one line, the cause chained
            if user_layer is None or isinstance(exc, ConfigError):
                raise
            raise ConfigError(f"layer: {type(user_layer).__name__} failed on these inputs: {first_line(exc)}") from exc
    # Only a run that succeeded leaves its layers behind for the next one.
    if fresh:
        _remember(*fresh)
    if scores_np.ndim != 4:
        raise ConfigError(f"layer: expected scores (batch, heads, q, k) from {type(layer).__name__}, got {scores_np.shape}")
    q_len, k_len = scores_np.shape[2:]
    key_seq = seqs.get("context", seqs.get("key", seqs["query"])) if kind in ("cross", "base") else seqs["query"]
    layer_inputs = {"query": inputs_np["query"], "value": inputs_np.get("context", inputs_np["query"])}
    layer_inputs["key"] = inputs_np.get("key", layer_inputs["value"])
    rec = LayerRecord(
        path=getattr(layer, "name", kind), kind="causal" if kind == "causal" else "cross" if "context" in seqs else "self",
        scores=scores_np, query_tokens=seqs["query"].tokens, key_tokens=key_seq.tokens,
        mask=causal_mask(q_len, k_len) if kind == "causal" else None, layer=layer, inputs=layer_inputs)
    _, selected = select_query(cfg["select"], [rec], None)
    return AttentionResult(
        records=(rec,), output=output_np, selected=selected, source=layer, config=cfg, device=device,
        placed_on=backend.placed_on(scores), backend=keras.backend.backend(),
        timings={"build_ms": (t1 - t0) * 1e3, "run_ms": (t2 - t1) * 1e3},
        input_shapes={k: v.shape for k, v in inputs_np.items()},
    )


def _check_size(cfg: dict, seqs: dict[str, Sequence], batch: int) -> None:
    """Refuse a run whose scores would not fit (before Keras tries to allocate them)."""
    from .config import MAX_WEIGHTS

    q_len = seqs["query"].shape[1]
    k_len = max(s.shape[1] for s in seqs.values())
    heads = getattr(cfg.get("layer"), "num_heads", None) or cfg["num_heads"]
    n = batch * int(heads) * q_len * k_len
    if n > MAX_WEIGHTS:
        raise ConfigError(f"query: the scores would hold {n:,} weights (batch × heads × query × key), "
                          f"more than {MAX_WEIGHTS:,}; use fewer heads, tokens or batch elements")


def _layer_and_embed(keras, cfg: RunConfig, vocab: list[str], cache_key: tuple):
    """``(layer, embed, built, fresh)``: the user's layer or a cached / new one, and the embedding of the texts.

    ``built``: the layer is new (its weights are set after a first call). ``fresh``: ``(key, value)`` to
    cache once the run succeeds, or None. A new embedding beside the user's layer is seeded at once (a
    built layer and its embedding are seeded together after the first call), so nothing unseeded is cached.
    """
    if cfg.layer is None:
        (layer, embed), built = _cached(cache_key, lambda: build_layer(keras, cfg, vocab))
        return layer, embed, built, ((cache_key, (layer, embed)) if built else None)
    key = ("embed", cache_key)
    embed = _CACHE[key][1] if vocab and key in _CACHE else None
    if not vocab or embed is not None:
        return cfg.layer, embed, False, None
    embed = build_layer(keras, cfg, vocab)[1]
    embed(np.zeros((1, 1), "int32"))
    seed_weights([embed], cfg.seed)
    return cfg.layer, embed, False, (key, (None, embed))


def _cached(key, build):
    """``(value, built)``: the cached value of ``key`` (now most recent), else ``build()``'s (not yet stored)."""
    if key in _CACHE:
        _CACHE.move_to_end(key)
        return _CACHE[key], False
    return build(), True


def _remember(key, value) -> None:
    _CACHE[key] = value
    _CACHE.move_to_end(key)
    while len(_CACHE) > CACHE_SIZE:
        _CACHE.popitem(last=False)


# --- whole models: the user's own (model: $m) or the tutorial's stacks (kind: encoder | decoder | transformer)

def _model_inputs(value):
    """``inputs:`` as the model is called with it: a tuple of arrays stays a tuple, a dict a dict."""
    if isinstance(value, dict):
        return value
    if isinstance(value, tuple) or (isinstance(value, list) and value and all(hasattr(v, "shape") for v in value)):
        return tuple(value)
    if hasattr(value, "shape"):
        return value
    try:
        return np.asarray(value)
    except Exception as exc:  # noqa: BLE001 - anything unreadable is a bad value
        raise ConfigError(f"inputs: expected an array, a tuple of arrays or a dict, got {type(value).__name__}") from exc


def _ids(key: str, seq: Sequence, vocab: list[str], kind: str) -> np.ndarray:
    if not seq.is_text:
        raise ConfigError(f"{key}: kind {kind!r} takes a text or a list of tokens (they become token ids), got an array")
    return np.array([[vocab.index(tok) for tok in seq.tokens]], dtype="int32")


def run_model(cfg: RunConfig, keras, device: str) -> AttentionResult:
    """Record every attention layer of ``cfg.model`` or of a stack built from the configuration."""
    kind = cfg["kind"]
    t0 = time.perf_counter()
    built = False
    if cfg.get("model") is not None:
        model = cfg["model"]
        if not isinstance(model, keras.layers.Layer):
            raise ConfigError(f"model: expected a Keras model or layer, got {type(model).__name__}")
        inputs, call_kwargs, tokens, ctx_tokens = _model_inputs(cfg["inputs"]), {}, cfg["tokens"], cfg["context_tokens"]
        input_arrays = {}
    else:
        rng = np.random.default_rng(cfg["seed"])
        common = dict(max_tokens=cfg["max_tokens"], rng=rng)
        q = to_sequence("query", cfg["query"], labels=cfg["tokens"], label_key="tokens", **common)
        c = None
        if cfg["context"] is not None:
            c = to_sequence("context", cfg["context"], labels=cfg["context_tokens"], label_key="context_tokens", **common)
        vocab = sorted({tok for s in (q, c) if s is not None and s.is_text for tok in s.tokens})
        budget.check(cfg, len(q.tokens), len(c.tokens) if c is not None else len(q.tokens), cfg.d_model,
                     cfg.d_model, c.shape[0] if c is not None and not c.is_text else 1)
        cache_key = ("stack", keras.backend.backend(), kind, cfg["num_layers"], cfg["d_model"], cfg["num_heads"],
                     cfg["key_dim"], cfg["dff"], cfg["seed"], tuple(vocab), device,
                     None if c is None or c.is_text else c.shape[-1])
        with private_random(), keras.device(device), backend.one_key_softmax():
            (model, embed), built = _cached(cache_key, lambda: build_stack(keras, cfg, vocab))
            q_ids = _ids("query", q, vocab, kind)
            call_kwargs = {}
            if kind == "encoder":
                inputs = q_ids
            elif kind == "transformer":
                inputs = (_ids("context", c, vocab, kind), q_ids)
            else:
                if c.is_text:
                    ctx = embed(_ids("context", c, vocab, kind))
                elif c.shape[-1] != cfg["d_model"]:
                    raise ConfigError(f"context: the decoder attends to vectors of d_model = {cfg['d_model']}, "
                                      f"got an array {c.shape}")
                else:
                    ctx = keras.ops.convert_to_tensor(c.array)
                    if c.shape[0] != 1:
                        q_ids = np.repeat(q_ids, c.shape[0], axis=0)
                inputs, call_kwargs = q_ids, {"context": ctx}
            if built:
                model(inputs, training=False, **call_kwargs)
                seed_weights([m for m in (model, embed) if m is not None], cfg["seed"])
                if embed is not None and kind == "decoder" and c.is_text:
                    call_kwargs = {"context": embed(_ids("context", c, vocab, kind))}
                _remember(cache_key, (model, embed))
        tokens, ctx_tokens = q.tokens, (c.tokens if c is not None else None)
        input_arrays = {"query": q_ids}
        if c is not None:
            input_arrays["context"] = (np.asarray(keras.ops.convert_to_numpy(call_kwargs["context"]))
                                       if "context" in call_kwargs else inputs[0])
    t1 = time.perf_counter()
    try:
        records, output, placed, run_ms = record(model, inputs, tokens=tokens, context_tokens=ctx_tokens,
                                                 device=device, call_kwargs=call_kwargs)
    except ConfigError:
        raise
    except Exception as exc:  # noqa: BLE001 - a user's model can fail in any way; one line names the key
        msg = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        if msg.startswith(("model:", "layer:")):
            raise ConfigError(msg) from exc
        raise ConfigError(f"inputs: {type(model).__name__} failed on these inputs: {first_line(exc)}") from exc
    shown, selected = select_query(cfg["select"], records, tokens)
    return AttentionResult(
        records=tuple(records), output=output, shown=shown, selected=selected, source=model,
        config=cfg.with_(kind=kind if kind != "model" else type(model).__name__), device=device,
        placed_on=placed, backend=keras.backend.backend(),
        timings={"build_ms": (t1 - t0) * 1e3, "run_ms": run_ms},
        input_shapes={k: tuple(np.shape(v)) for k, v in input_arrays.items()} if input_arrays else input_shapes(inputs))
