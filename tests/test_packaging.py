"""Packaging: one version, the licence, the metadata, the missing-backend line, and the built wheel and sdist.

The ``packaging`` tests build both with ``python -m build`` from a copy of the checkout (the source tree is
left as it is), then install each in a fresh venv whose PATH has no Node and run a smoke test there. The
fresh venvs get the package with ``--no-deps`` plus its light runtime dependencies only (no Keras, no
TensorFlow): the smoke test needs neither, and TensorFlow is a 600 MB wheel.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import textwrap
import tomllib
import zipfile
from pathlib import Path

import pytest

import attnwidget

ROOT = Path(__file__).resolve().parent.parent
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
PROJECT = PYPROJECT["project"]
STATIC = ["widget.js", "widget.css", "static.js", "reveal/reveal.js", "reveal/reveal.css", "reveal/theme.css",
          "reveal/LICENSE"]
# What the smoke venvs install besides attnwidget: the runtime dependencies that are not Keras or a backend.
LIGHT_DEPS = [d for d in PROJECT["dependencies"] if not re.match(r"(tensorflow|keras)\b", d)]
SMOKE = textwrap.dedent("""
    import shutil, sys
    assert shutil.which("node") is None and shutil.which("npm") is None, "Node is on PATH"
    import numpy as np
    import attnwidget
    assert "tensorflow" not in sys.modules and "keras" not in sys.modules, "import attnwidget imported Keras"
    from attnwidget import AttentionWidget
    scores = np.random.default_rng(0).random((1, 2, 3, 3), dtype=np.float32)
    page = AttentionWidget(scores, ["a", "b", "c"]).to_html()
    from nbconvert.exporters import get_export_names
    names = get_export_names()
    print(attnwidget.__version__, len(page), "attnwidget_html" in names, "attnwidget_slides" in names)
    print(page)
""")
NEEDS_NPM_LINE = ("attnwidget: building from a git checkout bundles the front end (js/) with npm, which is not on "
                  "PATH: install Node.js 18+ and npm (Debian 12: sudo apt-get install nodejs npm), or install "
                  "attnwidget's wheel or sdist, which need no Node")


# --- one version, licence, metadata ------------------------------------------------------------------
def test_version_is_written_once():
    from attnwidget import _version

    assert "version" not in PROJECT and PROJECT["dynamic"] == ["version"]
    assert PYPROJECT["tool"]["hatch"]["version"] == {"path": "attnwidget/_version.py"}
    assert "version" not in json.loads((ROOT / "package.json").read_text(encoding="utf-8"))
    assert attnwidget.__version__ == _version.__version__
    assert re.fullmatch(r"\d+\.\d+\.\d+", _version.__version__)
    written = [p.name for p in (ROOT / "attnwidget").glob("*.py")
               if re.search(r"^__version__\s*=\s*['\"]", p.read_text(encoding="utf-8"), re.M)]
    assert written == ["_version.py"]


def test_licence_and_metadata():
    assert PROJECT["license"] == "MIT" and PROJECT["license-files"] == ["LICENSE"]
    licence = (ROOT / "LICENSE").read_text(encoding="utf-8")
    assert licence.startswith("MIT License\n") and "attnwidget/static/reveal/LICENSE" in licence
    assert "LICENSE" in (ROOT / "js" / "copy-reveal.mjs").read_text(encoding="utf-8")
    assert {"Framework :: Jupyter", "Framework :: Jupyter :: JupyterLab :: 4",
            "Programming Language :: Python :: 3.13"} <= set(PROJECT["classifiers"])
    assert not [c for c in PROJECT["classifiers"] if c.startswith("License ::")]  # PEP 639: the expression says it
    assert {"jupyter", "attention", "keras"} <= set(PROJECT["keywords"]) and PROJECT["authors"]
    # TensorFlow has no wheel for 3.14: requires-python stops where it does.
    assert PROJECT["requires-python"] == ">=3.10,<3.14"
    deps = {re.match(r"[A-Za-z0-9_-]+", d).group(0) for d in PROJECT["dependencies"]}
    assert {"tensorflow", "keras", "nbconvert"} <= deps  # nbconvert: the two exporters below
    assert set(PROJECT["entry-points"]["nbconvert.exporters"]) == {"attnwidget_html", "attnwidget_slides"}
    extras = PROJECT["optional-dependencies"]
    assert extras["jax"][0].startswith("jax") and extras["torch"][0].startswith("torch")
    assert any(d.startswith("build") for d in extras["test"])


def test_sdist_skips_the_npm_build_and_a_checkout_does_not():
    hook = PYPROJECT["tool"]["hatch"]["build"]["hooks"]["jupyter-builder"]
    # skip-if-exists needs all of them: PKG-INFO exists only in an unpacked sdist, never in a checkout.
    assert hook["skip-if-exists"][0] == "PKG-INFO"
    assert hook["skip-if-exists"][1:] == hook["ensured-targets"] == [f"attnwidget/static/{f}" for f in STATIC]
    assert hook["build-function"] == "build_frontend.build"
    assert "optional-editable-build" not in hook  # pip install -e . must build the front end or fail
    assert not (ROOT / "PKG-INFO").exists()


def test_checkout_build_without_npm_is_one_line(monkeypatch, tmp_path):
    sys.path.insert(0, str(ROOT))
    try:
        import build_frontend
    finally:
        sys.path.remove(str(ROOT))
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(SystemExit) as exc:
        build_frontend.build("wheel", "editable")
    assert exc.value.code == NEEDS_NPM_LINE


# --- the missing backend package ------------------------------------------------------------------------
_BLOCKED = """
import os, sys
class _NotInstalled:  # as if these packages were not installed
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in {BLOCK}:
            raise ModuleNotFoundError(f"No module named {{name!r}}", name=name)
sys.meta_path.insert(0, _NotInstalled())
if {MAGIC}:
    from IPython.testing.globalipapp import get_ipython
    ip = get_ipython()
    ip.run_line_magic("load_ext", "attnwidget")
    ip.run_cell("%%attention\\nquery: the cat sat\\n")
else:
    from attnwidget import backend
    try:
        backend.load_keras(None)
    except Exception as exc:
        print(type(exc).__name__, exc, sep=": ")
"""


def _without_backend(tmp_path, blocked, keras_backend=None, magic=False):
    """What ``load_keras`` (or the magic) says in a fresh Python where the ``blocked`` packages are missing."""
    env = {k: v for k, v in os.environ.items() if k not in ("KERAS_BACKEND", "KERAS_HOME")}
    env["KERAS_HOME"] = str(tmp_path / f"keras-home-{magic}")  # no keras.json: the default backend
    if keras_backend:
        env["KERAS_BACKEND"] = keras_backend
    code = _BLOCKED.format(BLOCK=set(blocked), MAGIC=magic)
    proc = subprocess.run([sys.executable, "-c", code], env=env, cwd=tmp_path, capture_output=True, text=True,
                          timeout=300)
    return proc.stdout + proc.stderr


def test_missing_tensorflow_is_one_line(tmp_path):
    out = _without_backend(tmp_path, {"tensorflow"})
    line = ("attnwidget: Keras is set to the tensorflow backend (the default) but the tensorflow package is not "
            "installed; pip install tensorflow, or pick another backend before the first run: "
            "KERAS_BACKEND=jax (pip install jax) or KERAS_BACKEND=torch (pip install torch)")
    assert out == f"ConfigError: {line}\n"  # load_keras
    out = _without_backend(tmp_path, {"tensorflow"}, magic=True)
    assert out.endswith(f"UsageError: {line}\n")  # the magic
    assert "Traceback" not in out and "ModuleNotFoundError" not in out


def test_missing_jax_names_the_backend_that_was_picked(tmp_path):
    out = _without_backend(tmp_path, {"jax", "jaxlib"}, keras_backend="jax", magic=True)
    assert ("UsageError: attnwidget: Keras is set to the jax backend (KERAS_BACKEND=jax) but the jax package is "
            "not installed; pip install jax, or pick another backend before the first run: "
            "KERAS_BACKEND=tensorflow (pip install tensorflow) or KERAS_BACKEND=torch (pip install torch)\n") in out
    assert "Traceback" not in out


# --- the built wheel and sdist, installed without Node ------------------------------------------------
def _run(cmd, **kw):
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600, **kw)
    assert proc.returncode == 0, f"{cmd} exited {proc.returncode}:\n{proc.stdout[-4000:]}\n{proc.stderr[-4000:]}"
    return proc.stdout


def _no_node_env(venv: Path) -> dict:
    """The environment with PATH holding only the venv's bin: no node, no npm."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VIRTUAL_ENV", "PYTHONPATH", "CONDA"))}
    env["PATH"] = str(venv / "bin")
    return env


def _checkout_copy(dest: Path) -> Path:
    """The checkout as git and hatch see it (tracked and untracked, not ignored), plus node_modules."""
    skip = shutil.ignore_patterns(".git", ".venv", ".bench-venv", "node_modules", "dist", "build", "test-artifacts",
                                  "__pycache__", ".pytest_cache", "*.egg-info", "PKG-INFO")
    shutil.copytree(ROOT, dest, ignore=skip)
    if (ROOT / "node_modules").is_dir():  # what `pip install -e .` installed: npm then needs no network
        shutil.copytree(ROOT / "node_modules", dest / "node_modules", symlinks=True)
    return dest


@pytest.fixture(scope="module")
def dists(tmp_path_factory):
    if shutil.which("npm") is None:
        if os.environ.get("CI") == "true":
            pytest.fail("npm is not on PATH: a checkout needs it to build the front end")
        pytest.skip("npm is not on PATH: a checkout needs it to build the front end")
    tmp = tmp_path_factory.mktemp("packaging")
    src = _checkout_copy(tmp / "src")
    out = tmp / "dist"
    _run([sys.executable, "-m", "build", "--outdir", str(out), str(src)])
    wheel, = out.glob("attnwidget-*.whl")
    sdist, = out.glob("attnwidget-*.tar.gz")
    return {"wheel": wheel, "sdist": sdist, "src": src, "tmp": tmp}


@pytest.mark.packaging
def test_wheel_and_sdist_carry_the_built_front_end_and_the_licences(dists):
    version = attnwidget.__version__
    with zipfile.ZipFile(dists["wheel"]) as whl:
        names = set(whl.namelist())
        meta = whl.read(f"attnwidget-{version}.dist-info/METADATA").decode()
        entry_points = whl.read(f"attnwidget-{version}.dist-info/entry_points.txt").decode()
        widget_js = whl.read("attnwidget/static/widget.js")
    assert {f"attnwidget/static/{f}" for f in STATIC} <= names
    assert f"attnwidget-{version}.dist-info/licenses/LICENSE" in names
    assert not [n for n in names if n.startswith(("js/", "tests/", "node_modules/")) or n == "build_frontend.py"]
    assert len(widget_js) > 10_000
    for field in ("License-Expression: MIT", "License-File: LICENSE", "Classifier: Framework :: Jupyter",
                  "Requires-Python: <3.14,>=3.10", "Requires-Dist: nbconvert>=7", "Requires-Dist: tensorflow>=2.16",
                  "Provides-Extra: jax", "Provides-Extra: torch", f"Version: {version}"):
        assert f"\n{field}\n" in meta, field
    assert "attnwidget_html = attnwidget.nbexport:OfflineHTMLExporter" in entry_points
    assert "attnwidget_slides = attnwidget.nbexport:OfflineSlidesExporter" in entry_points
    with tarfile.open(dists["sdist"]) as tar:
        names = {n.split("/", 1)[1] for n in tar.getnames() if "/" in n}
    assert {"LICENSE", "PKG-INFO", "pyproject.toml", "build_frontend.py", "package.json", "package-lock.json",
            "js/widget.js"} <= names
    assert {f"attnwidget/static/{f}" for f in STATIC} <= names
    assert not [n for n in names if n.startswith(("node_modules/", ".venv/"))]


@pytest.mark.packaging
@pytest.mark.parametrize("kind", ["wheel", "sdist"])
def test_installs_and_runs_without_node(dists, kind):
    venv = dists["tmp"] / f"venv-{kind}"
    _run([sys.executable, "-m", "venv", str(venv)])
    py = str(venv / "bin" / "python")
    env = _no_node_env(venv)
    _run([py, "-m", "pip", "install", "-q", *LIGHT_DEPS], env=env)
    # The sdist's own wheel build runs here, with no Node: it must use the files it ships.
    _run([py, "-m", "pip", "install", "-q", "--no-deps", str(dists[kind])], env=env)
    out = _run([py, "-c", SMOKE], env=env, cwd=dists["tmp"])
    first, page = out.split("\n", 1)
    assert first == f"{attnwidget.__version__} {len(page) - 1} True True"
    assert "<script" in page and "the front end is not built" not in page
    assert not re.search(r'(src|href)\s*=\s*["\']?(https?:)?//', page)  # loads nothing
    installed = _run([py, "-c", "import attnwidget, pathlib; print(pathlib.Path(attnwidget.__file__).parent)"],
                     env=env, cwd=dists["tmp"]).strip()
    assert installed.startswith(str(venv))  # the installed copy, not the checkout
    assert (Path(installed) / "static" / "reveal" / "LICENSE").read_text().startswith("Copyright (C) 2011")


@pytest.mark.packaging
def test_checkout_without_npm_fails_with_one_line(dists):
    venv = dists["tmp"] / "venv-checkout"
    _run([sys.executable, "-m", "venv", str(venv)])
    src = dists["tmp"] / "src-no-static"
    shutil.copytree(dists["src"], src, ignore=shutil.ignore_patterns("node_modules", "static"))
    proc = subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "install", "--no-deps", str(src)],
                          env=_no_node_env(venv), capture_output=True, text=True, timeout=600)
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0
    assert f"{NEEDS_NPM_LINE}\n" in out
    assert "Traceback" not in out and "Could not find cmd" not in out
