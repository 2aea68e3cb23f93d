"""Long sequences (issue 14): ``AttentionWidget.from_qk`` at T = 4,096 … 32,768, and the dense 8 × 4096² build.

    python benchmarks/bench_long.py [--T 4096 16384 32768] [--heads 8] [--d 64] [--causal] [--dense]
                                    [--device cpu keras]

For each T, random ``q`` and ``k`` ``(heads, T, d)`` float32 (scores ~ N(0, 1) after the 1/√d scale);
the widget is built, then the middle token pinned. Reported: build time (wall and this process's CPU),
the pin's time, the time to hide key 0 (``hidden_keys = [0]``, another tile pass, done after the checks)
with how many progress figures (``_progress``) it sent, peak memory above what was held before the build (NumPy's allocations by tracemalloc,
and the resident set's high-water mark), the ``_data`` bytes, and a check against a dense NumPy softmax
(float64): each row's top-k keys (a swap between keys whose weights differ by < 1e-6 counts as equal),
their weights and the exact row of the widget. Every row is checked where heads × T² ≤ 2²⁸, else 256
rows per head (the dense matrix would not fit).

``--device``: the paths to run, one table row each per T: ``cpu`` (NumPy, :mod:`attnwidget.blockwise`), ``keras``
(Keras ops, :mod:`attnwidget.blockwise_ops`, on the backend's GPU when it has one, else its CPU; Keras is
loaded and warmed on a small input first, outside the timings). Default ``cpu``. tracemalloc sees NumPy's
allocations only, not the backend's: read the RSS column for ``keras``.

``--dense``: the time to build a widget from 8 × 4096² softmax weights (``AttentionWidget(scores, tokens)``,
and its two steps that read every weight: ``slice_payload`` and ``widget_layers``), best of 3.
"""

from __future__ import annotations

import argparse
import resource
import time
import tracemalloc

import numpy as np

CHECK_ALL = 1 << 28


def rss_peak_mb() -> float:
    """The resident set's high-water mark, MB (``VmHWM``; reset by :func:`reset_rss_peak`)."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * resource.getpagesize() / 2**20


def reset_rss_peak() -> None:
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
    except OSError:
        pass


def dense_rows(q, k, rows, causal, scale):
    """float64 softmax rows ``(len(rows), K)`` of one head."""
    s = (q[rows].astype(np.float64) * scale) @ k.T.astype(np.float64)
    if causal:
        s = np.where(np.arange(k.shape[0])[None, :] <= np.asarray(rows)[:, None], s, -np.inf)
    e = np.exp(s - s.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


def check(w, q, k, causal, rng) -> dict:
    """Top-k keys, their weights and exact rows of widget ``w`` against :func:`dense_rows`."""
    sm = w.scores.summary(0).sparse
    h, t, _ = q.shape
    scale = 1 / np.sqrt(q.shape[-1])
    every = h * t * t <= CHECK_ALL
    kk = sm.idx.shape[-1]
    out = {"rows": 0, "keys_equal": 0, "top_err": 0.0, "row_err": 0.0, "stats_err": None}
    ent, peak = np.zeros(h), np.zeros(h)
    for hd in range(h):
        rows = np.arange(t) if every else np.sort(rng.choice(t, 256, replace=False))
        for part in np.array_split(rows, max(1, len(rows) * t // (1 << 24))):
            p = dense_rows(q[hd], k[hd], part, causal, scale)
            want = np.sort(p, -1)[:, ::-1][:, :kk]
            got_p = np.take_along_axis(p, sm.idx[hd, part].astype(np.int64), -1)  # dense weights of our keys
            out["keys_equal"] += int((np.abs(got_p - want) < 1e-6).all(-1).sum())
            top = np.where(np.isfinite(sm.top[hd, part]), sm.top[hd, part], 0)  # -inf: a masked key, weight 0
            out["top_err"] = max(out["top_err"], float(np.abs(top - want).max()))
            out["rows"] += len(part)
            if every:
                with np.errstate(divide="ignore", invalid="ignore"):
                    ent[hd] -= float(np.where(p > 0, p * np.log(p), 0).sum())
                peak[hd] = max(peak[hd], float(p.max()))
        for i in rows[:: max(1, len(rows) // 8)]:  # the widget's exact rows (as a pin sends them)
            exact = w.scores[0][:, int(i), :][hd]
            out["row_err"] = max(out["row_err"], float(np.abs(exact - dense_rows(q[hd], k[hd], [i], causal, scale)[0]).max()))
    if every:
        out["stats_err"] = max(float(np.abs(np.asarray(sm.head_entropy) - ent / t).max()),
                               float(np.abs(np.asarray(sm.head_max) - peak).max()))
    out["every"] = every
    return out


def run_qk(t: int, heads: int, d: int, causal: bool, seed: int = 0, device: str = "cpu") -> dict:
    from attnwidget import AttentionWidget

    rng = np.random.default_rng(seed)
    q = rng.standard_normal((heads, t, d), dtype=np.float32)
    k = rng.standard_normal((heads, t, d), dtype=np.float32)
    tokens = [f"t{i}" for i in range(t)]
    before = rss_mb()
    reset_rss_peak()
    tracemalloc.start()
    w0, c0 = time.perf_counter(), time.process_time()
    w = AttentionWidget.from_qk(q, k, tokens, causal=causal, device=device)
    build_wall, build_cpu = time.perf_counter() - w0, time.process_time() - c0
    p0 = time.perf_counter()
    w.selected_query = t // 2
    pin_ms = (time.perf_counter() - p0) * 1e3
    traced = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    rss = rss_peak_mb() - before
    data = w._data
    nbytes = sum(len(v) for v in data.values() if isinstance(v, bytes))
    assert len(w._exact["row"]) == heads * t * 4
    res = {"T": t, "device": device if w.scores.engine == "numpy" else f"keras ({w.scores.on_device(0).placed})",
           "build_s": build_wall, "cpu_s": build_cpu, "pin_ms": pin_ms, "traced_mb": traced,
           "rss_mb": rss, "data_mb": nbytes / 2**20, "k": data["k"]}
    res.update(check(w, q, k, causal, rng))
    # hiding key 0: another tile pass with it masked, and the progress figures a browser would get meanwhile
    figures = []
    w.observe(lambda c: figures.append(c["new"]), "_progress")
    h0 = time.perf_counter()
    w.hidden_keys = [0]
    res["hide_s"], res["figures"] = time.perf_counter() - h0, sum(f is not None for f in figures)
    assert np.frombuffer(w._exact["row"], "<f4").reshape(heads, t)[:, 0].max() == 0 and w._progress is None
    return res


def run_dense(repeats: int = 3) -> None:
    import sys

    sys.path.insert(0, "tests")
    import attnwidget
    from attnwidget import AttentionWidget, protocol
    from attnwidget.scores import widget_layers
    from test_scale import softmax_heads

    s = softmax_heads(8, 4096, 4096)
    tokens = [f"t{i}" for i in range(4096)]
    steps = {"slice_payload": lambda: protocol.slice_payload(s, None),
             "widget_layers (argument checks, kind detection)": lambda: widget_layers(s, tokens),
             "AttentionWidget(scores, tokens)": lambda: AttentionWidget(s, tokens).close()}
    print(f"8 x 4096^2 dense softmax weights, {attnwidget.__file__}, best of {repeats}:")
    for name, step in steps.items():
        best = np.inf
        for _ in range(repeats):
            t0 = time.perf_counter()
            step()
            best = min(best, time.perf_counter() - t0)
        print(f"  {name}: {best:.2f} s")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--T", type=int, nargs="+", default=[4096, 16384, 32768])
    ap.add_argument("--heads", type=int, default=8)
    ap.add_argument("--d", type=int, default=64)
    ap.add_argument("--causal", action="store_true")
    ap.add_argument("--dense", action="store_true", help="only the dense 8 x 4096^2 build")
    ap.add_argument("--device", nargs="+", choices=["cpu", "keras"], default=["cpu"],
                    help="NumPy (cpu) and/or Keras ops (keras), one row each per T")
    args = ap.parse_args()
    if args.dense:
        run_dense()
        return
    if "keras" in args.device:
        from attnwidget import backend

        keras = backend.load_keras(None)
        run_qk(256, args.heads, args.d, args.causal, device="keras")  # first ops, outside the timings
        print(f"keras {keras.__version__}, {keras.backend.backend()} backend")
    print(f"from_qk: {args.heads} heads, d = {args.d}, {'causal' if args.causal else 'not causal'}")
    print("| T | device | build s (CPU s) | pin ms | hide key 0: s (progress figures) | peak MiB: NumPy / RSS | _data MiB (k) "
          "| rows checked | top-k keys equal | max err: top weights / exact row / entropy, max |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for t in args.T:
        for device in args.device:
            report(run_qk(t, args.heads, args.d, args.causal, device=device))


def report(r: dict) -> None:
    stats = "—" if r["stats_err"] is None else f"{r['stats_err']:.1e}"
    print(f"| {r['T']:,} | {r['device']} | {r['build_s']:.1f} ({r['cpu_s']:.1f}) | {r['pin_ms']:.0f} | {r['hide_s']:.1f} "
          f"({r['figures']}) | {r['traced_mb']:.0f} / "
         f"{r['rss_mb']:.0f} | {r['data_mb']:.1f} ({r['k']}) | {r['rows']:,}{' (all)' if r['every'] else ''} | "
         f"{r['keys_equal']:,} | {r['top_err']:.1e} / {r['row_err']:.1e} / {stats} |", flush=True)


if __name__ == "__main__":
    main()
