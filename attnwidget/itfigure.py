"""The lecture's Figure 2, learned: whom does "it" attend to in an English → French Transformer?

"The animal didn't cross the street because it was too tired": "it" is the animal; "... too wide":
the street. French has to say which (il / elle, fatigué / fatiguée). The corpus comes from frames
in which the adjective, in its frame, decides the referent: the size words change sides between
frames ("didn't fit in the box because it was too big" is the animal, "couldn't carry the box
because it was too big" the box), and the two nouns of a sentence always differ in gender, so il /
elle is right only if the model resolved "it". No downloads.

The corpus is :mod:`attnwidget.itcorpus`, the model and its training :mod:`attnwidget.itmodel`; this
module trains it and reads where "it" attends.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .backend import one_key_softmax
from .itcorpus import FIGURE, french_text, corpus, Vocab, vocabularies, by_frame, arrays
from .itmodel import build_model, fit


def greedy(model, src: np.ndarray, steps: int, stop: bool = False) -> np.ndarray:
    """Greedy decoding of ``src`` ``(N, T)``: target ids ``(N, ≤ steps)``, the start token left out;
    with ``stop``, until every row has produced the end token."""
    out = np.full((len(src), 1), 2, "int32")
    with one_key_softmax():     # the decoder's first step: a single token to attend to
        for _ in range(steps):
            logits = np.asarray(model((src, out), training=False))
            out = np.concatenate([out, logits[:, -1].argmax(-1).astype("int32")[:, None]], 1)
            if stop and (out == 3).any(1).all():
                break
    return out[:, 1:]


def it_rows(model, examples, en: Vocab, fr: Vocab) -> dict[str, np.ndarray]:
    """Encoder self-attention path → ``(N, heads, 2)``: weight of "it" on (its referent, the other noun)."""
    from .capture import capture

    rows: dict[str, list] = {}
    for group in by_frame(examples):
        src, tgt_in, _ = arrays(group, en, fr)
        res = capture(model, (src, tgt_in))
        pos = np.array([e.positions() for e in group])                  # (n, 3): it, referent, other
        n = np.arange(len(group))
        for path, kind in res.layer_kinds.items():
            if kind == "self":
                s = res.layers[path][n, :, pos[:, 0], :]                # (n, heads, T): the "it" rows
                rows.setdefault(path, []).append(np.stack([s[n, :, pos[:, 1]], s[n, :, pos[:, 2]]], -1))
    return {p: np.concatenate(v) for p, v in rows.items()}


def choose_head(rows: dict[str, np.ndarray]) -> tuple[str, int]:
    """The (layer path, head) whose "it" row most often puts more weight on the referent than on the
    other noun (ties: the larger mean difference)."""
    def score(ph):
        r = rows[ph[0]][:, ph[1]]                                       # (N, 2)
        return float((r[:, 0] > r[:, 1]).mean()), float((r[:, 0] - r[:, 1]).mean())

    return max(((p, h) for p, r in rows.items() for h in range(r.shape[1])), key=score)


def pronoun_accuracy(model, examples, en: Vocab, fr: Vocab) -> tuple[float, float]:
    """``(share with the right il / elle, share translated word for word)``, greedy decoding."""
    right = exact = 0
    for group in by_frame(examples):
        src, _, labels = arrays(group, en, fr)
        pred = greedy(model, src, labels.shape[1])
        exact += int((pred == labels).all(1).sum())
        for e, p in zip(group, pred):
            right += [t for t in fr.decode(p) if t in ("il", "elle")][:1] == [e.pronoun]
    return right / len(examples), exact / len(examples)


@dataclass
class ItFigure:
    """What :func:`train_it_figure` returns: the trained model, its tokenizers and what it learned."""

    model: Any                     # the Transformer of attnwidget.itmodel, trained
    source: Vocab                  # English tokenizer (attnwidget.tokenize)
    target: Vocab                  # French tokenizer (french_tokens)
    head: tuple[str, int]          # (encoder layer path, head) whose "it" row best follows the referent (train split)
    train: list = field(repr=False, default_factory=list)
    test: list = field(repr=False, default_factory=list)
    train_seconds: float = 0.0
    history: list = field(default_factory=list)
    metrics: dict = field(default_factory=dict)

    def _translation(self, text: str) -> list[int]:
        ids = [int(i) for i in greedy(self.model, np.array([self.source.encode(text)], "int32"), 24, stop=True)[0]]
        return ids[:ids.index(3)] if 3 in ids else ids

    def translate(self, text: str) -> str:
        """Greedy French translation of one English sentence."""
        return french_text(self.target.decode(self._translation(text)))

    def capture(self, text: str):
        """AttentionResult of every layer (encoder self-attention first) on ``text`` and its translation:
        the decoder reads ``<s>`` and the translation, the encoder ``text``."""
        from .capture import capture

        ids = np.array([[2] + self._translation(text)], "int32")
        return capture(self.model, (np.array([self.source.encode(text)], "int32"), ids),
                       tokens=self.target.decode(ids[0]), context_tokens=self.source.split(text))

    def view(self, text: str):
        """The widget of :meth:`capture`, opened as the figure: the chosen head's layer, that head
        alone, "it" pinned."""
        res = self.capture(text)
        w = res.widget
        w.layer = [r.path for r in res.records].index(self.head[0])
        w.heads, w.head = [self.head[1]], self.head[1]
        w.selected_query = self.source.split(text).index("it")
        return w

    def figure(self, texts=FIGURE):
        """The lecture's Figure 2: :meth:`view` of each of ``texts`` side by side, its French translation
        under it (see :func:`attnwidget.sidebyside.side_by_side`)."""
        from .sidebyside import side_by_side

        return side_by_side(*(self.view(t) for t in texts), captions=[self.translate(t) for t in texts])

    def it_row(self, text: str) -> dict[str, float]:
        """The chosen head's weights of "it" in ``text``: source token → weight."""
        res = self.capture(text)
        toks = self.source.split(text)
        row = res.layers[self.head[0]][0, self.head[1], toks.index("it")]
        return {f"{t}#{i}" if toks.count(t) > 1 else t: float(w) for i, (t, w) in enumerate(zip(toks, row))}


def train_it_figure(seed: int = 0, epochs: int = 16, batch_size: int = 32, learning_rate: float = 2e-3,
                    read_out: float = 1.0, num_layers: int = 2, d_model: int = 64, num_heads: int = 8, dff: int = 128,
                    last_heads: int = 1) -> ItFigure:
    """Generate the corpus, train the model of :mod:`attnwidget.itmodel` on it and measure what it learned.

    Deterministic for a seed (corpus split, weights and batch order from NumPy; no dropout).
    ``metrics`` (held-out split): ``pronoun`` (share with the right il / elle), ``exact`` (share
    translated word for word), ``referent`` (share whose "it" row, in the chosen head, weighs the
    referent above the other noun), ``figure`` (for each of the figure's sentences: the weights of
    "it" on animal and street, and the token it weighs most).
    """
    train, test = corpus(seed)
    en, fr = vocabularies(train + test)
    model = build_model(en, fr, seed, num_layers=num_layers, d_model=d_model, num_heads=num_heads, dff=dff,
                        last_heads=last_heads)
    t0 = time.perf_counter()
    history = fit(model, train, en, fr, seed, epochs=epochs, batch_size=batch_size, learning_rate=learning_rate,
                  read_out=read_out)
    seconds = time.perf_counter() - t0
    head = choose_head(it_rows(model, train, en, fr))
    rows = it_rows(model, test, en, fr)[head[0]][:, head[1]]                  # (N, 2)
    pronoun, exact = pronoun_accuracy(model, test, en, fr)
    fig = ItFigure(model, en, fr, head, train, test, seconds, history,
                   {"pronoun": pronoun, "exact": exact, "referent": float((rows[:, 0] > rows[:, 1]).mean())})
    figure = {}
    for text in FIGURE:
        row = fig.it_row(text)
        figure[text] = {"animal": row["animal"], "street": row["street"], "top": max(row, key=row.get)}
    fig.metrics["figure"] = figure
    return fig
