"""nbconvert exporters that make pages which load nothing from the network.

``jupyter nbconvert --to attnwidget_html NOTEBOOK`` and ``--to attnwidget_slides NOTEBOOK``:
like ``--to html`` / ``--to slides``, but without the CDN scripts of nbconvert's own templates
(RequireJS, jQuery, MathJax, Mermaid, reveal.js, the widget manager). reveal.js is inlined from
the copy the package ships. Saved widget state is left out, so every attnwidget view is shown
by its own static copy (see :mod:`attnwidget.export`), interactive and offline. Other widgets
and LaTeX math are not rendered by these exporters.
"""

from __future__ import annotations

import copy
import pathlib

from nbconvert.exporters import HTMLExporter, SlidesExporter
from traitlets import default

_HERE = pathlib.Path(__file__).parent
_TEMPLATES = _HERE / "templates"
_REVEAL = _HERE / "static" / "reveal"


def _without_widget_state(nb):
    if "widgets" not in nb.metadata:
        return nb
    nb = copy.deepcopy(nb)
    del nb.metadata["widgets"]
    return nb


class _Offline(HTMLExporter):
    """What both exporters share: our templates, and no saved widget state (so the copies show)."""

    offline_template = ""  # our template folder under templates/

    @default("extra_template_basedirs")
    def _default_extra_template_basedirs(self):
        return [str(_TEMPLATES)]

    @default("template_name")
    def _template_name_default(self):
        return self.offline_template

    def from_notebook_node(self, nb, resources=None, **kw):
        return super().from_notebook_node(_without_widget_state(nb), resources, **kw)


class OfflineHTMLExporter(_Offline):
    """``--to attnwidget_html``: a notebook page with no request outside the file."""

    export_from_notebook = "HTML (offline, attnwidget)"
    offline_template = "attnwidget_html"


class OfflineSlidesExporter(_Offline, SlidesExporter):
    """``--to attnwidget_slides``: reveal.js slides with no request outside the file."""

    export_from_notebook = "Reveal.js slides (offline, attnwidget)"
    offline_template = "attnwidget_slides"

    # A projector's 1280×720 (reveal.js then scales the slide to the screen); the widgets on a slide
    # default to the presenter scale and fit the slide's height (js/fit.js).
    @default("reveal_width")
    def _reveal_width_default(self):
        return "1280"

    @default("reveal_height")
    def _reveal_height_default(self):
        return "720"

    def _init_resources(self, resources):
        resources = super()._init_resources(resources)
        js = (_REVEAL / "reveal.js").read_text(encoding="utf-8")
        if "</script" in js.lower():  # would end the inline <script> early
            raise RuntimeError("reveal.js contains '</script'; cannot inline it")
        resources["attnwidget_reveal"] = {
            "js": js,
            "css": (_REVEAL / "reveal.css").read_text(encoding="utf-8"),
            "theme": (_REVEAL / "theme.css").read_text(encoding="utf-8"),
        }
        return resources
