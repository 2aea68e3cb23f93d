"""The browser benchmark's parts; the command is ``benchmarks/bench_browser.py``."""

import pathlib
import sys

ROOT = pathlib.Path(__file__).resolve().parents[2]
# Chromium is found, launched and fenced off the network by the tests' own harness (tests/harness.py).
if str(ROOT / "tests") not in sys.path:
    sys.path.insert(0, str(ROOT / "tests"))
