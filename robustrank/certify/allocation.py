"""Split a query's error level alpha over its sampled documents, weighted by unsmoothed rank.

The certificate of one query holds when every sampled document's confidence sequence covers its
smoothed score; by a union bound this fails with probability at most the sum of the documents'
levels, which :func:`allocate_alpha` makes equal to alpha exactly. Documents scored exactly
(enumeration) need no level and get 0.

Weights (``rank``): a document's weight is 1 / (1 + distance), with distance the number of rank
positions between its *unsmoothed* rank r (1 = top of the ranker's list) and the nearest K
boundary (the boundary of K lies between ranks K and K + 1): documents at ranks K and K + 1 get
weight 1, the next ones 1/2, 1/3, .... The decision at K is usually bound by the documents next
to its boundary, which therefore get the larger levels. The ranks come from the unsmoothed
ranking, fixed before any copy is drawn, so the allocation does not depend on the Monte Carlo
samples and the union bound holds as stated. ``uniform`` gives every sampled document alpha / m.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np

__all__ = ["AlphaScheme", "allocate_alpha", "rank_weights"]

AlphaScheme = Literal["rank", "uniform"]


def rank_weights(ranks: Sequence[int], k_values: Sequence[int]) -> np.ndarray:
    """Weight 1 / (1 + distance to the nearest K boundary) of each unsmoothed rank (1-based)."""
    r = np.asarray(ranks, dtype=np.float64)
    if not len(k_values):
        return np.ones(len(r))
    boundaries = np.asarray(sorted(k_values), dtype=np.float64) + 0.5
    distance = np.abs(r[:, None] - boundaries[None, :]).min(axis=1) - 0.5
    return 1.0 / (1.0 + distance)


def allocate_alpha(
    alpha: float,
    sampled: Sequence[bool],
    ranks: Sequence[int] | None = None,
    k_values: Sequence[int] = (),
    scheme: AlphaScheme = "rank",
) -> np.ndarray:
    """Per-document two-sided levels delta_d: 0 for exact documents, summing to alpha.

    Args:
        alpha: The query's error level.
        sampled: Whether each document is estimated by sampling (False: scored exactly).
        ranks: Unsmoothed rank of each document (1-based); default: list order.
        k_values: The K decided.
        scheme: rank (weights by distance to the K boundaries) or uniform.
    """
    mask = np.asarray(sampled, dtype=bool)
    out = np.zeros(len(mask))
    if not mask.any():
        return out
    if scheme == "uniform":
        w = np.ones(len(mask))
    elif scheme == "rank":
        w = rank_weights(np.arange(1, len(mask) + 1) if ranks is None else ranks, k_values)
    else:
        raise ValueError(f"unknown alpha scheme {scheme!r}")
    w = np.where(mask, w, 0.0)
    out = alpha * w / w.sum()
    return out
