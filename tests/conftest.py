"""Shared fixtures: one real IPython shell with the extension loaded, a Chromium for the browser tests, a
NumPy reference of attention, and the tile passes a test makes (``tallies``)."""

from __future__ import annotations

import numpy as np
import pytest

IT_SENTENCE = "The animal didn't cross the street because it was too tired"


@pytest.fixture
def tallies(monkeypatch):
    """Every tile pass over queries and keys made during the test, in order: its heads' tally
    (``attnwidget.blockwise._Tally``: tiles read per head in ``done``, ``stop`` when it was stopped)."""
    from attnwidget import blockwise

    made, real = [], blockwise._Tally.__init__

    def keep(self, h):
        real(self, h)
        made.append(self)

    monkeypatch.setattr(blockwise._Tally, "__init__", keep)
    return made


@pytest.fixture(scope="session")
def ip():
    from IPython.testing.globalipapp import get_ipython

    shell = get_ipython()
    shell.run_line_magic("load_ext", "attnwidget")
    return shell


@pytest.fixture(scope="module")
def browser():
    """One headless Chromium for a module's browser tests (harness.Browser: outside requests aborted)."""
    from harness import Browser

    b = Browser()
    yield b
    b.close()


@pytest.fixture
def ns(ip):
    """The shell's namespace, with the lecture's target (1, 8, 16) and source (1, 4, 16)."""
    rng = np.random.default_rng(7)
    ip.user_ns["target"] = rng.standard_normal((1, 8, 16)).astype("float32")
    ip.user_ns["source"] = rng.standard_normal((1, 4, 16)).astype("float32")
    return ip.user_ns


def mha_weights(mha) -> dict[str, np.ndarray]:
    """The layer's own weights by short name ("query/kernel", ..., "attention_output/bias")."""
    out = {}
    for w in mha.weights:
        parts = w.path.split("/")
        out["/".join(parts[-2:])] = np.asarray(w.numpy() if hasattr(w, "numpy") else w)
    return out


def numpy_attention(mha, query, value, key=None, causal=False):
    """Independent softmax(Q Kᵀ / √key_dim) and output of a Keras MultiHeadAttention.

    ``query`` (B, T, D), ``value``/``key`` (B, S, D'). Returns ``(scores (B, H, T, S), output (B, T, D))``.
    """
    key = value if key is None else key
    w = mha_weights(mha)
    q = np.einsum("btd,dhk->bthk", query, w["query/kernel"]) + w["query/bias"]
    k = np.einsum("bsd,dhk->bshk", key, w["key/kernel"]) + w["key/bias"]
    v = np.einsum("bsd,dhk->bshk", value, w["value/kernel"]) + w["value/bias"]
    logits = np.einsum("bthk,bshk->bhts", q, k) / np.sqrt(q.shape[-1])
    if causal:
        t, s = logits.shape[-2:]
        logits = np.where(np.tril(np.ones((t, s), bool)), logits, -np.inf)
    logits = logits - logits.max(-1, keepdims=True)
    e = np.exp(logits)
    scores = e / e.sum(-1, keepdims=True)
    ctx = np.einsum("bhts,bshv->bthv", scores, v)
    out = np.einsum("bthv,hvd->btd", ctx, w["attention_output/kernel"]) + w["attention_output/bias"]
    return scores, out


def layer_norm(x, gamma, beta, eps=1e-3):
    mean = x.mean(-1, keepdims=True)
    var = x.var(-1, keepdims=True)
    return (x - mean) / np.sqrt(var + eps) * gamma + beta


def shown_in_notebook(monkeypatch, obj):
    """Display ``obj`` as in a notebook (a kernel's shell, not a terminal); return the captured outputs."""
    import IPython
    from IPython.utils.capture import capture_output

    class ZMQInteractiveShell:  # only the type's name matters to _ipython_display_
        pass
    monkeypatch.setattr(IPython, "get_ipython", lambda: ZMQInteractiveShell())
    with capture_output() as cap:
        obj._ipython_display_()
    return cap.outputs


@pytest.fixture
def small_tiles(monkeypatch):
    """Tile passes of many small tiles, reported and sent at once: a pass that a test can stop halfway."""
    from attnwidget import blockwise, progress

    monkeypatch.setattr(blockwise, "TILE", 1 << 12)
    monkeypatch.setattr(progress, "POLL_S", 0.005)
    monkeypatch.setattr(progress, "SEND_S", 0.0)


def record(widget, *names):
    """The (name, new value) of each change of the traits ``names``, in order, from now on."""
    seen = []
    widget.observe(lambda c: seen.append((c["name"], c["new"])), list(names))
    return seen
