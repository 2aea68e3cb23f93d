"""Find the attention layers inside a Keras layer or model, by path.

Paths are named after the attributes of subclassed layers (``encoder/enc_layers_0/self_attention/mha``)
and the layer names of functional and sequential models. Nothing here runs a model.
"""

from __future__ import annotations

from typing import Any


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


def _looks_like_attention(layer, keras) -> bool:
    if "attention" in type(layer).__name__.lower():
        return True
    return any(isinstance(c, keras.layers.Softmax) for _, c in _children(layer, keras))


def find_op_attention(model, keras=None) -> tuple[dict[str, Any], list[Any]]:
    """Attention layers that are not ``MultiHeadAttention``, by path, and the ``Softmax`` layers inside them.

    A layer counts when its class name says attention (``LlamaAttention``, ``T5MultiHeadAttention``) or it
    holds a ``keras.layers.Softmax``; a wrapper around a ``MultiHeadAttention`` (``GlobalSelfAttention``
    and its ``.mha``) does not: the ``MultiHeadAttention`` is recorded itself. Nothing inside a
    ``MultiHeadAttention`` is listed.
    """
    if keras is None:
        import keras
    found: dict[str, Any] = {}
    softmaxes: list[Any] = []
    seen: dict[int, bool] = {}

    def walk(layer, prefix, inside: bool) -> bool:
        """True when ``layer`` is or holds a MultiHeadAttention."""
        if id(layer) in seen:
            return seen[id(layer)]
        seen[id(layer)] = False
        if isinstance(layer, keras.layers.MultiHeadAttention):
            seen[id(layer)] = True
            return True
        if isinstance(layer, keras.layers.Softmax) and inside:
            softmaxes.append(layer)
        candidate = _looks_like_attention(layer, keras)
        has_mha = False
        for name, child in _children(layer, keras):
            has_mha |= walk(child, f"{prefix}/{name}" if prefix else name, inside or candidate)
        if candidate and not has_mha:
            found[prefix or layer.name] = layer
        seen[id(layer)] = has_mha
        return has_mha

    walk(model, "", False)
    return found, softmaxes


def no_attention(model, op_layers: dict) -> ValueError:
    """The error for a model with no attention capture can read, naming the layers that looked like it."""
    name = type(model).__name__
    if not op_layers:
        return ValueError(f"model: {name} has no attention layer inside (no MultiHeadAttention, no layer whose "
                          "class is named *Attention* or that holds a keras.layers.Softmax)")
    looked = ", ".join(f"{p} ({type(x).__name__})" for p, x in list(op_layers.items())[:12])
    more = f" and {len(op_layers) - 12} more" if len(op_layers) > 12 else ""
    return ValueError(f"model: {name} has no MultiHeadAttention, and none of the layers that looked like "
                      f"attention formed weights attnwidget can read (a keras.layers.Softmax, keras.ops.softmax "
                      f"or keras.ops.dot_product_attention in their call): {looked}{more}")
