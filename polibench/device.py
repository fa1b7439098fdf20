"""Device names from configs and the command line, checked against this machine before anything is built.

torch accepts ``cuda`` on a machine without a GPU until the first tensor moves, and then fails deep inside the
model with an assertion; a typo (``gpu``) fails with a parser message that names neither the setting nor the fix.
"""

from __future__ import annotations

import torch

#: Device types polibench is tested on; others (``mps``, ``meta``) fail inside torch or compute nothing.
SUPPORTED = ("cpu", "cuda")


class DeviceError(ValueError):
    """A device setting names a device that is malformed or that this machine does not have."""


def check_device_name(name: str, setting: str) -> str:
    """``name`` if it is ``auto`` or a device string torch can parse, else a DeviceError naming ``setting``."""
    if name != "auto":
        try:
            torch.device(name)
        except (RuntimeError, TypeError):
            raise DeviceError(f"{setting} = {name!r} is not a device: use 'auto', 'cpu', 'cuda' or 'cuda:N'") from None
        if torch.device(name).type not in SUPPORTED:
            raise DeviceError(f"{setting} = {name!r}: polibench runs on 'cpu' or 'cuda' (or 'cuda:N'; 'auto' picks), "
                              f"not on {torch.device(name).type!r} devices")
    return name


def resolve_device(name: str | torch.device, setting: str) -> torch.device:
    """The device ``name`` stands for here (``auto``: the GPU when there is one, else the CPU).

    Raises DeviceError, naming ``setting``, for a malformed name or a GPU this machine lacks.
    """
    if isinstance(name, str):
        if check_device_name(name, setting) == "auto":
            return torch.device("cuda" if torch.cuda.is_available() else "cpu")
        name = torch.device(name)
    elif name.type not in SUPPORTED:
        raise DeviceError(f"{setting} = {str(name)!r}: polibench runs on 'cpu' or 'cuda', not on {name.type!r} devices")
    if name.type == "cuda":
        if not torch.cuda.is_available():
            raise DeviceError(f"{setting} = {str(name)!r}, but torch sees no CUDA GPU on this machine: use 'auto' "
                              "(the GPU when there is one) or 'cpu'")
        if name.index is not None and name.index >= torch.cuda.device_count():
            raise DeviceError(f"{setting} = {str(name)!r}, but this machine has {torch.cuda.device_count()} CUDA "
                              f"device(s) (cuda:0 .. cuda:{torch.cuda.device_count() - 1})")
    return name
