"""Mixed precision: bf16 autocast around forward passes, weights and optimiser state staying fp32.

bf16 keeps fp32's exponent range, so unlike fp16 it needs no loss scaling; CPUs with AVX-512 BF16 (and every
recent GPU) run its matmuls at up to twice the fp32 rate. The names are the ones gin files and run.json use.
"""

from __future__ import annotations

from contextlib import AbstractContextManager

import torch

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
