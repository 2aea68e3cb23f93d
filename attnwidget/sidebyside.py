"""Several views in one row, with a caption under each: live in the notebook, and in its exports.

The lecture's Figure 2 is two sentences side by side ("… too tired" / "… too wide"). Outputs of a cell
stack one under another, so a row needs one output: live, an ``ipywidgets.HBox`` of the views; for
exports and slides, one ``text/html`` output with each view's static copy in a flex row (the live
views hide it when they render, as a single view hides its own copy).
"""

from __future__ import annotations

import html
import uuid
from typing import Any, Sequence

#: Inline styles of the static row: the copy has no stylesheet of its own outside the widget.
_ROW = "display:flex;gap:16px;align-items:flex-start;width:100%"
_CELL = "flex:1 1 0;min-width:0;margin:0"
_CAPTION = "font:inherit;font-size:1em;margin-top:4px;text-align:center"


class SideBySide:
    """``widgets`` (:class:`~attnwidget.AttentionWidget` or :class:`~attnwidget.AttentionResult`) in one row,
    ``captions[i]`` (plain text, shown as text) under ``widgets[i]``."""

    def __init__(self, widgets: Sequence[Any], captions: Sequence[str] | None = None):
        from .result import AttentionResult
        from .widget import AttentionWidget

        widgets = [w.widget if isinstance(w, AttentionResult) else w for w in widgets]
        if not widgets or not all(isinstance(w, AttentionWidget) for w in widgets):
            raise ValueError("widgets: expected one or more AttentionWidget or AttentionResult")
        captions = [""] * len(widgets) if captions is None else list(captions)
        if len(captions) != len(widgets) or not all(isinstance(c, str) for c in captions):
            raise ValueError(f"captions: expected {len(widgets)} strings, one per view, got {captions!r}")
        self.widgets, self.captions = widgets, captions

    def static_html(self) -> str:
        """The row of static copies: one ``<div>`` of ``<figure>``s (what exports and slides show)."""
        from . import export

        cells, need = [], True  # the front end goes with the first copy; the others load it from there
        for w, c in zip(self.widgets, self.captions):
            copy, carried = export.fragment_with_assets(w, export.STATIC_MAX_WEIGHTS, need)
            need = need and not carried
            cells.append(f'<figure style="{_CELL}">{copy}<figcaption style="{_CAPTION}">{html.escape(c)}</figcaption></figure>')
        return f'<div class="aw-row" style="{_ROW}">{"".join(cells)}</div>'

    def box(self):
        """The live row: an ``HBox`` of ``VBox(view, caption)``; captions are ``Label``s (text, not HTML)."""
        import ipywidgets as ipw

        cells = [ipw.VBox([w, ipw.Label(c, layout=ipw.Layout(align_self="center"))],
                          layout=ipw.Layout(flex="1 1 0", min_width="0"))
                 for w, c in zip(self.widgets, self.captions)]
        return ipw.HBox(cells, layout=ipw.Layout(width="100%", align_items="flex-start"))

    def _ipython_display_(self) -> None:
        from IPython import get_ipython
        from IPython.display import display

        from . import export

        shell = get_ipython()
        if shell is not None and type(shell).__name__ != "TerminalInteractiveShell":
            for w in self.widgets:          # each view's last state, for its static copy (see widget.py)
                if w._ui_record is None:
                    w._ui_record = export.UiRecord(w)
                w._ui_record.show()
            # an id of its own: the same views in another row (other captions) are another output
            export.show_copy(self.widgets, f"aw-row-{uuid.uuid4().hex[:12]}", self.static_html)
        bundle = self.box()._repr_mimebundle_()
        data, metadata = bundle if isinstance(bundle, tuple) else (bundle, None)
        display({**data, "text/plain": ""}, metadata=metadata, raw=True)


def side_by_side(*widgets: Any, captions: Sequence[str] | None = None) -> SideBySide:
    """Show ``widgets`` in one row with ``captions`` under them, live and in exported pages and slides."""
    return SideBySide(widgets, captions)
