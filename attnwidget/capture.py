"""Record the scores of ``MultiHeadAttention`` layers while a layer or a whole model runs.

Each ``MultiHeadAttention`` found gets an instance attribute ``call`` that shadows the class's
method for the duration of one forward pass: it asks the layer for its scores, keeps them, and
returns what the caller asked for. The attributes are removed in ``finally``, also when the
forward pass raises, so nothing stays patched.

The model's outputs are the ones it computes without capture: where asking for scores would take
Keras's other code path (a layer without dropout uses the fused ``dot_product_attention`` when no
scores are asked for), the output comes from the layer's own call and the scores from a second
call with ``return_attention_scores=True``.

Attention layers of other classes (KerasHub's Llama, Gemma, T5 …) are recorded where their weights
are formed, by :mod:`attnwidget.oprecord`, in the same pass; the records of both are in call order.
"""

from __future__ import annotations

import contextlib
import inspect
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .discover import find_attention_layers, find_op_attention, no_attention
from .masks import causal_mask, looks_causal
from .oprecord import OpCall, next_order, recording_ops
from .qkcapture import DENSE_LIMIT, qk_call, switches
from .qkscores import QKScores
from .result import AttentionResult, LayerRecord
from .select import select_query


@dataclass
class Call:
    """One call of a recorded ``MultiHeadAttention``: its path, scores and what it was given."""

    path: str
    scores: Any
    query: Any = None
    value: Any = None
    key: Any = None
    causal: bool = False
    order: int = field(default_factory=next_order)


@dataclass
class Recorder:
    calls: list = field(default_factory=list)

    def __bool__(self):
        return bool(self.calls)

    def __getitem__(self, i):
        return self.calls[i].scores


def _same_path_on_scores(mha) -> bool:
    """True when asking ``mha`` for scores leaves Keras on the code path it takes without them."""
    dropout, flash = getattr(mha, "_dropout", None), getattr(mha, "_flash_attention", None)
    return isinstance(dropout, (int, float)) and dropout > 0.0 and not flash


def _keras_masks(bound) -> list[tuple[Any, Any]]:
    """``(tensor, its Keras mask)`` of the ``query`` / ``value`` / ``key`` a call was given."""
    from keras.src import backend

    tensors = [bound.get(n) for n in ("query", "value", "key")]
    return [(x, backend.get_keras_mask(x)) for x in tensors if x is not None]


def _set_keras_masks(masks) -> None:
    from keras.src import backend

    for x, m in masks:
        if m is not None:
            backend.set_keras_mask(x, m)


def _shadow(mha, path: str, rec: Recorder, exact_outputs: bool, dense_limit: int | None, qk_device: str | None):
    original = type(mha).call.__get__(mha)  # the class's method, whatever the instance holds
    signature = inspect.signature(original)
    single = not exact_outputs or _same_path_on_scores(mha)

    def call(*args, return_attention_scores=False, **kwargs):
        try:
            bound = signature.bind_partial(*args, **kwargs).arguments
        except TypeError:
            bound = kwargs
        if not return_attention_scores and switches(mha, bound, dense_limit):
            out, scores = qk_call(mha, original, args, kwargs, bound, qk_device)  # no (T, S) scores made
        elif single:
            out, scores = original(*args, return_attention_scores=True, **kwargs)
        else:
            # The layer reads the query's Keras mask from the tensor and clears it: give the second call
            # the masks the first one saw, or padded queries lose their mask there.
            masks = _keras_masks(bound)
            out = original(*args, return_attention_scores=return_attention_scores, **kwargs)
            if return_attention_scores:
                out, scores = out
            else:
                _set_keras_masks(masks)
                _, scores = original(*args, return_attention_scores=True, **kwargs)
        query, value = bound.get("query"), bound.get("value")
        key = bound.get("key")
        rec.calls.append(Call(
            path=path, scores=scores, query=query, value=value, key=value if key is None else key,
            causal=bool(bound.get("use_causal_mask", False))))
        return (out, scores) if return_attention_scores else out

    return call


@contextlib.contextmanager
def recording_all(mhas: dict[str, Any], exact_outputs: bool = True, dense_limit: int | None = None,
                  qk_device: str | None = None):
    """Within the block, every call of each ``MultiHeadAttention`` in ``mhas`` (path → layer) is recorded
    (as queries and keys where its scores would pass ``dense_limit``, see :mod:`attnwidget.qkcapture`;
    ``qk_device`` is their ``QKScores(device=)``).

    Yields a :class:`Recorder` whose ``calls`` are in call order. Restores every layer in ``finally``.
    """
    rec = Recorder()
    installed: list[tuple[Any, bool, Any]] = []
    try:
        for path, mha in mhas.items():
            had = "call" in vars(mha)
            installed.append((mha, had, vars(mha).get("call")))
            object.__setattr__(mha, "call", _shadow(mha, path, rec, exact_outputs, dense_limit, qk_device))
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
    masked = scores.causal if isinstance(scores, QKScores) else looks_causal(scores)  # a lower-triangular mask
    return "causal" if call.causal or masked else "self"


def _labels(given, n: int):
    return [str(t) for t in given] if given is not None and len(given) == n else None


def _tokens(kind: str, q: int, k: int, tokens, context_tokens, has_cross: bool) -> tuple[list[str], list[str]]:
    """Labels of one layer: cross is ``tokens × context_tokens``; plain self-attention of a model with
    cross attention (its encoder) is ``context_tokens``; anything else ``tokens``; ``0 … n-1`` otherwise."""
    if kind == "cross":
        qt, kt = _labels(tokens, q), _labels(context_tokens, k)
    elif kind == "self" and has_cross:
        qt = _labels(context_tokens, q) or _labels(tokens, q)
        kt = qt if q == k else None
    else:
        qt = _labels(tokens, q) or _labels(context_tokens, q)
        kt = qt if q == k else None
    return qt or [str(i) for i in range(q)], kt or [str(j) for j in range(k)]


def _to_numpy(keras, x) -> np.ndarray:
    return np.asarray(keras.ops.convert_to_numpy(x))


def _raw_record(keras, c, n: int, layer) -> tuple:
    """``(path, kind, scores (B, H, Q, K) float32, inputs, layer, op)`` of one recorded call."""
    path = c.path if n == 0 else f"{c.path}#{n}"
    s = c.scores if isinstance(c.scores, QKScores) else np.asarray(keras.ops.convert_to_numpy(c.scores), np.float32)
    if isinstance(c, OpCall):
        kind = "cross" if c.cross else "causal" if c.causal or looks_causal(s) else "self"
        return path, kind, s, {}, layer, c.kept
    arrays = {k: _to_numpy(keras, getattr(c, k)) for k in ("query", "value", "key") if getattr(c, k) is not None}
    return path, _kind(c, s, keras), s, arrays, layer, None


def record(model, inputs, *, tokens=None, context_tokens=None, device: str | None = None,
           call_kwargs: dict | None = None, exact_outputs: bool = True, dense_limit: int | None = DENSE_LIMIT):
    """Run ``model(inputs, training=False)`` once; return ``(records, output, placed_on, run_ms)``.

    ``records``: a :class:`~attnwidget.result.LayerRecord` per attention call, in call order (a layer
    called twice appears again as ``path#1``): each ``MultiHeadAttention`` with the arrays that entered
    it, and the weights other attention layers formed (see :mod:`attnwidget.oprecord`). ``output``: the
    model's output as NumPy, exactly as without capture. ValueError when nothing could be recorded.
    """
    from . import backend

    keras = backend.load_keras(None)
    mhas = find_attention_layers(model, keras)
    op_layers, softmaxes = find_op_attention(model, keras)
    if not mhas and not op_layers:
        raise no_attention(model, op_layers)
    dev = backend.resolve_device(keras, device) if device else None
    t0 = time.perf_counter()
    with keras.device(dev) if dev else contextlib.nullcontext():
        qk_device = dev and dev.split(":")[0]  # a layer recorded as q and k: its tile pass there too (cpu: NumPy)
        with recording_all(mhas, exact_outputs=exact_outputs, dense_limit=dense_limit, qk_device=qk_device) as rec, \
                recording_ops(op_layers, softmaxes, keras) as ops_rec, backend.one_key_softmax():
            output = model(inputs, training=False, **(call_kwargs or {}))
        calls = sorted(rec.calls + ops_rec.calls, key=lambda c: c.order)
        first = output[0] if isinstance(output, (list, tuple)) else output
        placed = backend.placed_on(next((c.scores for c in calls if not isinstance(c.scores, QKScores)), first))
        raw, counts = [], {}
        for c in calls:
            n = counts.get(c.path, 0)
            counts[c.path] = n + 1
            raw.append(_raw_record(keras, c, n, c.layer if isinstance(c, OpCall) else mhas[c.path]))
        out_np = keras.tree.map_structure(lambda x: _to_numpy(keras, x), output)
    run_ms = (time.perf_counter() - t0) * 1e3
    if not raw:
        if not mhas:
            raise no_attention(model, op_layers)
        raise ValueError(f"model: none of its {len(mhas)} MultiHeadAttention layers ran on these inputs")
    has_cross = any(kind == "cross" for _, kind, *_ in raw)
    records = []
    for path, kind, s, arrays, layer, op in raw:
        q, k = s.shape[-2:]
        qt, kt = _tokens(kind, q, k, tokens, context_tokens, has_cross)
        mask = causal_mask(q, k) if kind == "causal" and isinstance(s, np.ndarray) else None  # QKScores: its own
        records.append(LayerRecord(path=path, kind=kind, scores=s, query_tokens=qt, key_tokens=kt,
                                   mask=mask, layer=layer, inputs=arrays, op=op))
    return records, out_np, placed, run_ms


def input_shapes(inputs) -> dict[str, tuple[int, ...]]:
    """Shapes of a model's inputs: the last is the ``query`` (the target), one before it the ``context``."""
    flat = inputs if isinstance(inputs, (list, tuple)) else [inputs]
    out = {}
    for i, x in enumerate(flat):
        shp = getattr(x, "shape", None)
        if shp is not None:
            out["query" if i == len(flat) - 1 else "context"] = tuple(int(d) for d in shp)
    return out


def capture(model, inputs, *, tokens=None, context_tokens=None, layer=None, device: str | None = None,
            call_kwargs: dict | None = None, select=None, exact_outputs: bool = True,
            dense_limit: int | None = DENSE_LIMIT):
    """Run ``model(inputs, training=False)`` once and record the scores of every attention layer.

    ``model``: any Keras layer or model (functional, sequential, subclassed) with
    ``MultiHeadAttention`` layers anywhere inside, such as the tutorial's ``Transformer``.
    ``inputs``: what the model is called with (an array, a tuple, a dict). ``tokens`` label the
    query side (the decoder's tokens in a Transformer, the only sequence in an encoder);
    ``context_tokens`` label what cross-attention attends to (the encoder's tokens): cross
    attention is ``tokens × context_tokens``, causal self-attention ``tokens × tokens``, and
    plain self-attention ``context_tokens × context_tokens`` when the model has cross attention
    (its encoder), else ``tokens × tokens``. Labels of the wrong length fall back to ``0 … n-1``.
    ``layer``: the path or index of the layer shown first (default: the first, or with ``select`` the
    first whose queries are ``tokens``). ``select``: a token of ``tokens`` (or its index) pinned at first.
    ``device``: ``cpu``, ``gpu``, ``gpu:N`` or ``auto`` (default: where Keras puts it).
    ``call_kwargs``: further keyword arguments of the call (``context=`` for a ``Decoder``).
    ``dense_limit``: a ``MultiHeadAttention`` call whose scores would hold more numbers than this
    (default 2**28, 1 GiB of float32) is recorded as its queries and keys, a
    :class:`~attnwidget.qkscores.QKScores`, its scores never made (:mod:`attnwidget.qkcapture`); None: never.

    Returns an :class:`~attnwidget.result.AttentionResult` with a record per attention call
    (scores ``(batch, heads, q, k)`` float32 or a ``QKScores``, in call order) whose ``output`` is the
    model's output, exactly as without capture.
    """
    from . import backend

    records, out_np, placed, run_ms = record(model, inputs, tokens=tokens, context_tokens=context_tokens,
                                             device=device, call_kwargs=call_kwargs, exact_outputs=exact_outputs,
                                             dense_limit=dense_limit)
    shown, selected = select_query(select, records, tokens)
    if layer is not None:
        shown = AttentionResult(records=tuple(records))._record_index(layer)
        if select is not None:
            _, selected = select_query(select, [records[shown]], None)
    keras = backend.load_keras(None)
    dev = backend.resolve_device(keras, device) if device else None
    return AttentionResult(
        records=tuple(records), output=out_np, shown=shown, selected=selected, source=model,
        config={"kind": type(model).__name__, "view": "graph", "batch": 0},
        device=dev or backend.device_name(placed), placed_on=placed, backend=keras.backend.backend(),
        timings={"build_ms": 0.0, "run_ms": run_ms}, input_shapes=input_shapes(inputs))

