"""Static copies: self-contained HTML, escaped JSON, compact data, and the offline nbconvert exporters."""

from __future__ import annotations

import base64
import json
import re

import numpy as np
import pytest

from attnwidget import AttentionWidget, export

HOSTILE = ["</script><script>window.__pwned=1</script>", "<img src=x onerror=alert(1)>", "<!--", "\"'&amp;"]


def _state(html: str) -> dict:
    m = re.search(r'<script type="application/json" class="aw-state">(.*?)</script>', html, re.S)
    return json.loads(m.group(1))


def test_json_in_the_page_escapes_angle_brackets_and_ampersands():
    w = AttentionWidget(np.full((1, 4, 4), 0.25, np.float32), HOSTILE)
    html = w.to_html()
    m = re.search(r'class="aw-state">(.*?)</script>', html, re.S)
    payload = m.group(1)
    assert "<" not in payload and ">" not in payload and "&" not in payload
    assert _state(html)["query_tokens"] == HOSTILE  # the text survives as data
    assert html.count("</script>") == 4  # only our own script elements end


def test_the_page_needs_no_network():
    w = AttentionWidget(np.full((2, 3, 3), 1 / 3, np.float32), ["a", "b", "c"])
    html = w.to_html()
    assert not re.search(r'(src|href)\s*=\s*["\']?(https?:)?//', html)
    assert "import(" not in html.split("aw-bundle")[0]  # no module fetched by URL
    state = _state(html)
    assert len(state["_data"]["q"]) == len(__import__("base64").b64encode(bytes(18)))  # uint8, base64


def test_every_layer_and_batch_slice_travels_for_a_static_page():
    rng = np.random.default_rng(0)
    layers = [rng.random((2, 3, 4, 4)).astype(np.float32) for _ in range(2)]
    w = AttentionWidget(layers, list("abcd"), layer_names=["l0", "l1"])
    state = export.static_state(w)
    assert set(state["_slices"]) == {"0,0", "0,1", "1,0", "1,1"}
    assert state["_exact"] == {"query": None, "key": None}
    # the shown slice travels once: in _slices, not again as _data
    w.layer, w.batch = 1, 1
    state = export.static_state(w)
    assert state["_data"] is None and state["_slices"]["1,1"] == w._data
    assert w.to_html().count(base64.b64encode(w._data["q"]).decode()) == 1


def test_large_widgets_get_a_note_instead_of_a_copy():
    w = AttentionWidget(np.zeros((1, 8, 8), np.float32), list("abcdefgh"))
    frag = export.fragment(w, max_weights=10)
    assert "more than a static copy carries" in frag and "aw-state" not in frag


def test_to_html_writes_the_file(tmp_path):
    w = AttentionWidget(np.full((1, 2, 2), 0.5, np.float32), ["x", "y"])
    out = tmp_path / "view.html"
    text = w.to_html(out, title="a <b> title")
    assert out.read_text() == text and "<title>a &lt;b&gt; title</title>" in text


def test_magic_html_option(ip, tmp_path):
    path = tmp_path / "it.html"
    res = ip.run_cell_magic("attention", f"--html {path} --select it",
                            "query: The animal didn't cross the street because it was too tired")
    state = _state(path.read_text())
    assert state["selected_query"] == 7 and state["query_tokens"] == res.query_tokens


def test_offline_exporters_are_registered():
    from nbconvert.exporters import get_exporter

    assert get_exporter("attnwidget_html").__name__ == "OfflineHTMLExporter"
    assert get_exporter("attnwidget_slides").__name__ == "OfflineSlidesExporter"


@pytest.mark.parametrize("name", ["attnwidget_html", "attnwidget_slides"])
def test_offline_exports_reference_nothing_remote(name):
    import nbformat
    from nbconvert.exporters import get_exporter

    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell("# title")]
    nb.metadata["widgets"] = {"application/vnd.jupyter.widget-state+json": {"state": {}}}
    body, _ = get_exporter(name)().from_notebook_node(nb)
    assert not re.search(r'(src|href)\s*=\s*["\']?(https?:)?//', body)
    assert "require(" not in body and "jquery" not in body.lower().split("reveal")[0]


def test_a_layer_left_out_of_the_copys_explain_data_says_why():
    """Past EXPLAIN_MAX_QUERIES query tokens a static copy carries no explain numbers; its state says so in
    words (the view shows them) instead of passing for bare scores. A short layer and bare scores carry none."""
    import attnwidget
    from attnwidget import protocol

    n = protocol.EXPLAIN_MAX_QUERIES + 1
    long = attnwidget.attention(kind="global", num_heads=1, key_dim=4, query=" ".join(f"t{i}" for i in range(n)))
    state = export.static_state(long.widget, max_weights=None)
    assert long.widget._can_explain and state["_can_explain"] is False and state["_explain_table"] == {}
    assert state["_explain_left_out"] == (
        f"this static copy leaves out the explain view's numbers for this layer: {n} query tokens "
        f"(it carries them for up to {protocol.EXPLAIN_MAX_QUERIES}); run the notebook to explain it")
    short = attnwidget.attention(kind="global", num_heads=1, key_dim=4, query="the animal did not cross")
    state = export.static_state(short.widget, max_weights=None)
    assert state["_can_explain"] is True and state["_explain_left_out"] is None
    bare = AttentionWidget(np.full((1, 3, 3), 1 / 3), list("abc"))
    assert export.static_state(bare, max_weights=None)["_explain_left_out"] is None
