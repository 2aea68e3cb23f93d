"""Warm %%attention against a bare Keras MultiHeadAttention call on the same input.

T = 64, d_model = 512, 8 heads (key_dim 64). Prints one table of medians over N runs, all
measured in this one process, and the ratios the goal is stated in (<= 1.25x).

    python benchmarks/bench_magic.py [--runs N]
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np


def medians_ms(fns, runs: int) -> list[float]:
    """Median time of each function, measured round-robin so drift of the machine hits all alike."""
    for fn in fns:
        fn()  # warm
    times = [[] for _ in fns]
    for _ in range(runs):
        for i, fn in enumerate(fns):
            t0 = time.perf_counter()
            fn()
            times[i].append((time.perf_counter() - t0) * 1e3)
    return [statistics.median(t) for t in times]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=50)
    args = ap.parse_args()

    from IPython.testing.globalipapp import get_ipython

    from attnwidget import AttentionWidget, backend

    ip = get_ipython()
    ip.run_line_magic("load_ext", "attnwidget")
    keras = backend.load_keras(None)
    x = np.random.default_rng(0).standard_normal((1, 64, 512)).astype("float32")
    ip.user_ns["x"] = x
    tokens = [f"t{i}" for i in range(64)]
    mha = keras.layers.MultiHeadAttention(num_heads=8, key_dim=64)

    def bare():
        out, s = mha(query=x, value=x, return_attention_scores=True, training=False)
        return keras.ops.convert_to_numpy(s)

    def bare_and_widget():
        s = bare()
        w = AttentionWidget(s, tokens)
        w._repr_mimebundle_()
        w.close()

    body = "kind: base\nnum_heads: 8\nkey_dim: 64\nquery: $x\ntokens: $toks"
    ip.user_ns["toks"] = tokens

    def magic():
        return ip.run_cell_magic("attention", "", body)

    def magic_and_widget():
        r = magic()
        r._repr_mimebundle_()
        r.widget.close()

    names = ["bare Keras MHA call (scores to NumPy)", "%%attention, warm, no widget",
             "bare call + AttentionWidget", "%%attention, warm, with widget"]
    rows = list(zip(names, medians_ms([bare, magic, bare_and_widget, magic_and_widget], args.runs)))
    print(f"backend: {keras.backend.backend()}, T=64, d_model=512, heads=8, median of {args.runs} runs")
    print(f"| {'what':<40} | {'ms':>8} |")
    print(f"|{'-' * 42}|{'-' * 10}|")
    for name, ms in rows:
        print(f"| {name:<40} | {ms:8.2f} |")
    print(f"ratio without widget: {rows[1][1] / rows[0][1]:.2f}x (goal <= 1.25x)")
    print(f"ratio with widget:    {rows[3][1] / rows[2][1]:.2f}x (goal <= 1.25x)")


if __name__ == "__main__":
    main()
