"""BertViz's two entry points, drop-in: ``head_view`` and ``model_view`` with its argument names and meanings.

Both take the attention of a model as BertViz does (``outputs.attentions`` of a Hugging Face model: a
tuple with one ``(batch, heads, q, k)`` tensor per layer) or one stacked ``(layers, batch, heads, q, k)``
array, from torch (any float dtype and device), NumPy, JAX or TensorFlow, and return the
:class:`~attnwidget.widget.AttentionWidget` (Jupyter shows it when it is a cell's last value).
Encoder-decoder models give ``encoder_attention`` / ``decoder_attention`` / ``cross_attention`` with
``encoder_tokens`` / ``decoder_tokens`` instead.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from .config import ConfigError
from .tensors import layer_arrays

DISPLAY_MODES = ("dark", "light")  # None: the notebook's theme
HTML_ACTIONS = ("view", "return")


def prettify(tokens: Sequence[str]) -> list[str]:
    """BertViz's token clean-up: byte-level BPE's ``Ġ`` and SentencePiece's ``▁`` become spaces, ``</w>`` goes."""
    return [str(t).replace("Ġ", " ").replace("▁", " ").replace("</w>", "") for t in tokens]


def _indices(value: Any, n: int, name: str, what: str) -> list[int]:
    if value is None:
        return list(range(n))
    items = [value] if isinstance(value, (int, np.integer)) else list(value)
    bad = [i for i in items if isinstance(i, bool) or not isinstance(i, (int, np.integer)) or not 0 <= i < n]
    if bad or not items:
        raise ConfigError(f"{name}: expected indices in 0..{n - 1} ({n} {what}), got {value!r}")
    return [int(i) for i in items]


def _group(attention: Any, name: str, include_layers, include_heads, label: str) -> list[tuple[str, np.ndarray]]:
    """``(name, scores (batch, heads, q, k))`` of the included layers and heads of one attention group."""
    arrays = layer_arrays(attention, name, single_4d="refuse")
    for i, a in enumerate(arrays):
        if a.ndim != 4:
            raise ConfigError(f"{name}[{i}]: expected (batch, heads, q, k), got shape {tuple(a.shape)}")
    keep = _indices(include_layers, len(arrays), "include_layers", "layers")
    heads = _indices(include_heads, arrays[0].shape[1], "include_heads", "heads")
    return [(f"{label}{i}", arrays[i][:, heads]) for i in keep]


def _tokens(tokens: Any, name: str, n: int, pretty: bool) -> list[str]:
    if tokens is None:
        raise ConfigError(f"{name}: required, one label per position ({n})")
    out = [str(t) for t in tokens]
    if len(out) != n:
        raise ConfigError(f"{name}: {len(out)} tokens for attention over {n} positions")
    return prettify(out) if pretty else out


def _layers(attention, tokens, encoder_attention, decoder_attention, cross_attention, encoder_tokens,
            decoder_tokens, include_layers, include_heads, prettify_tokens) -> tuple[list, list, list, list, list]:
    """Scores, query tokens, key tokens, names and kinds of every included layer (kind None: from the data)."""
    groups = (encoder_attention, decoder_attention, cross_attention)
    if attention is not None:
        if any(g is not None for g in groups):
            raise ConfigError("attention: give either attention (one stack) or encoder_attention / "
                              "decoder_attention / cross_attention, not both")
        layers = _group(attention, "attention", include_layers, include_heads, "layer ")
        t = _tokens(tokens, "tokens", layers[0][1].shape[-1], prettify_tokens)
        return [a for _, a in layers], [t] * len(layers), [t] * len(layers), [n for n, _ in layers], [None] * len(layers)
    if all(g is None for g in groups):
        raise ConfigError("attention: required (or encoder_attention / decoder_attention / cross_attention)")
    if tokens is not None:
        raise ConfigError("tokens: an encoder-decoder takes encoder_tokens and decoder_tokens instead")
    scores, qt, kt, names, kinds = [], [], [], [], []
    for group, label, kind in ((encoder_attention, "encoder", "self"), (decoder_attention, "decoder", None),
                               (cross_attention, "cross", "cross")):
        if group is None:
            continue
        for name, a in _group(group, f"{label}_attention", include_layers, include_heads, f"{label} "):
            q = _tokens(encoder_tokens if label == "encoder" else decoder_tokens,
                        "encoder_tokens" if label == "encoder" else "decoder_tokens", a.shape[2], prettify_tokens)
            k = q if label != "cross" else _tokens(encoder_tokens, "encoder_tokens", a.shape[3], prettify_tokens)
            scores.append(a), qt.append(q), kt.append(k), names.append(name), kinds.append(kind)
    return scores, qt, kt, names, kinds


def _display_mode(display_mode) -> str:
    """The widget's ``theme`` for BertViz's ``display_mode`` (None: follow the notebook)."""
    if display_mode is None:
        return "auto"
    if display_mode not in DISPLAY_MODES:
        raise ConfigError(f"display_mode: expected one of {' | '.join(DISPLAY_MODES)} (or None: the notebook's theme), "
                          f"got {display_mode!r}")
    return display_mode


def _sentences(sentence_b_start, tokens: list[str]) -> str | None:
    if sentence_b_start is None:
        return None
    n = len(tokens)
    if isinstance(sentence_b_start, bool) or not isinstance(sentence_b_start, (int, np.integer)) \
            or not 0 < sentence_b_start < n:
        raise ConfigError(f"sentence_b_start: expected an index in 1..{n - 1}, got {sentence_b_start!r}")
    s = int(sentence_b_start)
    return (f"sentence A: tokens 0–{s - 1} ({' '.join(tokens[:s]).strip()[:40]}) · "
            f"sentence B: tokens {s}–{n - 1} ({' '.join(tokens[s:]).strip()[:40]})")


def _widget(view: str, title: str, attention, tokens, sentence_b_start, prettify_tokens, layer, heads,
            encoder_attention, decoder_attention, cross_attention, encoder_tokens, decoder_tokens,
            include_layers, include_heads, html_action, display_mode, hidden_keys):
    from .widget import AttentionWidget

    theme = _display_mode(display_mode)
    if html_action not in HTML_ACTIONS:
        raise ConfigError(f"html_action: expected one of {' | '.join(HTML_ACTIONS)}, got {html_action!r}")
    scores, qt, kt, names, kinds = _layers(attention, tokens, encoder_attention, decoder_attention,
                                           cross_attention, encoder_tokens, decoder_tokens, include_layers,
                                           include_heads, prettify_tokens)
    if sentence_b_start is not None and attention is None:
        raise ConfigError("sentence_b_start: only with attention= and tokens= (a sentence pair), not an encoder-decoder")
    notice = _sentences(sentence_b_start, qt[0])
    shown = 0
    if layer is not None:
        wanted = [f"{p}{layer}" for p in ("layer ", "encoder ", "decoder ", "cross ")]
        shown = next((i for i, n in enumerate(names) if n in wanted), -1)
        if shown < 0:
            raise ConfigError(f"layer: {layer!r} is not one of the included layers ({', '.join(names)})")
    opts: dict[str, Any] = {"layer": shown, "theme": theme, "hidden_keys": list(hidden_keys or [])}
    if sentence_b_start is not None:
        opts["segment_start"] = int(sentence_b_start)  # checked by _sentences
    if heads is not None:
        opts["heads"] = _indices(heads, scores[shown].shape[1], "heads", "heads")
    head_names = None
    if include_heads is not None:
        head_names = [f"head {h}" for h in _indices(include_heads, 1 << 30, "include_heads", "heads")]
    from .scores import widget_layers

    detected = [w.kind for w in widget_layers(scores, qt, kt)]
    w = AttentionWidget(scores, qt, kt, head_names, layer_names=names, layer_kinds=[k or d for k, d in zip(kinds, detected)],
                        info={"kind": title, **({"notice": notice} if notice else {})},
                        view=view if len(scores) > 1 or view != "model" else "heads", **opts)
    if html_action == "return":
        from IPython.display import HTML

        return HTML(w.to_html(title=title))
    return w


def head_view(attention=None, tokens=None, sentence_b_start=None, prettify_tokens=True, layer=None, heads=None,
              encoder_attention=None, decoder_attention=None, cross_attention=None, encoder_tokens=None,
              decoder_tokens=None, include_layers=None, html_action="view", display_mode=None, hidden_keys=None):
    """BertViz's head view: lines from each token to the tokens it attends to, one colour per head.

    Args:
        attention: per-layer ``(batch, heads, q, k)`` tensors (a tuple or list, ``outputs.attentions``) or
            one stacked ``(layers, batch, heads, q, k)`` array.
        tokens: the ``q`` labels (``tokenizer.convert_ids_to_tokens(ids[0])``).
        sentence_b_start: index of the second sentence's first token (a sentence pair): the graph and matrix
            views draw the two sentences apart (a gap and a divider), and the header names them.
        prettify_tokens: ``Ġ`` / ``▁`` as spaces, ``</w>`` dropped.
        layer: the layer shown first (its number in the model); heads: the heads visible at first.
        encoder_attention / decoder_attention / cross_attention, encoder_tokens / decoder_tokens: an
            encoder-decoder's three groups (cross is ``decoder × encoder``), instead of attention / tokens.
        include_layers: the layers offered (numbers in the model; default all).
        html_action: ``"view"`` returns the widget; ``"return"`` an ``IPython.display.HTML`` offline page.
        display_mode: ``"dark"`` | ``"light"``: those colours whatever the notebook's theme (also in static
            copies); None (the default): follow the notebook. An addition: BertViz's head view has no such argument.
        hidden_keys: key indices left out, each row renormalised over the rest (``[0]``: BERT's [CLS]); also
            in the page ``html_action="return"`` gives. An addition, as the widget's ``hidden_keys`` trait.

    Returns:
        The :class:`~attnwidget.widget.AttentionWidget` (graph view), or the HTML page.
    """
    return _widget("graph", "head view", attention, tokens, sentence_b_start, prettify_tokens, layer, heads,
                   encoder_attention, decoder_attention, cross_attention, encoder_tokens, decoder_tokens,
                   include_layers, None, html_action, display_mode, hidden_keys)


def model_view(attention=None, tokens=None, sentence_b_start=None, prettify_tokens=True, display_mode=None,
               encoder_attention=None, decoder_attention=None, cross_attention=None, encoder_tokens=None,
               decoder_tokens=None, include_layers=None, include_heads=None, html_action="view", hidden_keys=None):
    """BertViz's model view: a grid of every layer × head; click a cell to open that layer and head.

    Arguments as :func:`head_view` (``hidden_keys`` included), plus ``include_heads`` (the heads shown,
    numbers in the model) and ``display_mode`` (``"dark"`` | ``"light"``: those colours whatever the
    notebook's theme; None, the default, follows the notebook where BertViz's default is ``"dark"``).

    Returns:
        The :class:`~attnwidget.widget.AttentionWidget` (model view), or the HTML page.
    """
    return _widget("model", "model view", attention, tokens, sentence_b_start, prettify_tokens, None, None,
                   encoder_attention, decoder_attention, cross_attention, encoder_tokens, decoder_tokens,
                   include_layers, include_heads, html_action, display_mode, hidden_keys)
