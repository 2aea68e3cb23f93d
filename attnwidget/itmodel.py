"""The model of the lecture's Figure 2 (:mod:`attnwidget.itfigure`) and how it is trained.

The tutorial's two-layer, eight-head Transformer, with three changes that make one encoder head, not
the decoder or a team of heads, resolve "it" (with the tutorial's model no head's "it" row followed the
referent in more than 56 % of held-out sentences: the decoder resolved "it" itself, or heads gathered
each noun apart and the feed-forward blocks picked one):

- **The first encoder layer reads clause by clause** (:func:`clause_mask`): from "because" on, each
  word attends to the words of its own clause; a word before it attends to itself only. "it" learns
  the adjective there, and the nouns are still only at the nouns when the second layer looks for them.
- **A read-out while training** (``ReadOut`` in :func:`_read_out`): a linear layer on the second encoder layer's
  attention output at "it" (before its feed-forward block) names the referent noun, a second loss
  beside the translation's. A linear read-out cannot choose between two nouns by the adjective, so a
  head must do the choosing; which head, and how, is learned: nothing says where to attend.
- **The last encoder layer has one head** (key_dim 64): with eight, two heads shared the choosing (one
  for each noun, attending elsewhere when the other was meant), and no single row followed the referent.

The read-out is used while training only: the trained model is the package's
:class:`~attnwidget.models.Transformer` with this encoder (``ClauseEncoder``), and nothing more.
"""

from __future__ import annotations

import functools

import numpy as np

from .itcorpus import Vocab, arrays, by_frame


def clause_mask(ids, split_id: int):
    """``ids`` ``(batch, T)`` → bool ``(batch, T, T)``: query i may attend to key j. From the first
    ``split_id`` token on, within that clause; before it, to itself only."""
    from keras import ops

    c = ops.cumsum(ops.cast(ops.equal(ids, split_id), "int32"), axis=1)      # (batch, T): clause 0, 1, …
    same = ops.equal(c[:, :, None], c[:, None, :])
    own = ops.logical_or(c[:, :, None] > 0, ops.eye(ops.shape(ids)[1], dtype="bool")[None])
    return ops.logical_and(same, own)


def _encoder_class():
    from .models import Encoder

    class ClauseEncoder(Encoder):
        """The tutorial's Encoder whose first layer attends under :func:`clause_mask`, with
        ``head_counts[i]`` heads in layer i (key_dim d_model / heads)."""

        def __init__(self, *, split_id: int, head_counts, num_layers=None, num_heads=None, key_dim=None, **kwargs):
            super().__init__(num_layers=len(head_counts), num_heads=head_counts[0], head_counts=head_counts, **kwargs)
            self.split_id = split_id

        def call(self, x, return_attention_output=False):
            """Ids ``(batch, T)`` → ``(batch, T, d_model)``, as :meth:`Encoder.call` under the clause mask."""
            return super().call(x, first_mask=clause_mask(x, self.split_id), return_attention_output=return_attention_output)

    return ClauseEncoder


def build_model(en: Vocab, fr: Vocab, seed: int = 0, num_layers: int = 2, d_model: int = 64, num_heads: int = 8,
                dff: int = 128, last_heads: int = 1):
    """The tutorial's Transformer, ``num_layers`` × ``num_heads``, except the encoder: its first layer reads
    clause by clause and its last has ``last_heads`` heads. No dropout; weights from ``seed`` alone."""
    from . import backend
    from .build import private_random, seed_weights
    from .models import Transformer

    backend.load_keras(None)
    with private_random():              # Keras draws its default seeds from Python's `random`
        model = Transformer(num_layers=num_layers, d_model=d_model, num_heads=num_heads, dff=dff,
                            input_vocab_size=len(en), target_vocab_size=len(fr), dropout_rate=0.0,
                            key_dim=d_model // num_heads,
                            encoder_class=functools.partial(_encoder_class(), split_id=en.ids["because"],
                                                        head_counts=[num_heads] * (num_layers - 1) + [last_heads]))
        model((np.ones((1, 4), "int32"), np.ones((1, 4), "int32")), training=False)
    seed_weights([model], seed)
    return model


def _read_out(model, size: int, seed: int):
    """:class:`ReadOut` around ``model``, built, its read-out's weights from ``seed``."""
    import keras
    from keras import ops

    from .build import private_random

    class ReadOut(keras.Model):
        """``(source (N, T), decoder input (N, U), "it" index (N,))`` → ``(logits (N, U, target vocab),
        read-out logits (N, size))``; the read-out reads the last encoder layer's attention output at "it"."""

        def __init__(self):
            super().__init__()
            self.transformer = model
            self.read = keras.layers.Dense(size, kernel_initializer=keras.initializers.GlorotUniform(seed))

        def call(self, inputs):
            src, tgt, it = inputs
            ctx, att = model.encoder(src, return_attention_output=True)
            logits = model.final_layer(model.decoder(tgt, ctx))
            at_it = ops.sum(att * ops.one_hot(it, ops.shape(att)[1], dtype=att.dtype)[:, :, None], axis=1)
            return logits, self.read(at_it)

    with private_random():
        trainer = ReadOut()
        trainer.read.build((None, model.encoder.d_model))
    return trainer


def fit(model, train, en: Vocab, fr: Vocab, seed: int = 0, epochs: int = 16, batch_size: int = 32,
        learning_rate: float = 2e-3, read_out: float = 1.0) -> list[float]:
    """Teacher-forced training on batches of one frame, in an order drawn from ``seed``, the read-out's
    loss weighted by ``read_out`` (0: translation alone); mean total loss per epoch."""
    from . import backend

    keras = backend.load_keras(None)
    trainer = _read_out(model, len(en), seed)
    ce = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    trainer.compile(optimizer=keras.optimizers.Adam(learning_rate), loss=[ce, ce], loss_weights=[1.0, read_out])
    groups = []
    for g in by_frame(train):
        it = np.array([e.positions()[0] for e in g], "int32")
        groups.append((*arrays(g, en, fr), it, np.array([en.ids[e.referent_noun] for e in g], "int32")))
    rng = np.random.default_rng([seed, 0x7EA])
    history = []
    for _ in range(epochs):
        batches = [(g, idx) for g, group in enumerate(groups)
                   for idx in np.array_split(rng.permutation(len(group[0])), -(-len(group[0]) // batch_size))]
        losses = []
        for b in rng.permutation(len(batches)):
            g, idx = batches[b]
            src, tgt_in, labels, it, ref = (a[idx] for a in groups[g])
            losses.append(float(np.ravel(trainer.train_on_batch((src, tgt_in, it), (labels, ref)))[0]))
        history.append(float(np.mean(losses)))
    return history
