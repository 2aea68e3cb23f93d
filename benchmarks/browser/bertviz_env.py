"""BertViz's own environment (a venv of its own, never the project's) and its pages.

BertViz's page loads require.js, d3 5.7.0 and jQuery 2.0.0 from a CDN: those requests are answered
from the npm packages requirejs@2.3.6, d3@5.7.0 and jquery@2.1.0 (2.0.0 was never published to
npm), kept in the benchmark environment.
"""

from __future__ import annotations

import json
import pathlib
import shutil
import subprocess
import sys
import tarfile
import tempfile

from . import ROOT

TORCH = "2.13.0"
BERTVIZ = "1.4.1"
CDN_LIBS = {  # what BertViz's page asks the CDN for -> (npm package, file inside it, local name)
    r"/require\.js/2\.3\.6/require\.min\.js$": ("requirejs@2.3.6", "package/require.js", "require.js"),
    r"/d3/5\.7\.0/d3\.min\.js$": ("d3@5.7.0", "package/dist/d3.min.js", "d3.min.js"),
    r"/jquery/2\.0\.0/jquery\.min\.js$": ("jquery@2.1.0", "package/dist/jquery.min.js", "jquery.min.js"),
}


def bench_venv() -> pathlib.Path:
    """``.bench-venv`` in the checkout when git ignores it, else /tmp/bertviz-venv."""
    ignore = ROOT / ".gitignore"
    lines = ignore.read_text().split() if ignore.exists() else []
    return ROOT / ".bench-venv" if any(x.strip("/") == ".bench-venv" for x in lines) else pathlib.Path("/tmp/bertviz-venv")


def venv_python() -> pathlib.Path:
    return bench_venv() / "bin" / "python"


def setup(force: bool = False) -> None:
    """Create BertViz's venv (CPU torch pinned first, then bertviz with torch constrained) and the CDN files."""
    venv = bench_venv()
    py = venv_python()
    ok = py.exists() and subprocess.run([str(py), "-c", "import bertviz, torch"], check=False, capture_output=True).returncode == 0
    if force or not ok:
        print(f"setting up BertViz's environment in {venv} (torch=={TORCH} CPU, bertviz=={BERTVIZ}) ...", flush=True)
        base = getattr(sys, "_base_executable", None) or shutil.which("python3") or sys.executable
        subprocess.run([base, "-m", "venv", str(venv)], check=True)
        pip = [str(py), "-m", "pip", "install", "-q", "--disable-pip-version-check"]
        # torch first, pinned: bertviz only asks for torch>=1.0, and the constraint keeps pip from
        # swapping in another (CUDA) build while it resolves bertviz's other dependencies.
        subprocess.run(pip + [f"torch=={TORCH}"], check=True)
        constraints = venv / "constraints.txt"
        constraints.write_text(f"torch=={TORCH}\n")
        subprocess.run(pip + ["-c", str(constraints), f"bertviz=={BERTVIZ}"], check=True)
        got = subprocess.run([str(py), "-c", "import torch; print(torch.__version__)"], capture_output=True, text=True,
                             check=True).stdout.strip()
        if not got.startswith(TORCH) or "+cu" in got:
            raise SystemExit(f"BertViz's environment has torch {got}, expected {TORCH} (CPU build)")
    cdn = venv / "cdn"
    if force or not all((cdn / name).exists() for _, _, name in CDN_LIBS.values()):
        cdn.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory() as tmp:
            specs = [spec for spec, _, _ in CDN_LIBS.values()]
            out = subprocess.run(["npm", "pack", "--silent", *specs], cwd=tmp, capture_output=True, text=True, check=True)
            tarballs = out.stdout.split()
            for (spec, member, name), tgz in zip(CDN_LIBS.values(), tarballs):
                with tarfile.open(pathlib.Path(tmp) / tgz) as tf:
                    (cdn / name).write_bytes(tf.extractfile(member).read())
    print(f"BertViz environment ready: {venv}", flush=True)


def cdn_files() -> dict[str, bytes]:
    """What the harness answers BertViz's CDN requests with: URL path pattern -> the script."""
    cdn = bench_venv() / "cdn"
    return {rx: (cdn / name).read_bytes() for rx, (_, _, name) in CDN_LIBS.items()}


def version() -> str:
    probe = "import bertviz, torch, importlib.metadata as m; print(m.version('bertviz'), 'with torch', torch.__version__)"
    return subprocess.run([str(venv_python()), "-c", probe], check=False, capture_output=True, text=True).stdout.strip()


def build_bertviz(w_path: pathlib.Path, t: int, work: pathlib.Path, timeout_s: float) -> dict:
    """BertViz's head view of the weights in ``w_path`` as ``work/bertviz-{t}.html``; its sizes and time (bertviz_page.py)."""
    page = work / f"bertviz-{t}.html"
    out = subprocess.run([str(venv_python()), str(ROOT / "benchmarks" / "bertviz_page.py"), str(w_path), str(page)],
                         check=False, capture_output=True, text=True, timeout=max(120.0, timeout_s * 3))
    if out.returncode != 0:
        raise RuntimeError(f"head_view failed: {out.stderr.strip().splitlines()[-1:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])

