"""What certification of one query takes and gives: settings, the score source, the certificate.

:class:`CertifySettings` (procedure, alpha, K values, sample sizes, bound), :class:`ScoreSource`
(how the engine sees one query's candidates) and :class:`QueryCertificate` (the outcome). The
engine is :mod:`~robustrank.certify.engine`; the text source is :mod:`~robustrank.certify.procedure`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol

import numpy as np

from robustrank.certify.allocation import AlphaScheme
from robustrank.certify.bounds import CheckpointGrid
from robustrank.certify.decision import KDecision

__all__ = ["BoundName", "CertifySettings", "QueryCertificate", "ScoreSource", "Scorer"]

Scorer = Callable[[Sequence[tuple[str, str]]], np.ndarray]
"""Scores (query, text) pairs, returning values in [0, 1] (the mapped ranker score)."""

BoundName = Literal["betting", "empirical_bernstein", "hoeffding", "both"]


@dataclass(frozen=True)
class CertifySettings:
    """How to certify.

    Attributes:
        alpha: Error level of each query's certificate (all K at once).
        k_values: The K to decide.
        procedure: adaptive | fixed.
        n_fixed: Copies per sampled document for ``fixed``.
        n_min: First look of ``adaptive`` (copies per sampled document).
        ratio: Growth of a document's copies per adaptive round (and of the fixed-n bounds' grid).
        n_max: Cap on copies per document for ``adaptive``.
        bound: betting | empirical_bernstein | hoeffding | both.
        enumerate_limit: Score a document exactly when it has at most this many distinct copies
            (None: the sample budget, n_max for adaptive and n_fixed for fixed).
        score_batch: Pairs per scorer call.
        futility: Adaptive only: also stop a K that n_max copies would very likely not certify.
        alpha_scheme: rank | uniform (see :mod:`~robustrank.certify.allocation`).
        per_round: Adaptive: the widest blocking documents sampled per open K and round (on top
            of the binding pair).
    """

    alpha: float = 0.05
    k_values: tuple[int, ...] = (1, 3, 5)
    procedure: Literal["adaptive", "fixed"] = "adaptive"
    n_fixed: int = 1000
    n_min: int = 32
    ratio: float = 1.5
    n_max: int = 4096
    bound: BoundName = "betting"
    enumerate_limit: int | None = None
    score_batch: int = 1024
    futility: bool = True
    alpha_scheme: AlphaScheme = "rank"
    per_round: int = 2

    @property
    def grid(self) -> CheckpointGrid:
        """The checkpoint grid of the fixed-n bounds in the adaptive procedure."""
        return CheckpointGrid(self.n_min, self.ratio, self.n_max)

    @property
    def budget(self) -> int:
        """Most copies one document may get."""
        return self.n_max if self.procedure == "adaptive" else self.n_fixed

    @property
    def enumeration_limit(self) -> int:
        """Largest support scored exactly."""
        return self.budget if self.enumerate_limit is None else self.enumerate_limit


class ScoreSource(Protocol):
    """The candidates of one query as the engine sees them."""

    def bounds(self) -> Sequence[float]:
        """o_d per document."""

    def enumerate(self, limit: int) -> list[np.ndarray | None]:
        """Mapped scores of every copy of each document with support <= limit, else None."""

    def draw(self, requests: dict[int, int]) -> dict[int, np.ndarray]:
        """``requests[i]`` further i.i.d. mapped scores of document i (in [0, 1])."""


@dataclass(frozen=True)
class QueryCertificate:
    """Outcome for one query.

    Attributes:
        decisions: One per K.
        forwards: Copies scored (model forwards).
        samples: Copies scored per document.
        smoothed: Estimated (or exact) smoothed score per document.
        low: Lower bounds.
        high: Upper bounds.
        bounds: o_d per document.
        exact: Whether a document was scored exactly (enumeration).
        deltas: Error level of each document (0 when exact); sums to alpha.
        rounds: Sampling rounds (adaptive) or 1.
    """

    decisions: tuple[KDecision, ...]
    forwards: int
    samples: tuple[int, ...]
    smoothed: tuple[float, ...]
    low: tuple[float, ...]
    high: tuple[float, ...]
    bounds: tuple[float, ...]
    exact: tuple[bool, ...]
    deltas: tuple[float, ...]
    rounds: int

    def to_json(self) -> dict[str, Any]:
        """JSON-serialisable record."""
        return {
            "certified": {str(d.k): d.certified for d in self.decisions},
            "failed": {str(d.k): d.reason for d in self.decisions if not d.certified},
            "point_margin": {str(d.k): d.point_margin for d in self.decisions},
            "bound_margin": {str(d.k): d.bound_margin for d in self.decisions},
            "forwards": self.forwards,
            "rounds": self.rounds,
            "alpha_spent": float(sum(self.deltas)),
            "documents": [
                {"smoothed": round(g, 6), "low": round(lo, 6), "high": round(hi, 6), "o_d": round(o, 6), "samples": n, "exact": ex,
                 "delta": float(f"{dl:.6g}")}
                for g, lo, hi, o, n, ex, dl in zip(self.smoothed, self.low, self.high, self.bounds, self.samples, self.exact, self.deltas)
            ],
        }
