"""What the benchmark measures on: seeded softmax weights and the ``to_html`` pages made of them.

Weights: one layer of 8 heads, standard-normal logits -> softmax, float32, shape (1, 8, T, T),
tokens "t0".."tT-1"; the model view's second layer has weights of another seed.
"""

from __future__ import annotations

import json
import pathlib
import time

import numpy as np

HEADS = 8
SIZES = (64, 128, 256, 512, 1024, 4096)
# One button whose click changes its text: what a click costs on a page with nothing else in it.
BASELINE = """<!doctype html><meta charset="utf-8"><title>baseline</title>
<button id="only" style="margin:40px;width:200px;height:60px">click</button>
<script>let n = 0; only.addEventListener("click", () => { only.textContent = "clicked " + ++n; });</script>"""


def weights(t: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((1, HEADS, t, t), dtype=np.float32)
    x -= x.max(-1, keepdims=True)
    np.exp(x, out=x)
    x /= x.sum(-1, keepdims=True)
    return x


def tokens(t: int) -> list[str]:
    return [f"t{i}" for i in range(t)]


def build_ours(w: np.ndarray, t: int, work: pathlib.Path) -> dict:
    """Our widget of ``w`` (1, heads, T, T): what a kernel sends (the state's binary buffers and JSON),
    and its graph and matrix pages, ``work/ours-{graph,matrix}-{t}.html``."""
    from ipywidgets.widgets.widget import _remove_buffers

    from attnwidget import AttentionWidget

    out: dict = {}
    t0 = time.perf_counter()
    widget = AttentionWidget(w, tokens(t))
    out["build_s"] = time.perf_counter() - t0
    state, paths, buffers = _remove_buffers(widget.get_state())
    out["buffer_bytes"] = sum(memoryview(b).nbytes for b in buffers)
    out["buffers"] = {"/".join(map(str, path)): memoryview(b).nbytes for path, b in zip(paths, buffers)}
    out["state_json_bytes"] = len(json.dumps(state, default=str).encode())
    t0 = time.perf_counter()
    page = work / f"ours-graph-{t}.html"
    widget.to_html(page, max_weights=None)
    out["to_html_s"] = time.perf_counter() - t0
    out["page_bytes"] = page.stat().st_size
    widget.close()
    matrix = AttentionWidget(w, tokens(t), view="matrix")
    matrix.to_html(work / f"ours-matrix-{t}.html", max_weights=None)
    matrix.close()
    return out


def view_page(view: str, t: int, work: pathlib.Path) -> pathlib.Path:
    """A ``to_html`` page of the widget shown in ``view`` (graph, matrix, heads; model: two layers)."""
    from attnwidget import AttentionWidget

    path = work / f"view-{view}-{t}.html"
    scores = [weights(t), weights(t, seed=1)] if view == "model" else weights(t)
    widget = AttentionWidget(scores, tokens(t), view=view)
    del scores
    widget.to_html(path, max_weights=None)
    widget.close()
    return path


def explain_layer(t: int) -> dict:
    """The layer the explain view shows: ``attnwidget.attention``'s arguments for a Keras layer of 8 heads run
    on the T tokens (bare weights have nothing to explain)."""
    return {"kind": "global", "num_heads": HEADS, "key_dim": 16, "max_tokens": t, "query": " ".join(tokens(t))}


def explain_page(t: int, work: pathlib.Path) -> pathlib.Path | str:
    """The explain view of :func:`explain_layer` as a ``to_html`` page, or why there is none: a page carries
    the explain data of short queries only."""
    import attnwidget
    from attnwidget import export, protocol

    if t > protocol.EXPLAIN_MAX_QUERIES:
        return "n/a (no explain data in the page at this T)"
    res = attnwidget.attention(**explain_layer(t))
    if not export.static_state(res.widget, max_weights=None).get("_can_explain"):
        return "n/a (no explain data in the page at this T)"
    res.widget.view = "explain"
    path = work / f"view-explain-{t}.html"
    res.to_html(path, max_weights=None)
    res.widget.close()
    return path


def tabs_page(t: int, work: pathlib.Path) -> pathlib.Path:
    """The page whose view tabs are clicked: up to 64 tokens (explain data in the page) a Keras encoder of two
    layers of 8 heads (graph, matrix, heads, model and explain tabs), beyond that the model page (no explain)."""
    from attnwidget import protocol

    if t > protocol.EXPLAIN_MAX_QUERIES:
        return view_page("model", t, work)
    import attnwidget

    res = attnwidget.attention(**{**explain_layer(t), "kind": "encoder", "num_layers": 2})
    path = work / f"view-tabs-{t}.html"
    res.to_html(path, max_weights=None)
    res.widget.close()
    return path


def live_notebook(view: str, t: int, work: pathlib.Path) -> pathlib.Path:
    """A notebook of one cell that shows ``view`` from a live kernel (a JupyterLab opens it: event_timing.py),
    in a folder of its own, the Lab's. "explain": :func:`explain_layer`'s explain view, which the kernel
    explains at each pin, at any T; "graph": :func:`view_page`'s graph of :func:`weights`, for what a click
    in a Lab output costs whatever the view; "button": an ipywidgets ToggleButton, Lab's floor; "canvas": the
    least a graph pin must do there (:data:`CANVAS_ESM`), the graph's floor in Lab."""
    from browser_support import write_notebook

    from . import ROOT

    path = work / f"lab-{view}-{t}" / f"{view}.ipynb"
    path.parent.mkdir()
    if view == "button":
        cell = "import ipywidgets\nipywidgets.ToggleButton(description='toggle')"
    elif view == "canvas":
        cell = ("import anywidget, traitlets\nclass Floor(anywidget.AnyWidget):\n    pinned = traitlets.Int(-1).tag(sync=True)\n"
                f"    _esm = {CANVAS_ESM!r}\nFloor()")
    elif view == "explain":
        cell = f"import attnwidget\nres = attnwidget.attention(**{explain_layer(t)!r})\nres.widget.view = 'explain'\nres.widget"
    else:
        cell = (f"import sys\nsys.path.insert(0, {str(ROOT / 'benchmarks')!r})\nfrom browser.workload import tokens, weights\n"
                f"from attnwidget import AttentionWidget\nAttentionWidget(weights({t}), tokens({t}), view={view!r})")
    write_notebook(path, [cell])
    return path


# The least a graph pin must do in a Lab output, with nothing else: an anywidget of 64 token buttons beside a
# canvas of the graph's band (640 × 640); a click, or ArrowDown / ArrowUp on a button (the focus moves on with
# the pin), marks the token, syncs the pin to the kernel and, in the next animation frame, redraws the canvas:
# the token's lines to 64 keys in 8 heads, one stroke a head; the pointer moved onto a token redraws it so too.
CANVAS_ESM = """export default { render({ model, el }) {
  const col = document.createElement("div"), c = document.createElement("canvas"), ctx = c.getContext("2d");
  col.style.cssText = "display:flex;flex-direction:column"; c.width = c.height = 640; c.style.cssText = "width:640px;height:640px";
  const box = document.createElement("div"); box.style.cssText = "display:flex;gap:8px"; box.append(col, c); el.append(box);
  const toks = Array.from({ length: 64 }, (_, k) => {
    const b = document.createElement("button"); b.className = "aw-floor-tok"; b.dataset.k = k; b.textContent = "t" + k;
    b.style.cssText = "height:10px;font-size:8px;line-height:8px;padding:0 4px;border:0;text-align:left"; col.append(b); return b; });
  let on = null;
  const draw = (k) => requestAnimationFrame(() => {
    ctx.clearRect(0, 0, 640, 640);
    for (let h = 0; h < 8; h++) {
      ctx.beginPath(); ctx.strokeStyle = `hsl(${h * 45}, 70%, 45%)`; ctx.globalAlpha = 0.3 + 0.08 * h;
      for (let j = 0; j < 64; j++) { ctx.moveTo(0, 10 * k + 5); ctx.lineTo(640, 10 * j + 5); }
      ctx.stroke();
    }
  });
  const pin = (k) => {
    if (on) on.classList.remove("on"), (on.style.outline = "");
    on = toks[k]; on.classList.add("on"); on.style.outline = "1px solid #1976d2";
    model.set("pinned", k); model.save_changes();
    draw(k);
  };
  col.addEventListener("click", (e) => { const b = e.target.closest("button"); if (b) pin(+b.dataset.k); });
  col.addEventListener("pointerover", (e) => { const b = e.target.closest("button"); if (b) draw(+b.dataset.k); });
  col.addEventListener("keydown", (e) => {
    const d = { ArrowDown: 1, ArrowUp: -1 }[e.key], k = on ? +on.dataset.k : -1;
    if (d && k + d >= 0 && k + d < 64) { e.preventDefault(); e.stopPropagation(); toks[k + d].focus(); pin(k + d); }
  });
} };"""


def baseline_page(work: pathlib.Path) -> pathlib.Path:
    path = work / "baseline.html"
    path.write_text(BASELINE)
    return path


# A view switch with nothing in it but text: eight cards; a card's click (or Enter) shows, in the next
# animation frame as the widget does, a panel of 64 lines of text of the matrix view's size in their place.
SWITCH = """<!doctype html><meta charset="utf-8"><title>switch</title>
<style>body { margin: 20px; font: 13px sans-serif; } #cards, #panel { width: 1240px; height: 800px; }
#cards { display: grid; grid-template-columns: repeat(4, 1fr); gap: 8px; }
#cards button { font: inherit; border: 1px solid #ccc; background: #f6f6f6; } #cards button:hover { border-color: #1976d2; }
#panel div { white-space: nowrap; overflow: hidden; }</style>
<div id="cards">CARDS</div><div id="panel" hidden>LINES</div>
<script>
function show(panel) { cards.hidden = panel; document.getElementById("panel").hidden = !panel; }
cards.addEventListener("click", (e) => { if (e.target.closest("button")) requestAnimationFrame(() => show(true)); });
</script>""".replace("CARDS", "".join(f'<button data-k="{k}">card {k}</button>' for k in range(8))).replace(
    "LINES", "".join(f"<div>t{i} {'0.12 ' * 40}</div>" for i in range(64)))


def switch_page(work: pathlib.Path) -> pathlib.Path:
    path = work / "switch.html"
    path.write_text(SWITCH)
    return path


# What an explain pin must do at the least, with nothing else: 64 query buttons over a table of 35 rows
# (the rows the explain view keeps in the page at T = 64) in a scroller of its height, in the view's
# typography (font, tabular numbers, collapsed borders, bold weights, "−"). A button's click, or ArrowDown /
# ArrowUp in the table, pins a query: the button marked now and, in the next animation frame as the widget
# does, each row's three numbers and its bar rewritten.
TABLE = """<!doctype html><meta charset="utf-8"><title>table</title>
<style>body { margin: 20px; font: 13px system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; }
#strip button { font: inherit; margin: 1px; border: 1px solid #ccc; background: #f6f6f6; } #strip button:hover { border-color: #1976d2; }
#strip button.on { outline: 2px solid #1976d2; } #box { max-height: 560px; overflow: auto; width: 1236px; }
table { border-collapse: collapse; font-variant-numeric: tabular-nums; } td { padding: 2px 8px; text-align: right; border-bottom: 1px solid #eee; }
td:nth-child(5) { font-weight: 600; } td.v { font: 11px monospace; text-align: left; }
.bar { height: 10px; width: 100px; background: #4477aa; transform-origin: left; }</style>
<div id="strip">BUTTONS</div><div id="title">no query pinned</div><div id="box" tabindex="0"><table><tbody id="rows">ROWS</tbody></table></div>
<script>
const cells = [...rows.children].map((tr) => [...tr.children].slice(2, 5).map((td) => td.firstChild).concat(tr.children[5].firstChild));
const num = (x) => x.toFixed(3).replace(/^-/, "\\u2212");
let on = null;
function pin(k) {
  const b = strip.children[k];
  if (on) on.classList.remove("on");
  (on = b).classList.add("on");
  requestAnimationFrame(() => {
    title.textContent = "query " + k;
    cells.forEach(([d, l, w, bar], j) => {
      const x = 10 * Math.sin(k * 7.1 + j * 1.3), p = (1 + Math.cos(k * 3.7 + j)) / 2;
      d.data = num(x); l.data = num(x / 4); w.data = num(p); bar.style.transform = `scaleX(${p})`;
    });
  });
}
strip.addEventListener("click", (e) => { const b = e.target.closest("button"); if (b) pin(+b.dataset.k); });
box.addEventListener("keydown", (e) => {
  const d = { ArrowDown: 1, ArrowUp: -1 }[e.key], k = on ? +on.dataset.k : -1;
  if (d && k + d >= 0 && k + d < strip.children.length) { e.preventDefault(); pin(k + d); }
});
</script>""".replace("BUTTONS", "".join(f'<button data-k="{k}">t{k}</button>' for k in range(64))).replace(
    "ROWS", "".join(f'<tr><td>{j}</td><td>t{j}</td><td>0.000</td><td>0.000</td><td>0.000</td><td><div class="bar"></div></td>'
                    f'<td class="v">[0.52, 1.47, 0.44, 1.70, 0.71, \u22121.37, \u2026 +10]</td></tr>' for j in range(35)))


def table_page(work: pathlib.Path) -> pathlib.Path:
    path = work / "table.html"
    path.write_text(TABLE)
    return path
