"""Hugging Face models on PyTorch through head_view / model_view, and one kernel that mixes both worlds.

BertModel, GPT2Model and BartModel are built from small configs (random weights, no hub). Each run is
its own process, so the order torch and TensorFlow are imported in is the test's, not pytest's: the
order users meet (``%%attention`` first, then a Hugging Face model) and the other.
"""

from __future__ import annotations

import importlib.util
import json
import pathlib
import subprocess
import sys

import pytest

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("torch") is None or importlib.util.find_spec("transformers") is None,
    reason="torch and transformers are not installed (pip install torch transformers; the test extra has them)")

KERAS_FIRST = """
import numpy as np
from IPython.testing.globalipapp import get_ipython
ip = get_ipython()
ip.run_line_magic("load_ext", "attnwidget")
ip.user_ns["x"] = np.random.default_rng(0).standard_normal((1, 4, 8)).astype("float32")
res = ip.run_cell_magic("attention", "-o keras_run", "query: x\\nheads: 2\\nkey_dim: 4")
assert "tensorflow" in __import__("sys").modules
"""

HF = """
import json, numpy as np, torch, transformers as tr
import attnwidget
torch.manual_seed(0)
ids = torch.tensor([[2, 5, 6, 7, 8, 3], [2, 9, 10, 3, 0, 0]])
pad = (ids != 0).long()
small = dict(vocab_size=50, num_hidden_layers=2, num_attention_heads=2, hidden_size=16, intermediate_size=32)
out = {}

def check(name, attentions, kinds, causal, **kw):
    w = attnwidget.model_view(attentions, **kw) if "tokens" in kw else attnwidget.model_view(**kw)
    h = attnwidget.head_view(attentions, **kw) if "tokens" in kw else attnwidget.head_view(**kw)
    stacked = torch.stack(attentions) if "tokens" in kw else None
    same = all(np.array_equal(l.scores, a.detach().float().numpy()) for l, a in zip(w._layers, attentions)) \\
        if "tokens" in kw else True
    if stacked is not None:
        same &= all(np.array_equal(l.scores, s) for l, s in zip(attnwidget.head_view(stacked, **kw)._layers,
                                                                 stacked.detach().float().numpy()))
    out[name] = dict(kinds=w.layer_kinds, head_kinds=h.layer_kinds, same=bool(same), view=w.view,
                     causal_ok=all(not np.triu(l.scores[0], 1).any() for l in w._layers if l.kind == "causal"))

bert = tr.BertModel(tr.BertConfig(**small, attn_implementation="eager"))
o = bert(input_ids=ids, attention_mask=pad, output_attentions=True)  # requires grad: no torch.no_grad()
check("bert", o.attentions, ["self", "self"], False, tokens=[str(i) for i in range(6)])
gpt = tr.GPT2Model(tr.GPT2Config(vocab_size=50, n_layer=2, n_head=2, n_embd=16, attn_implementation="eager"))
o = gpt(input_ids=ids, attention_mask=pad, output_attentions=True)
check("gpt2", o.attentions, ["causal", "causal"], True, tokens=[str(i) for i in range(6)])
o = gpt.to(torch.bfloat16)(input_ids=ids, attention_mask=pad, output_attentions=True)
check("gpt2_bf16", o.attentions, ["causal", "causal"], True, tokens=[str(i) for i in range(6)])
bart = tr.BartModel(tr.BartConfig(vocab_size=50, d_model=16, encoder_layers=2, decoder_layers=2,
                                  encoder_attention_heads=2, decoder_attention_heads=2, encoder_ffn_dim=32,
                                  decoder_ffn_dim=32, attn_implementation="eager"))
dec = torch.tensor([[2, 5, 6, 7], [2, 9, 10, 3]])
o = bart(input_ids=ids, attention_mask=pad, decoder_input_ids=dec, output_attentions=True)
check("bart", None, None, None, encoder_attention=o.encoder_attentions, decoder_attention=o.decoder_attentions,
      cross_attention=o.cross_attentions, encoder_tokens=list("abcdef"), decoder_tokens=list("wxyz"))
sdpa = tr.BertModel(tr.BertConfig(**small, attn_implementation="sdpa"))
try:
    attnwidget.head_view(sdpa(input_ids=ids, output_attentions=True).attentions or (), [str(i) for i in range(6)])
    out["sdpa"] = "accepted"
except ValueError as e:
    out["sdpa"] = str(e)
print(json.dumps(out))
"""


def _run(code: str) -> dict:
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=600,
                       cwd=pathlib.Path(__file__).resolve().parent.parent)
    assert p.returncode == 0, f"exit {p.returncode}\n{p.stderr[-3000:]}"
    return json.loads(next(line for line in reversed(p.stdout.splitlines()) if line.startswith("{")))


@pytest.fixture(scope="module")
def torch_first():
    return _run(HF)


def test_bert_gpt2_bart_through_the_bertviz_calls(torch_first):
    r = torch_first
    assert r["bert"]["kinds"] == ["self", "self"] and r["bert"]["same"] and r["bert"]["view"] == "model"
    assert r["gpt2"]["kinds"] == ["causal", "causal"] == r["gpt2"]["head_kinds"] and r["gpt2"]["causal_ok"]
    assert r["gpt2"]["same"] and r["gpt2_bf16"]["kinds"] == ["causal", "causal"] and r["gpt2_bf16"]["same"]
    assert r["bart"]["kinds"] == ["self", "self", "causal", "causal", "cross", "cross"]
    assert "output_attentions=True" in r["sdpa"] and 'attn_implementation="eager"' in r["sdpa"]


def test_keras_first_then_hugging_face_in_one_process():
    """The order users meet: %%attention (TensorFlow) first, then a Hugging Face model on PyTorch."""
    r = _run(KERAS_FIRST + HF)
    assert r["bert"]["same"] and r["gpt2"]["kinds"] == ["causal", "causal"]


def test_hugging_face_then_keras_in_one_process():
    r = _run(HF + KERAS_FIRST)
    assert r["bart"]["kinds"][-1] == "cross"
