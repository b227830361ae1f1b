"""Which GPU each worker takes: the pure rule behind ``device: auto`` on a machine with GPUs.

* Visible GPUs are the entries of ``CUDA_VISIBLE_DEVICES`` when it is set (indices, ``GPU-…`` or
  ``MIG-…`` UUIDs; like CUDA, the list ends at the first empty or negative entry and holds at most
  as many devices as CUDA reports), else ``0 … device_count-1``.
* A worker uses a GPU when the ranker's device is ``auto``, ``cuda`` or ``cuda:N`` and a GPU is
  visible; ``cpu`` and ``mps`` never take one.
* Local worker processes: worker ``i`` sees exactly one GPU through ``CUDA_VISIBLE_DEVICES``,
  round-robin over the visible GPUs (``gpus[i % len(gpus)]``, so workers share GPUs only when there
  are more workers than GPUs); ``cuda:N`` pins every worker to visible GPU ``N``. Inside the worker
  that GPU is ``cuda:0``.
* Ray: each task asks for ``num_gpus=1`` when a GPU is used (Ray then sets
  ``CUDA_VISIBLE_DEVICES`` for the task itself), else ``0``.

Nothing here touches torch or the environment; :func:`detect_gpus` is the one function that asks
torch, and only when called.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence

__all__ = ["detect_gpus", "ray_num_gpus", "uses_gpu", "visible_gpus", "worker_device", "worker_visible_devices"]


def visible_gpus(env: Mapping[str, str], device_count: int) -> list[str]:
    """GPU ids this process may hand to workers.

    Args:
        env: The process environment (``CUDA_VISIBLE_DEVICES`` is read from it).
        device_count: Devices CUDA reports (``torch.cuda.device_count()``; 0 without CUDA).
    """
    if device_count <= 0:
        return []
    spec = env.get("CUDA_VISIBLE_DEVICES")
    if spec is None:
        return [str(i) for i in range(device_count)]
    out: list[str] = []
    for entry in (e.strip() for e in spec.split(",")):
        if not entry or entry.startswith("-"):
            break
        out.append(entry)
    return out[:device_count]


def _cuda_index(device: str) -> int | None:
    """N of ``cuda:N``; None for ``auto`` / ``cuda``."""
    _, _, index = device.partition(":")
    if not index:
        return None
    if not index.isdigit():
        raise ValueError(f"device {device!r}: expected cuda or cuda:N")
    return int(index)


def uses_gpu(device: str, gpus: Sequence[str]) -> bool:
    """Whether workers of a ranker on ``device`` take a GPU, given the visible ``gpus``."""
    return bool(gpus) and (device == "auto" or device == "cuda" or device.startswith("cuda:"))


def worker_visible_devices(worker_index: int, device: str, gpus: Sequence[str]) -> str | None:
    """``CUDA_VISIBLE_DEVICES`` for local worker ``worker_index``; None when it takes no GPU.

    Raises:
        ValueError: A negative worker index, or ``cuda:N`` with N not among the visible GPUs.
    """
    if worker_index < 0:
        raise ValueError(f"worker index {worker_index} is negative")
    if not uses_gpu(device, gpus):
        return None
    pinned = _cuda_index(device) if device.startswith("cuda") else None
    if pinned is not None:
        if pinned >= len(gpus):
            raise ValueError(f"device {device!r}: only {len(gpus)} GPU(s) visible")
        return gpus[pinned]
    return gpus[worker_index % len(gpus)]


def worker_device(device: str, gpus: Sequence[str]) -> str:
    """The device spec a worker uses after :func:`worker_visible_devices` left it one GPU."""
    return "cuda:0" if uses_gpu(device, gpus) else device


def ray_num_gpus(device: str, gpus: Sequence[str]) -> int:
    """``num_gpus`` of each Ray task: 1 when workers take a GPU, else 0."""
    return 1 if uses_gpu(device, gpus) else 0


def detect_gpus() -> list[str]:
    """Visible GPUs of this process (asks torch; [] without CUDA)."""
    import torch

    return visible_gpus(os.environ, torch.cuda.device_count() if torch.cuda.is_available() else 0)
