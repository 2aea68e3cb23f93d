"""Record attention weights where they are computed: inside attention layers that are not ``MultiHeadAttention``.

KerasHub's Llama, Mistral, Qwen, Phi-3, Gemma, Falcon and T5 attention layers are their own classes.
They form weights in one of three ways, all recorded here during one forward pass:

- ``keras.ops.dot_product_attention`` (fused where the backend has it, so no weights exist): the op
  still runs and gives the output; the weights are recomputed beside it from the ``query``, ``key``,
  ``bias``, ``mask``, ``scale`` and ``is_causal`` it was given, as the op defines them, grouped-query
  heads expanded to one row per query head.
- a ``keras.layers.Softmax`` layer inside the attention layer (its instance ``call`` is shadowed);
- ``keras.ops.softmax`` / ``keras.ops.nn.softmax`` / ``keras.activations.softmax`` called directly.

What the weights were formed from (the op's query, key, value, bias, mask and scale; a softmax's
input and mask) is kept as NumPy for explain (:mod:`attnwidget.opexplain`) once the pass has run.

Each weight tensor is attributed to the innermost attention layer running when it was formed (a
stack kept by shadowing each attention layer's ``call`` on the instance). Module attributes and
instance attributes are restored in ``finally``: nothing stays patched, and the model's outputs are
the tensors it computes itself.
"""

from __future__ import annotations

import contextlib
import inspect
import itertools
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from . import opexplain

# Call arguments that carry the attended-to sequence when a layer does cross attention.
_CROSS_ARGS = ("key_value_states", "encoder_hidden_states", "encoder_outputs", "context", "value", "key")


_ORDER = itertools.count()


def next_order() -> int:
    """A number that orders every recorded call, of this module's and of ``MultiHeadAttention``'s, in time."""
    return next(_ORDER)


@dataclass
class Frame:
    """An attention layer in its call: path, layer, and its bound call arguments."""

    path: str
    layer: Any
    arguments: dict


@dataclass
class OpCall:
    """Weights formed inside one attention-layer call: ``scores`` ``(B, H, Q, K)`` (a backend tensor)."""

    path: str
    layer: Any
    scores: Any
    cross: bool = False
    causal: bool = False
    order: int = field(default_factory=next_order)
    parts: dict | None = field(default=None, repr=False)  # what the weights were formed from (backend tensors)
    kept: Any = field(default=None, repr=False)           # the same as NumPy, once the pass ended (keep)


@dataclass
class OpRecorder:
    calls: list = field(default_factory=list)
    stack: list = field(default_factory=list)
    busy: bool = False  # recomputing weights: the softmax that calls is ours, not the layer's

    def add(self, scores, causal: bool = False, parts: dict | None = None) -> None:
        """Attribute ``scores`` ``(B, H, Q, K)`` to the innermost attention layer in its call (if any)."""
        if not self.stack or self.busy:
            return
        f = self.stack[-1]
        self.calls.append(OpCall(f.path, f.layer, scores, cross=_is_cross(f.arguments), causal=causal, parts=parts))

    def keep(self, keras) -> None:
        """Turn each call's ``parts`` (backend tensors) into ``kept`` (:class:`~attnwidget.opexplain.OpInputs`,
        NumPy), which capture gives the call's record."""
        for c in self.calls:
            c.kept = opexplain.from_parts(keras, c.parts) if c.parts else None
            c.parts = None


def _is_cross(arguments: dict) -> bool:
    first = next(iter(arguments.values()), None)
    return any(arguments.get(n) is not None and arguments.get(n) is not first and hasattr(arguments[n], "shape")
               for n in _CROSS_ARGS)


def as_heads(keras, weights):
    """Softmax output ``(B, ..., Q, K)`` as ``(B, H, Q, K)``: the middle axes (heads, or kv heads × groups,
    in the order the layer's queries use) become one head axis; ``(B, Q, K)`` gains a head axis of 1."""
    shape = tuple(keras.ops.shape(weights))
    return keras.ops.reshape(weights, (shape[0], -1, shape[-2], shape[-1]))


def dpa_weights(keras, query, key, bias=None, mask=None, scale=None, is_causal=False, attn_logits_soft_cap=None):
    """The weights ``keras.ops.dot_product_attention`` forms, float32 ``(B, N, T, S)``.

    ``query`` ``(B, T, N, H)``; ``key`` ``(B, S, K, H)`` with ``N`` a multiple of ``K`` (query head ``n``
    reads key head ``n // (N / K)``); ``bias`` and ``mask`` broadcast to ``(B, N, T, S)`` (mask True =
    attend); ``scale`` defaults to ``1/√H``. Masked logits become the op's large negative number, so a
    fully masked row is uniform, as in the op.
    """
    ops = keras.ops
    q = ops.cast(query, "float32")
    k = ops.cast(key, "float32")
    b, t, n, h = ops.shape(q)
    kv = ops.shape(k)[2]
    q = ops.reshape(q, (b, t, kv, n // kv, h))
    logits = ops.einsum("btkgh,bskh->bkgts", q, k)
    s = ops.shape(logits)[-1]
    logits = ops.reshape(logits, (b, n, t, s))
    logits = logits * ops.cast(1.0 / np.sqrt(h) if scale is None else scale, "float32")
    if attn_logits_soft_cap is not None:
        logits = ops.tanh(logits / attn_logits_soft_cap) * attn_logits_soft_cap
    if bias is not None:
        logits = logits + ops.cast(bias, "float32")
    keep = None if mask is None else ops.cast(mask, "bool")
    if is_causal:
        tri = ops.convert_to_tensor(np.tri(t, s, dtype=bool))[None, None]
        keep = tri if keep is None else ops.logical_and(keep, tri)
    if keep is not None:
        logits = ops.where(keep, logits, -0.7 * float(np.finfo(np.float32).max))
    return ops.softmax(logits, axis=-1)


def _shadow_dpa(keras, original, rec: OpRecorder):
    signature = inspect.signature(original)

    def dot_product_attention(*args, **kwargs):
        out = original(*args, **kwargs)
        if rec.stack and not rec.busy:
            a = signature.bind(*args, **kwargs).arguments
            causal = bool(a.get("is_causal", False))
            rec.busy = True
            try:
                w = dpa_weights(keras, a["query"], a["key"], a.get("bias"), a.get("mask"), a.get("scale"),
                                causal, a.get("attn_logits_soft_cap"))
            finally:
                rec.busy = False
            parts = {"op": "dot_product_attention", "is_causal": causal, "soft_cap": a.get("attn_logits_soft_cap"),
                     **{n: a.get(n) for n in ("query", "key", "value", "bias", "mask", "scale")}}
            rec.add(w, causal=causal, parts=parts)
        return out

    return dot_product_attention


def _last_axis(axis, rank: int) -> bool:
    if isinstance(axis, (list, tuple)):
        return len(axis) == 1 and _last_axis(axis[0], rank)
    return axis in (-1, rank - 1)


def _shadow_softmax(keras, original, rec: OpRecorder):
    def softmax(x, axis=-1):
        out = original(x, axis=axis)
        if rec.stack and len(out.shape) >= 3 and _last_axis(axis, len(out.shape)):
            rec.add(as_heads(keras, out), parts={"op": "softmax", "logits": x})
        return out

    return softmax


def _shadow_softmax_layer(keras, layer, rec: OpRecorder):
    original = type(layer).call.__get__(layer)
    signature = inspect.signature(original)

    def call(*args, **kwargs):
        out = original(*args, **kwargs)
        if rec.stack and len(out.shape) >= 3 and _last_axis(layer.axis, len(out.shape)):
            a = signature.bind(*args, **kwargs).arguments
            rec.add(as_heads(keras, out), parts={"op": "softmax", "logits": next(iter(a.values())), "mask": a.get("mask")})
        return out

    return call


def _shadow_frame(layer, path: str, rec: OpRecorder):
    original = vars(layer).get("call") or type(layer).call.__get__(layer)
    signature = inspect.signature(original)

    def call(*args, **kwargs):
        try:
            arguments = dict(signature.bind_partial(*args, **kwargs).arguments)
        except TypeError:
            arguments = dict(kwargs)
        rec.stack.append(Frame(path, layer, arguments))
        try:
            return original(*args, **kwargs)
        finally:
            rec.stack.pop()

    return call


def _op_sites(keras) -> list[tuple[Any, str, str]]:
    """``(module, attribute, kind)`` of every public name an attention layer reaches the ops by."""
    sites = [(keras.ops, "dot_product_attention", "dpa"), (keras.ops.nn, "dot_product_attention", "dpa"),
             (keras.ops, "softmax", "softmax"), (keras.ops.nn, "softmax", "softmax"),
             (keras.activations, "softmax", "softmax")]
    return [(m, name, kind) for m, name, kind in sites if hasattr(m, name)]


@contextlib.contextmanager
def _instance_call(layer, call):
    had = "call" in vars(layer)
    previous = vars(layer).get("call")
    object.__setattr__(layer, "call", call)
    try:
        yield
    finally:
        object.__delattr__(layer, "call")
        if had:
            object.__setattr__(layer, "call", previous)


@contextlib.contextmanager
def recording_ops(attention: dict[str, Any], softmaxes: list[Any], keras):
    """Within the block, weights formed inside the layers of ``attention`` (path → layer) are recorded.

    ``softmaxes``: the ``keras.layers.Softmax`` layers inside them. Yields an :class:`OpRecorder` whose
    ``calls`` are in the order the weights were formed. Everything is restored in ``finally``. When the
    block ends without an error, what each call's weights were formed from is kept for its record
    (:meth:`OpRecorder.keep`).
    """
    rec = OpRecorder()
    with contextlib.ExitStack() as stack:
        for m, name, kind in _op_sites(keras):
            original = getattr(m, name)
            stack.callback(setattr, m, name, original)
            shadow = _shadow_dpa if kind == "dpa" else _shadow_softmax
            setattr(m, name, shadow(keras, original, rec))
        for layer in softmaxes:
            stack.enter_context(_instance_call(layer, _shadow_softmax_layer(keras, layer, rec)))
        for path, layer in attention.items():
            stack.enter_context(_instance_call(layer, _shadow_frame(layer, path, rec)))
        yield rec
    rec.keep(keras)
