"""Front-end build step, called by hatch-jupyter-builder (``build-function`` in pyproject.toml).

From a git checkout, ``pip install [-e] .`` and ``python -m build`` bundle ``js/`` into
``attnwidget/static`` with npm. An unpacked sdist already carries those files, and pyproject's
``skip-if-exists`` skips this step there, so only a checkout needs Node. Where npm is missing, or
one of its steps fails, the build stops with one line saying so rather than a traceback.
"""

from __future__ import annotations

import shutil
import subprocess

NEEDS_NPM = (
    "attnwidget: building from a git checkout bundles the front end (js/) with npm, which is not on "
    "PATH: install Node.js 18+ and npm (Debian 12: sudo apt-get install nodejs npm), or install "
    "attnwidget's wheel or sdist, which need no Node")


def build(target_name: str, version: str, path: str = ".", npm: str = "npm", build_cmd: str = "build") -> None:
    """``npm install`` then ``npm run build`` in ``path`` (``target_name``/``version``: hatch's, unused)."""
    exe = shutil.which(npm)
    if exe is None:
        raise SystemExit(NEEDS_NPM)
    # --no-save: install what package-lock.json pins without rewriting it.
    for args in (["install", "--no-save", "--no-audit", "--no-fund"], ["run", build_cmd]):
        code = subprocess.run([exe, *args], cwd=path).returncode
        if code:
            raise SystemExit(f"attnwidget: `npm {' '.join(args)}` failed (exit {code}) while building the "
                             "front end; npm's own message is above")
