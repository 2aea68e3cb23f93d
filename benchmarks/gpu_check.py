"""Where do the runs go, do GPU scores match the CPU's, and what does capture cost?

    python benchmarks/gpu_check.py [--quick]              # TensorFlow (default backend)
    KERAS_BACKEND=jax python benchmarks/gpu_check.py      # JAX; needs no TensorFlow installed
    KERAS_BACKEND=jax python benchmarks/gpu_check.py --long [--small]   # only from_qk(device="gpu")

Prints, for a single seeded layer and for a 6-layer, 8-head Encoder at T = 512 (the tutorial's stack):
the device each run was placed on (``AttentionResult.device`` / ``placed_on``), the largest difference
of its scores from a CPU run, and the median time of a capture (every layer's scores to NumPy)
against a bare forward pass. Imports only keras, numpy, attnwidget (and the backend Keras uses), and
bench_long.py beside it for ``--long``.

``--batch``: instead, the batch picker's requests (:mod:`attnwidget.batchjob`) on ``from_qk(device="gpu")`` with 3
batch items at T = 32,768 and 131,072 (``--small``: 1,024 and 4,096): the build (item 0), item 1 asked as the
picker asks (its pass in a thread; the time until it is settled), the pinned token's exact row of item 1
against NumPy; then item 2 asked and, once its pass reports, item 1 again: how long until the stopped pass
ended, and that item 2 was not made.

``--long``: instead, ``AttentionWidget.from_qk(q, k, tokens, device="gpu")`` (:mod:`attnwidget.blockwise_ops`)
at T = 32,768 and 131,072 (``--small``: 1,024 and 4,096, for a CPU), 8 heads, d = 64, random q and k: where
it ran, the build time, the first pin's time and the next pin's (the first includes a compiling backend's
work for the row's shapes), the peak host memory (RSS high-water mark above what was held
before) and the backend's peak device memory where it reports one; the pinned token's exact row against a
dense NumPy softmax of that row (float64), and 32 rows per head: their top keys and weights against the
dense rows. A warm-up at T = 512 (the backend's first ops) is left out of the timings.
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


def device_peak_mb(keras) -> float | None:
    """The backend's peak device memory (MiB) where it reports one (a GPU), else None."""
    try:
        name = keras.backend.backend()
        if name == "jax":
            import jax

            stats = jax.devices()[0].memory_stats() or {}
            return stats["peak_bytes_in_use"] / 2**20 if "peak_bytes_in_use" in stats else None
        if name == "tensorflow" and backend.gpu_count(keras):
            import tensorflow as tf

            return tf.config.experimental.get_memory_info("GPU:0")["peak"] / 2**20
        if name == "torch" and backend.gpu_count(keras):
            import torch

            return torch.cuda.max_memory_allocated() / 2**20
    except (RuntimeError, ValueError, KeyError, AttributeError):
        pass
    return None


def long_one(t: int, heads: int = 8, d: int = 64, seed: int = 0) -> dict:
    """``from_qk(device="gpu")`` at ``T = t``: timings, memory and the checks of the ``--long`` part."""
    import bench_long as bl

    rng = np.random.default_rng(seed)
    q = rng.standard_normal((heads, t, d), dtype=np.float32)
    k = rng.standard_normal((heads, t, d), dtype=np.float32)
    tokens = [f"t{i}" for i in range(t)]
    before = bl.rss_mb()
    bl.reset_rss_peak()
    t0 = time.perf_counter()
    w = attnwidget.AttentionWidget.from_qk(q, k, tokens, device="gpu")
    build = time.perf_counter() - t0
    t0 = time.perf_counter()
    w.selected_query = t // 2 + 1
    pin = time.perf_counter() - t0
    t0 = time.perf_counter()
    w.selected_query = i = t // 2
    pin_next = time.perf_counter() - t0
    rss = bl.rss_peak_mb() - before
    scale = 1 / np.sqrt(d)
    row = np.frombuffer(w._exact["row"], "<f4").reshape(heads, t)
    row_err = max(float(np.abs(row[h] - bl.dense_rows(q[h], k[h], [i], False, scale)[0]).max()) for h in range(heads))
    sm = w.scores.summary(0).sparse
    kk, equal, top_err = sm.idx.shape[-1], 0, 0.0
    for h in range(heads):
        rows = np.sort(rng.choice(t, 32, replace=False))
        p = bl.dense_rows(q[h], k[h], rows, False, scale)
        want = np.sort(p, -1)[:, ::-1][:, :kk]
        got = np.take_along_axis(p, sm.idx[h, rows].astype(np.int64), -1)
        equal += int((np.abs(got - want) < 1e-6).all(-1).sum())
        top_err = max(top_err, float(np.abs(sm.top[h, rows] - want).max()))
    return {"T": t, "placed": w.scores.on_device(0).placed if w.scores.engine == "keras" else "numpy",
            "build_s": build, "pin_ms": pin * 1e3, "pin_next_ms": pin_next * 1e3, "rss_mb": rss, "row_err": row_err,
            "rows": heads * 32,
            "keys_equal": equal, "top_err": top_err, "k": kk}


def batch_one(t: int, heads: int = 8, d: int = 64, items: int = 3, seed: int = 0) -> dict:
    """The batch picker's requests at ``T = t`` (``--batch``): timings and checks."""
    import threading

    import bench_long as bl

    rng = np.random.default_rng(seed)
    q = rng.standard_normal((items, heads, t, d), dtype=np.float32)
    k = rng.standard_normal((items, heads, t, d), dtype=np.float32)
    t0 = time.perf_counter()
    w = attnwidget.AttentionWidget.from_qk(q, k, [f"t{i}" for i in range(t)], device="gpu")
    build = time.perf_counter() - t0
    t0 = time.perf_counter()
    w._batch_requests.ask(1, 1).join()
    item = time.perf_counter() - t0
    assert w.batch == 1 and w._batch_done == 1 and w._batch_error == "", (w.batch, w._batch_done, w._batch_error)
    w.selected_query = i = t // 3
    row = np.frombuffer(w._exact["row"], "<f4").reshape(heads, t)
    scale = 1 / np.sqrt(d)
    row_err = max(float(np.abs(row[h] - bl.dense_rows(q[1, h], k[1, h], [i], False, scale)[0]).max())
                  for h in range(heads))
    reported = threading.Event()
    w.observe(lambda c: c["new"] is not None and reported.set(), "_batch_progress")
    pass2 = w._batch_requests.ask(2, 2)
    while not reported.wait(0.05) and pass2.is_alive():  # a pass shorter than progress.SEND_S reports nothing
        pass
    t0 = time.perf_counter()
    back = w._batch_requests.ask(1, 3)
    pass2.join()
    stop = time.perf_counter() - t0 if reported.is_set() else None
    return {"T": t, "placed": w.scores.on_device(0).placed, "build_s": build, "item_s": item, "row_err": row_err,
            "back_none": back is None, "stop_s": stop, "batch": w.batch, "done": w._batch_done,
            "item2_made": w.scores.has_summary(2), "progress": w._batch_progress}


def table_part(one, title: str, columns: list[str], row, small: bool) -> None:
    """``one(512)`` first (the backend's first ops, untimed), then ``one(T)`` at each size, each printed as
    ``row(result)``: the cells of one line of a Markdown table under ``title`` and ``columns``."""
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    one(512)
    print(title)
    print("| " + " | ".join(columns) + " |")
    print("|" + "---|" * len(columns))
    for t in ([1024, 4096] if small else [32768, 131072]):
        print("| " + " | ".join(row(one(t))) + " |", flush=True)


def batch_part(small: bool) -> None:
    def row(r):
        stop = "— (ended first)" if r["stop_s"] is None else f"{r['stop_s']:.2f}"
        return [f"{r['T']:,}", r["placed"], f"{r['build_s']:.2f}", f"{r['item_s']:.2f}", f"{r['row_err']:.1e}", stop,
                f"batch {r['batch']}, done {r['done']}, {r['item2_made']}, {r['progress']}"]

    table_part(batch_one, "from_qk(device='gpu'), 3 batch items, 8 heads, d = 64: the batch picker's requests",
               ["T", "ran on", "build (item 0) s", "item 1 asked → settled s", "its exact row max err",
                "item 2 asked, then 1: pass ended after s", "shown, settled, item 2 made, progress"], row, small)


def long_part(keras, small: bool) -> None:
    def row(r):
        dev = device_peak_mb(keras)
        return [f"{r['T']:,}", r["placed"], f"{r['build_s']:.2f}", f"{r['pin_ms']:.0f} / {r['pin_next_ms']:.0f}",
                f"{r['rss_mb']:.0f}", "—" if dev is None else f"{dev:.0f}", f"{r['row_err']:.1e}",
                f"{r['keys_equal']}/{r['rows']} (k = {r['k']})", f"{r['top_err']:.1e}"]

    table_part(long_one, "from_qk(device='gpu'), 8 heads, d = 64, not causal",
               ["T", "ran on", "build s", "pin ms (first / next)", "peak host MiB (RSS)", "peak device MiB",
                "exact row max err", "top-k keys equal", "top weights max err"], row, small)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="T = 128, 3 runs (a CPU smoke test)")
    ap.add_argument("--long", action="store_true", help="only from_qk(device='gpu') at T = 32,768 and 131,072")
    ap.add_argument("--batch", action="store_true", help="only the batch picker's requests at T = 32,768 and 131,072")
    ap.add_argument("--small", action="store_true", help="with --long or --batch: T = 1,024 and 4,096 (a CPU smoke test)")
    ap.add_argument("--length", type=int, default=None, help="sequence length (default 512, --quick 128)")
    ap.add_argument("--runs", type=int, default=None, help="timed runs (default 10, --quick 3)")
    args = ap.parse_args()
    T = args.length or (128 if args.quick else 512)
    runs = args.runs or (3 if args.quick else 10)

    keras = backend.load_keras(None)
    gpus = backend.gpu_count(keras)
    print(f"keras {keras.__version__}, backend {keras.backend.backend()}, GPUs visible: {gpus}")
    print(f"tensorflow imported: {'tensorflow' in sys.modules}")
    if args.long:
        long_part(keras, args.small)
        return
    if args.batch:
        batch_part(args.small)
        return
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
