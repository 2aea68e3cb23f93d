"""Resident memory over 200 %%attention runs, and over 300 widgets made and closed (goal: growth under 50 MB).

Each run shows its widget (the widget is made and serialized, as a notebook display does) and
the inputs rotate through 12 texts of 64 words, so the layer cache is filled and evicted. The second
part makes an 8 × 512² widget, serializes it, closes it and drops it, 300 times: closed widgets must
be collected (nothing may hold them), so memory stays flat.

    python benchmarks/bench_memory.py [--runs 200] [--cycles 300]
"""

from __future__ import annotations

import argparse
import gc
import os


def rss_mb() -> float:
    with open(f"/proc/{os.getpid()}/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def widget_cycles(cycles: int) -> None:
    """Make, serialize, close and drop ``cycles`` widgets of 8 heads × 512²; print RSS after 20 and at the end."""
    import weakref

    import numpy as np

    import attnwidget

    rng = np.random.default_rng(0)
    scores = rng.dirichlet(np.ones(512), size=(8, 512)).astype("float32")
    tokens = [f"t{i}" for i in range(512)]
    marks, alive = {}, []
    for i in range(1, cycles + 1):
        w = attnwidget.AttentionWidget(scores.copy(), tokens)
        w._repr_mimebundle_()
        w.close()
        alive.append(weakref.ref(w))
        del w
        if i in (20, cycles):
            gc.collect()
            marks[i] = rss_mb()
    gc.collect()
    print("| widgets made and closed (8 × 512²) | resident MB |")
    print("|---|---|")
    for i, mb in marks.items():
        print(f"| {i} | {mb:.1f} |")
    print(f"growth from widget 20 to {cycles}: {marks[cycles] - marks[20]:+.1f} MB (goal < 50 MB); "
          f"still alive after close: {sum(r() is not None for r in alive)} of {cycles}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=200)
    ap.add_argument("--cycles", type=int, default=300)
    args = ap.parse_args()
    widget_cycles(args.cycles)
    from IPython.testing.globalipapp import get_ipython

    ip = get_ipython()
    ip.run_line_magic("load_ext", "attnwidget")
    words = "the animal didn't cross the street because it was too tired and then".split()
    texts = [" ".join(words[(i + j) % len(words)] for j in range(64)) for i in range(12)]
    marks = {}
    for i in range(1, args.runs + 1):
        res = ip.run_cell_magic("attention", "-o res", f"num_heads: 8\nkey_dim: 32\nquery: {texts[i % 12]}")
        res._repr_mimebundle_()
        if i in (20, args.runs):
            gc.collect()
            marks[i] = rss_mb()
    growth = marks[args.runs] - marks[20]
    print("| after run | resident MB |")
    print("|---|---|")
    for i, mb in marks.items():
        print(f"| {i} | {mb:.1f} |")
    print(f"growth from run 20 to run {args.runs}: {growth:+.1f} MB (goal < 50 MB)")


if __name__ == "__main__":
    main()
