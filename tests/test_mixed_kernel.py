"""Issue #12: one process that runs attnwidget on TensorFlow and a Hugging Face model on PyTorch.

A report had ``import tensorflow`` followed by building a ``BertModel`` on PyTorch end the process with
a segfault (exit 139). Each order runs in its own interpreter (an import order cannot be undone inside
pytest's), with ``-X faulthandler`` so that a crash leaves a Python stack in the failure message:

* the order users meet: the first run (``attnwidget.attention``, as ``%%attention`` does) imports
  TensorFlow, then torch and transformers are imported and a BertModel is built and run;
* the other order: the BertModel first, then the first attnwidget run.
"""

from __future__ import annotations

import importlib.util
import json
import os
import pathlib
import subprocess
import sys

import pytest

pytestmark = [
    pytest.mark.skipif(
        importlib.util.find_spec("torch") is None or importlib.util.find_spec("transformers") is None,
        reason="torch and transformers are not installed (pip install torch transformers; the test extra has them)"),
    pytest.mark.skipif(importlib.util.find_spec("tensorflow") is None,
                       reason="TensorFlow (Keras's default backend, the one issue #12 is about) is not installed"),
]

ATTNWIDGET = """
before = "tensorflow" in sys.modules, "torch" in sys.modules
res = attnwidget.attention(kind="global", query="a b c")
out["attnwidget"] = dict(scores=list(res.scores.shape), tf_loaded_before=before[0], torch_loaded_before=before[1],
                         tf_loaded_after="tensorflow" in sys.modules)
"""

HF = """
before = "tensorflow" in sys.modules, "torch" in sys.modules
import torch
from transformers import BertConfig, BertModel
torch.manual_seed(0)
model = BertModel(BertConfig(vocab_size=100, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                             intermediate_size=64))
with torch.no_grad():
    hidden = model(torch.tensor([[1, 2, 3, 4, 5]])).last_hidden_state
out["hf"] = dict(shape=list(hidden.shape), finite=bool(torch.isfinite(hidden).all()),
                 tf_loaded_before=before[0], torch_loaded_before=before[1])
"""


def _run(*steps: str) -> dict:
    code = "import json, sys\nimport attnwidget\nout = {}\n" + "".join(steps) + "print(json.dumps(out))\n"
    env = {**os.environ, "KERAS_BACKEND": "tensorflow", "TF_CPP_MIN_LOG_LEVEL": "3"}
    p = subprocess.run([sys.executable, "-X", "faulthandler", "-c", code], capture_output=True, text=True,
                       timeout=600, env=env, cwd=pathlib.Path(__file__).resolve().parent.parent)
    assert p.returncode == 0, f"exit {p.returncode} (139 or -11: segfault)\n{p.stderr[-4000:]}"
    return json.loads(next(line for line in reversed(p.stdout.splitlines()) if line.startswith("{")))


def test_attention_first_then_a_hugging_face_bert_survives():
    """The order users meet: TensorFlow is imported by the first run, torch after it."""
    r = _run(ATTNWIDGET, HF)
    assert len(r["attnwidget"]["scores"]) == 4 and r["attnwidget"]["scores"][-2:] == [3, 3]  # (batch, heads, 3, 3)
    assert r["attnwidget"]["tf_loaded_after"] and not r["attnwidget"]["tf_loaded_before"]
    assert r["hf"]["tf_loaded_before"], "TensorFlow must already be in the process when the BertModel is built"
    assert r["hf"]["shape"] == [1, 5, 32] and r["hf"]["finite"]


def test_hugging_face_bert_first_then_attention_survives():
    r = _run(HF, ATTNWIDGET)
    assert not r["hf"]["tf_loaded_before"] and not r["hf"]["torch_loaded_before"]
    assert r["hf"]["shape"] == [1, 5, 32] and r["hf"]["finite"]
    assert r["attnwidget"]["torch_loaded_before"] and r["attnwidget"]["scores"][-2:] == [3, 3]
