"""Maps from raw ranker scores to [0, 1], as the smoothing bound needs (|E_P f - E_Q f| <= TV).

* ``cosine_affine``: (s + 1) / 2 for cosine similarities in [-1, 1] (our choice for cosine
  bi-encoders such as all-MiniLM-L6-v2; affine, so it keeps the ranking and the smoothed
  ranking equals the ranking by mean cosine).
* ``sigmoid``: 1 / (1 + exp(-s)) of a logit (the reference's map for its BERT cross-encoder;
  our fallback for any unbounded score, e.g. dot-product bi-encoders, BM25).
* ``identity``: scores already in [0, 1] (checked).
* ``auto``: cosine_affine for a cosine bi-encoder, else sigmoid.
* ``calibrated`` (:func:`fit_calibrated_map`): a clipped affine map
  h(s) = clip((s - low) / (high - low), 0, 1) whose ``low`` and ``high`` are fitted on the
  unsmoothed scores of *held-out* queries' candidates, before any certified query is seen, and
  then frozen (a :class:`ScoreMap`). Monotone, so it keeps the unsmoothed ranking; it spreads
  the band where the ranker's candidate scores live over [0, 1] (for MiniLM's top-20 cosines,
  about 0.3-0.8, a slope near 1.8 instead of 0.5), which widens the smoothed-score gaps against
  both the Monte Carlo error (whose range term does not scale with the gaps) and o_d.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from robustrank.rankers.base import score_pairs

__all__ = ["ScoreMap", "ScoreMapName", "apply_score_map", "fit_calibrated_map", "mapped_scorer", "resolve_score_map"]

ScoreMapName = Literal["auto", "cosine_affine", "sigmoid", "identity", "calibrated"]


@dataclass(frozen=True)
class ScoreMap:
    """A fixed map of raw ranker scores to [0, 1].

    Attributes:
        kind: cosine_affine | sigmoid | identity | affine_clip.
        low: affine_clip: raw score mapped to 0.
        high: affine_clip: raw score mapped to 1.
        fitted_on: Provenance of a fitted map (held-out query ids, number of scores).
    """

    kind: str
    low: float | None = None
    high: float | None = None
    fitted_on: dict[str, Any] | None = None

    def __call__(self, scores: np.ndarray) -> np.ndarray:
        if self.kind == "affine_clip":
            s = np.asarray(scores, dtype=np.float64)
            return np.clip((s - self.low) / (self.high - self.low), 0.0, 1.0)
        return apply_score_map(self.kind, scores)

    def describe(self) -> str:
        """One line for results.json and the report."""
        if self.kind == "affine_clip":
            return f"clip((s - {self.low:.4f}) / ({self.high:.4f} - {self.low:.4f}), 0, 1), fitted on held-out queries [calibrated]"
        text = {"cosine_affine": "(s + 1) / 2 of the cosine", "sigmoid": "sigmoid of the score (logit)", "identity": "score as is (in [0, 1])"}
        return f"{text.get(self.kind, self.kind)} [{self.kind}]"

    def to_json(self) -> dict[str, Any]:
        """JSON record (enough to rebuild the map)."""
        return {"kind": self.kind, "low": self.low, "high": self.high, "fitted_on": self.fitted_on, "text": self.describe()}


def fit_calibrated_map(scores: Sequence[float], *, pad: float = 0.05, fitted_on: dict[str, Any] | None = None) -> ScoreMap:
    """Fit the clipped affine map on held-out raw scores: [min - pad*r, max + pad*r] -> [0, 1].

    Args:
        scores: Unsmoothed raw scores of the held-out queries' candidates (never the certified
            queries' candidates).
        pad: Widening of the observed range on each side, as a share of it (r = max - min).
        fitted_on: Provenance recorded with the map.

    Raises:
        ValueError: Fewer than two distinct scores.
    """
    s = np.asarray(list(scores), dtype=np.float64)
    s = s[np.isfinite(s)]
    if s.size < 2 or float(s.max()) <= float(s.min()):
        raise ValueError("calibrated score map needs at least two distinct held-out scores")
    lo, hi = float(s.min()), float(s.max())
    r = hi - lo
    return ScoreMap("affine_clip", lo - pad * r, hi + pad * r, {**(fitted_on or {}), "n_scores": int(s.size), "pad": pad})


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


def mapped_scorer(ranker: Any, name: str | ScoreMap) -> Callable[[Any], np.ndarray]:
    """A pair scorer returning mapped scores of ``ranker`` (batched through ``score_pairs``).

    Args:
        ranker: The ranker.
        name: A map name (``auto`` resolved for the ranker) or a fitted :class:`ScoreMap`.
    """

    fixed = name if isinstance(name, ScoreMap) else ScoreMap(resolve_score_map(name, ranker))
    if fixed.kind == "calibrated":
        raise ValueError("the calibrated score map must be fitted first (fit_calibrated_map)")

    def scorer(pairs):
        return fixed(score_pairs(ranker, list(pairs)))

    return scorer
