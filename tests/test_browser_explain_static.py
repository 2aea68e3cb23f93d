"""What a static copy's explain view says where it carries no numbers (js/explain.js, protocol.py snapshot),
opened in Debian's Chromium: there is no kernel to wait for, so it names what the copy holds instead of
waiting, or of passing a real layer off as bare scores."""

from __future__ import annotations

import numpy as np
import pytest

pytestmark = pytest.mark.browser

MESSAGE = "(el) => el.querySelector('.aw-explain-message').textContent"
ROWS = "(el) => Array.from(el.querySelectorAll('tr[data-explain-key]'), (r) => Number(r.dataset.weight))"


def open_copy(browser, widget, path):
    widget.to_html(path)
    page = browser.new_page()
    page.goto(path.as_uri())
    root = page.locator(".attnwidget").first
    root.locator(".aw-explain").wait_for()
    return page, root


def test_a_long_layer_says_the_copy_left_its_numbers_out(browser, tmp_path):
    import attnwidget
    from attnwidget import protocol

    n = protocol.EXPLAIN_MAX_QUERIES + 36
    res = attnwidget.attention(kind="global", num_heads=1, key_dim=4, max_tokens=n, query=" ".join(f"t{i}" for i in range(n)))
    res.widget.view, res.widget.selected_query = "explain", 70
    page, root = open_copy(browser, res.widget, tmp_path / "long.html")
    page.wait_for_function(f"(el) => ({MESSAGE})(el).includes('leaves out')", arg=root.element_handle())
    assert root.evaluate(MESSAGE) == (f"this static copy leaves out the explain view's numbers for this layer: {n} query "
                                      f"tokens (it carries them for up to {protocol.EXPLAIN_MAX_QUERIES}); run the notebook to explain it")
    # nothing to pin for: no query strip, no table
    assert root.locator(".aw-explain-tokens").is_hidden() and root.locator(".aw-explain-scroll").is_hidden()
    page.close()


def test_another_layer_or_batch_item_names_the_one_the_copy_explains(browser, tmp_path):
    import keras

    import attnwidget

    x_in, c_in = keras.Input((6, 8)), keras.Input((4, 8))
    a = keras.layers.MultiHeadAttention(num_heads=2, key_dim=4, name="self_mha")(x_in, x_in)
    b = keras.layers.MultiHeadAttention(num_heads=3, key_dim=4, name="cross_mha")(a, c_in)
    model = keras.Model([x_in, c_in], keras.layers.Dense(5)(b))
    rng = np.random.default_rng(0)
    x, c = rng.standard_normal((2, 6, 8)).astype("f4"), rng.standard_normal((2, 4, 8)).astype("f4")
    res = attnwidget.capture(model, [x, c], tokens=list("abcdef"), context_tokens=list("wxyz"))
    w = res.widget
    w.view, w.selected_query = "explain", 2
    page, root = open_copy(browser, w, tmp_path / "layers.html")
    root.locator("tr[data-explain-key]").first.wait_for()
    own = np.asarray(res.layers["self_mha"][0, 0, 2], dtype=np.float64)
    np.testing.assert_allclose(root.evaluate(ROWS), own, atol=1e-6)
    app = "(p) => document.querySelector('.attnwidget').attnwidget.app.set(p)"
    told = "this static copy carries the explain view's numbers for self_mha{} only: show that one, or run the notebook to explain this one"
    for patch, said in (({"layer": 1}, told.format("")), ({"layer": 0, "batch": 1}, told.format(", batch item 0"))):
        page.evaluate(app, patch)
        page.wait_for_function(f"([el, m]) => ({MESSAGE})(el) === m", arg=[root.element_handle(), said])
        assert "kernel" not in root.evaluate(MESSAGE)
    page.evaluate(app, {"batch": 0})
    page.wait_for_function(f"(el) => ({MESSAGE})(el) === '' && el.querySelectorAll('tr[data-explain-key]').length", arg=root.element_handle())
    np.testing.assert_allclose(root.evaluate(ROWS), own, atol=1e-6)
    page.close()
