"""Giving memory back: after a surrogate or imitation model is trained, after each attack and task.

Python frees the model, the optimiser state and the activations once nothing refers to them, but
glibc's allocator keeps the freed arenas mapped, so the process's resident size stays near its
peak for the rest of the audit. :func:`release_memory` collects garbage, empties
the CUDA cache and asks glibc to return free heap memory to the system (``malloc_trim(0)``; a
no-op on other C libraries and platforms).
"""

from __future__ import annotations

import ctypes
import gc
import logging
import sys

__all__ = ["release_memory"]

log = logging.getLogger(__name__)


def release_memory() -> bool:
    """Collect garbage and trim the C heap; True when ``malloc_trim`` ran."""
    gc.collect()
    torch = sys.modules.get("torch")
    if torch is not None and torch.cuda.is_available():
        torch.cuda.empty_cache()
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL("libc.so.6")
        libc.malloc_trim(0)
    except (OSError, AttributeError) as exc:  # not glibc (e.g. musl): nothing to trim
        log.debug("malloc_trim unavailable: %s", exc)
        return False
    return True
