"""Certify one query: estimate smoothed scores (fixed-n or adaptive) and decide for every K.

The engine (:func:`certify_scores`) sees the candidates through a :class:`ScoreSource`: per
document its o_d, its exact mapped scores when its smoothing support is small enough to
enumerate, and draws of further i.i.d. mapped scores. :func:`certify_query` is the source for
texts (smoother + scorer); tests use numpy sources with known truth.

1. **Exact enumeration.** A document whose smoothing support (product of its set sizes) is at
   most ``enumerate_limit`` (default: the sample budget, n_max or n_fixed) is scored on every
   copy: its smoothed score is exact, zero width, and it gets no error level.
2. **Error levels.** The query's alpha is split over the sampled documents by
   :func:`~robustrank.certify.allocation.allocate_alpha` (weighted by unsmoothed rank, fixed
   before sampling); the levels sum to alpha.
3. **Bounds.** ``betting`` (default): the anytime-valid betting confidence sequence of each
   document (:mod:`~robustrank.certify.betting`), intersected over all looks — valid whatever the
   sampling and stopping. ``empirical_bernstein`` / ``hoeffding`` / ``both`` are fixed-n bounds:
   the fixed procedure computes them once; the adaptive one only at the sizes of a geometric
   :class:`~robustrank.certify.bounds.CheckpointGrid`, each at level delta_d / J.
4. **Procedures.** ``fixed`` (the reference's): n_fixed copies of every sampled document, one
   look. ``adaptive``: n_min copies each, then rounds of top-K identification (LUCB-style): for
   every open K, the binding pair (the top-K member with the lowest lower bound, the outsider
   with the highest upper bound + o_d) and the widest of the documents that still block the
   decision get more copies (n -> ratio * n, up to n_max). A K is frozen when certified, when
   no values inside the intervals could certify it, or (``futility``, a heuristic that affects
   cost only) when even n_max copies of the binding pair would very likely not certify it.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol

import numpy as np

from robustrank.certify.allocation import AlphaScheme, allocate_alpha
from robustrank.certify.betting import approximate_radius, betting_interval
from robustrank.certify.bounds import CheckpointGrid, empirical_bernstein_radius, interval
from robustrank.certify.decision import KDecision, critical_documents, decide, feasible, top_k
from robustrank.certify.smoothing import Smoother

__all__ = ["BoundName", "CertifySettings", "QueryCertificate", "ScoreSource", "certify_query", "certify_scores", "Scorer"]

log = logging.getLogger(__name__)

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


# -- the engine -------------------------------------------------------------------------------


class _State:
    """Samples and running-intersection intervals of the candidates of one query."""

    def __init__(self, n_docs: int):
        self.scores: list[np.ndarray] = [np.zeros(0) for _ in range(n_docs)]
        self._mean = np.full(n_docs, 0.5)
        self.exact = np.zeros(n_docs, dtype=bool)
        self.low = np.zeros(n_docs)
        self.high = np.ones(n_docs)

    @property
    def n(self) -> np.ndarray:
        return np.array([len(s) for s in self.scores])

    @property
    def mean(self) -> np.ndarray:
        return self._mean.copy()

    def set_scores(self, i: int, scores: np.ndarray) -> None:
        self.scores[i] = np.asarray(scores, dtype=np.float64)
        self._mean[i] = float(self.scores[i].mean()) if len(self.scores[i]) else 0.5

    def variance(self, i: int) -> float:
        s = self.scores[i]
        return float(np.var(s, ddof=1)) if len(s) > 1 else 0.25

    def add(self, fresh: dict[int, np.ndarray]) -> None:
        for i, s in fresh.items():
            self.set_scores(i, np.concatenate([self.scores[i], np.asarray(s, dtype=np.float64)]))

    def tighten(self, idx: Sequence[int], low: np.ndarray, high: np.ndarray) -> None:
        """Intersect the intervals of ``idx`` with new ones (running intersection)."""
        for j, i in enumerate(idx):
            lo, hi = max(self.low[i], float(low[j])), min(self.high[i], float(high[j]))
            if lo > hi:  # only possible off the coverage event
                lo = hi = (lo + hi) / 2.0
            self.low[i], self.high[i] = lo, hi


def _fixed_n_bounds(state: _State, idx: Sequence[int], deltas: np.ndarray, kind: str) -> tuple[np.ndarray, np.ndarray]:
    lows, highs = [], []
    for i, d in zip(idx, deltas):
        s = state.scores[i]
        ci = interval(float(s.mean()), state.variance(i), len(s), float(d), kind)
        lows.append(ci.low)
        highs.append(ci.high)
    return np.array(lows), np.array(highs)


def _refresh(state: _State, idx: Sequence[int], deltas: np.ndarray, settings: CertifySettings, looks: int) -> None:
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


def _reach(state: _State, i: int, delta: float, settings: CertifySettings, looks: int) -> float:
    """Predicted half-width of document i at n_max (stopping heuristic only)."""
    if state.exact[i]:
        return 0.0
    var = state.variance(i)
    if settings.bound == "betting":
        return approximate_radius(var, settings.n_max, delta) * 0.5
    return empirical_bernstein_radius(settings.n_max, var, delta / looks / 2.0)


def _binding_pair(state: _State, o: np.ndarray, k: int) -> tuple[int, int]:
    inside = np.zeros(len(o), dtype=bool)
    inside[top_k(state.mean, k)] = True
    ins, outs = np.flatnonzero(inside), np.flatnonzero(~inside)
    return int(ins[np.argmin(state.low[ins])]), int(outs[np.argmax((state.high + o)[outs])])


def _futile(state: _State, o: np.ndarray, k: int, deltas: np.ndarray, settings: CertifySettings, looks: int) -> bool:
    """Whether K is hopeless within n_max copies (heuristic stopping rule, not part of the bound).

    With the binding pair a (top K, lowest L) and b (outside, highest U + o): futile when the
    point margin g^(a) - g^(b) - o(b) plus three standard errors is below the half-widths the
    two would have at n_max (optimistic prediction, so K is given up late rather than early).
    """
    a, b = _binding_pair(state, o, k)
    if any(not state.exact[i] and len(state.scores[i]) < 2 for i in (a, b)):
        return False
    mean = state.mean
    margin = mean[a] - mean[b] - o[b]
    se = math.sqrt(sum(0.0 if state.exact[i] else state.variance(i) / len(state.scores[i]) for i in (a, b)))
    reach = _reach(state, a, deltas[a], settings, looks) + _reach(state, b, deltas[b], settings, looks)
    return margin + 3.0 * se < reach


def _next_size(n: int, settings: CertifySettings) -> int | None:
    if n >= settings.n_max:
        return None
    if settings.bound == "betting":
        return min(settings.n_max, max(n + settings.n_min, math.ceil(n * settings.ratio)))
    return settings.grid.next_size(n)


def certify_scores(source: ScoreSource, settings: CertifySettings, ranks: Sequence[int] | None = None) -> QueryCertificate:
    """Certify one query's candidates at every K from a score source.

    Args:
        source: The candidates (o_d, enumeration, draws).
        settings: Procedure, alpha, K values, sample sizes, bound.
        ranks: Unsmoothed rank of each candidate (1-based; default list order), used only to
            weight the error levels.
    """
    o = np.asarray(source.bounds(), dtype=np.float64)
    n_docs = len(o)
    state = _State(n_docs)
    forwards = 0
    for i, scores in enumerate(source.enumerate(settings.enumeration_limit)):
        if scores is not None:
            state.exact[i] = True
            state.set_scores(i, scores)
            state.low[i] = state.high[i] = float(state.scores[i].mean())
            forwards += len(scores)
    sampled = ~state.exact
    deltas = allocate_alpha(settings.alpha, sampled, ranks, settings.k_values, settings.alpha_scheme)
    sampled_idx = [int(i) for i in np.flatnonzero(sampled)]
    rounds = 0
    looks = 1

    def draw(requests: dict[int, int]) -> None:
        nonlocal forwards, rounds
        requests = {i: r for i, r in requests.items() if r > 0}
        if not requests:
            return
        fresh = source.draw(requests)
        state.add(fresh)
        forwards += sum(len(v) for v in fresh.values())
        rounds += 1

    if settings.procedure == "fixed":
        draw({i: settings.n_fixed for i in sampled_idx})
        _refresh(state, sampled_idx, deltas, settings, 1)
        decisions = tuple(decide(state.mean, state.low, state.high, o, k) for k in settings.k_values)
    elif settings.procedure == "adaptive":
        if settings.bound != "betting":
            looks = len(settings.grid.sizes)
        frozen: dict[int, KDecision] = {}
        draw({i: settings.n_min for i in sampled_idx})
        _refresh(state, sampled_idx, deltas, settings, looks)
        while True:
            mean = state.mean
            targets: dict[int, int] = {}
            n = state.n
            for k in settings.k_values:
                if k in frozen:
                    continue
                dec = decide(mean, state.low, state.high, o, k)
                if dec.certified or dec.reason == "too_few_candidates" or not feasible(state.low, state.high, o, k):
                    frozen[k] = dec
                    continue
                if settings.futility and _futile(state, o, k, deltas, settings, looks):
                    frozen[k] = dec
                    continue
                crit = [int(i) for i in critical_documents(mean, state.low, state.high, o, k) if not state.exact[i] and n[i] < settings.n_max]
                crit.sort(key=lambda i: (-(state.high[i] - state.low[i]), i))
                chosen = set(crit[: settings.per_round])
                chosen.update(i for i in _binding_pair(state, o, k) if i in crit)
                if not chosen:
                    frozen[k] = dec  # every blocking document is at n_max (or exact)
                    continue
                for i in chosen:
                    nxt = _next_size(int(n[i]), settings)
                    if nxt is not None:
                        targets[i] = nxt
            if not targets:
                break
            draw({i: t - int(n[i]) for i, t in targets.items()})
            _refresh(state, list(targets), deltas, settings, looks)
        decisions = tuple(frozen.get(k) or decide(state.mean, state.low, state.high, o, k) for k in settings.k_values)
    else:
        raise ValueError(f"unknown procedure {settings.procedure!r}")
    return QueryCertificate(
        decisions=decisions,
        forwards=forwards,
        samples=tuple(int(x) for x in state.n),
        smoothed=tuple(float(x) for x in state.mean),
        low=tuple(float(x) for x in state.low),
        high=tuple(float(x) for x in state.high),
        bounds=tuple(float(x) for x in o),
        exact=tuple(bool(x) for x in state.exact),
        deltas=tuple(float(x) for x in deltas),
        rounds=rounds,
    )


# -- texts --------------------------------------------------------------------------------------


def _score(scorer: Scorer, pairs: list[tuple[str, str]], batch: int) -> np.ndarray:
    out = []
    for start in range(0, len(pairs), batch):
        chunk = pairs[start : start + batch]
        s = np.asarray(scorer(chunk), dtype=np.float64)
        if s.shape != (len(chunk),):
            raise ValueError(f"scorer returned shape {s.shape} for {len(chunk)} pairs")
        if np.any(~np.isfinite(s)) or s.min() < -1e-6 or s.max() > 1 + 1e-6:
            raise ValueError(f"mapped scores must lie in [0, 1]; got range [{s.min()}, {s.max()}] (check score_map)")
        out.append(np.clip(s, 0.0, 1.0))
    return np.concatenate(out) if out else np.zeros(0)


class TextSource:
    """Candidates given as texts: copies from the smoother, scored by the mapped scorer.

    Args:
        query: Query text.
        texts: Candidate texts.
        scorer: Mapped scorer.
        smoother: The smoothing distribution.
        rngs: One generator per candidate (its copies are drawn from it in order, so fixed and
            adaptive runs with the same seeds see the same copies).
        batch: Pairs per scorer call.
    """

    def __init__(self, query: str, texts: Sequence[str], scorer: Scorer, smoother: Smoother, rngs: Sequence[np.random.Generator], batch: int = 1024):
        self.query = query
        self.prepared = [smoother.prepare(t) for t in texts]
        if len(rngs) != len(self.prepared):
            raise ValueError(f"{len(rngs)} generators for {len(self.prepared)} texts")
        self.scorer, self.smoother, self.rngs, self.batch = scorer, smoother, list(rngs), batch

    def bounds(self) -> list[float]:
        return [p.bound for p in self.prepared]

    def enumerate(self, limit: int) -> list[np.ndarray | None]:
        copies = [self.smoother.enumerate(p, limit) for p in self.prepared]
        pairs = [(self.query, c) for cs in copies if cs is not None for c in cs]
        scores = _score(self.scorer, pairs, self.batch)
        out: list[np.ndarray | None] = []
        at = 0
        for cs in copies:
            if cs is None:
                out.append(None)
            else:
                out.append(scores[at : at + len(cs)])
                at += len(cs)
        return out

    def draw(self, requests: dict[int, int]) -> dict[int, np.ndarray]:
        pairs: list[tuple[str, str]] = []
        owners: list[int] = []
        for i, need in requests.items():
            for text in self.smoother.sample(self.prepared[i], need, self.rngs[i]):
                pairs.append((self.query, text))
                owners.append(i)
        scores = _score(self.scorer, pairs, self.batch)
        owners_arr = np.asarray(owners)
        return {i: scores[owners_arr == i] for i in requests}


def certify_query(
    query: str,
    texts: Sequence[str],
    scorer: Scorer,
    smoother: Smoother,
    settings: CertifySettings,
    rngs: Sequence[np.random.Generator],
    ranks: Sequence[int] | None = None,
) -> QueryCertificate:
    """Certify the ranking of ``texts`` (the candidates) for ``query`` at every K.

    Args:
        query: Query text.
        texts: Candidate document texts (the smoothed ranker re-ranks exactly these).
        scorer: Maps (query, text) pairs to [0, 1].
        smoother: The smoothing distribution.
        settings: Procedure, alpha, K values, sample sizes.
        rngs: One generator per candidate.
        ranks: Unsmoothed rank of each candidate (default: list order).
    """
    return certify_scores(TextSource(query, texts, scorer, smoother, rngs, settings.score_batch), settings, ranks)
