"""Reliability: memory that comes back, bombs refused before they go off, failed runs that leave nothing behind."""

from __future__ import annotations

import gc
import json
import subprocess
import sys
import textwrap
import weakref

import numpy as np
import pytest

import attnwidget
from attnwidget.body import parse_body
from attnwidget.config import ConfigError


def test_closed_widgets_are_collected():
    refs = []
    for _ in range(5):
        w = attnwidget.AttentionWidget(np.full((2, 4, 4), 0.25, "float32"), list("abcd"))
        refs.append(weakref.ref(w))
        w.close()
        del w
    gc.collect()
    assert [r() for r in refs] == [None] * 5


def _limited(code: str, limit_gib: float = 3.0, timeout: float = 120.0) -> dict:
    """Run ``code`` in a subprocess under an address-space limit; it prints one JSON line."""
    prelude = (f"import resource; resource.setrlimit(resource.RLIMIT_AS, ({int(limit_gib * 2**30)}, "
               f"{int(limit_gib * 2**30)}))\n")
    proc = subprocess.run([sys.executable, "-c", prelude + textwrap.dedent(code)], capture_output=True, text=True,
                          timeout=timeout)
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")]
    assert proc.returncode == 0 and lines, proc.stderr[-2000:]
    return json.loads(lines[-1])


BOMB = "query: &l0 [a, b, c, d, e, f, g, h, i]\n" + "".join(
    f"k{i}: &l{i} [" + ", ".join([f"*l{i - 1}"] * 9) + "]\n" for i in range(1, 10))


def test_a_yaml_alias_bomb_is_refused_at_once_under_a_memory_limit():
    out = _limited(f"""
        import json, time
        from attnwidget.body import parse_body
        t = time.perf_counter()
        try:
            parse_body({BOMB!r})
            msg = "parsed"
        except ValueError as e:
            msg = str(e)
        print(json.dumps({{"msg": msg, "s": time.perf_counter() - t}}))
    """, limit_gib=1.0)
    assert out["msg"].startswith("cell body: its aliases (&name … *name) expand to more than 1,000,000 values")
    assert out["s"] < 5


@pytest.mark.parametrize("cfg, key", [
    (dict(kind="global", num_heads=128, key_dim=4096, d_model=4096, query="a b c"), "num_heads"),
    (dict(kind="encoder", num_layers=48, d_model=4096, dff=65536, query="a b c"), "num_layers"),
])
def test_settings_that_exhaust_memory_together_are_refused_before_building(cfg, key):
    out = _limited(f"""
        import json, attnwidget
        try:
            attnwidget.attention(**{cfg!r})
            msg = "ran"
        except ValueError as e:
            msg = str(e)
        print(json.dumps({{"msg": msg}}))
    """, limit_gib=6.0, timeout=300)
    assert out["msg"].startswith(f"{key}: this configuration needs about "), out["msg"]
    assert "or raise max_memory" in out["msg"] and "\n" not in out["msg"]


def test_max_memory_takes_sizes():
    with pytest.raises(ConfigError, match=r"^num_heads: this configuration needs about .* \(max_memory\)"):
        attnwidget.attention(kind="global", query="a b c", max_memory="1kb")
    with pytest.raises(ConfigError, match=r"^max_memory: expected bytes \(an integer\) or a size like '8GB', got 'lots'$"):
        attnwidget.attention(kind="global", query="a b c", max_memory="lots")
    assert attnwidget.attention(kind="global", query="a b c", max_memory="2GiB").scores.shape == (1, 2, 3, 3)


YAML_CASES = [
    ("query: " + "[" * 40 + "]" * 40, "cell body: nested deeper than 32 levels (line 1)"),
    ("seed: " + "7" * 5000, "cell body: a number has more than 4,300 digits, more than Python reads"),
    ("? [a, b]\n: 1", "cell body: keys must be names, got a sequence (line 1)"),
    ("? {a: 1}\n: 1", "cell body: keys must be names, got a mapping (line 1)"),
    ("query: Note: it was late", "cell body: YAML syntax error at line 1, column 12: mapping values are not allowed "
                                 "here; a text with ': ' in it must be quoted"),
]


@pytest.mark.parametrize("body, message", YAML_CASES, ids=[m.split(" (")[0][:40] for _, m in YAML_CASES])
def test_yaml_edge_cases_give_one_line(body, message):
    with pytest.raises(ConfigError) as err:
        parse_body(body)
    assert str(err.value).startswith(message) and "\n" not in str(err.value)


@pytest.fixture
def failing_layer():
    import keras

    class Failing(keras.layers.MultiHeadAttention):
        def call(self, query, value, key=None, **kwargs):
            raise RuntimeError("the user's layer broke")

    return Failing(num_heads=2, key_dim=4)


def test_a_failed_run_leaves_no_cached_state_behind(failing_layer):
    import keras

    from attnwidget import run as run_step

    text = "the cat sat on the mat"
    good = keras.layers.MultiHeadAttention(num_heads=2, key_dim=4, seed=1)
    run_step.clear_cache()
    fresh = attnwidget.attention(layer=good, query=text, seed=3)
    run_step.clear_cache()
    with pytest.raises(ConfigError, match=r"^layer: Failing failed on these inputs: RuntimeError: the user's layer broke$"):
        attnwidget.attention(layer=failing_layer, query=text, seed=3)
    after = attnwidget.attention(layer=good, query=text, seed=3)
    np.testing.assert_array_equal(after.inputs["query"], fresh.inputs["query"])
    np.testing.assert_array_equal(after.scores, fresh.scores)


def test_the_magic_shows_a_users_failure_as_one_line_with_the_traceback_for_tb(ip, failing_layer, capsys):
    ip.user_ns["bad"] = failing_layer
    res = ip.run_cell("%%attention -o out\nlayer: $bad\nquery: a b c", store_history=False)
    err = res.error_in_exec
    assert type(err).__name__ == "RunFailed"
    assert str(err) == "layer: Failing failed on these inputs: RuntimeError: the user's layer broke"
    assert isinstance(err.__cause__, RuntimeError)
    printed = capsys.readouterr().err.strip().splitlines()
    assert printed[-1] == f"attention: {err} (%tb shows the traceback)"
    ip.run_line_magic("tb", "")
    assert "the user's layer broke" in capsys.readouterr().out


INTERRUPT = """
import _thread, json, sys, threading, time
from attnwidget import backend
import attnwidget
timer = threading.Timer({delay}, _thread.interrupt_main)
timer.start()
try:
    backend.load_keras(None)
    timer.cancel()  # an import that finished first is not interrupted later, in the run below
    first = "finished"
except KeyboardInterrupt:
    first = "interrupted"
time.sleep(0.1)
try:
    res = attnwidget.attention(kind="global", query="a b c")
    second = "ran " + str(res.scores.shape)
except BaseException as e:
    second = type(e).__name__ + ": " + str(e)
print(json.dumps({{"first": first, "second": second}}))
"""


@pytest.mark.parametrize("delay", [0.05, 1.0, 2.5])
def test_an_interrupted_first_import_leaves_the_extension_usable_or_says_restart(delay):
    """Ctrl-C (``_thread.interrupt_main``) at several points of the first import: the process survives and the
    next run either imports and runs or says in one line to restart (never a half-imported module)."""
    proc = subprocess.run([sys.executable, "-c", INTERRUPT.format(delay=delay)], capture_output=True, text=True,
                          timeout=300)
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")]
    assert proc.returncode == 0 and lines, (proc.returncode, proc.stderr[-1500:])
    out = json.loads(lines[-1])
    restart = ("ConfigError: attnwidget: the first import of Keras was interrupted and cannot be finished in this "
               "process; restart the kernel")
    if out["first"] == "finished":
        assert out["second"] == "ran (1, 2, 3, 3)"
    else:
        assert out["second"] in ("ran (1, 2, 3, 3)", restart), out
    if delay == 0.05:
        assert out["first"] == "interrupted"
