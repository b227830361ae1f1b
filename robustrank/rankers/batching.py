"""Batching for transformer rankers: batches sorted by token count, and a per-device batch size.

Padding is the waste of a batched forward: every input is padded to the longest of its batch.
:func:`token_sorted_batches` tokenises all inputs once without padding, orders them by token
count (longest first) and pads each batch only to its own longest input, so a batch holds inputs
of similar length. The caller writes each batch's outputs back at the indices it yields, which
restores the input order.

:func:`default_batch_size` is the batch size used when ``ranker.batch_size`` is not set: 16 on
CPU (larger batches only add padding and cache misses there), 64 on a GPU.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np

__all__ = ["DEVICE_BATCH_SIZE", "default_batch_size", "length_sorted_batches", "pick_batch_size", "token_sorted_batches"]

DEVICE_BATCH_SIZE = {"cpu": 16, "cuda": 64, "mps": 32}
"""Default inputs per forward pass by device type (``ranker.batch_size`` unset)."""


def default_batch_size(device: Any) -> int:
    """The default batch size for a device (``torch.device``, or a type string: cpu, cuda, mps)."""
    kind = getattr(device, "type", str(device)).split(":")[0]
    return DEVICE_BATCH_SIZE.get(kind, DEVICE_BATCH_SIZE["cpu"])


def pick_batch_size(batch_size: int | None, device: Any) -> int:
    """An explicit ``batch_size`` as given, else :func:`default_batch_size` of ``device``."""
    return int(batch_size) if batch_size else default_batch_size(device)


def length_sorted_batches(lengths: Sequence[int], batch_size: int) -> Iterator[list[int]]:
    """Yield index batches over items sorted by descending length (less padding per batch)."""
    order = sorted(range(len(lengths)), key=lambda i: -lengths[i])
    for start in range(0, len(order), batch_size):
        yield order[start : start + batch_size]


def _pad(rows: list[list[int]], value: int, left: bool) -> np.ndarray:
    width = max(len(r) for r in rows)
    out = np.full((len(rows), width), value, dtype=np.int64)
    for i, r in enumerate(rows):
        if left:
            out[i, width - len(r) :] = r
        else:
            out[i, : len(r)] = r
    return out


def token_sorted_batches(
    tokenizer: Any,
    first: Sequence[str],
    second: Sequence[str] | None,
    *,
    batch_size: int,
    max_length: int,
) -> Iterator[tuple[list[int], dict[str, np.ndarray]]]:
    """Tokenise inputs once and yield ``(indices, padded int64 arrays)`` batches by token count.

    Args:
        tokenizer: A Hugging Face tokenizer.
        first: Texts (or the first segments of pairs).
        second: Second segments of pairs (cross-encoders), or None.
        batch_size: Inputs per batch.
        max_length: Truncation length (longest-first for pairs).

    Yields:
        The input indices of the batch (longest first) and its ``input_ids``, ``attention_mask``
        (and ``token_type_ids`` when the tokenizer makes them) padded to the batch's longest input.
    """
    if not first:
        return
    args = (list(first),) if second is None else (list(first), list(second))
    enc = tokenizer(*args, truncation=True, max_length=max_length, padding=False)
    ids = enc["input_ids"]
    order = sorted(range(len(ids)), key=lambda i: (-len(ids[i]), i))
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    left = getattr(tokenizer, "padding_side", "right") == "left"
    keys = [k for k in ("input_ids", "attention_mask", "token_type_ids") if k in enc]
    for start in range(0, len(order), batch_size):
        idx = order[start : start + batch_size]
        batch = {}
        for k in keys:
            batch[k] = _pad([list(enc[k][i]) for i in idx], pad_id if k == "input_ids" else 0, left)
        if "attention_mask" not in batch:
            batch["attention_mask"] = _pad([[1] * len(ids[i]) for i in idx], 0, left)
        yield idx, batch
