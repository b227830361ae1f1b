"""Maps from raw ranker scores to [0, 1], as the smoothing bound needs (|E_P f - E_Q f| <= TV).

* ``cosine_affine``: (s + 1) / 2 for cosine similarities in [-1, 1] (our choice for cosine
  bi-encoders such as all-MiniLM-L6-v2; affine, so it keeps the ranking and the smoothed
  ranking equals the ranking by mean cosine).
* ``sigmoid``: 1 / (1 + exp(-s)) of a logit (the reference's map for its BERT cross-encoder;
  our fallback for any unbounded score, e.g. dot-product bi-encoders, BM25).
* ``identity``: scores already in [0, 1] (checked).
* ``auto``: cosine_affine for a cosine bi-encoder, else sigmoid.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal

import numpy as np

from robustrank.rankers.base import score_pairs

__all__ = ["ScoreMapName", "apply_score_map", "mapped_scorer", "resolve_score_map"]

ScoreMapName = Literal["auto", "cosine_affine", "sigmoid", "identity"]


def resolve_score_map(name: str, ranker: Any) -> str:
    """The concrete map for ``auto`` (looks through a cache wrapper's ``inner``)."""
    if name != "auto":
        return name
    inner = ranker
    while hasattr(inner, "inner"):
        inner = inner.inner
    return "cosine_affine" if getattr(inner, "similarity", None) == "cosine" else "sigmoid"


def apply_score_map(name: str, scores: np.ndarray) -> np.ndarray:
    """Apply a concrete score map.

    Raises:
        ValueError: Unknown map, or scores outside the map's domain (cosine beyond [-1, 1] or
            identity beyond [0, 1], up to 1e-4 rounding).
    """
    s = np.asarray(scores, dtype=np.float64)
    if name == "cosine_affine":
        if s.size and (s.min() < -1 - 1e-4 or s.max() > 1 + 1e-4):
            raise ValueError("cosine_affine needs cosine scores in [-1, 1]")
        return np.clip((s + 1.0) / 2.0, 0.0, 1.0)
    if name == "sigmoid":
        from scipy.special import expit

        return expit(s)
    if name == "identity":
        if s.size and (s.min() < -1e-4 or s.max() > 1 + 1e-4):
            raise ValueError("identity score map needs scores in [0, 1]")
        return np.clip(s, 0.0, 1.0)
    raise ValueError(f"unknown score map {name!r}")


def mapped_scorer(ranker: Any, name: str) -> Callable[[Any], np.ndarray]:
    """A pair scorer returning mapped scores of ``ranker`` (batched through ``score_pairs``)."""

    concrete = resolve_score_map(name, ranker)

    def scorer(pairs):
        return apply_score_map(concrete, score_pairs(ranker, list(pairs)))

    return scorer
