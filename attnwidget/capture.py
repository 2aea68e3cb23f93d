"""Record the scores of a ``MultiHeadAttention`` while a layer that contains it runs.

Used for a user's own layer (``layer: $gsa``) whose ``call`` does not return scores, such as the
tutorial's ``GlobalSelfAttention``: its ``.mha`` is asked for scores during one call and
restored afterwards, also when the call raises.
"""

from __future__ import annotations

import contextlib


def find_mha(layer, keras):
    """The layer itself if it is a ``MultiHeadAttention``, else its ``.mha`` attribute, else None."""
    if isinstance(layer, keras.layers.MultiHeadAttention):
        return layer
    mha = getattr(layer, "mha", None)
    return mha if isinstance(mha, keras.layers.MultiHeadAttention) else None


@contextlib.contextmanager
def recording(mha):
    """Within the block, each call of ``mha`` appends its scores ``(batch, heads, q, k)`` to the list yielded."""
    recorded = []
    original = mha.call  # bound method of the class; the instance attribute below shadows it

    def call(*args, return_attention_scores=False, **kwargs):
        out, scores = original(*args, return_attention_scores=True, **kwargs)
        recorded.append(scores)
        return (out, scores) if return_attention_scores else out

    mha.call = call
    try:
        yield recorded
    finally:
        # Remove the shadowing attribute (Keras tracks layer attributes, so delete through object).
        try:
            object.__delattr__(mha, "call")
        except AttributeError:
            pass
