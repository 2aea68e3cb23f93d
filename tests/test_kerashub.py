"""KerasHub backbones, tiny and random (no presets, no downloads): every attention layer captured, on
TensorFlow and JAX, the model's outputs bit-identical, and for Llama, Gemma and T5 the weights equal
a NumPy recomputation from the layer's own projections.

Each backend runs in its own process (``python tests/test_kerashub.py BACKEND`` prints the table as
JSON); the tests below check its rows. Encoder inputs have 6 positions, decoder inputs 5, so a
record's query and key lengths say which padding mask applies.
"""

from __future__ import annotations

import collections
import importlib.util
import json
import os
import pathlib
import subprocess
import sys

import numpy as np
import pytest

ENC, DEC = 6, 5
CAUSAL2, SELF2 = {"causal": 2}, {"self": 2}
SEQ2SEQ = {"self": 2, "causal": 2, "cross": 2}
SMALL = dict(vocabulary_size=50, num_layers=2, hidden_dim=16, intermediate_dim=32)
GQA = dict(SMALL, num_query_heads=4, num_key_value_heads=2)

# name: (constructor, keyword arguments, inputs ("text" | "bert" | "seq2seq" | "image"), kinds expected)
CASES = {
    "BERT": ("BertBackbone", dict(SMALL, num_heads=2, max_sequence_length=16), "bert", SELF2),
    "RoBERTa": ("RobertaBackbone", dict(SMALL, num_heads=2, max_sequence_length=16), "text", SELF2),
    "DistilBERT": ("DistilBertBackbone", dict(SMALL, num_heads=2, max_sequence_length=16), "text", SELF2),
    "GPT-2": ("GPT2Backbone", dict(SMALL, num_heads=2, max_sequence_length=16), "text", CAUSAL2),
    "GPT2CausalLM": ("GPT2Backbone", dict(SMALL, num_heads=2, max_sequence_length=16), "text", CAUSAL2),
    "OPT": ("OPTBackbone", dict(SMALL, num_heads=2, max_sequence_length=16), "text", CAUSAL2),
    "BART": ("BartBackbone", dict(SMALL, num_heads=2, max_sequence_length=16), "seq2seq", SEQ2SEQ),
    "ViT": ("ViTBackbone", dict(image_shape=(16, 16, 3), patch_size=4, num_layers=2, num_heads=2, hidden_dim=16,
                                mlp_dim=32), "image", SELF2),
    "T5": ("T5Backbone", dict(SMALL, num_heads=2), "seq2seq", SEQ2SEQ),
    "Llama": ("LlamaBackbone", GQA, "text", CAUSAL2),
    "Mistral": ("MistralBackbone", GQA, "text", CAUSAL2),
    "Gemma": ("GemmaBackbone", dict(GQA, head_dim=8), "text", CAUSAL2),
    "Gemma 3": ("Gemma3Backbone", dict(GQA, head_dim=8, image_size=16), "text", CAUSAL2),
    "Qwen 2": ("QwenBackbone", GQA, "text", CAUSAL2),
    "Qwen 3": ("Qwen3Backbone", dict(GQA, head_dim=8), "text", CAUSAL2),
    "Phi-3": ("Phi3Backbone", GQA, "text", CAUSAL2),
    "Falcon": ("FalconBackbone", dict(SMALL, num_attention_heads=2), "text", CAUSAL2),
}
RECOMPUTED = ("Llama", "Gemma", "T5")
BACKENDS = ("tensorflow", "jax")


def _masks(n: int) -> np.ndarray:
    """Padding ``(2, n)``: the first row full, the second with its last two positions padded."""
    m = np.ones((2, n), bool)
    m[1, -2:] = False
    return m


def _inputs(kind: str) -> tuple[dict | np.ndarray, dict[int, np.ndarray]]:
    """The model's inputs and the padding mask ``(2, n)`` of each sequence length ``n``."""
    rng = np.random.default_rng(0)
    if kind == "image":
        return rng.standard_normal((2, 16, 16, 3)).astype("float32"), {}
    pm = _masks(ENC)
    ids = np.where(pm, rng.integers(1, 50, (2, ENC)), 0).astype("int32")
    if kind == "seq2seq":
        dm = _masks(DEC)
        dec = np.where(dm, rng.integers(1, 50, (2, DEC)), 0).astype("int32")
        return ({"encoder_token_ids": ids, "encoder_padding_mask": pm, "decoder_token_ids": dec,
                 "decoder_padding_mask": dm}, {ENC: pm, DEC: dm})
    inp = {"token_ids": ids, "padding_mask": pm}
    if kind == "bert":
        inp["segment_ids"] = np.zeros_like(ids)
    return inp, {ENC: pm}


def _build(name: str):
    import keras_hub

    ctor, kwargs, kind, _ = CASES[name]
    model = getattr(keras_hub.models, ctor)(**kwargs)
    if name == "GPT2CausalLM":
        model = keras_hub.models.GPT2CausalLM(backbone=model, preprocessor=None)
    return model, kind


def _spy(layers) -> dict[int, list]:
    """Shadow each layer's ``call`` to keep the arguments of its calls (for the NumPy recomputation)."""
    import inspect

    seen: dict[int, list] = collections.defaultdict(list)
    for layer in layers:
        original = type(layer).call.__get__(layer)
        sig = inspect.signature(original)

        def call(*a, __o=original, __s=sig, __id=id(layer), **kw):
            seen[__id].append(dict(__s.bind(*a, **kw).arguments))
            return __o(*a, **kw)

        object.__setattr__(layer, "call", call)
    return seen


def _softmax(x: np.ndarray) -> np.ndarray:
    e = np.exp(x - x.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


def _np(x) -> np.ndarray:
    import keras

    return np.asarray(keras.ops.convert_to_numpy(x), dtype=np.float32)


def numpy_weights(name: str, layer, args: dict) -> np.ndarray:
    """Weights ``(B, N, T, S)`` from the layer's own projections (and RoPE / position bias), the rest NumPy."""
    big = -0.7 * float(np.finfo(np.float32).max)
    if name == "Llama":
        h = args["hidden_states"]
        q = _np(layer.rotary_embedding_layer(layer._query_dense(h), start_index=0))
        k = _np(layer.rotary_embedding_layer(layer._key_dense(h), start_index=0))
        k = np.repeat(k, q.shape[2] // k.shape[2], axis=2)
        logits = np.einsum("btnh,bsnh->bnts", q, k) * np.float32(layer._inv_norm_factor)
        return _softmax(np.where(_np(args["attention_mask"])[:, None] > 0.5, logits, -1e9))
    if name == "Gemma":
        x = args["x"]
        q = _np(layer._apply_rope(layer.query_dense(x), 0))
        k = _np(layer._apply_rope(layer.key_dense(x), 0))
        k = np.repeat(k, q.shape[2] // k.shape[2], axis=2)  # query head n reads kv head n // groups
        logits = np.einsum("btnh,bsnh->bnts", q / np.sqrt(q.shape[-1]), k)
        return _softmax(np.where(_np(args["attention_mask"])[:, None] > 0.5, logits, big))
    # T5: no scaling; the first layer computes the relative position bias, later ones are given it (mask in it)
    h = args["hidden_states"]
    kv = h if args.get("key_value_states") is None else args["key_value_states"]
    b, t, s, n = h.shape[0], h.shape[1], kv.shape[1], layer.num_heads
    q = _np(layer.query_projector(h)).reshape(b, t, n, -1)
    k = _np(layer.key_projector(kv)).reshape(b, s, n, -1)
    bias = args.get("position_bias")
    if bias is None:
        bias = _np(layer.compute_bias(t, s)) if layer.use_relative_attention_bias else np.zeros((1, n, t, s), "f4")
        if args.get("mask") is not None:
            bias = bias + (1.0 - _np(args["mask"])[:, None]) * -1e9
    return _softmax(np.einsum("bqnd,bknd->bnqk", q, k) + _np(bias))


def _row(name: str) -> dict:
    """One line of the table: counts and checks of one backbone on the current backend."""
    import keras

    import attnwidget

    model, kind = _build(name)
    inputs, pads = _inputs(kind)
    bare = keras.tree.map_structure(_np, model(inputs, training=False))
    res = attnwidget.capture(model, inputs)
    same = all(np.array_equal(a, b) for a, b in zip(keras.tree.flatten(bare), keras.tree.flatten(res.output)))
    kinds = collections.Counter(r.kind for r in res.records)
    rows = causal = padded = True
    for r in res.records:
        s = r.scores
        qv = pads.get(s.shape[2], np.ones((2, s.shape[2]), bool))
        kv = pads.get(s.shape[3], np.ones((2, s.shape[3]), bool))
        for b in range(2):
            rows &= bool(np.allclose(s[b][:, qv[b]].sum(-1), 1.0, atol=1e-5))
            padded &= bool((s[b][..., ~kv[b]] == 0).all())
        if r.kind == "causal":
            causal &= not np.triu(s, 1).any()
    row = dict(name=name, backend=keras.backend.backend(), count=len(res.records), kinds=dict(kinds),
               rows_sum_to_1=rows, causal_zeros=causal, padded_keys_zero=padded, outputs_identical=same)
    if name in RECOMPUTED:
        layers = {id(r.layer): r.layer for r in res.records}
        seen = _spy(layers.values())
        try:
            model(inputs, training=False)
        finally:
            for layer in layers.values():
                object.__delattr__(layer, "call")
        n_calls, diff = collections.Counter(), 0.0
        for r in res.records:
            args = seen[id(r.layer)][n_calls[id(r.layer)]]
            n_calls[id(r.layer)] += 1
            diff = max(diff, float(np.abs(numpy_weights(name, r.layer, args) - r.scores).max()))
        row["numpy_max_diff"] = diff
    return row


def table(backend: str) -> list[dict]:
    """Every backbone's row on ``backend``, from a fresh process."""
    env = {**os.environ, "KERAS_BACKEND": backend}
    out = subprocess.run([sys.executable, __file__, backend], capture_output=True, text=True, env=env,
                         timeout=900, cwd=pathlib.Path(__file__).parent)
    assert out.returncode == 0, out.stderr[-4000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


pytestmark = pytest.mark.skipif(importlib.util.find_spec("keras_hub") is None,
                                reason="keras-hub is not installed (pip install keras-hub; CI installs it)")

_TABLES: dict[str, dict] = {}


@pytest.fixture(scope="module", params=BACKENDS)
def rows(request):
    if request.param not in _TABLES:
        _TABLES[request.param] = {r["name"]: r for r in table(request.param)}
    return _TABLES[request.param]


@pytest.mark.parametrize("name", list(CASES))
def test_backbone(rows, name):
    row = rows[name]
    assert row["backend"] in BACKENDS
    assert row["kinds"] == CASES[name][3], row
    assert row["count"] == sum(CASES[name][3].values())
    assert row["rows_sum_to_1"] and row["causal_zeros"] and row["padded_keys_zero"], row
    assert row["outputs_identical"], row
    if name in RECOMPUTED:
        assert row["numpy_max_diff"] < 2e-5, row


if __name__ == "__main__":
    sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent))
    print(json.dumps([_row(n) for n in (sys.argv[2:] or CASES)]))
