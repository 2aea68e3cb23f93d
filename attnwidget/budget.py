"""A memory budget checked before anything is built: settings each within its limit can still exhaust
the machine together (``num_heads: 128, key_dim: 4096, d_model: 4096`` is 32 GiB of kernels).

:func:`check` estimates the bytes a configuration needs (weights, activations, scores) and refuses it
over ``max_memory`` (default: half of the memory available now), naming the keys that drive the estimate.
"""

from __future__ import annotations

import os
import re

from .config import STACK_KINDS, ConfigError

_UNITS = {"": 1, "b": 1, "kb": 1e3, "mb": 1e6, "gb": 1e9, "tb": 1e12, "kib": 2**10, "mib": 2**20, "gib": 2**30,
          "tib": 2**40}


def available_memory() -> int:
    """Bytes of memory available now (``MemAvailable``), else the machine's total, else 8 GiB."""
    try:
        with open("/proc/meminfo", encoding="ascii") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return 8 * 2**30


def parse_bytes(value) -> int:
    """``max_memory``: bytes as an integer, or a text like ``"8GB"`` / ``"512 MiB"``; ConfigError otherwise."""
    if isinstance(value, bool):
        raise ConfigError(f"max_memory: expected bytes (an integer) or a size like '8GB', got {value!r}")
    if isinstance(value, int) and value > 0:
        return value
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([kmgt]i?b|b)?\s*", str(value).lower()) if isinstance(value, str) else None
    if not m or float(m.group(1)) <= 0:
        raise ConfigError(f"max_memory: expected bytes (an integer) or a size like '8GB', got {value!r}")
    return int(float(m.group(1)) * _UNITS[m.group(2) or ""])


def _gib(n: float) -> str:
    return f"{n / 2**30:.1f} GiB" if n >= 2**30 else f"{n / 2**20:.1f} MiB"


def estimate(cfg, q_len: int, k_len: int, d_query: int, d_context: int, batch: int) -> dict[str, tuple[float, tuple]]:
    """Bytes by part: ``{part: (bytes, keys that drive it)}`` for a layer or stack the configuration builds.

    Float32 throughout; weights count twice (the initializer's temporaries), scores three times (logits,
    softmax, the copy returned).
    """
    h, kd = cfg.num_heads, cfg.key_dim
    vd = cfg.value_dim or kd
    f = 4.0
    if cfg.kind in STACK_KINDS:
        d, dff, n = cfg.d_model, cfg.dff or 4 * cfg.d_model, cfg.num_layers
        attn = 4 * d * h * kd
        per_layer = {"encoder": attn + 2 * d * dff, "decoder": 2 * attn + 2 * d * dff}
        layers = n * (per_layer["encoder"] + per_layer["decoder"] if cfg.kind == "transformer"
                      else per_layer[cfg.kind])
        acts = n * batch * max(q_len, k_len) * (dff + 3 * h * kd + 4 * d) * 2
        scores = n * 3 * batch * h * q_len * k_len * (2 if cfg.kind == "decoder" else 3 if cfg.kind == "transformer" else 1)
        return {"weights": (2 * f * layers, ("num_layers", "d_model", "dff", "num_heads", "key_dim")),
                "activations": (f * acts, ("num_layers", "dff", "query")),
                "scores": (f * scores, ("num_heads", "num_layers", "query", "context"))}
    weights = d_query * h * kd + d_context * h * (kd + vd) + h * vd * d_query
    acts = batch * (q_len * h * kd + k_len * h * (kd + vd) + q_len * d_query)
    return {"weights": (2 * f * weights, ("num_heads", "key_dim", "value_dim", "d_model")),
            "activations": (f * acts, ("num_heads", "key_dim", "query", "context")),
            "scores": (3 * f * batch * h * q_len * k_len, ("num_heads", "query", "context", "batch"))}


def check(cfg, q_len: int, k_len: int, d_query: int, d_context: int, batch: int) -> None:
    """Refuse the configuration when :func:`estimate` passes ``cfg.max_memory`` (default: half available)."""
    limit = parse_bytes(cfg.max_memory) if cfg.max_memory is not None else available_memory() // 2
    parts = estimate(cfg, q_len, k_len, d_query, d_context, batch)
    total = sum(b for b, _ in parts.values())
    if total <= limit:
        return
    part, (size, keys) = max(parts.items(), key=lambda kv: kv[1][0])
    where = "max_memory" if cfg.max_memory is not None else "half of the memory available now"
    raise ConfigError(
        f"{keys[0]}: this configuration needs about {_gib(total)} ({part} {_gib(size)}, driven by "
        f"{', '.join(keys)}), more than {_gib(limit)} ({where}); lower {', '.join(keys[:3])}, or raise max_memory")
