"""Where our page spends its time (``--profile``): a build of js/ that keeps function names, and a
summary of a Chromium CPU profile (self and inclusive time of the functions worth watching)."""

from __future__ import annotations

import pathlib
import subprocess

from . import ROOT

# Functions of js/ (and the browser's) whose inclusive time the summary lists.
FOCUS = ["boot", "gunzipText", "loadModule", "render", "flush", "decode", "decodeData", "toBytes", "decodeBase64",
         "buildButtons", "placeButtons", "markPinned", "recomputeLines", "selectLines", "topIndices", "draw",
         "paintLines", "paintBars", "barsFor", "plane", "paint", "labelColumnWidth", "truncateToWidth", "update",
         "parse", "atob", "replace"]


def unminified_static(dest: pathlib.Path) -> pathlib.Path | None:
    """Build js/ without minifying (names kept) into dest; None if the build fails."""
    esbuild = ROOT / "node_modules" / ".bin" / "esbuild"
    try:
        subprocess.run([str(esbuild), "js/widget.js", "--bundle", "--format=esm", "--target=es2020",
                        f"--outfile={dest / 'widget.js'}"], cwd=ROOT, check=True, capture_output=True)
        subprocess.run([str(esbuild), "js/static.js", "--bundle", "--format=iife", "--target=es2020",
                        f"--outfile={dest / 'static.js'}"], cwd=ROOT, check=True, capture_output=True)
        return dest
    except Exception:  # noqa: BLE001
        return None


def profile_summary(prof: dict, wall_ms: float) -> list[str]:
    nodes = {n["id"]: n for n in prof["nodes"]}
    parent = {}
    for n in prof["nodes"]:
        for c in n.get("children", []):
            parent[c] = n["id"]
    deltas = prof["timeDeltas"][1:] + [0]
    self_ms: dict[str, float] = {}
    incl_ms: dict[str, float] = {}
    chain_cache: dict[int, set] = {}

    def label(n):
        cf = n["callFrame"]
        name = cf["functionName"] or "(anonymous)"
        url = cf["url"]
        src = "bundle" if url.startswith("blob:") else "page" if url.startswith("file:") else ""
        return f"{name} ({src}:{cf['lineNumber'] + 1})" if src else name

    def chain(nid):
        if nid not in chain_cache:
            names = set()
            cur = nid
            while cur is not None:
                names.add(nodes[cur]["callFrame"]["functionName"])
                cur = parent.get(cur)
            chain_cache[nid] = names
        return chain_cache[nid]

    for sid, d in zip(prof["samples"], deltas):
        ms = d / 1000
        lab = label(nodes[sid])
        self_ms[lab] = self_ms.get(lab, 0) + ms
        for f in chain(sid) & set(FOCUS):
            incl_ms[f] = incl_ms.get(f, 0) + ms
    top = sorted(((k, v) for k, v in self_ms.items() if k != "(idle)"), key=lambda kv: -kv[1])[:14]
    busy = sum(v for k, v in self_ms.items() if k != "(idle)")
    return [(f"  profiled span: main thread busy {busy:,.0f} ms, idle {self_ms.get('(idle)', 0):,.0f} ms "
             "((program) = native work: HTML parsing, style, layout, paint)"),
            "  self time (ms): " + "; ".join(f"{k} {v:,.0f}" for k, v in top),
            "  inclusive (ms): " + "; ".join(f"{k} {incl_ms[k]:,.0f}" for k in FOCUS if incl_ms.get(k, 0) >= 1)]


