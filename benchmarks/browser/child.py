"""One page measured in a child process with a fresh Chromium, which the parent kills if it hangs.

Playwright's own timeouts do not fire while the page's main thread is busy (a wait_for_function on
BertViz at T = 1024 outlived its 30 s timeout by minutes), so the child writes what it has done to
a progress file, phase by phase, and the parent kills the child's whole process group when a phase
runs past its time-box, keeping what was measured before.
"""

from __future__ import annotations

import json
import os
import pathlib
import subprocess
import sys
import time

from harness import Browser, chromium_or_exit

from . import ROOT

# Beyond the harness's flags: exact heap sizes, and no throttling of a page that seems idle.
BENCH_ARGS = ["--enable-precise-memory-info", "--disable-renderer-backgrounding", "--disable-background-timer-throttling"]
# Phases that are bookkeeping, not a figure: they get 30 s beyond the time-box rather than 5.
SLOW_PHASES = ("start", "lab", "kernel", "check", "prepare click", "verify click", "prepare hover", "verify hover", "prepare key", "verify key",
               "heap", "profile")
ENTRY = ROOT / "benchmarks" / "bench_browser.py"  # runs a spec with --measure


class Session:
    """A fresh Chromium with one 1280 × 1000 page and a CDP session on it; ``serve`` as in
    :meth:`harness.Browser.new_page` (BertViz's CDN files). Page errors, console errors and a
    renderer crash are listed in ``errors``."""

    def __init__(self, serve: dict[str, bytes] | None = None):
        self.browser = Browser(BENCH_ARGS, executable=chromium_or_exit())
        self.page = self.browser.new_page(serve=serve)
        self.errors = self.browser.console_errors
        self.page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        self.page.on("crash", lambda p: self.errors.append("renderer crashed"))
        self.cdp = self.page.context.new_cdp_session(self.page)

    @property
    def blocked(self) -> list[str]:
        return self.browser.blocked

    @property
    def served(self) -> list[str]:
        return self.browser.served

    def close(self):
        try:
            self.browser.close()
        except Exception as exc:  # noqa: BLE001 - a hung or crashed browser: its process is gone either way
            self.errors.append(f"close: {exc}")


class Progress:
    """What a measuring child process has done so far, in a JSON file the parent watches."""

    def __init__(self, path: pathlib.Path):
        self.path = path
        self.data = {"phase": "start", "since": time.time(), "result": {}}
        self._write()

    def _write(self):
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.data, default=str))
        os.replace(tmp, self.path)

    def phase(self, name: str):
        self.data["phase"], self.data["since"] = name, time.time()
        self._write()

    def update(self, **kw):
        self.data["result"].update(kw)
        self._write()

    def fail(self, exc: BaseException, errors: list[str]):
        """Record why the child stopped (the parent reads it) and the page's first errors."""
        self.data["error"] = failure(exc)
        self.update(errors=[*self.data["result"].get("errors", []), *(e[:300] for e in errors[:3])])


def run_child(spec: dict, timeout_s: float, work: pathlib.Path) -> tuple[dict, str | None, str | None]:
    """Run ``bench_browser.py --measure SPEC`` in a child process group; kill it when a phase runs past
    ``timeout_s``. Returns (what it measured, why it stopped early or None, the phase it was in)."""
    prog = work / f"progress-{spec['kind']}-{spec['tool']}-{spec.get('view', '')}-{spec['t']}.json"
    log = work / f"{prog.stem}.log"
    spec = {**spec, "progress": str(prog), "timeout": timeout_s}
    with open(log, "w") as lf:
        proc = subprocess.Popen([sys.executable, str(ENTRY), "--measure", json.dumps(spec)],
                                cwd=ROOT, stdout=lf, stderr=subprocess.STDOUT, start_new_session=True)
    killed = None
    started = time.time()
    while proc.poll() is None:
        time.sleep(0.2)
        try:
            p = json.loads(prog.read_text())
        except (OSError, ValueError):
            p = {"phase": "start", "since": started}
        limit = timeout_s + (30 if p["phase"] in SLOW_PHASES else 5)
        if time.time() - p["since"] > limit:
            killed = p["phase"]
            os.killpg(proc.pid, 9)
            proc.wait()
    try:
        p = json.loads(prog.read_text())
    except (OSError, ValueError):
        p = {"phase": "start", "result": {}}
    why = "timeout" if killed else p.get("error")
    if not why and proc.returncode != 0:
        tail = [x for x in log.read_text(errors="replace").splitlines() if x.strip()][-1:]
        why = f"failed: exit {proc.returncode} {tail}"
    return p.get("result", {}), why, (killed or p.get("phase")) if why else None


def failure(exc: BaseException) -> str:
    from playwright.sync_api import TimeoutError as PwTimeout

    if isinstance(exc, (PwTimeout, subprocess.TimeoutExpired)):
        return "timeout"
    msg = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return f"failed: {msg[:160]}"
