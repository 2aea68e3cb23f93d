"""Hovers and key presses for the Event Timing table (issue 14): where each goes, and how it is made.

A hover is the pointer moved, with trusted input (``page.mouse.move``, one step), from a spot of the
page outside the widget (the body's margin, viewport (2, 2)) onto a token, a head card, a cell or a
thumbnail: the browser fires pointerover / mouseover / mousemove there together, and Chrome reports
the first two (the API has no entries for mousemove), from the input to the next painted frame,
which the view's hover work (tooltip, highlight) is part of. Moves from one spot of a canvas to the
next fire only mousemove, which the API does not time; the move in from outside does all the hover
work a move inside does. The pointer goes back to (2, 2), untimed, before each.

A key press is ``page.keyboard.press`` (trusted keydown ... keyup) on an element focused beforehand,
untimed: the graph's query token (ArrowDown: focus, and the pin, to the next token), the matrix's
canvas (ArrowUp / ArrowRight: the pinned cell moves), a head card (Enter: opens the matrix view), the
model's canvas (ArrowRight moves the focus ring, Enter opens that thumbnail), the selected view tab
(ArrowRight: the next view), the explain view (ArrowUp / ArrowDown: the next query), the one button (Enter:
its click), a card of the plain switch (Enter: its panel), the plain table's box (ArrowDown / ArrowUp: the
next query), a token of Lab's canvas floor (ArrowDown: the pin and the focus to the next).
"""

from __future__ import annotations

from harness import SETTLE, centre

from .page_scripts import EXPLAINED, SHOWN_SUM, REVEAL_TOKEN

NEUTRAL = (2, 2)  # in the body's 16 px margin: outside the widget
ENTRIES_SINCE = "(t0) => window.__eventTiming.filter((e) => e.start >= t0)"
TIP_SHOWN = "() => { const t = document.querySelector('.attnwidget .aw-tooltip'); return Boolean(t && !t.hidden); }"
MODEL_KEYS = ("ArrowRight", "Enter")  # the focus ring one thumbnail on, then that thumbnail opened


def trusted_move(page, x: float, y: float) -> list[dict]:
    """Move the pointer from NEUTRAL onto viewport (x, y) with real input; the event entries it made."""
    page.mouse.move(*NEUTRAL)
    page.evaluate(SETTLE)
    t0 = page.evaluate("() => performance.now()")
    page.mouse.move(x, y)
    page.evaluate(SETTLE)
    return page.evaluate(ENTRIES_SINCE, t0)


def trusted_key(page, key: str) -> list[dict]:
    """Press ``key`` with real input on the focused element; the event entries it made."""
    page.evaluate(SETTLE)
    t0 = page.evaluate("() => performance.now()")
    page.keyboard.press(key)
    page.evaluate(SETTLE)
    return page.evaluate(ENTRIES_SINCE, t0)


class NextTab:
    """The view tab after the selected one (in turn, the last followed by the first): a click on it, a hover
    onto it, or ArrowRight on the selected tab shows that view (js/controls.js)."""

    SHOWN = "(v) => document.querySelector('.attnwidget').attnwidget.app.get('view') === v"

    def __init__(self, page, ms: float):
        self.page, self.ms = page, ms
        tabs = page.evaluate("() => [...document.querySelectorAll('.attnwidget button[data-view]')].filter((b) => b.offsetParent)"
                             ".map((b) => [b.dataset.view, b.getAttribute('aria-selected') === 'true'])")
        now = next(i for i, (_, on) in enumerate(tabs) if on)
        self.now, self.next = tabs[now][0], tabs[(now + 1) % len(tabs)][0]

    def click(self):
        """(selector of the next tab, check that its view is shown)."""
        return f'.attnwidget button[data-view="{self.next}"]', self.shown()

    def key(self):
        """The selected tab focused; (ArrowRight, check that the next view is shown)."""
        self.page.focus(f'.attnwidget button[data-view="{self.now}"]')
        return "ArrowRight", self.shown()

    def shown(self):
        return lambda: self.page.wait_for_function(self.SHOWN, arg=self.next, timeout=self.ms)


def check_neutral(page) -> None:
    if page.evaluate("([x, y]) => Boolean(document.elementFromPoint(x, y)?.closest('.attnwidget'))", list(NEUTRAL)):
        raise RuntimeError(f"viewport {NEUTRAL} is inside the widget: no neutral spot for hovers")


class Inputs:
    """Hover k and key press k of a page; ``aim`` is the page's click Aim (event_timing.py)."""

    def __init__(self, aim):
        self.aim = aim
        self.page, self.view, self.t, self.ms = aim.page, aim.view, aim.t, aim.ms
        self.tips = None

    def wait(self, js: str, arg=None):
        return lambda: self.page.wait_for_function(js, arg=arg, timeout=self.ms)

    def hover(self, k: int):
        """(x, y, check that the hover took effect) of hover k."""
        page, view, aim = self.page, self.view, self.aim
        aim.back()
        if view in ("matrix", "model"):  # the spots of the canvas where a tooltip shows
            if self.tips is None:
                self.tips = page.evaluate(aim.SPOTS, {"selector": aim.READY[view], "step": 16 if view == "matrix" else 8, "tip": True})
                if not self.tips:
                    raise RuntimeError(f"no spot of the {view} canvas shows a tooltip")
            page.evaluate("(s) => document.querySelector(s).scrollIntoView({ block: 'start' })", aim.READY[view])
            x, y = self.tips[aim.spread(k, len(self.tips))]
            return x, y, self.wait(TIP_SHOWN)
        selector, _ = aim.element(k)  # the element a click goes to (a graph token: revealed first)
        x, y = self.revealed_centre(selector)
        if view == "graph":
            i = aim.spread(k, self.t)
            return x, y, self.wait("(i) => document.querySelector('.attnwidget').attnwidget.app.ui.hover?.index === i", i)
        under = "([x, y, s]) => Boolean(document.elementFromPoint(x, y)?.closest(s))"
        return x, y, self.wait(under, [x, y, selector])

    def revealed_centre(self, selector: str):
        """The element scrolled into view; the middle of its box."""
        el = self.page.locator(selector)
        el.scroll_into_view_if_needed(timeout=self.ms)
        return centre(el)

    def key(self, k: int):
        """(key, check that it took effect) of key press k, its target focused."""
        page, view, aim = self.page, self.view, self.aim
        aim.back()
        if view == "button":
            page.focus(".widget-toggle-button")
            return "Enter", aim.toggled()
        if view == "baseline":
            page.focus("#only")
            n = page.evaluate("() => only.textContent")
            return "Enter", self.wait("(n) => only.textContent !== n", n)
        if view == "tabs":
            return NextTab(page, self.ms).key()
        if view == "heads":
            page.focus(f'.attnwidget button.aw-head-card[data-head="{k % aim.HEADS}"]')
            return "Enter", self.wait(aim.MATRIX_SHOWN)
        if view == "switch":
            page.focus(f'#cards button[data-k="{k % 8}"]')
            return "Enter", self.wait(aim.PANEL_SHOWN)
        if view == "table":
            page.focus("#box")
            on = page.evaluate("() => { const b = document.querySelector('#strip button.on'); return b ? +b.dataset.k : -1; }")
            up = on >= 63
            return ("ArrowUp" if up else "ArrowDown"), self.wait(aim.TABLE_PINNED, on - 1 if up else on + 1)
        if view == "canvas":
            i = min(aim.spread(k, 64), 62)
            page.focus(f'.aw-floor-tok[data-k="{i}"]')
            page.locator(f'.aw-floor-tok[data-k="{i}"]').click()  # the pin there first, untimed: the key moves it on
            page.evaluate(SETTLE)
            return "ArrowDown", self.wait(aim.CANVAS_PINNED, i + 1)
        if view == "graph":
            i = min(aim.spread(k, self.t), self.t - 2)
            got = page.evaluate(REVEAL_TOKEN, i)
            if got != "ok":
                raise RuntimeError(got)
            page.focus(f'.attnwidget [data-side="query"][data-index="{i}"]')
            return "ArrowDown", self.wait("(i) => document.activeElement?.dataset?.index === String(i)", i + 1)
        if view == "explain":
            page.focus(".attnwidget .aw-explain")
            sq = page.evaluate("() => document.querySelector('.attnwidget').attnwidget.app.get('selected_query')")
            up = sq is not None and sq > self.t // 2
            want = (self.t - 1 if up else 0) if sq is None else sq - 1 if up else sq + 1
            return ("ArrowUp" if up else "ArrowDown"), self.wait(EXPLAINED, want)
        # matrix and model: the canvas has the focus; arrows change what it shows, Enter (model) opens the matrix
        page.focus(aim.READY[view])
        key = MODEL_KEYS[k % len(MODEL_KEYS)] if view == "model" else ("ArrowUp", "ArrowRight")[k % 2]
        if key == "Enter":
            return key, self.wait(aim.MATRIX_SHOWN)
        if view == "model":  # the focus ring is a box over the canvas: it moves
            ring = "() => { const r = document.querySelector('.attnwidget .aw-model-focus'); return r && !r.hidden ? r.style.left + ',' + r.style.top : ''; }"
            return key, self.wait(f"(b) => ({ring})() !== b", page.evaluate(ring))
        before = page.evaluate(SHOWN_SUM)
        return key, self.wait(f"(b) => ({SHOWN_SUM})() !== b", before)
