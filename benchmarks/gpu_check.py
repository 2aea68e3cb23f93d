"""Where do the runs go, do GPU scores match the CPU's, and what does capture cost?

    python benchmarks/gpu_check.py [--quick]              # TensorFlow (default backend)
    KERAS_BACKEND=jax python benchmarks/gpu_check.py      # JAX; needs no TensorFlow installed

Prints, for a single seeded layer and for a 6-layer, 8-head Encoder at T = 512 (the tutorial's stack):
the device each run was placed on (``AttentionResult.device`` / ``placed_on``), the largest difference
of its scores from a CPU run, and the median time of a capture (every layer's scores to NumPy)
against a bare forward pass. Imports only keras, numpy, attnwidget (and the backend Keras uses).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import attnwidget  # noqa: E402
from attnwidget import backend, capture  # noqa: E402
from attnwidget.build import seed_weights  # noqa: E402


def median_ms(fn, runs: int) -> float:
    fn()  # warm
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1e3)
    return statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="T = 128, 3 runs (a CPU smoke test)")
    ap.add_argument("--length", type=int, default=None, help="sequence length (default 512, --quick 128)")
    ap.add_argument("--runs", type=int, default=None, help="timed runs (default 10, --quick 3)")
    args = ap.parse_args()
    T = args.length or (128 if args.quick else 512)
    runs = args.runs or (3 if args.quick else 10)

    keras = backend.load_keras(None)
    gpus = backend.gpu_count(keras)
    print(f"keras {keras.__version__}, backend {keras.backend.backend()}, GPUs visible: {gpus}")
    print(f"tensorflow imported: {'tensorflow' in sys.modules}")
    target = "gpu:0" if gpus else "cpu"

    # 1. one seeded layer, auto device vs CPU
    cfg = dict(kind="global", num_heads=8, key_dim=64, query=[1, T, 512], seed=0)
    auto = attnwidget.attention(device="auto", **cfg)
    cpu = attnwidget.attention(device="cpu", **cfg)
    print(f"layer  auto: device={auto.device} placed_on={auto.placed_on}")
    print(f"layer  cpu : device={cpu.device} placed_on={cpu.placed_on}")
    print(f"layer  max |scores(auto) - scores(cpu)| = {np.abs(auto.scores - cpu.scores).max():.3g}")

    # 2. the tutorial's Encoder, 6 layers × 8 heads, d_model 512, T tokens
    from attnwidget.models import Encoder

    ids = (np.arange(T, dtype="int32") % 1000)[None]
    models = {}
    for dev in dict.fromkeys([target, "cpu"]):
        with keras.device(backend.resolve_device(keras, dev)):
            enc = Encoder(num_layers=6, d_model=512, num_heads=8, dff=2048, vocab_size=1000, key_dim=64)
            enc(ids, training=False)
            seed_weights([enc], 0)
        models[dev] = enc
    results = {dev: capture(m, ids, device=dev) for dev, m in models.items()}
    for dev, r in results.items():
        print(f"encoder {dev:>5}: device={r.device} placed_on={r.placed_on} layers={len(r.layers)} "
              f"scores={next(iter(r.layers.values())).shape}")
    ref = results["cpu"]
    got = results[target]
    diff = max(float(np.abs(got.layers[k] - ref.layers[k]).max()) for k in ref.layers)
    print(f"encoder max |scores({target}) - scores(cpu)| over {len(ref.layers)} layers = {diff:.3g}")

    enc = models[target]
    dev = backend.resolve_device(keras, target)

    def bare():
        with keras.device(dev):
            out = enc(ids, training=False)
        keras.ops.convert_to_numpy(out)

    def cap():
        capture(enc, ids, device=target)

    t_bare, t_cap = median_ms(bare, runs), median_ms(cap, runs)
    print(f"time  T={T}, 6 layers x 8 heads on {dev}: bare forward {t_bare:.1f} ms, capture {t_cap:.1f} ms, "
          f"ratio {t_cap / t_bare:.2f}x (median of {runs})")


if __name__ == "__main__":
    main()
