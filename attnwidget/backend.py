"""Lazy, quiet import of Keras and the choice of device.

Keras (and TensorFlow behind it) is imported on the first run, not at ``%load_ext``: it takes
seconds and prints start-up noise. The user is told it is loading; the noise is silenced.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import sys
import time
import warnings

from .config import ConfigError

_keras = None


@contextlib.contextmanager
def one_key_softmax():
    """Around our own calls of a layer or model: Keras warns at every softmax over an axis of size 1 ("Did you
    mean to use a sigmoid instead?"). In attention that is a query with a single key (a one-token sentence, one
    context token, a decoder's first step), whose weight is 1 as it should be. Only that warning is silenced."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="You are using a softmax over axis", category=UserWarning)
        yield


@contextlib.contextmanager
def _quiet_stderr():
    """Silence C++ start-up logs written straight to file descriptor 2 (absl, oneDNN, CUDA stubs).

    Always fd 2 itself: in a Jupyter kernel ``sys.stderr.fileno()`` is a saved copy, while fd 2 is
    the pipe the kernel forwards to the notebook.
    """
    fd = 2
    try:
        sys.stderr.flush()
        saved = os.dup(fd)
    except OSError:  # no fd 2 at all: nothing to silence
        yield
        return
    try:
        with open(os.devnull, "w") as null:
            os.dup2(null.fileno(), fd)
            yield
    finally:
        os.dup2(saved, fd)
        os.close(saved)


# The package each Keras backend imports (pip installs it under the same name).
_BACKEND_PACKAGES = {"tensorflow": "tensorflow", "jax": "jax", "torch": "torch"}


def configured_backend() -> tuple[str, str]:
    """The backend Keras will load and where that choice comes from, as Keras decides it.

    ``KERAS_BACKEND``, else ``backend`` in ``keras.json`` (``$KERAS_HOME``, else ``~/.keras``), else
    TensorFlow. Read without importing Keras.
    """
    env = os.environ.get("KERAS_BACKEND")
    if env:
        return env, f"KERAS_BACKEND={env}"
    home = os.environ.get("KERAS_HOME")
    if not home:
        base = os.path.expanduser("~")
        home = os.path.join(base if os.access(base, os.W_OK) else "/tmp", ".keras")
    path = os.path.join(home, "keras.json")
    try:
        with open(path, encoding="utf-8") as f:
            backend = json.load(f).get("backend")
    except (OSError, ValueError, AttributeError):
        backend = None
    if isinstance(backend, str) and backend:
        return backend, path
    return "tensorflow", "the default"


def missing_backend_message(missing: str, backend: str, source: str) -> str | None:
    """One line for ``import keras`` failing on the missing module ``missing`` with ``backend`` chosen by
    ``source``; None when that module is not Keras or the backend's package (some other broken install)."""
    top = missing.split(".")[0]
    if top == "keras":
        return "attnwidget: Keras is not installed; pip install keras (attnwidget needs Keras 3)"
    package = _BACKEND_PACKAGES.get(backend, backend)
    if top not in (package, backend) and not (backend == "jax" and top == "jaxlib"):
        return None
    others = " or ".join(f"KERAS_BACKEND={b} (pip install {b})" for b in _BACKEND_PACKAGES if b != backend)
    return (f"attnwidget: Keras is set to the {backend} backend ({source}) but the {top} package is not "
            f"installed; pip install {top}, or pick another backend before the first run: {others}")


_INTERRUPTED = "attnwidget: the first import of Keras was interrupted and cannot be finished in this process; restart the kernel"
_interrupted = False


def _import_keras(backend: str, source: str):
    """``import keras`` (and TensorFlow's quiet set-up); an interrupted import leaves no half-made module."""
    global _interrupted
    before = set(sys.modules)
    try:
        import keras

        if keras.backend.backend() == "tensorflow":
            import tensorflow as tf
            tf.get_logger().setLevel(logging.ERROR)
            tf.config.list_logical_devices()  # device discovery logs land here, while quiet
        return keras
    except ModuleNotFoundError as exc:
        message = missing_backend_message(exc.name or "", backend, source)
        if message is None:
            raise
        raise ConfigError(message) from None
    except BaseException as exc:
        # Ctrl-C (or any failure) part way: forget the modules this attempt added, so that the next run
        # imports from scratch instead of finding a partly initialised keras or tensorflow. Once a compiled
        # extension of the backend is loaded it cannot be loaded again (a second try aborts the process):
        # then every later run says to restart instead of trying.
        added = set(sys.modules) - before
        compiled = any(str(getattr(sys.modules.get(n), "__file__", "") or "").endswith((".so", ".pyd"))
                       for n in added)
        for name in added:
            sys.modules.pop(name, None)
        if isinstance(exc, KeyboardInterrupt):
            _interrupted = compiled
        raise


def load_keras(announce=print):
    """Import Keras once, quietly; ``announce`` receives one line while it loads.

    A missing backend package (TensorFlow by default) raises a one-line :class:`ConfigError` that says
    which backend, which package and how to pick another, instead of Keras's traceback. An import the
    user interrupted (Ctrl-C) is undone, so the next run imports again, or says in one line to restart.
    """
    global _keras
    if _keras is not None:
        return _keras
    if _interrupted:
        raise ConfigError(_INTERRUPTED)
    if "keras" in sys.modules and hasattr(sys.modules["keras"], "ops"):
        import keras
        _keras = keras
        return keras
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    os.environ.setdefault("GRPC_VERBOSITY", "ERROR")
    backend, source = configured_backend()  # before Keras, which writes a keras.json where there is none
    start = time.perf_counter()
    if announce:
        announce(f"attnwidget: loading Keras ({backend} backend), first run only…")
    with _quiet_stderr():
        keras = _import_keras(backend, source)
    logging.getLogger("absl").setLevel(logging.ERROR)
    if announce:
        announce(f"attnwidget: Keras ready in {time.perf_counter() - start:.1f} s")
    _keras = keras
    return keras


def gpu_count(keras) -> int:
    """GPUs visible to the active Keras backend."""
    backend = keras.backend.backend()
    try:
        if backend == "tensorflow":
            import tensorflow as tf
            return len(tf.config.list_logical_devices("GPU"))
        if backend == "jax":
            import jax
            return len([d for d in jax.devices() if d.platform == "gpu"])
        if backend == "torch":
            import torch
            return torch.cuda.device_count()
    except RuntimeError:
        return 0
    return 0


def resolve_device(keras, device: str) -> str:
    """``auto`` | ``cpu`` | ``gpu`` | ``gpu:N`` → a ``keras.device`` name such as ``gpu:0``."""
    n = gpu_count(keras)
    backend = keras.backend.backend()
    if device == "auto":
        return "gpu:0" if n else "cpu:0"
    if device.startswith("cpu"):
        return "cpu:0"
    index = int(device.split(":")[1]) if ":" in device else 0
    if n == 0:
        raise ConfigError(
            f"device: '{device}' asked for a GPU but none is visible to Keras ({backend} backend); "
            "use device: auto or cpu")
    if index >= n:
        raise ConfigError(f"device: '{device}' asked for GPU {index} but only {n} GPU(s) are visible (gpu:0..gpu:{n - 1})")
    return f"gpu:{index}"


def device_name(placed: str) -> str:
    """``gpu:N`` or ``cpu:0`` for what :func:`placed_on` reports (``cuda:0``, ``/device:GPU:1``, ``TFRT_CPU_0``)."""
    p = placed.lower()
    if "gpu" in p or "cuda" in p:
        digits = "".join(ch for ch in p.rsplit(":", 1)[-1] if ch.isdigit())
        return f"gpu:{digits or 0}"
    return "cpu:0"


def placed_on(x) -> str:
    """Where a backend tensor actually lives, as the backend names it."""
    for attr in ("device",):  # tensorflow: str, torch: torch.device
        d = getattr(x, attr, None)
        if d is not None and not callable(d):
            return str(d)
    devices = getattr(x, "devices", None)  # jax.Array
    if callable(devices):
        return ",".join(sorted(str(d) for d in devices()))
    return "unknown"
