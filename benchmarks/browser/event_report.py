"""The Event Timing figures as text (event_timing.py measures them): a markdown table of median / worst
(how many inputs had an entry) per size, view and kind of input, and a line of every input's figure."""

from __future__ import annotations

KINDS = ("click", "hover", "key")
TITLES = {"baseline": "one button (baseline)", "switch": "plain switch (floor)", "table": "plain table (explain's floor)", "graph": "graph", "matrix": "matrix", "heads": "heads",
          "model": "model (2 layers)", "explain": "explain", "tabs": "view tabs (the next view)", "button-live": "a toggle button (ipywidgets), JupyterLab",
          "canvas-live": "a canvas redrawn (anywidget; the graph's floor), JupyterLab", "graph-live": "graph, live kernel (JupyterLab)",
          "explain-live": "explain, live kernel (JupyterLab)"}


def fmt_ms(v) -> str:
    return "< 16" if v is None else f"{v:.0f}"


def cell(res: dict, kind: str) -> str:
    """"median / worst (k)" of a page's inputs of one kind, k of them with an entry ≥ 16 ms, "k, 1st" when the
    page's first input of that kind is one of them; a failure says so after what was measured."""
    got = res.get(kind, [])
    if not got:
        return res.get("failed", "—")
    order = sorted(got, key=lambda c: c["ms"] or 0)  # "< 16" first
    n, slow = len(order), sum(1 for c in got if c["ms"])
    out = f"{fmt_ms(order[(n - 1) // 2]['ms'])} / {fmt_ms(order[-1]['ms'])} ({slow}{', 1st' if got[0]['ms'] else ''})"
    return f"{out}, then {res['failed']}" if res.get("failed") else out


#: The pages of static copies that only do the least an input must do (workload.py), and the live ones.
FLOORS = ("baseline", "switch", "table")


def first_inputs(results: dict) -> str:
    """How many inputs had an entry: each page's first input of a kind apart from the others (a page's first
    input costs the browser more, the floors' too), for the floors and for our views of static copies."""
    def count(views):
        firsts = rest = n_firsts = n_rest = 0
        for row in results.values():
            for view, res in row.items():
                if view not in views:
                    continue
                for kind in KINDS:
                    got = res.get(kind, [])
                    if got:
                        firsts += bool(got[0]["ms"]); n_firsts += 1
                        rest += sum(1 for c in got[1:] if c["ms"]); n_rest += len(got) - 1
        return f"the first input of a kind on a page {firsts} of {n_firsts}, the others {rest} of {n_rest}"
    ours = {v for row in results.values() for v in row if v not in FLOORS and not v.endswith("-live")}
    return (f"Inputs with an entry ≥ 16 ms: floors (one button, plain switch, plain table): {count(set(FLOORS))}; "
            f"our views of static copies ({', '.join(sorted(ours))}): {count(ours)}.")


def table(results: dict) -> str:
    cols = ["baseline", *dict.fromkeys(c for row in results.values() for c in row if c != "baseline")]
    rows = ["| T | input | " + " | ".join(TITLES[c] for c in cols) + " |", "|---|---|" + "---|" * len(cols)]
    for t, row in results.items():
        for i, kind in enumerate(KINDS):
            rows.append(f"| {t if i == 0 else ''} | {kind} | " + " | ".join(cell(row.get(c, {}), kind) for c in cols) + " |")
    return "\n".join(rows)


def details(results: dict) -> str:
    """Each input's figure, and which event was the longest, per size, view and kind of input."""
    out = []
    for t, row in results.items():
        for view, res in row.items():
            for kind in KINDS:
                got = res.get(kind, [])
                if got:
                    names = sorted({c["event"] for c in got if c["event"]})
                    out.append(f"T={t} {view} {kind}s: " + " ".join(fmt_ms(c["ms"]) for c in got)
                               + (f" (longest entries: {', '.join(names)})" if names else ""))
    return "\n".join(out)
