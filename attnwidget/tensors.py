"""Attention weights from any framework as float32 NumPy: one ``(batch, heads, q, k)`` array per layer.

Accepts what Hugging Face and Keras users hold: a tuple or list of per-layer tensors (``outputs.attentions``),
one stacked array ``(layers, batch, heads, q, k)`` (``torch.stack(outputs.attentions)``), as NumPy, torch
(any float dtype, bfloat16 included, any device, requiring grad or not), JAX or TensorFlow.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .config import ConfigError

EMPTY_HINT = ("the model returned no attention weights. It ran without output_attentions=True, or with an "
              "attention implementation that returns none (transformers' default 'sdpa', flash attention): load "
              "it with attn_implementation=\"eager\" (from_pretrained(..., attn_implementation=\"eager\") or "
              "config._attn_implementation = \"eager\") and call it with output_attentions=True")


def as_float32(x: Any, name: str) -> np.ndarray:
    """``x`` as a float32 NumPy array; ConfigError names ``name`` and the cause when it cannot be."""
    if x is None:
        raise ConfigError(f"{name}: got None where an attention tensor belongs (was the model run with "
                          "output_attentions=True?)")
    if hasattr(x, "detach") and hasattr(x, "float"):  # torch: off the graph and the device, bf16 → float32
        x = x.detach().to("cpu")
        x = x.float() if x.is_floating_point() else x
    elif hasattr(x, "numpy") and not isinstance(x, np.ndarray):  # TensorFlow eager tensors
        try:
            x = x.numpy()
        except Exception as exc:  # noqa: BLE001 - symbolic tensors
            raise ConfigError(f"{name}: expected an array of numbers, got {type(x).__name__} ({exc})") from None
    try:
        a = np.asarray(x)
    except Exception as exc:  # noqa: BLE001
        raise ConfigError(f"{name}: expected an array of numbers, got {type(x).__name__} ({exc})") from None
    if a.dtype == object or a.dtype.kind not in "fiub" and "float" not in a.dtype.name:
        raise ConfigError(f"{name}: expected an array of numbers, got dtype {a.dtype}")
    return a.astype(np.float32, copy=False)


def layer_arrays(attention: Any, name: str = "attention", *, single_4d: str = "layer",
                 stacked: bool = True) -> list[np.ndarray]:
    """Per-layer float32 arrays from a tuple/list of tensors or one stacked ``(layers, batch, heads, q, k)``.

    ``single_4d``: what one 4-d array is: ``"layer"`` (one layer ``(batch, heads, q, k)``, the widget's
    reading) or ``"refuse"`` (ambiguous, as BertViz's callers mean ``(layers, heads, q, k)`` by it after
    ``.squeeze(1)``): ConfigError says what to pass instead. ``stacked``: read a 5-d array as layers.
    Items keep their own rank (checked by the caller).
    """
    if isinstance(attention, (list, tuple)):
        if not attention:
            raise ConfigError(f"{name}: got an empty {type(attention).__name__}: {EMPTY_HINT}")
        return [as_float32(x, f"{name}[{i}]") for i, x in enumerate(attention)]
    a = as_float32(attention, name)
    if a.ndim == 5 and stacked:
        return list(a)
    if a.ndim == 4 and single_4d == "refuse":
        raise ConfigError(
            f"{name}: one 4-d array {tuple(a.shape)} is ambiguous: pass the tuple of per-layer tensors "
            "(batch, heads, q, k) as the model returned it, or one stacked array (layers, batch, heads, q, k) "
            "such as torch.stack(outputs.attentions); an array after .squeeze(1) has lost its batch axis "
            "(use .unsqueeze(1))")
    return [a]
