"""Runs the front end's unit tests (codec, layout, colour scale, top-k) with node's test runner."""

from __future__ import annotations

import pathlib
import shutil
import subprocess

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]


def test_js_unit_tests_pass():
    node = shutil.which("node")
    if node is None:
        pytest.fail("node is needed for the front end's unit tests (the README's set-up installs Node 20)")
    files = sorted(str(p) for p in (ROOT / "js" / "tests").glob("*.test.js"))
    assert files, "no JS unit tests found in js/tests/"
    out = subprocess.run([node, "--test", *files], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stdout[-4000:] + out.stderr[-2000:]
    assert "# fail 0" in out.stdout
