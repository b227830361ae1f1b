"""The sampling state of one query's candidates and the per-look bound updates.

:class:`SampleState` holds each candidate's mapped scores and its running-intersection interval;
:func:`refresh` recomputes intervals after new copies (betting confidence sequences, or a
fixed-n bound at level delta / looks); :func:`binding_pair`, :func:`futile` and
:func:`next_size` steer the adaptive procedure (they affect cost, never validity).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from robustrank.certify.betting import approximate_radius, betting_interval
from robustrank.certify.bounds import empirical_bernstein_radius, interval
from robustrank.certify.decision import top_k
from robustrank.certify.settings import CertifySettings

__all__ = ["SampleState", "binding_pair", "futile", "next_size", "refresh"]


class SampleState:
    """Samples and running-intersection intervals of the candidates of one query."""

    def __init__(self, n_docs: int):
        self.scores: list[np.ndarray] = [np.zeros(0) for _ in range(n_docs)]
        self._mean = np.full(n_docs, 0.5)
        self.exact = np.zeros(n_docs, dtype=bool)
        self.low = np.zeros(n_docs)
        self.high = np.ones(n_docs)

    @property
    def n(self) -> np.ndarray:
        """Copies scored per candidate."""
        return np.array([len(s) for s in self.scores])

    @property
    def mean(self) -> np.ndarray:
        """Sample (or exact) mean per candidate; 0.5 before any copy."""
        return self._mean.copy()

    def set_scores(self, i: int, scores: np.ndarray) -> None:
        """Replace candidate i's scores."""
        self.scores[i] = np.asarray(scores, dtype=np.float64)
        self._mean[i] = float(self.scores[i].mean()) if len(self.scores[i]) else 0.5

    def variance(self, i: int) -> float:
        """Sample variance of candidate i (0.25, the largest possible, before two copies)."""
        s = self.scores[i]
        return float(np.var(s, ddof=1)) if len(s) > 1 else 0.25

    def add(self, fresh: dict[int, np.ndarray]) -> None:
        """Append fresh scores per candidate."""
        for i, s in fresh.items():
            self.set_scores(i, np.concatenate([self.scores[i], np.asarray(s, dtype=np.float64)]))

    def tighten(self, idx: Sequence[int], low: np.ndarray, high: np.ndarray) -> None:
        """Intersect the intervals of ``idx`` with new ones (running intersection)."""
        for j, i in enumerate(idx):
            lo, hi = max(self.low[i], float(low[j])), min(self.high[i], float(high[j]))
            if lo > hi:  # only possible off the coverage event
                lo = hi = (lo + hi) / 2.0
            self.low[i], self.high[i] = lo, hi


def _fixed_n_bounds(state: SampleState, idx: Sequence[int], deltas: np.ndarray, kind: str) -> tuple[np.ndarray, np.ndarray]:
    lows, highs = [], []
    for i, d in zip(idx, deltas):
        s = state.scores[i]
        ci = interval(float(s.mean()), state.variance(i), len(s), float(d), kind)
        lows.append(ci.low)
        highs.append(ci.high)
    return np.array(lows), np.array(highs)


def refresh(state: SampleState, idx: Sequence[int], deltas: np.ndarray, settings: CertifySettings, looks: int) -> None:
    """Recompute the intervals of documents ``idx`` after new samples and intersect."""
    idx = [i for i in idx if not state.exact[i] and len(state.scores[i])]
    if not idx:
        return
    if settings.bound == "betting":
        horizon = settings.n_fixed if settings.procedure == "fixed" else None
        low, high = betting_interval([state.scores[i] for i in idx], deltas[idx], horizon)
    else:
        low, high = _fixed_n_bounds(state, idx, deltas[idx] / looks, settings.bound)
    state.tighten(idx, low, high)


def _reach(state: SampleState, i: int, delta: float, settings: CertifySettings, looks: int) -> float:
    """Predicted half-width of document i at n_max (stopping heuristic only)."""
    if state.exact[i]:
        return 0.0
    var = state.variance(i)
    if settings.bound == "betting":
        return approximate_radius(var, settings.n_max, delta) * 0.5
    return empirical_bernstein_radius(settings.n_max, var, delta / looks / 2.0)


def binding_pair(state: SampleState, o: np.ndarray, k: int) -> tuple[int, int]:
    inside = np.zeros(len(o), dtype=bool)
    inside[top_k(state.mean, k)] = True
    ins, outs = np.flatnonzero(inside), np.flatnonzero(~inside)
    return int(ins[np.argmin(state.low[ins])]), int(outs[np.argmax((state.high + o)[outs])])


def futile(state: SampleState, o: np.ndarray, k: int, deltas: np.ndarray, settings: CertifySettings, looks: int) -> bool:
    """Whether K is hopeless within n_max copies (heuristic stopping rule, not part of the bound).

    With the binding pair a (top K, lowest L) and b (outside, highest U + o): futile when the
    point margin g^(a) - g^(b) - o(b) plus three standard errors is below the half-widths the
    two would have at n_max (optimistic prediction, so K is given up late rather than early).
    """
    a, b = binding_pair(state, o, k)
    if any(not state.exact[i] and len(state.scores[i]) < 2 for i in (a, b)):
        return False
    mean = state.mean
    margin = mean[a] - mean[b] - o[b]
    se = math.sqrt(sum(0.0 if state.exact[i] else state.variance(i) / len(state.scores[i]) for i in (a, b)))
    reach = _reach(state, a, deltas[a], settings, looks) + _reach(state, b, deltas[b], settings, looks)
    return margin + 3.0 * se < reach


def next_size(n: int, settings: CertifySettings) -> int | None:
    if n >= settings.n_max:
        return None
    if settings.bound == "betting":
        return min(settings.n_max, max(n + settings.n_min, math.ceil(n * settings.ratio)))
    return settings.grid.next_size(n)
