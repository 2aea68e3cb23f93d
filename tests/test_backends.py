"""The same seeded layers and stacks on Keras's JAX (and, where installed, PyTorch) backend as on TensorFlow.

Weights come from NumPy (``seed_weights``), so every backend runs the same numbers; each other
backend runs in a subprocess (Keras picks its backend once per process).
"""

from __future__ import annotations

import importlib.util
import json
import os
import pathlib
import subprocess
import sys

import numpy as np
import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]

SCRIPT = r"""
import json, sys
import numpy as np
import attnwidget
from attnwidget.examples import build_model
from attnwidget import capture

out = sys.argv[1]
g = attnwidget.attention(kind="global", num_heads=2, key_dim=8, query="The animal didn't cross the street", seed=3)
c = attnwidget.attention(kind="causal", num_heads=3, key_dim=4, query=[1, 6, 8], seed=5, device="cpu")
t = attnwidget.attention(kind="transformer", num_layers=2, num_heads=2, d_model=16, seed=1,
                         query="the cat sat", context="le chat est assis")
m = build_model(seed=2, length=5)
ids = np.array([[1, 2, 3, 4, 5]], "int32")
mc = capture(m, (ids, ids[:, ::-1].copy()), device="cpu")
arrays = {"global": g.scores, "causal": c.scores, "t_out": t.output, "m_out": mc.output}
arrays.update({f"t{i}": s for i, s in enumerate(t.layers.values())})
arrays.update({f"m{i}": s for i, s in enumerate(mc.layers.values())})
np.savez(out, **arrays)
print("RESULT", json.dumps({"backend": t.backend, "device": t.device, "placed_on": mc.placed_on,
                            "names": list(t.layers), "tensorflow_imported": "tensorflow" in sys.modules}))
"""


def _run(backend: str, tmp_path) -> tuple[dict, dict]:
    out = tmp_path / f"{backend}.npz"
    env = {**os.environ, "KERAS_BACKEND": backend, "CUDA_VISIBLE_DEVICES": os.environ.get("CUDA_VISIBLE_DEVICES", ""),
           "JAX_PLATFORMS": "cpu"}
    proc = subprocess.run([sys.executable, "-c", SCRIPT, str(out)], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    line = next(ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT "))
    with np.load(out) as z:
        return json.loads(line[7:]), {k: z[k] for k in z.files}


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    return _run("tensorflow", tmp_path_factory.mktemp("tf"))


def _compare(ref, other, backend):
    info_r, arr_r = ref
    info_o, arr_o = other
    assert info_o["backend"] == backend and info_r["backend"] == "tensorflow"
    assert info_o["names"] == info_r["names"]
    assert info_o["device"] == "cpu:0"
    assert set(arr_o) == set(arr_r)
    for k in arr_r:
        assert arr_o[k].shape == arr_r[k].shape, k
        tol = 1e-5 if not k.endswith("_out") else 1e-4  # outputs pass layer norms and a Dense: looser
        np.testing.assert_allclose(arr_o[k], arr_r[k], atol=tol, err_msg=f"{k}: {backend} vs tensorflow")


def test_jax_matches_tensorflow_and_imports_no_tensorflow(reference, tmp_path):
    pytest.importorskip("jax", reason="jax is not installed (pip install -e '.[test]' installs it)")
    other = _run("jax", tmp_path)
    _compare(reference, other, "jax")
    assert other[0]["tensorflow_imported"] is False
    assert "cpu" in other[0]["placed_on"].lower()


def test_torch_matches_tensorflow(reference, tmp_path):
    if importlib.util.find_spec("torch") is None:
        pytest.skip("torch is not installed (the test extra installs it: pip install -e '.[test]')")
    _compare(reference, _run("torch", tmp_path), "torch")
