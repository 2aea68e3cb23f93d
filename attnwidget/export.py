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
import threading
import time
import uuid
from typing import Any

from . import protocol

_STATIC = pathlib.Path(__file__).parent / "static"
#: The live widget's module when the front end is not built (a checkout before ``npm run build``).
MISSING_BUNDLE = """export default { render({ el }) {
  el.textContent = "attnwidget: the front end is not built (attnwidget/static/widget.js); run: npm install && npm run build";
} };"""


def front_end(name: str, missing: str) -> str:
    """A built front-end file's text (the live widget's ``_esm`` / ``_css``), or ``missing`` when not built.
    Text, not a Path: anywidget watches a Path for edits with a callback that would keep every widget alive
    after close()."""
    path = _STATIC / name
    return path.read_text(encoding="utf-8") if path.exists() else missing

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
    """:func:`attnwidget.protocol.snapshot` of the widget, its explain table packed; None if over ``max_weights``."""
    if max_weights is not None and total_weights(widget) > max_weights:
        return None
    return pack_explain(protocol.snapshot(widget))


#: What an explain entry carries that follows from the rest (``logits = dots × scale``, ``weights`` their
#: softmax, ``output = Σ wⱼ vⱼ``): left out of static copies, computed again by js/restore.js unpackExplain.
DERIVED = ("logits", "weights", "output")


def pack_explain(state: dict[str, Any]) -> dict[str, Any]:
    """``state`` with the explain table's derived fields left out (about half its bytes)."""
    table = state.get("_explain_table") or {}
    if table:
        state["_explain_table"] = {k: {f: v for f, v in e.items() if f not in DERIVED} if "error" not in e else e
                                   for k, e in table.items()}
        state["_explain_packed"] = True
    return state


def total_weights(widget) -> int:
    """Weights of every layer and batch element (layers may differ in shape)."""
    return sum(int(w.scores.size) for w in widget._layers)


def fragment(widget, max_weights: int | None = STATIC_MAX_WEIGHTS) -> str:
    """An HTML fragment that shows the widget without a kernel (scripts must be allowed to run)."""
    return fragment_with_assets(widget, max_weights, True)[0]


def fragment_with_assets(widget, max_weights: int | None, assets: bool) -> tuple[str, bool]:
    """(:func:`fragment`, whether it carries the front end). ``assets=False``: the copy names the front end's
    hash (``data-aw-bundle``, ``data-aw-css``) and loads it from another copy on the same page, which
    ``side_by_side``'s row has once. A copy over ``max_weights`` is a note, with nothing to carry."""
    box_id = f"aw-{uuid.uuid4().hex}"
    uid = html.escape(getattr(widget, "_uid", "") or "", quote=True)
    state = static_state(widget, max_weights)
    if state is None:
        return (f'<div class="attnwidget-static" data-aw-uid="{uid}"><p>attnwidget: {total_weights(widget):,} '
                f"weights are more than a static copy carries ({max_weights:,}); run the cell with a kernel, "
                "or use widget.to_html(path, max_weights=None).</p></div>"), False
    bundle, bundle_hash = asset("widget.js")
    css, css_hash = asset("widget.css") if (_STATIC / "widget.css").exists() else ("", "none")
    boot = (_STATIC / "static.js").read_text(encoding="utf-8")
    carried = (f'<script type="text/plain" class="aw-bundle" data-hash="{bundle_hash}">{bundle}</script>'
               f'<script type="text/plain" class="aw-css" data-hash="{css_hash}">{css}</script>') if assets else ""
    return (
        f'<div class="attnwidget-static" id="{box_id}" data-aw-uid="{uid}" data-aw-bundle="{bundle_hash}" data-aw-css="{css_hash}">'
        '<div class="aw-static-note" style="font:13px sans-serif;padding:6px;opacity:.7">'
        "Interactive attention view (attnwidget): it appears when this page may run scripts "
        "(in JupyterLab: trust the notebook, or run the cell).</div>"
        '<div class="aw-mount"></div>'
        f'<script type="application/json" class="aw-state">{script_json(state)}</script>'
        f"{carried}"
        f"<script type=\"module\">{boot}\nawait globalThis.__attnwidgetBoot({json.dumps(box_id)});</script>"
        "</div>"
    ), assets


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


# --- the live view's last state, for the static copy of a saved notebook -----------------------------

UI_TRAITS = protocol.UI_TRAITS


def ui_bundle(widget) -> dict[str, str]:
    """The small output's mime bundle: the UI traits as JSON in a ``<script class="aw-ui">`` (shows nothing)."""
    uid = html.escape(getattr(widget, "_uid", "") or "", quote=True)
    state = {k: getattr(widget, k) for k in UI_TRAITS}
    return {"text/html": f'<script type="application/json" class="aw-ui" data-aw-uid="{uid}">{script_json(state)}</script>',
            "text/plain": ""}


class UiRecord:
    """A small output (``display_id``) beside a shown widget's static copy, kept equal to the live view's
    view, layer, heads, pin, scale and colours, so a notebook saved after a lecture reopens (and exports)
    as it was left. A change after a quiet spell is written at once (within the cell that made it);
    changes that follow it within ``delay`` seconds are written together once they stop."""

    def __init__(self, widget, delay: float = 0.3):
        self.widget, self.delay = widget, delay
        self.display_id = f"aw-ui-{widget._uid}"
        self._timer: threading.Timer | None = None
        self._last = 0.0
        self._lock = threading.Lock()

    def show(self) -> None:
        from IPython.display import display

        display(ui_bundle(self.widget), raw=True, display_id=self.display_id)
        self._last = time.monotonic()

    def changed(self) -> None:
        with self._lock:
            if self._timer is not None:
                return
            quiet = time.monotonic() - self._last >= self.delay
            if not quiet:
                self._timer = threading.Timer(self.delay, self._trailing)
                self._timer.daemon = True
                self._timer.start()
        if quiet:
            self.write()

    def _trailing(self) -> None:
        with self._lock:
            self._timer = None
        self.write()

    def write(self) -> None:
        from IPython.display import update_display

        self._last = time.monotonic()
        update_display(ui_bundle(self.widget), raw=True, display_id=self.display_id)


def display_widget(widget) -> None:
    """Show ``widget`` in a notebook as three outputs: the live view's last state (a small output kept
    current, :class:`UiRecord`), a static HTML copy (what nbconvert, slides and a reopened notebook show)
    and the live view (which hides the copy beside it when it renders)."""
    from IPython import get_ipython
    from IPython.display import display

    shell = get_ipython()
    if shell is not None and type(shell).__name__ != "TerminalInteractiveShell":
        # First a small output the static copy reads when it boots: the live view's last state.
        if widget._ui_record is None:
            widget._ui_record = UiRecord(widget)
        widget._ui_record.show()
        show_copy([widget], copy_id(widget), lambda: fragment(widget))
    bundle = widget._repr_mimebundle_()
    data, metadata = bundle if isinstance(bundle, tuple) else (bundle, None)
    # An empty text/plain: where the live view cannot show (exports), the static copy stands for it.
    display({**data, "text/plain": ""}, metadata=metadata, raw=True)


def copy_id(widget) -> str:
    """The display id of ``widget``'s static copy in a notebook (:func:`display_widget`)."""
    return f"aw-copy-{widget._uid}"


def show_copy(widgets, display_id: str, render) -> None:
    """Display ``render()`` (static HTML of ``widgets``: one copy, or :mod:`~attnwidget.sidebyside`'s row) as
    ``display_id``, and remember it on each widget, so :func:`rewrite_copies` can write it again."""
    from IPython.display import display

    display({"text/html": render()}, raw=True, display_id=display_id)
    for w in widgets:
        w._copies = {**(w._copies or {}), display_id: render}


def rewrite_copies(widget) -> None:
    """Write again every static copy ``widget`` was shown in: its data changed (``hidden_keys``), which the
    small output of UI traits does not carry, so a saved notebook reopens and exports as the live view was."""
    from IPython.display import update_display

    for display_id, render in (widget._copies or {}).items():
        update_display({"text/html": render()}, raw=True, display_id=display_id)
