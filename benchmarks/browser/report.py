"""The figures as text: the markdown table against BertViz and a line of details per size."""

from __future__ import annotations

from .page_measure import PHASE_KEY


def cell(d: dict, key: str):
    """A figure of a measured page, or why it is missing."""
    if key in d:
        return d[key]
    return d.get("failed", {}).get(key, "—")


def fmt(v, unit=""):
    """A figure rounded for the table; text (why it is missing) as it is."""
    if v is None:
        return "—"
    if isinstance(v, str):
        return v
    if v >= 100:
        return f"{v:,.0f}{unit}"
    if v >= 10:
        return f"{v:.1f}{unit}"
    return f"{v:.2f}{unit}"


def ratio(a, b):
    if isinstance(a, (int, float)) and isinstance(b, (int, float)) and b:
        return f"{a / b:.1f}×"
    return "—"


def table(results: dict) -> str:
    rows = ["| T | weights | measure | ours: graph | ours: matrix | BertViz head view | BertViz / ours (graph) |",
            "|---|---|---|---|---|---|---|"]
    for t, res in results.items():
        ours, g, m, bv = res.get("ours", {}), res.get("graph", {}), res.get("matrix", {}), res.get("bertviz", {})
        bvb = res.get("bertviz_build", {})
        wts = res["weights"]
        sent = ours["buffer_bytes"] / wts if "buffer_bytes" in ours else ours.get("error")
        page = ours["page_bytes"] / wts if "page_bytes" in ours else ours.get("error")
        bv_page = bvb["payload_bytes"] / wts if "payload_bytes" in bvb else cell(bv, "draw_ms")
        lines = [
            ("bytes sent / weight (ours: widget buffers; BertViz: its HTML)", sent, "(same)", bv_page),
            ("bytes / weight of the standalone page", page, "(same)", bv_page),
            ("first drawing, ms from navigation", cell(g, "draw_ms"), cell(m, "draw_ms"), cell(bv, "draw_ms")),
            ("click → repainted frame, ms (BertViz: hover)", cell(g, "click_ms"), cell(m, "click_ms"), cell(bv, "click_ms")),
            ("JS heap after GC, MB", cell(g, "heap_gc_mb"), cell(m, "heap_gc_mb"), cell(bv, "heap_gc_mb")),
        ]
        blank = " (blank: no line above the lowest opacity step)" if g.get("painted", [1])[0] == 0 else ""
        for k, (name, a, b, c) in enumerate(lines):
            note = blank if k == 2 and isinstance(a, (int, float)) else ""
            rows.append(f"| {t if k == 0 else ''} | {f'{wts:,}' if k == 0 else ''} | {name} | {fmt(a)}{note} | {fmt(b)} | {fmt(c)} | {ratio(c, a)} |")
    return "\n".join(rows)


def details(results: dict) -> str:
    out = []
    for t, res in results.items():
        ours, g, m, bv, bvb = (res.get(k, {}) for k in ("ours", "graph", "matrix", "bertviz", "bertviz_build"))
        parts = [f"T={t}:"]
        if "build_s" in ours:
            over = " (over Jupyter's 10 MiB message limit)" if ours["buffer_bytes"] + ours["state_json_bytes"] > 10 * 2**20 else ""
            parts.append(f"ours: widget {ours['build_s']:.2f} s, to_html {ours['to_html_s']:.2f} s, "
                         f"buffers {ours['buffer_bytes'] / 2**20:.2f} MiB ("
                         + ", ".join(f"{k} {v:,}" for k, v in ours.get("buffers", {}).items())
                         + f") + state JSON {ours['state_json_bytes'] / 1024:.1f} KiB{over}, page {ours['page_bytes'] / 2**20:.2f} MiB;")
        elif ours.get("error"):
            parts.append(f"ours: {ours['error']};")
        for name, d in (("graph", g), ("matrix", m), ("bertviz", bv)):
            bits = []
            if "draw_ms" in d:
                nav = d.get("nav", {})
                bits.append(f"HTML parsed (domInteractive) at {fmt(nav.get('domInteractive'))} ms")
            if "clicks_ms" in d:
                bits.append(f"clicks {', '.join(fmt(x) for x in d['clicks_ms'])} ms (median handler {fmt(d.get('click_handler_ms'))}, "
                            f"first frame {fmt(d.get('click_frame1_ms'))})")
            if "query_buttons" in d:
                bits.append(f"query token buttons in the DOM {d['query_buttons']:,}")
            if "painted" in d:
                bits.append(f"non-blank canvas pixels {d['painted'][0]:,} of {d['painted'][1]:,}")
            if "heap_mb" in d:
                bits.append(f"heap before GC {fmt(d['heap_mb'])} MB, DOM nodes {d.get('dom_nodes'):,}")
            if "blocked" in d:
                bits.append(f"requests blocked {d['blocked']}" + (f", CDN files served locally {d['served']}" if d.get("served") else ""))
            if d.get("failed_phase"):
                bits.append(f"stopped in phase '{d['failed_phase']}': {d['failed'].get(PHASE_KEY.get(d['failed_phase'], 'draw_ms'))}")
            if d.get("errors"):
                bits.append(f"page errors {d['errors']}")
            if bits:
                parts.append(f"{name}: " + ", ".join(bits) + ";")
        if "gen_s" in bvb:
            parts.append(f"bertviz: head_view() {bvb['gen_s']:.2f} s, page {bvb['page_bytes'] / 2**20:.2f} MiB.")
        out.append(" ".join(parts))
    return "\n".join(out)
