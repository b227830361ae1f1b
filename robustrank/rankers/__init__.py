"""Rankers: the protocol, optional capabilities, the score cache and the built-in adapters.

Adapters are imported lazily (they pull in torch/transformers or rank-bm25).
"""

from robustrank.rankers.base import (
    Ranker,
    SupportsFingerprint,
    SupportsGradients,
    SupportsPairs,
    SupportsTokenizer,
    TokenGradients,
    rank,
    score_pairs,
)
from robustrank.rankers.cache import CachedRanker

__all__ = [
    "Ranker",
    "SupportsFingerprint",
    "SupportsGradients",
    "SupportsPairs",
    "SupportsTokenizer",
    "TokenGradients",
    "CachedRanker",
    "rank",
    "score_pairs",
]
