"""Real clicks, hovers and key presses as Chrome's Event Timing API (what INP and Web Vitals use)
reports them (issue 14).

For each size and view a fresh Chromium loads the view's ``to_html`` page and clicks ``CLICKS``
query tokens spread over T with trusted input (``page.mouse.click`` at the element's coordinates,
through ``harness.trusted_click``): the graph's and the explain view's query token buttons, the
matrix's query labels (its left column). The heads and model views have no query tokens: their
own click is measured (a head card, a layer × head cell; it opens the matrix view), and the view is
put back, untimed, before each. "tabs" is the toolbar's view tabs: each click (or ArrowRight on the
selected tab) shows the next view, in turn (event_inputs.py NextTab; workload.tabs_page). A click's figure is its longest event entry (pointerdown ...
click): from the input to the next frame painted after the handlers. The API reports nothing below
16 ms: such a click counts as "< 16". A page with one button is measured the same way at each
size, just before the views: the floor on this machine at that moment; and so is a plain view switch
(workload.SWITCH: a card's click shows 64 lines of text of the matrix view's size in the cards' place),
the floor of the heads and model views' clicks; and, where an explain view is measured, a plain table
(workload.TABLE: a click rewrites the numbers of 35 rows, what an explain pin must do at the least), the
floor of the explain view's pins. Then ``HOVERS`` hovers and ``KEYS`` key presses on the
same page, made as event_inputs.py says.

A ``to_html`` page carries the explain view's numbers for up to 64 queries only. "explain-live" is that
view with a kernel behind it, at any T: the layer's notebook in a JupyterLab of its own (tests'
``browser_support.Lab``), its cell run, then the same inputs; "graph-live" is the graph so, what a click in
a Lab output costs whatever the view (Lab makes the cell active); "button-live", an ipywidgets ToggleButton
there, is Lab's floor: a widget with nothing to draw; "canvas-live", an anywidget that marks a token and redraws a
canvas of the graph's band (workload.CANVAS_ESM), the least a graph pin must do there. A pin's numbers come from the kernel after
the click's own frame (that frame shows the pin; the table keeps the last numbers until they come); each
next input waits, untimed, for them. Its clicks go to the strip's query buttons (one page of 128 on a long sequence).
"""

from __future__ import annotations

import pathlib
import shutil
import tempfile

from browser_support import Lab, Notebook
from harness import SETTLE, centre, observe_event_timing, trusted_click

from .child import Progress, Session, failure, run_child
from .event_inputs import Inputs, NextTab, check_neutral, trusted_key, trusted_move
from .event_report import KINDS, TITLES, cell
from .page_scripts import EXPLAINED, SHOWN_SUM, REVEAL_TOKEN, STRIP_QUERIES
from .workload import HEADS, baseline_page, explain_page, live_notebook, switch_page, table_page, tabs_page, view_page

CLICKS = HOVERS = KEYS = 11
VIEWS = ("graph", "matrix", "heads", "model", "explain", "tabs", "button-live", "canvas-live", "graph-live", "explain-live")
# Measured as another view is: the view with a kernel behind it, in JupyterLab
AS = {"button-live": "button", "canvas-live": "canvas", "graph-live": "graph", "explain-live": "explain"}
READY = {  # shown once this is visible
    "baseline": "#only", "switch": "#cards button", "table": "#strip button", "graph": '.attnwidget [data-side="query"]', "matrix": ".attnwidget canvas.aw-matrix-canvas",
    "heads": ".attnwidget button.aw-head-card", "model": ".attnwidget canvas.aw-model-canvas",
    "explain": ".attnwidget button.aw-explain-tok", "tabs": ".attnwidget button[data-view]", "explain-live": ".attnwidget button.aw-explain-tok",
    "graph-live": '.attnwidget [data-side="query"]', "button-live": ".widget-toggle-button",
    "canvas-live": ".aw-floor-tok",
}
CANVAS = {"matrix": {"x": 3, "step": 1}, "model": {"step": 8}}  # where to look for clickable spots

# Untrusted mousemoves over the canvas (scrolled to the top of the window); the spots where the view
# sets a pointer cursor are those its click acts on (tip: and where it shows a tooltip). x: one column
# only (the matrix's query labels).
SPOTS = """(a) => {
  const c = document.querySelector(a.selector);
  c.scrollIntoView({ block: "start" });
  const r = c.getBoundingClientRect(), out = [];
  const xs = a.x != null ? [a.x] : Array.from({ length: Math.floor(r.width / a.step) }, (_, k) => (k + 0.5) * a.step);
  for (let y = a.step / 2; y < Math.min(r.height, innerHeight - r.top); y += a.step) {
    for (const x of xs) {
      c.dispatchEvent(new MouseEvent("mousemove", { bubbles: true, clientX: r.left + x, clientY: r.top + y }));
      const tip = document.querySelector(".attnwidget .aw-tooltip");
      if (c.style.cursor === "pointer" && (!a.tip || (tip && !tip.hidden))) out.push([r.left + x, r.top + y]);
    }
  }
  c.dispatchEvent(new MouseEvent("mouseleave"));
  return out;
}"""
MATRIX_SHOWN = "() => document.querySelector('.attnwidget button[data-view=\"matrix\"]')?.getAttribute('aria-selected') === 'true'"
PANEL_SHOWN = "() => !document.getElementById('panel').hidden"  # the plain switch's other panel (workload.SWITCH)
TABLE_PINNED = "(k) => document.getElementById('title').textContent === 'query ' + k"  # the plain table's (workload.TABLE)
CANVAS_PINNED = "(k) => document.querySelector('.aw-floor-tok.on')?.dataset.k === String(k)"  # Lab's canvas floor (workload.CANVAS_ESM)


def spread(k: int, n: int) -> int:
    """The k-th of CLICKS indices spread evenly over range(n)."""
    return min(n - 1, int((k + 0.5) * n / CLICKS))


class Aim:
    """Where click k goes on a page, and a check that it took effect (raises if not)."""

    SPOTS, READY, HEADS, MATRIX_SHOWN, PANEL_SHOWN, TABLE_PINNED, CANVAS_PINNED = SPOTS, READY, HEADS, MATRIX_SHOWN, PANEL_SHOWN, TABLE_PINNED, CANVAS_PINNED
    spread = staticmethod(spread)

    def __init__(self, page, view: str, t: int, timeout_s: float):
        self.page, self.view, self.t, self.ms = page, view, t, timeout_s * 1000
        self.spots = []
        if view in CANVAS:
            self.spots = page.evaluate(SPOTS, {"selector": READY[view], **CANVAS[view]})
            if not self.spots:
                raise RuntimeError(f"nothing to click on the {view} canvas")

    def back(self):
        """After a click or key that opened the matrix view (the plain switch: its panel): back, untimed."""
        page, view = self.page, self.view
        if view == "switch" and page.evaluate(PANEL_SHOWN):
            page.evaluate("() => show(false)")
            page.evaluate(SETTLE)
        if view in ("heads", "model") and page.evaluate(MATRIX_SHOWN):
            page.locator(f'.attnwidget button[data-view="{view}"]').click()
            page.locator(READY[view]).first.wait_for(state="visible", timeout=self.ms)
            page.evaluate(SETTLE)

    def __call__(self, k: int):
        page, view = self.page, self.view
        self.back()
        if self.spots:
            page.evaluate("(s) => document.querySelector(s).scrollIntoView({ block: 'start' })", READY[view])
            page.evaluate(SETTLE)
            x, y = self.spots[spread(k, len(self.spots))]
            if view == "model":
                return x, y, lambda: page.wait_for_function(MATRIX_SHOWN, timeout=self.ms)
            before = page.evaluate(SHOWN_SUM)
            return x, y, lambda: page.wait_for_function(f"(b) => ({SHOWN_SUM})() !== b", arg=before, timeout=self.ms)
        selector, done = self.element(k)
        el = page.locator(selector)
        el.scroll_into_view_if_needed(timeout=self.ms)
        return (*centre(el), done)

    def toggled(self):
        """A check that the ToggleButton's value flipped (its class ``mod-active``) since now."""
        page, ms = self.page, self.ms
        on = "() => document.querySelector('.widget-toggle-button').classList.contains('mod-active')"
        was = page.evaluate(on)
        return lambda: page.wait_for_function(f"(was) => ({on})() !== was", arg=was, timeout=ms)

    def element(self, k: int):
        """(selector, check) of the button click k goes to: a query token, a head card, the one button."""
        page, ms = self.page, self.ms
        if self.view == "tabs":
            return NextTab(page, ms).click()
        if self.view == "heads":
            return f'.attnwidget button.aw-head-card[data-head="{k % HEADS}"]', lambda: page.wait_for_function(MATRIX_SHOWN, timeout=ms)
        if self.view == "switch":
            return f'#cards button[data-k="{k % 8}"]', lambda: page.wait_for_function(PANEL_SHOWN, timeout=ms)
        if self.view == "button":
            return ".widget-toggle-button", self.toggled()
        if self.view in ("table", "canvas"):
            q, pinned = spread(k, 64), (TABLE_PINNED if self.view == "table" else CANVAS_PINNED)
            button = "#strip button" if self.view == "table" else ".aw-floor-tok"
            return f'{button}[data-k="{q}"]', lambda: page.wait_for_function(pinned, arg=q, timeout=ms)
        if self.view == "baseline":
            return "#only", lambda: page.wait_for_function("(n) => only.textContent === 'clicked ' + n", arg=k + 1, timeout=ms)
        if self.view == "explain":  # a query on the strip's page (all of them up to 128)
            qs = page.evaluate(STRIP_QUERIES)
            q = qs[spread(k, len(qs))]
            return (f'.attnwidget button.aw-explain-tok[data-explain-query="{q}"]',
                    lambda: page.wait_for_function(EXPLAINED, arg=q, timeout=ms))
        i = spread(k, self.t)
        got = page.evaluate(REVEAL_TOKEN, i)  # the graph keeps buttons only for the rows in view
        if got != "ok":
            raise RuntimeError(got)
        selector = f'.attnwidget [data-side="query"][data-index="{i}"]'
        pressed = "(s) => document.querySelector(s)?.getAttribute('aria-pressed') === 'true'"
        return selector, lambda: page.wait_for_function(pressed, arg=selector, timeout=ms)


def longest(entries: list[dict]) -> dict:
    """An input's figure: its longest event entry (None: every entry under 16 ms), and the most time in handlers."""
    top = max(entries, key=lambda e: e["duration"], default=None)
    return {"ms": top and top["duration"], "event": top and top["name"],
            "handlers_ms": max((e["processing"] for e in entries), default=None)}


def measure_clicks(spec: dict) -> None:
    """Child process: CLICKS trusted clicks, HOVERS hovers and KEYS key presses on one page; each
    input's figure goes to the progress file."""
    prog = Progress(pathlib.Path(spec["progress"]))
    view, timeout_s = spec["view"], spec["timeout"]
    s = lab = None
    try:
        s = Session()
        try:
            observe_event_timing(s.page)
            path = pathlib.Path(spec["page"])
            if path.suffix == ".ipynb":  # a live kernel's view: the notebook in a JupyterLab of its own, its cell run
                prog.phase("lab")
                lab = Lab(path.parent)
                nb = Notebook(s.page, lab, path.name)
                prog.phase("kernel")
                nb.run(0, timeout=timeout_s * 1000)
            else:
                prog.phase("load")
                s.page.goto(path.as_uri(), wait_until="commit", timeout=timeout_s * 1000)
            s.page.locator(READY[view]).first.wait_for(state="visible", timeout=timeout_s * 1000)
            s.page.evaluate(SETTLE)
            prog.phase("check")
            aim = Aim(s.page, AS.get(view, view), spec["t"], timeout_s)
            inputs = Inputs(aim)
            check_neutral(s.page)
            for kind, n in zip(KINDS, (CLICKS, HOVERS, KEYS)):
                got = []
                for k in range(n):
                    prog.phase(f"prepare {kind}")
                    if kind == "click":
                        x, y, took_effect = aim(k)
                        prog.phase(kind)
                        entries = trusted_click(s.page, x, y)
                    elif kind == "hover":
                        x, y, took_effect = inputs.hover(k)
                        prog.phase(kind)
                        entries = trusted_move(s.page, x, y)
                    else:
                        key, took_effect = inputs.key(k)
                        prog.phase(kind)
                        entries = trusted_key(s.page, key)
                    prog.phase(f"verify {kind}")
                    took_effect()
                    got.append(longest(entries))
                    prog.update(**{kind: got})
            prog.update(blocked=len(s.blocked), errors=[e[:300] for e in s.errors[:3]])
            prog.phase("done")
        finally:
            s.close()
            if lab:
                lab.stop()
    except Exception as exc:  # the parent reads the failure from the progress file
        prog.fail(exc, s.errors if s else [])
        raise


def measure_in_child(view: str, t: int, page: pathlib.Path, timeout_s: float, work: pathlib.Path) -> dict:
    res, why, phase = run_child({"kind": "events", "tool": "ours", "view": view, "t": t, "page": str(page)}, timeout_s, work)
    if why:
        res["failed"] = f"{why} (in phase '{phase}')"
    return res


def page_for(view: str, t: int, work: pathlib.Path) -> pathlib.Path | str:
    """The page (a notebook for a live kernel's view) that view ``view`` is measured on at T, or why there is none."""
    if view == "explain":
        return explain_page(t, work)
    if view == "tabs":
        return tabs_page(t, work)
    if view in AS:
        return live_notebook(AS[view], t, work)
    return view_page(view, t, work)


def run(sizes, timeout_s: float, views=VIEWS) -> dict:
    """{T: {view or "baseline": {"click" | "hover" | "key": [{"ms": duration or None (< 16), ...}], "failed": why}}}."""
    results: dict = {}
    with tempfile.TemporaryDirectory(prefix="bench-events-") as tmp:
        work = pathlib.Path(tmp)
        floors = {"baseline": baseline_page(work), "switch": switch_page(work)}
        if {"explain", "explain-live"} & set(views):
            floors["table"] = table_page(work)
        for t in sizes:
            row = results[t] = {name: measure_in_child(name, t, page, timeout_s, work) for name, page in floors.items()}
            print(f"T={t}: " + ", ".join(f"{TITLES[name]} {cell(row[name], 'click')}" for name in floors), end="", flush=True)
            for view in views:
                try:
                    page = page_for(view, t, work)
                except Exception as exc:  # noqa: BLE001 - the cell says what went wrong
                    page = failure(exc)
                if isinstance(page, str):  # no page: why
                    row[view] = {"failed": page}
                    continue
                row[view] = measure_in_child(view, t, page, timeout_s, work)
                if page.suffix == ".ipynb":
                    shutil.rmtree(page.parent)  # the notebook's JupyterLab folder
                else:
                    page.unlink()
                print(f"; {view} " + " ".join(f"{k}s {cell(row[view], k)}" for k in KINDS), end="", flush=True)
            print(flush=True)
    return results
