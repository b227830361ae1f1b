"""The certification decision for top-K robustness of one query (CertDR, corrected).

CertDR's condition (``crq_evaluate.py``): the query is certified at K if
g(d_K) - g(d_{K+1}) - max_{d ranked below K} o_d - (Monte Carlo error) > 0, with g the smoothed
scores and o_d the total-variation bound of document d.

We use the per-document form, which is implied by the reference's (so it certifies at least as
often) and sound on its own: with T the top-K documents by estimated smoothed score, [L_d, U_d]
simultaneous confidence intervals for g(d), and scores in [0, 1],

    min_{d in T} L_d - max_{e not in T} (U_e + o_e) > 0.

If every interval covers its g (probability >= 1 - alpha), then for any substituted copy e' of
any e outside T, g(e') <= g(e) + TV(smoothing at e, at e') <= U_e + o_e < L_d <= g(d) for every d
in T: no attack on one document outside the top K can move it into the top K of the smoothed
ranker, for every K at once. The Monte Carlo term is always on (the reference's default is
off).

Reasons a K fails, recorded per query: ``margin`` (a tie in the point estimates at the K/K+1
boundary), ``tv_bound`` (point estimates separate, but some o_e eats the margin:
min_T g^ - max_(not T) (g^ + o) <= 0), ``monte_carlo`` (passes on point estimates, fails with the
confidence bounds), ``too_few_candidates`` (K >= number of candidates).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

__all__ = ["KDecision", "decide", "feasible", "critical_documents", "top_k"]


@dataclass(frozen=True)
class KDecision:
    """The decision for one K.

    Attributes:
        k: K.
        certified: Whether top-K robustness is certified.
        reason: Why not (None when certified).
        point_margin: min_T g^ - max_(not T)(g^ + o) (None when K >= candidates).
        bound_margin: min_T L - max_(not T)(U + o) (None when K >= candidates).
    """

    k: int
    certified: bool
    reason: str | None
    point_margin: float | None
    bound_margin: float | None


def top_k(point: np.ndarray, k: int) -> np.ndarray:
    """Indices of the K largest point estimates (ties: lower index first)."""
    order = np.lexsort((np.arange(len(point)), -point))
    return order[:k]


def decide(point: Sequence[float], low: Sequence[float], high: Sequence[float], bound: Sequence[float], k: int) -> KDecision:
    """Certification decision at K.

    Args:
        point: Estimated smoothed scores g^(d).
        low: Lower confidence bounds L_d.
        high: Upper confidence bounds U_d.
        bound: o_d per document.
        k: K.
    """
    p, lo, hi, o = (np.asarray(x, dtype=np.float64) for x in (point, low, high, bound))
    n = len(p)
    if k >= n or k < 1:
        return KDecision(k, False, "too_few_candidates", None, None)
    inside = np.zeros(n, dtype=bool)
    inside[top_k(p, k)] = True
    tie = float(p[inside].min() - p[~inside].max())
    point_margin = float(p[inside].min() - (p[~inside] + o[~inside]).max())
    bound_margin = float(lo[inside].min() - (hi[~inside] + o[~inside]).max())
    if bound_margin > 0:
        return KDecision(k, True, None, point_margin, bound_margin)
    if tie <= 0:
        reason = "margin"
    elif point_margin <= 0:
        reason = "tv_bound"
    else:
        reason = "monte_carlo"
    return KDecision(k, False, reason, point_margin, bound_margin)


def feasible(low: Sequence[float], high: Sequence[float], bound: Sequence[float], k: int) -> bool:
    """Whether certification at K is still possible when every g lies in its interval.

    True iff some set T of K documents has min_T U > max_(not T)(L + o), i.e. some values inside
    the intervals would certify. Once False (with nested intervals) no further sampling can
    certify K, so the adaptive procedure stops working on it.
    """
    lo, hi, o = (np.asarray(x, dtype=np.float64) for x in (low, high, bound))
    n = len(lo)
    if k >= n or k < 1:
        return False
    floor = lo + o
    for a in np.unique(hi):
        eligible = np.flatnonzero(hi >= a)
        if len(eligible) < k:
            continue
        # T: the K eligible documents with the largest L + o (they must not stay outside).
        chosen = eligible[np.argsort(-floor[eligible], kind="stable")[:k]]
        mask = np.ones(n, dtype=bool)
        mask[chosen] = False
        if hi[chosen].min() > floor[mask].max():
            return True
    return False


def critical_documents(point: Sequence[float], low: Sequence[float], high: Sequence[float], bound: Sequence[float], k: int) -> np.ndarray:
    """Documents whose interval still blocks the decision at K (to sample further).

    With T the current top K: members of T whose L is at or below max_(not T)(U + o), and
    non-members whose U + o is at or above min_T L.
    """
    p, lo, hi, o = (np.asarray(x, dtype=np.float64) for x in (point, low, high, bound))
    n = len(p)
    inside = np.zeros(n, dtype=bool)
    inside[top_k(p, k)] = True
    ceiling = (hi + o)[~inside].max()
    floor = lo[inside].min()
    crit = (inside & (lo <= ceiling)) | (~inside & (hi + o >= floor))
    return np.flatnonzero(crit)
