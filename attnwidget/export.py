"""Static HTML copies of a widget: one self-contained, offline, still interactive view.

Used three ways: ``widget.to_html(path)`` / ``result.to_html(path)`` write a standalone page; and
every display in a notebook writes a ``text/html`` copy beside the live widget, which is what
``jupyter nbconvert --to html`` / ``--to slides`` and a notebook reopened without its kernel show.
The copy carries the same front end (gzipped, base64) and the data (uint8, base64) inline; the
page fetches nothing. JSON inside the page escapes ``<``, ``>`` and ``&``; token text reaches the
page only as JSON data and is drawn with ``textContent``.
"""

from __future__ import annotations

import base64
import functools
import gzip
import hashlib
import html
import json
import pathlib
import uuid
from typing import Any

from . import protocol

_STATIC = pathlib.Path(__file__).parent / "static"

#: Largest number of weights (all layers and batch elements) a notebook's static copy carries.
STATIC_MAX_WEIGHTS = 1 << 22
@functools.lru_cache(maxsize=4)
def _asset(name: str, mtime: float) -> tuple[str, str]:
    """(base64 of the gzipped file, short hash) of a built front-end file."""
    raw = (_STATIC / name).read_bytes()
    return base64.b64encode(gzip.compress(raw, 9, mtime=0)).decode("ascii"), hashlib.sha256(raw).hexdigest()[:16]


def asset(name: str) -> tuple[str, str]:
    path = _STATIC / name
    if not path.exists():
        raise FileNotFoundError(f"attnwidget's front end is not built ({path}); run: npm install && npm run build")
    return _asset(name, path.stat().st_mtime)


def _jsonable(value: Any) -> Any:
    if isinstance(value, (bytes, bytearray, memoryview)):
        return base64.b64encode(bytes(value)).decode("ascii")
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    return value


def script_json(value: Any) -> str:
    """JSON safe inside ``<script>``: ``<``, ``>`` and ``&`` escaped (no ``</script>`` or ``<!--``)."""
    text = json.dumps(_jsonable(value), ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    return (text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
            .replace("\u2028", "\\u2028").replace("\u2029", "\\u2029"))


def static_state(widget, max_weights: int | None = STATIC_MAX_WEIGHTS) -> dict[str, Any] | None:
    """:func:`attnwidget.protocol.snapshot` of the widget; None if over ``max_weights``."""
    if max_weights is not None and total_weights(widget) > max_weights:
        return None
    return protocol.snapshot(widget)


def total_weights(widget) -> int:
    """Weights of every layer and batch element (layers may differ in shape)."""
    return sum(int(w.scores.size) for w in widget._layers)


def fragment(widget, max_weights: int | None = STATIC_MAX_WEIGHTS) -> str:
    """An HTML fragment that shows the widget without a kernel (scripts must be allowed to run)."""
    box_id = f"aw-{uuid.uuid4().hex}"
    uid = html.escape(getattr(widget, "_uid", "") or "", quote=True)
    state = static_state(widget, max_weights)
    if state is None:
        return (f'<div class="attnwidget-static" data-aw-uid="{uid}"><p>attnwidget: {total_weights(widget):,} '
                f"weights are more than a static copy carries ({max_weights:,}); run the cell with a kernel, "
                "or use widget.to_html(path, max_weights=None).</p></div>")
    bundle, bundle_hash = asset("widget.js")
    css, css_hash = asset("widget.css") if (_STATIC / "widget.css").exists() else ("", "none")
    boot = (_STATIC / "static.js").read_text(encoding="utf-8")
    return (
        f'<div class="attnwidget-static" id="{box_id}" data-aw-uid="{uid}">'
        '<div class="aw-static-note" style="font:13px sans-serif;padding:6px;opacity:.7">'
        "Interactive attention view (attnwidget): it appears when this page may run scripts "
        "(in JupyterLab: trust the notebook, or run the cell).</div>"
        '<div class="aw-mount"></div>'
        f'<script type="application/json" class="aw-state">{script_json(state)}</script>'
        f'<script type="text/plain" class="aw-bundle" data-hash="{bundle_hash}">{bundle}</script>'
        f'<script type="text/plain" class="aw-css" data-hash="{css_hash}">{css}</script>'
        f"<script type=\"module\">{boot}\nawait globalThis.__attnwidgetBoot({json.dumps(box_id)});</script>"
        "</div>"
    )


def page(widget, title: str = "attention", max_weights: int | None = None) -> str:
    """A whole HTML document around :func:`fragment`."""
    return ("<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>{html.escape(title)}</title>"
            "<style>body{margin:16px;font-family:system-ui,sans-serif}</style></head>\n<body>\n"
            f"{fragment(widget, max_weights)}\n</body></html>\n")


def to_html(widget, path: str | pathlib.Path | None = None, *, title: str = "attention",
            max_weights: int | None = None) -> str:
    """Write (if ``path``) and return a self-contained page of the widget; works offline, no kernel."""
    text = page(widget, title=title, max_weights=max_weights)
    if path is not None:
        pathlib.Path(path).write_text(text, encoding="utf-8")
    return text
