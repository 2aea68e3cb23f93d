"""A real JupyterLab (or Notebook 7) server on 127.0.0.1, and notebooks in it, for the browser tests.

The browser itself (Debian's Chromium, with every request that leaves the machine aborted and
counted, so a test can assert that nothing was fetched from a CDN) comes from ``harness``.
"""

from __future__ import annotations

import contextlib
import json
import os
import pathlib
import secrets
import socket
import subprocess
import sys
import time
import urllib.request

from harness import Browser

# A live view in a notebook (not the static copy written beside it for exports, which it hides).
LIVE = ".attnwidget:not(.attnwidget-static .attnwidget)"
# The explain view in ``el`` shows query ``q``'s numbers (of head ``h``, unless null): its title names the pin,
# its table holds that pin's numbers (``data-shows``: the title changes at the pin, the numbers come from the
# kernel later, and the old ones stay undimmed for a while: js/explainwait.js), rows are in the page.
EXPLAINED = """([el, q, h]) => { const x = el.querySelector('.aw-explain'), t = x?.querySelector('.aw-explain-title');
  const [sq, sh] = (x?.querySelector('.aw-explain-table')?.dataset.shows || '').split(',');
  return Boolean(t) && t.textContent.startsWith(`query ${q} `) && (h == null || t.textContent.endsWith(`head ${h}`))
    && sq === String(q) && (h == null || sh === String(h)) && !x.classList.contains('aw-stale')
    && x.querySelectorAll('tr[data-explain-key]').length > 0 && !x.querySelector('.aw-explain-scroll').hidden; }"""
ARTIFACTS = pathlib.Path(__file__).resolve().parents[1] / "test-artifacts"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Lab:
    """A JupyterLab 4 server in ``root`` on a random free port, with a token."""

    def __init__(self, root: pathlib.Path, app: str = "lab"):
        self.root = root
        self.port = free_port()
        self.token = secrets.token_hex(16)
        conf = root / ".jupyter-config"
        (conf / "labconfig").mkdir(parents=True, exist_ok=True)
        # No news toast over the widget (and no reason to reach out for news).
        (conf / "labconfig" / "page_config.json").write_text(json.dumps(
            {"disabledExtensions": {"@jupyterlab/apputils-extension:announcements": True}}))
        env = {**os.environ, "JUPYTER_CONFIG_DIR": str(conf), "JUPYTER_RUNTIME_DIR": str(root / ".runtime"),
               "PYTHONUNBUFFERED": "1"}
        self.log = open(root / f"{app}.log", "w")
        cmd = [sys.executable, "-m", "jupyter", app, "--no-browser", "--allow-root", "--ServerApp.ip=127.0.0.1",
               f"--ServerApp.port={self.port}", "--ServerApp.port_retries=0",
               f"--IdentityProvider.token={self.token}", f"--ServerApp.root_dir={root}"]
        app_class = {"lab": "LabApp", "notebook": "JupyterNotebookApp"}[app]
        cmd += [f"--{app_class}.expose_app_in_browser=True", f"--{app_class}.user_settings_dir={root / '.settings'}",
                f"--{app_class}.workspaces_dir={root / '.workspaces'}"]
        self.proc = subprocess.Popen(cmd, cwd=root, env=env, stdout=self.log, stderr=subprocess.STDOUT)
        self.url = f"http://127.0.0.1:{self.port}"
        deadline = time.time() + 90
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"jupyter {app} exited: {(root / f'{app}.log').read_text()[-3000:]}")
            try:
                urllib.request.urlopen(f"{self.url}/api/status?token={self.token}", timeout=2)
                return
            except OSError:
                time.sleep(0.5)
        raise RuntimeError(f"jupyter {app} did not start in 90 s")

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self.log.close()


class Notebook:
    """A notebook open in JupyterLab, driven through ``window.jupyterapp`` (expose_app_in_browser)."""

    def __init__(self, page, lab: Lab, name: str, path: str = "lab/tree"):
        self.page = page
        page.goto(f"{lab.url}/{path}/{name}?token={lab.token}")
        page.wait_for_function(
            "() => window.jupyterapp && window.jupyterapp.shell.currentWidget"
            " && window.jupyterapp.shell.currentWidget.sessionContext"
            " && window.jupyterapp.shell.currentWidget.sessionContext.session"
            " && window.jupyterapp.shell.currentWidget.sessionContext.session.kernel"
            " && window.jupyterapp.shell.currentWidget.sessionContext.session.kernel.status === 'idle'",
            timeout=120_000)

    def run(self, index: int, timeout: float = 180_000) -> str:
        """Run cell ``index``; wait until it has finished; return its output text."""
        self.page.evaluate(
            """async (i) => {
                const nb = window.jupyterapp.shell.currentWidget;
                nb.content.activeCellIndex = i;
                nb.content.deselectAll();
                await window.jupyterapp.commands.execute('notebook:run-cell');
            }""", index)
        self.page.wait_for_function(
            """(i) => { const nb = window.jupyterapp.shell.currentWidget;
                        const c = nb.content.widgets[i];
                        return c.model.executionCount !== null && !c.node.querySelector('.jp-InputArea-prompt')
                               .textContent.includes('*')
                               && nb.sessionContext.session.kernel.status === 'idle'; }""",
            arg=index, timeout=timeout)
        return self.output(index)

    def output(self, index: int) -> str:
        return self.page.evaluate(
            "(i) => window.jupyterapp.shell.currentWidget.content.widgets[i].outputArea.node.innerText", index)

    def theme(self, name: str) -> None:
        self.page.evaluate("(t) => window.jupyterapp.commands.execute('apputils:change-theme', {theme: t})", name)
        light = "true" if "Light" in name else "false"
        self.page.wait_for_function(f"() => document.body.dataset.jpThemeLight === '{light}'", timeout=30_000)
        self.page.wait_for_timeout(300)


def pinned(token, expected: bool) -> bool:
    """Wait (up to 5 s) for a token button's pinned style to become ``expected``; return the final state.

    Changes reach the view on its next animation frame, so a bare read right after a click or a
    cell run can see the old state.
    """
    try:
        token.page.wait_for_function("([el, want]) => el.classList.contains('aw-pinned') === want",
                                     arg=[token.element_handle(), expected], timeout=5_000)
    except Exception:  # noqa: BLE001 - the caller asserts on the returned state
        pass
    return "aw-pinned" in (token.get_attribute("class") or "")


def notebook_session(root, name: str, cells: list[str], run: int, live: int = 1, **page_kw):
    """Generator for module fixtures: :func:`lab_notebook`, its first ``run`` cells executed and ``live`` live
    views shown; yields ``(Notebook, Browser)``, then shuts all down."""
    with lab_notebook(root, name, cells, **page_kw) as (browser, _, nb, _):
        for i in range(run):
            nb.run(i)
        nb.page.locator(LIVE).nth(live - 1).wait_for(timeout=60_000)
        yield nb, browser


# The Jupyter server's limit on one websocket message (tornado's default max_message_size).
MESSAGE_LIMIT = 10 * 1024 * 1024


def websocket_sizes(page) -> list[int]:
    """The byte sizes of every websocket message the page sends or receives from now on (a list that grows)."""
    sizes: list[int] = []

    def on_ws(ws):
        ws.on("framereceived", lambda payload: sizes.append(len(payload)))
        ws.on("framesent", lambda payload: sizes.append(len(payload)))

    page.on("websocket", on_ws)
    return sizes


@contextlib.contextmanager
def lab_notebook(root: pathlib.Path, name: str, cells: list[str], **page_kw):
    """A notebook of ``cells`` written to ``root/name``, open in a JupyterLab of its own, in a Chromium of its
    own (its page made with ``page_kw``): yields (browser, its page, the Notebook, the page's websocket message
    sizes); all stopped after."""
    write_notebook(root / name, cells)
    browser = Browser()
    lab = Lab(root)
    try:
        page = browser.new_page(**page_kw)
        sizes = websocket_sizes(page)
        yield browser, page, Notebook(page, lab, name), sizes
    finally:
        browser.close()
        lab.stop()


def write_notebook(path: pathlib.Path, sources: list[str]) -> None:
    import nbformat

    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(s) for s in sources]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, path)
