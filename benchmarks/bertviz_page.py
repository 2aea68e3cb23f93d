"""Write BertViz's head view of a weights file as an HTML page (run by bench_browser.py in BertViz's env).

    BENCH_VENV/bin/python benchmarks/bertviz_page.py WEIGHTS.npy OUT.html

WEIGHTS.npy: float32 (1, heads, T, T) softmax weights; tokens are "t0" .. "tT-1". Prints one JSON
line: {"payload_bytes": bytes of the HTML head_view returns, "page_bytes": bytes written,
"gen_s": seconds head_view took, "bertviz": version}.
"""

from __future__ import annotations

import json
import sys
import time
from importlib.metadata import version


def main() -> None:
    src, out = sys.argv[1], sys.argv[2]
    import numpy as np
    import torch
    from bertviz import head_view

    weights = np.load(src)
    tokens = [f"t{i}" for i in range(weights.shape[-1])]
    attention = [torch.from_numpy(weights)]  # one layer, (1, heads, T, T), as a model's output_attentions
    t0 = time.perf_counter()
    html = head_view(attention, tokens, html_action="return")
    gen_s = time.perf_counter() - t0
    payload = html.data.encode("utf-8")
    doc = b'<!doctype html>\n<html><head><meta charset="utf-8"><title>bertviz</title></head><body>\n' + payload + b"\n</body></html>\n"
    with open(out, "wb") as f:
        f.write(doc)
    print(json.dumps({"payload_bytes": len(payload), "page_bytes": len(doc), "gen_s": gen_s,
                      "bertviz": version("bertviz"), "torch": torch.__version__}))


if __name__ == "__main__":
    main()
