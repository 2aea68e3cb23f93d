"""A small Transformer that learns to reverse digit sequences: learned attention for the demo.

No downloads: the data are random digits. Trained on reversal, the decoder's cross attention
learns to look at source position ``n − 1 − i`` when it writes output ``i``: the anti-diagonal.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

START = 11          # token id of the decoder's start symbol; digits d are ids d + 1
VOCAB = 12          # 0 (unused), 10 digits, start


@dataclass
class Reversal:
    """What :func:`train_reversal` returns: both models, an example and its captures."""

    untrained: Any                 # the Transformer before training (same seed, same weights as `trained` started with)
    trained: Any                   # the Transformer after training
    source: np.ndarray             # (1, n) token ids of the example
    target_in: np.ndarray          # (1, n) decoder input: start, then the reversed digits but the last
    tokens: list[str]              # labels of the decoder side ("<s>", digits)
    context_tokens: list[str]      # labels of the source digits
    before: Any = None             # AttentionResult of the untrained model on the example
    after: Any = None              # AttentionResult of the trained model on the example
    train_seconds: float = 0.0
    accuracy: float = 0.0          # token accuracy of the trained model on held-out sequences
    history: list = field(default_factory=list)

    def anti_diagonal(self, result=None, layer: str | None = None) -> float:
        """Mean weight the cross attention puts on the anti-diagonal (mean of heads and of cross layers)."""
        res = result if result is not None else self.after
        names = [layer] if layer else [n for n, k in res.layer_kinds.items() if k == "cross"]
        return float(np.mean([anti_diagonal_weight(res.layers[n]) for n in names]))


def anti_diagonal_weight(scores: np.ndarray) -> float:
    """Mean over batch, heads and queries of the weight on key ``n − 1 − i`` for query ``i`` (square scores)."""
    s = np.asarray(scores)
    n = s.shape[-1]
    return float(s[..., np.arange(n), n - 1 - np.arange(n)].mean())


def reversal_data(count: int, length: int, rng: np.random.Generator):
    """``(source ids, decoder input ids, labels)``, each ``(count, length)``."""
    digits = rng.integers(0, 10, size=(count, length))
    src = digits + 1
    rev = src[:, ::-1]
    tgt_in = np.concatenate([np.full((count, 1), START), rev[:, :-1]], axis=1)
    return src.astype("int32"), tgt_in.astype("int32"), rev.astype("int32")


def build_model(seed: int = 0, num_layers: int = 1, d_model: int = 32, num_heads: int = 2, dff: int = 64,
                length: int = 6):
    """The tutorial's Transformer (attnwidget.models), weights seeded from NumPy like the engine's layers."""
    from . import backend
    from .build import seed_weights
    from .models import Transformer

    backend.load_keras(None)
    model = Transformer(num_layers=num_layers, d_model=d_model, num_heads=num_heads, dff=dff,
                        input_vocab_size=VOCAB, target_vocab_size=VOCAB, dropout_rate=0.0, key_dim=d_model // num_heads)
    dummy = np.ones((1, length), "int32")
    model((dummy, dummy), training=False)
    seed_weights([model], seed)
    return model


def train_reversal(seed: int = 0, epochs: int = 12, length: int = 6, examples: int = 4096, batch_size: int = 64,
                   num_layers: int = 1, d_model: int = 32, num_heads: int = 2, dff: int = 64,
                   learning_rate: float = 3e-3, verbose: int = 0) -> Reversal:
    """Train a small Transformer to reverse ``length`` digits; return both models and their captures.

    Deterministic for a seed (weights and data from NumPy, no dropout, no shuffling by Keras);
    about 20 s on two CPU cores with the TensorFlow backend at the defaults.
    """
    from . import backend
    from .capture import capture

    keras = backend.load_keras(None)
    rng = np.random.default_rng(seed)
    src, tgt_in, labels = reversal_data(examples, length, rng)
    t_src, t_in, t_lab = reversal_data(256, length, np.random.default_rng(seed + 1))
    kw = dict(seed=seed, num_layers=num_layers, d_model=d_model, num_heads=num_heads, dff=dff, length=length)
    untrained = build_model(**kw)
    trained = build_model(**kw)
    trained.compile(optimizer=keras.optimizers.Adam(learning_rate),
                    loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    t0 = time.perf_counter()
    hist = trained.fit((src, tgt_in), labels, batch_size=batch_size, epochs=epochs, shuffle=False, verbose=verbose)
    seconds = time.perf_counter() - t0
    pred = np.asarray(trained((t_src, t_in), training=False)).argmax(-1)
    accuracy = float((pred == t_lab).mean())

    example = np.array([[3, 1, 4, 1, 5, 9, 2, 6, 5, 3][:length]]) % 10
    source = (example + 1).astype("int32")
    target_in = np.concatenate([[[START]], source[:, ::-1][:, :-1]], axis=1).astype("int32")
    tokens = ["<s>"] + [str(d) for d in example[0, ::-1][:-1]]
    context_tokens = [str(d) for d in example[0]]
    cap = dict(tokens=tokens, context_tokens=context_tokens)
    return Reversal(
        untrained=untrained, trained=trained, source=source, target_in=target_in, tokens=tokens,
        context_tokens=context_tokens, before=capture(untrained, (source, target_in), **cap),
        after=capture(trained, (source, target_in), **cap), train_seconds=seconds, accuracy=accuracy,
        history=[float(v) for v in hist.history.get("loss", [])])


def train_it_figure(seed: int = 0, **kwargs):
    """The lecture's Figure 2 learned: an English → French Transformer and the "it" of its encoder.

    See :func:`attnwidget.itfigure.train_it_figure` (imported here lazily: it imports Keras).
    """
    from .itfigure import train_it_figure as train

    return train(seed=seed, **kwargs)
