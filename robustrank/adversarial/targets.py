"""Which (query, document) pairs are attacked.

Target protocol (PRADA line of work, Wu et al., TOIS 2023): per sampled query, documents drawn
uniformly at random from given rank ranges of the victim's own ranked list (default ranks
51-100 of the re-ranked top-100), seeded per (system, query).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

__all__ = ["TargetSpec", "sample_queries", "select_targets"]

TargetSpec = tuple[str, str, int]
"""(query_id, doc_id, 1-based rank in the victim's list)."""


def sample_queries(qids: Sequence[str], n: int | None, rng: np.random.Generator) -> list[str]:
    """``n`` query ids sampled without replacement (original order kept); all when n is None."""
    if n is None or n >= len(qids):
        return list(qids)
    idx = np.sort(rng.choice(len(qids), size=n, replace=False))
    return [qids[i] for i in idx]


def select_targets(
    ranked: Sequence[tuple[str, Any]],
    rank_ranges: Sequence[tuple[int, int]],
    per_query: int,
    rng: np.random.Generator,
) -> list[TargetSpec]:
    """Sample target documents of one query from rank ranges of the victim's list.

    The ``per_query`` targets are spread round-robin over the ranges; ranges beyond the list's
    length are clipped (a short list may yield fewer targets).

    Args:
        ranked: The victim's list, best first: (doc_id, score).
        rank_ranges: 1-based inclusive (low, high) ranges.
        per_query: Targets wanted.
        rng: Seeded generator.

    Returns:
        [(query_id placeholder "", doc_id, rank)] sorted by rank; the caller fills in the query.
    """
    pools = []
    for lo, hi in rank_ranges:
        hi = min(hi, len(ranked))
        pools.append(list(range(lo, hi + 1)) if hi >= lo else [])
    want = [0] * len(pools)
    for i in range(per_query):
        want[i % len(pools)] += 1
    chosen: set[int] = set()
    for pool, k in zip(pools, want):
        pool = [r for r in pool if r not in chosen]
        if not pool or k == 0:
            continue
        picks = rng.choice(len(pool), size=min(k, len(pool)), replace=False)
        chosen.update(pool[i] for i in picks)
    return [("", ranked[r - 1][0], r) for r in sorted(chosen)]
