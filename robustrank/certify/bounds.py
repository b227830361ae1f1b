"""Confidence bounds for means of [0, 1]-valued samples: fixed-n and time-uniform.

Two bounds on the mean mu of i.i.d. X_i in [0, 1], each one-sided at level delta:

* **Hoeffding** (1963): mu <= mean + sqrt(ln(1/delta) / (2 n)). The reference's Monte Carlo
  term (CertDR ``crq_evaluate.py``) is this bound, two-sided, on two estimates.
* **Empirical Bernstein** (Maurer & Pontil, COLT 2009, Theorem 4): with V the unbiased sample
  variance, mu <= mean + sqrt(2 V ln(2/delta) / n) + 7 ln(2/delta) / (3 (n - 1)) (n >= 2).
  Much tighter than Hoeffding when the smoothed scores vary little, which is the usual case.

``"both"`` takes the tighter of the two, each at delta/2 (union bound).

**Time-uniform (anytime-valid) intervals** for sequential sampling: :class:`CheckpointGrid` fixes
in advance a finite geometric grid of sample sizes n_0 < n_1 < ... <= n_max and spends the
error level uniformly over it, delta_j = delta / J (a union bound over the J fixed sample sizes,
the simplest "stitching" construction; cf. Howard et al., Ann. Statist. 2021, for refined
stitching). An interval is only ever computed at a grid size, so the event "every interval
computed at every grid size covers mu" has probability >= 1 - delta whatever the stopping rule,
including rules that look at the data of this and other documents: the coverage event is a
property of the (conceptually pre-drawn) i.i.d. sample sequence, not of when we stop reading it.
Running intersections of such intervals are covered on the same event, so intervals may be
intersected across checkpoints (nested intervals) at no cost.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

__all__ = ["BoundKind", "CheckpointGrid", "Interval", "hoeffding_radius", "empirical_bernstein_radius", "interval"]

BoundKind = Literal["hoeffding", "empirical_bernstein", "both"]


@dataclass(frozen=True)
class Interval:
    """A confidence interval for a mean in [0, 1]."""

    low: float
    high: float

    def intersect(self, other: Interval) -> Interval:
        """The intersection (covered whenever both are); collapses to a point if empty."""
        low, high = max(self.low, other.low), min(self.high, other.high)
        if low > high:  # both cannot cover: only possible off the coverage event
            mid = (low + high) / 2
            return Interval(mid, mid)
        return Interval(low, high)


def hoeffding_radius(n: int, delta: float) -> float:
    """One-sided Hoeffding radius for n samples in [0, 1] at level delta."""
    if n < 1:
        return math.inf
    return math.sqrt(math.log(1.0 / delta) / (2.0 * n))


def empirical_bernstein_radius(n: int, variance: float, delta: float) -> float:
    """One-sided empirical-Bernstein radius (Maurer & Pontil 2009, Thm 4) for samples in [0, 1].

    Args:
        n: Sample size (>= 2, else infinite).
        variance: Unbiased sample variance (ddof=1).
        delta: One-sided error level.
    """
    if n < 2:
        return math.inf
    lg = math.log(2.0 / delta)
    return math.sqrt(2.0 * max(variance, 0.0) * lg / n) + 7.0 * lg / (3.0 * (n - 1))


def interval(mean: float, variance: float, n: int, delta: float, kind: BoundKind = "empirical_bernstein") -> Interval:
    """Two-sided interval at total error ``delta`` (delta/2 per side), clipped to [0, 1].

    Args:
        mean: Sample mean.
        variance: Unbiased sample variance.
        n: Sample size.
        delta: Two-sided error level.
        kind: hoeffding | empirical_bernstein | both (min of the two, each at half the level).
    """
    side = delta / 2.0
    if kind == "hoeffding":
        r = hoeffding_radius(n, side)
    elif kind == "empirical_bernstein":
        r = empirical_bernstein_radius(n, variance, side)
    elif kind == "both":
        r = min(hoeffding_radius(n, side / 2.0), empirical_bernstein_radius(n, variance, side / 2.0))
    else:
        raise ValueError(f"unknown bound {kind!r}")
    return Interval(max(0.0, mean - r), min(1.0, mean + r))


@dataclass(frozen=True)
class CheckpointGrid:
    """Geometric grid of sample sizes with the error level split uniformly across it.

    Attributes:
        n_min: First checkpoint.
        ratio: Growth factor between checkpoints (> 1).
        n_max: Last checkpoint (the sampling cap).
    """

    n_min: int
    ratio: float
    n_max: int

    def __post_init__(self):
        if self.n_min < 2 or self.ratio <= 1.0 or self.n_max < self.n_min:
            raise ValueError(f"invalid checkpoint grid {self}")

    @property
    def sizes(self) -> tuple[int, ...]:
        """The checkpoints n_0 < n_1 < ... (the last is n_max)."""
        out = [self.n_min]
        while out[-1] < self.n_max:
            out.append(min(self.n_max, max(out[-1] + 1, math.ceil(out[-1] * self.ratio))))
        return tuple(out)

    def delta_per_look(self, delta: float) -> float:
        """Error level of each checkpoint's interval: delta / J."""
        return delta / len(self.sizes)

    def next_size(self, n: int) -> int | None:
        """The first checkpoint above ``n`` (None at or beyond n_max)."""
        for s in self.sizes:
            if s > n:
                return s
        return None
