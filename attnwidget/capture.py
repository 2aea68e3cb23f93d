"""Record the scores of ``MultiHeadAttention`` layers while a layer or a whole model runs.

Each ``MultiHeadAttention`` found gets an instance attribute ``call`` that shadows the class's
method for the duration of one forward pass: it asks the layer for its scores, keeps them, and
returns what the caller asked for. The attributes are removed in ``finally``, also when the
forward pass raises, so nothing stays patched.

The model's outputs are the ones it computes without capture: where asking for scores would take
Keras's other code path (a layer without dropout uses the fused ``dot_product_attention`` when no
scores are asked for), the output comes from the layer's own call and the scores from a second
call with ``return_attention_scores=True``.
"""

from __future__ import annotations

import contextlib
import inspect
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np


def find_mha(layer, keras):
    """The layer itself if it is a ``MultiHeadAttention``, else its ``.mha`` attribute, else None."""
    if isinstance(layer, keras.layers.MultiHeadAttention):
        return layer
    mha = getattr(layer, "mha", None)
    return mha if isinstance(mha, keras.layers.MultiHeadAttention) else None


def _children(layer, keras) -> list[tuple[str, Any]]:
    """Direct sub-layers of ``layer`` with the name of their place: attribute names (``enc_layers_0``)
    for subclassed layers, layer names for the layers of functional and sequential models."""
    out: list[tuple[str, Any]] = []
    seen: set[int] = set()

    def add(name, obj):
        if isinstance(obj, keras.layers.Layer) and id(obj) not in seen:
            seen.add(id(obj))
            out.append((name, obj))

    attrs = list(vars(layer).items())
    modules = vars(layer).get("_modules")  # torch backend: sub-layers are torch modules, kept in _modules
    if isinstance(modules, dict):
        attrs += list(modules.items())
    for attr, value in attrs:
        if attr.startswith("_"):
            continue
        if isinstance(value, keras.layers.Layer):
            add(attr, value)
        elif isinstance(value, (list, tuple)):
            for i, v in enumerate(value):
                add(f"{attr}_{i}", v)
        elif isinstance(value, dict):
            for k, v in value.items():
                add(f"{attr}_{k}", v)
    try:
        rest = list(layer._flatten_layers(include_self=False, recursive=False))  # noqa: SLF001
    except (AttributeError, TypeError):
        rest = []
    for child in rest:
        add(child.name, child)
    return out


def find_attention_layers(model, keras=None) -> dict[str, Any]:
    """Every ``MultiHeadAttention`` inside ``model``, by path (``encoder/enc_layers_0/self_attention/mha``).

    A layer reachable by two paths is listed once, under the first.
    """
    if keras is None:
        import keras
    found: dict[str, Any] = {}
    seen: set[int] = set()

    def walk(layer, prefix):
        if id(layer) in seen:
            return
        seen.add(id(layer))
        if isinstance(layer, keras.layers.MultiHeadAttention):
            found[prefix or layer.name] = layer
            return
        for name, child in _children(layer, keras):
            walk(child, f"{prefix}/{name}" if prefix else name)

    walk(model, "")
    return found


@dataclass
class Call:
    """One call of a recorded ``MultiHeadAttention``: its path, scores and what it was given."""

    path: str
    scores: Any
    query: Any = None
    value: Any = None
    key: Any = None
    causal: bool = False
    masked: bool = False  # an attention_mask or Keras masks were involved


@dataclass
class Recorder:
    calls: list = field(default_factory=list)

    def __bool__(self):
        return bool(self.calls)

    def __len__(self):
        return len(self.calls)

    def __getitem__(self, i):
        return self.calls[i].scores


def _same_path_on_scores(mha) -> bool:
    """True when asking ``mha`` for scores leaves Keras on the code path it takes without them."""
    dropout = getattr(mha, "_dropout", None)
    flash = getattr(mha, "_flash_attention", None)
    return isinstance(dropout, (int, float)) and dropout > 0.0 and not flash


def _shadow(mha, path: str, rec: Recorder, exact_outputs: bool):
    original = type(mha).call.__get__(mha)  # the class's method, whatever the instance holds
    signature = inspect.signature(original)
    single = not exact_outputs or _same_path_on_scores(mha)

    def call(*args, return_attention_scores=False, **kwargs):
        if single:
            out, scores = original(*args, return_attention_scores=True, **kwargs)
        else:
            out = original(*args, return_attention_scores=return_attention_scores, **kwargs)
            if return_attention_scores:
                out, scores = out
            else:
                _, scores = original(*args, return_attention_scores=True, **kwargs)
        try:
            bound = signature.bind_partial(*args, **kwargs).arguments
        except TypeError:
            bound = kwargs
        query, value = bound.get("query"), bound.get("value")
        key = bound.get("key")
        rec.calls.append(Call(
            path=path, scores=scores, query=query, value=value, key=value if key is None else key,
            causal=bool(bound.get("use_causal_mask", False)),
            masked=bound.get("attention_mask") is not None))
        return (out, scores) if return_attention_scores else out

    return call


@contextlib.contextmanager
def recording_all(mhas: dict[str, Any], exact_outputs: bool = True):
    """Within the block, every call of each ``MultiHeadAttention`` in ``mhas`` (path → layer) is recorded.

    Yields a :class:`Recorder` whose ``calls`` are in call order. Restores every layer in ``finally``.
    """
    rec = Recorder()
    installed: list[tuple[Any, bool, Any]] = []
    try:
        for path, mha in mhas.items():
            had = "call" in vars(mha)
            installed.append((mha, had, vars(mha).get("call")))
            object.__setattr__(mha, "call", _shadow(mha, path, rec, exact_outputs))
        yield rec
    finally:
        for mha, had, previous in reversed(installed):
            try:
                object.__delattr__(mha, "call")
            except AttributeError:
                pass
            if had:
                object.__setattr__(mha, "call", previous)


@contextlib.contextmanager
def recording(mha):
    """Within the block, each call of ``mha`` appends its scores ``(batch, heads, q, k)`` to the list yielded."""
    with recording_all({getattr(mha, "name", "mha"): mha}, exact_outputs=False) as rec:
        yield rec


def _is_self(call: Call, keras) -> bool:
    q, v = call.query, call.value
    if q is v or v is None:
        return True
    if tuple(q.shape) != tuple(v.shape):
        return False
    return bool(np.array_equal(keras.ops.convert_to_numpy(q), keras.ops.convert_to_numpy(v)))


def _kind(call: Call, scores: np.ndarray, keras) -> str:
    if not _is_self(call, keras):
        return "cross"
    if call.causal:
        return "causal"
    q, k = scores.shape[-2:]
    if q == k and q > 1 and not np.triu(scores, 1).any():
        return "causal"  # an explicit lower-triangular mask
    return "self"


def _labels(given, n: int):
    return [str(t) for t in given] if given is not None and len(given) == n else None


def capture(model, inputs, *, tokens=None, context_tokens=None, layer=None, device: str | None = None,
            call_kwargs: dict | None = None, record_inputs: bool = False, exact_outputs: bool = True):
    """Run ``model(inputs, training=False)`` once and record the scores of every attention layer.

    ``model``: any Keras layer or model (functional, sequential, subclassed) with
    ``MultiHeadAttention`` layers anywhere inside, such as the tutorial's ``Transformer``.
    ``inputs``: what the model is called with (an array, a tuple, a dict). ``tokens`` label the
    query side (the decoder's tokens in a Transformer, the only sequence in an encoder);
    ``context_tokens`` label what cross-attention attends to (the encoder's tokens): cross
    attention is ``tokens × context_tokens``, causal self-attention ``tokens × tokens``, and
    plain self-attention ``context_tokens × context_tokens`` when the model has cross attention
    (its encoder), else ``tokens × tokens``. Labels of the wrong length fall back to ``0 … n-1``.
    ``layer``: the path or index of the layer whose scores become ``result.scores`` (default: the first).
    ``device``: ``cpu``, ``gpu``, ``gpu:N`` or ``auto`` (default: where Keras puts it).
    ``call_kwargs``: further keyword arguments of the call (``context=`` for a ``Decoder``).
    ``record_inputs``: keep each layer's query/value/key as NumPy in ``result.layer_inputs``.

    Returns an :class:`~attnwidget.result.AttentionResult` whose ``layers`` maps each path to its
    scores ``(batch, heads, q, k)`` (float32, in call order; a layer called twice appears again as
    ``path#1``) and whose ``output`` is the model's output, exactly as without capture.
    """
    from . import backend
    from .result import AttentionResult

    keras = backend.load_keras(None)
    mhas = find_attention_layers(model, keras)
    if not mhas:
        raise ValueError(f"model: {type(model).__name__} has no MultiHeadAttention layer inside")
    dev = backend.resolve_device(keras, device) if device else None
    ctx = keras.device(dev) if dev else contextlib.nullcontext()
    t0 = time.perf_counter()
    with ctx:
        with recording_all(mhas, exact_outputs=exact_outputs) as rec:
            output = model(inputs, training=False, **(call_kwargs or {}))
        first = output[0] if isinstance(output, (list, tuple)) else output
        placed = backend.placed_on(rec.calls[0].scores) if rec.calls else backend.placed_on(first)
        layers: dict[str, np.ndarray] = {}
        kinds: dict[str, str] = {}
        layer_inputs: dict[str, dict] = {}
        counts: dict[str, int] = {}
        for c in rec.calls:
            n = counts.get(c.path, 0)
            counts[c.path] = n + 1
            name = c.path if n == 0 else f"{c.path}#{n}"
            s = np.asarray(keras.ops.convert_to_numpy(c.scores), dtype=np.float32)
            layers[name] = s
            kinds[name] = _kind(c, s, keras)
            if record_inputs:
                layer_inputs[name] = {k: np.asarray(keras.ops.convert_to_numpy(getattr(c, k)))
                                      for k in ("query", "value", "key") if getattr(c, k) is not None}
                layer_inputs[name]["causal"] = c.causal
        out_np = keras.tree.map_structure(lambda x: np.asarray(keras.ops.convert_to_numpy(x)), output)
    t1 = time.perf_counter()
    if not layers:
        raise ValueError(f"model: none of its {len(mhas)} MultiHeadAttention layers ran on these inputs")
    has_cross = "cross" in kinds.values()
    layer_tokens, masks = {}, {}
    for name, s in layers.items():
        q, k = s.shape[-2:]
        kind = kinds[name]
        if kind == "cross":
            qt, kt = _labels(tokens, q), _labels(context_tokens, k)
        elif kind == "self" and has_cross:
            qt = _labels(context_tokens, q) or _labels(tokens, q)
            kt = qt if q == k else None
        else:
            qt = _labels(tokens, q) or _labels(context_tokens, q)
            kt = qt if q == k else None
        layer_tokens[name] = (qt or [str(i) for i in range(q)], kt or [str(j) for j in range(k)])
        masks[name] = np.tril(np.ones((q, k), dtype=bool)) if kind == "causal" else None
    names = list(layers)
    if layer is None:
        sel = names[0]
    elif isinstance(layer, int) and not isinstance(layer, bool):
        if not -len(names) <= layer < len(names):
            raise ValueError(f"layer: expected an index in 0..{len(names) - 1}, got {layer}")
        sel = names[layer]
    elif layer in layers:
        sel = layer
    else:
        raise ValueError(f"layer: {layer!r} is not one of the attention layers ({', '.join(names)})")
    flat_inputs = inputs if isinstance(inputs, (list, tuple)) else [inputs]
    input_shapes = {}
    for i, x in enumerate(flat_inputs):
        shp = getattr(x, "shape", None)
        if shp is not None:
            input_shapes["query" if i == len(flat_inputs) - 1 else "context"] = tuple(int(d) for d in shp)
    return AttentionResult(
        scores=layers[sel], output=out_np, query_tokens=list(layer_tokens[sel][0]),
        key_tokens=list(layer_tokens[sel][1]), layer=model,
        config={"kind": type(model).__name__, "model": model, "view": "graph", "batch": 0},
        device=dev or _device_name(placed), placed_on=placed, backend=keras.backend.backend(),
        mask=masks[sel], timings={"build_ms": 0.0, "run_ms": (t1 - t0) * 1e3},
        input_shapes=input_shapes, layers=layers, layer_kinds=kinds, layer_tokens=layer_tokens,
        layer_masks=masks, selected_layer=sel, layer_inputs=layer_inputs,
    )


def _device_name(placed: str) -> str:
    p = placed.lower()
    if "gpu" in p or "cuda" in p:
        digits = "".join(ch for ch in p.rsplit(":", 1)[-1] if ch.isdigit())
        return f"gpu:{digits or 0}"
    return "cpu:0"
