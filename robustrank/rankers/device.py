"""Device and dtype selection (``device: auto|cpu|cuda[:n]|mps``)."""

from __future__ import annotations

import logging

__all__ = ["resolve_device", "resolve_dtype"]

log = logging.getLogger(__name__)


def resolve_device(spec: str = "auto"):
    """Turn a device spec into a ``torch.device``; ``auto`` prefers CUDA, then MPS, then CPU.

    Raises:
        ValueError: A CUDA device was asked for but is not available.
    """
    import torch

    if spec == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        mps = getattr(torch.backends, "mps", None)
        if mps is not None and mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    if spec.startswith("cuda") and not torch.cuda.is_available():
        raise ValueError(f"device {spec!r} requested but CUDA is not available")
    return torch.device(spec)


def resolve_dtype(name: str, device):
    """Map a dtype name to a torch dtype; half precision only on GPU (CPU stays float32)."""
    import torch

    dtype = {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16}[name]
    if dtype != torch.float32 and device.type == "cpu":
        log.warning("dtype %s requested on CPU; using float32", name)
        return torch.float32
    return dtype
