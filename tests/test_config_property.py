"""Property: whatever the text of a cell or the keyword arguments, the magic raises only UsageError
and the API only ValueError (or succeeds); never anything else, never a dead kernel."""

from __future__ import annotations

import string

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from IPython.core.error import UsageError

import attnwidget
from attnwidget.config import KEYS

# Values a YAML body can hold, biased to small numbers so that some runs really build layers.
scalars = st.one_of(
    st.none(), st.booleans(), st.integers(-3, 40), st.integers(), st.floats(allow_nan=True),
    st.text(max_size=30), st.sampled_from(["global", "cross", "causal", "base", "gpu", "cpu", "$nope", "$ip", "[1, 3, 4]"]),
)
values = st.one_of(scalars, st.lists(scalars, max_size=4), st.lists(st.integers(0, 9), min_size=2, max_size=3))
key_names = st.one_of(st.sampled_from(sorted(KEYS)), st.text(string.ascii_lowercase + "_", min_size=1, max_size=12))
bodies = st.one_of(
    st.text(max_size=200),
    st.dictionaries(key_names, values, max_size=6).map(lambda d: yaml.safe_dump(d, allow_unicode=True)),
)
lines = st.one_of(st.just(""), st.text(string.ascii_letters + string.digits + " -_$'\"=", max_size=40))

FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                           HealthCheck.too_slow])


@FAST
@given(line=lines, body=bodies)
def test_magic_raises_only_usage_errors(ip, line, body):
    ip.user_ns["ip"] = object()
    res = ip.run_cell(f"%%attention {line}\n{body}" if body.strip() else f"%attention {line}", store_history=False)
    err = res.error_in_exec or res.error_before_exec
    assert err is None or type(err) is UsageError, repr(err)


@FAST
@given(cfg=st.dictionaries(key_names, values, max_size=6))
def test_api_raises_only_value_errors(cfg):
    try:
        attnwidget.attention(**cfg)
    except ValueError:
        pass
