"""Mixed precision: bf16 autocast around forward passes, weights and optimiser state staying fp32.

bf16 keeps fp32's exponent range, so unlike fp16 it needs no loss scaling; CPUs with AVX-512 BF16 or AMX (and
every recent GPU) run its matmuls at up to twice the fp32 rate. Elsewhere it is emulated and far slower than fp32
(ACT trained 0.56 vs 5 steps/s on an AVX2-only EPYC), so training warns there. The names are the ones gin files
and run.json use.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from pathlib import Path

import torch

#: CPU flags (Linux /proc/cpuinfo) whose presence means bf16 matmuls run natively.
NATIVE_BF16_FLAGS = frozenset({"avx512_bf16", "amx_bf16"})
CPUINFO = Path("/proc/cpuinfo")

#: precision name -> autocast dtype (None: plain fp32, autocast off).
PRECISIONS: dict[str, torch.dtype | None] = {"fp32": None, "bf16": torch.bfloat16}


def check_precision(precision: str, owner: str) -> str:
    """``precision`` if it is a known name, else a ValueError naming ``owner``'s setting and the choices."""
    if precision not in PRECISIONS:
        raise ValueError(f"{owner}.precision must be one of {sorted(PRECISIONS)}, got {precision!r}")
    return precision


def autocast(device: torch.device | str, precision: str) -> AbstractContextManager:
    """The autocast context for ``precision`` on ``device`` (a no-op context for fp32)."""
    dtype = PRECISIONS[check_precision(precision, "autocast")]
    device_type = torch.device(device).type
    return torch.autocast(device_type=device_type, dtype=dtype or torch.float32, enabled=dtype is not None)


def cpu_flags(cpuinfo: str) -> frozenset[str]:
    """The feature flags of a /proc/cpuinfo text (the union over its processors)."""
    return frozenset(flag for line in cpuinfo.splitlines() if line.startswith("flags") and ":" in line
                     for flag in line.split(":", 1)[1].split())


def native_bf16(device: torch.device | str, cpuinfo: Path = CPUINFO) -> bool | None:
    """Whether bf16 runs natively on ``device``: True/False, or None where it cannot be told (a CPU without
    /proc/cpuinfo, e.g. macOS)."""
    device = torch.device(device)
    if device.type == "cuda":
        return torch.cuda.is_bf16_supported()
    if device.type != "cpu":
        return None
    try:
        return bool(cpu_flags(cpuinfo.read_text()) & NATIVE_BF16_FLAGS)
    except OSError:
        return None


def slow_precision_warning(device: torch.device | str, precision: str, cpuinfo: Path = CPUINFO) -> str | None:
    """A warning when ``precision`` would be emulated on ``device`` (bf16 without native support), else None."""
    if PRECISIONS[check_precision(precision, "TrainConfig")] is None or native_bf16(device, cpuinfo) is not False:
        return None
    return (f"training precision {precision!r} is emulated on this {torch.device(device).type} (no AVX-512 BF16 or "
            "AMX), several times slower than fp32; bind polibench.TrainConfig.precision = 'fp32' here (a different "
            "config: its weights differ from a bf16 run's)")
