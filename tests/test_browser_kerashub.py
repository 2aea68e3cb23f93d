"""A captured Llama-style KerasHub model in Chromium: its model view renders, and a click pins a token."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest

from browser_support import pinned
from harness import PIXELS, Browser

pytestmark = [pytest.mark.browser,
              pytest.mark.skipif(importlib.util.find_spec("keras_hub") is None, reason="keras-hub is not installed (the test extra installs it: pip install -e '.[test]')")]


@pytest.fixture(scope="module")
def page_path(tmp_path_factory):
    import keras_hub

    import attnwidget

    model = keras_hub.models.LlamaBackbone(vocabulary_size=50, num_layers=2, num_query_heads=4,
                                           num_key_value_heads=2, hidden_dim=16, intermediate_dim=32)
    ids = np.array([[5, 6, 7, 8, 9, 10], [3, 4, 5, 6, 0, 0]], "int32")
    res = attnwidget.capture(model, {"token_ids": ids, "padding_mask": ids != 0},
                             tokens=["<s>", "the", "cat", "sat", "on", "mats"])
    assert res.layer_kinds == {"transformer_layers_0/self_attention": "causal",
                               "transformer_layers_1/self_attention": "causal"}
    w = res.widget
    w.view = "model"
    path = tmp_path_factory.mktemp("kerashub") / "llama.html"
    w.to_html(path)
    return path


def test_model_view_renders_and_a_click_pins_a_token(page_path):
    browser = Browser()
    try:
        page = browser.new_page()
        page.goto(page_path.as_uri())
        canvas = page.locator(".aw-model-canvas").first
        canvas.wait_for(state="visible", timeout=30_000)
        box = canvas.bounding_box()
        assert box["width"] > 50 and box["height"] > 50
        painted = page.evaluate("""(c) => { const d = PIXELS(c);
            let n = 0; for (let i = 3; i < d.length; i += 4) n += d[i] > 0; return n; }""".replace("PIXELS", PIXELS), canvas.element_handle())
        assert painted > 100  # layer × head thumbnails drawn
        page.locator('button[data-view="graph"]').first.click()
        token = page.locator('[data-side="query"][data-index="2"]').first
        token.click()
        assert pinned(token, True)
        assert token.get_attribute("title").endswith("cat")
        assert browser.console_errors == [] and browser.blocked == []
    finally:
        browser.close()
