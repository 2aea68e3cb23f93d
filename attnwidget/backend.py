"""Lazy, quiet import of Keras and the choice of device.

Keras (and TensorFlow behind it) is imported on the first run, not at ``%load_ext``: it takes
seconds and prints start-up noise. The user is told it is loading; the noise is silenced.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import time

from .config import ConfigError

_keras = None


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


def load_keras(announce=print):
    """Import Keras once, quietly; ``announce`` receives one line while it loads."""
    global _keras
    if _keras is not None:
        return _keras
    if "keras" in sys.modules:
        import keras
        _keras = keras
        return keras
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    os.environ.setdefault("GRPC_VERBOSITY", "ERROR")
    backend = os.environ.get("KERAS_BACKEND", "tensorflow")
    start = time.perf_counter()
    if announce:
        announce(f"attnwidget: loading Keras ({backend} backend), first run only…")
    with _quiet_stderr():
        import keras
        if keras.backend.backend() == "tensorflow":
            import tensorflow as tf
            tf.get_logger().setLevel(logging.ERROR)
            tf.config.list_logical_devices()  # device discovery logs land here, while quiet
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
