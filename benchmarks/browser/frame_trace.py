"""A click's time to the screen from a Chrome trace, in fractions of a millisecond.

Event Timing reports durations in 8 ms steps and only from 16 ms: a frame that gets 2 ms cheaper can
leave its count of entries where it was. The trace has the steps themselves: the click's first event
dispatch, the animation frame after it (where the widget draws), the main frame that runs it, and the
compositor's draw and swap after that main frame. Tracing slows the page a little; compare figures from
one run only.
"""

from __future__ import annotations

import json

CATEGORIES = ["devtools.timeline", "disabled-by-default-devtools.timeline", "viz", "cc"]


def click_to_screen(playwright_browser, page, x: float, y: float, settle_ms: int = 250) -> dict | None:
    """A trusted click at ``(x, y)``: {"screen": ms from its first event dispatch to the end of the draw
    and swap of the frame that drew it, "main": ms of that main frame (script, style, layout, paint)};
    None when the trace holds no such frame."""
    playwright_browser.start_tracing(page=page, categories=CATEGORIES)
    page.mouse.click(x, y)
    page.wait_for_timeout(settle_ms)
    trace = json.loads(playwright_browser.stop_tracing())
    events = [e for e in (trace["traceEvents"] if isinstance(trace, dict) else trace) if e.get("ph") == "X"]
    dispatch = [e["ts"] for e in events if e["name"] == "EventDispatch"]
    if not dispatch:
        return None
    t_in = min(dispatch)
    frames = sorted((e for e in events if e["name"] == "FireAnimationFrame" and e["ts"] > t_in), key=lambda e: e["ts"])
    if not frames:
        return None
    raf = frames[0]
    main = [e for e in events if e["name"] == "ProxyMain::BeginMainFrame" and e["ts"] <= raf["ts"] <= e["ts"] + e["dur"]]
    if not main:
        return None
    end = main[0]["ts"] + main[0]["dur"]
    swaps = sorted((e for e in events if e["name"] == "Display::DrawAndSwap" and e["ts"] > end), key=lambda e: e["ts"])
    if not swaps:
        return None
    return {"screen": (swaps[0]["ts"] + swaps[0]["dur"] - t_in) / 1e3, "main": main[0]["dur"] / 1e3}
