"""Certify one query: estimate smoothed scores (fixed-n or adaptive) and decide for every K.

Two procedures share the estimator and the decision (:mod:`robustrank.certify.decision`):

* ``fixed`` (the reference's): n perturbed copies of every candidate; one interval per document
  at level alpha / m (m = candidates that need sampling; Bonferroni, two-sided).
* ``adaptive`` (ours): copies are drawn in rounds up to the next size of a geometric
  :class:`~robustrank.certify.bounds.CheckpointGrid`; after each round, every K whose decision is
  settled (certified, or no longer feasible for any values inside the intervals) is frozen, and
  only documents whose interval still blocks an open K are sampled further, up to ``n_max``.
  Each document's interval is computed only at grid sizes with level alpha / (m J) (J grid
  sizes) and intersected with its earlier ones, so all intervals of all documents at all looks
  hold simultaneously with probability >= 1 - alpha, whatever the stopping (see ``bounds``).

Documents whose smoothing distribution has few distinct copies (at most ``enumerate_limit``,
e.g. no perturbable word) are scored exactly by enumeration; they need no error level.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from robustrank.certify.bounds import BoundKind, CheckpointGrid, Interval, interval
from robustrank.certify.decision import (
    KDecision,
    critical_documents,
    decide,
    feasible,
    top_k,
)
from robustrank.certify.smoothing import PreparedText, Smoother

__all__ = ["CertifySettings", "QueryCertificate", "certify_query", "Scorer"]

log = logging.getLogger(__name__)

Scorer = Callable[[Sequence[tuple[str, str]]], np.ndarray]
"""Scores (query, text) pairs, returning values in [0, 1] (the mapped ranker score)."""


@dataclass(frozen=True)
class CertifySettings:
    """How to certify.

    Attributes:
        alpha: Error level of each query's certificate (all K at once).
        k_values: The K to decide.
        procedure: adaptive | fixed.
        n_fixed: Copies per document for ``fixed``.
        n_min: First checkpoint of the adaptive grid.
        ratio: Growth factor of the adaptive grid.
        n_max: Cap on copies per document for ``adaptive``.
        bound: hoeffding | empirical_bernstein | both.
        enumerate_limit: Score a document exactly when it has at most this many distinct copies.
        score_batch: Pairs per scorer call.
        futility: Adaptive only: also stop K when even n_max copies of the binding pair would
            very likely not certify it (see :func:`_futile`). A stopping rule; it never affects
            the validity of a certificate, only how many undecided K give up early.
    """

    alpha: float = 0.05
    k_values: tuple[int, ...] = (1, 3, 5)
    procedure: Literal["adaptive", "fixed"] = "adaptive"
    n_fixed: int = 1000
    n_min: int = 32
    ratio: float = 2.0
    n_max: int = 4096
    bound: BoundKind = "empirical_bernstein"
    enumerate_limit: int = 64
    score_batch: int = 1024
    futility: bool = True

    @property
    def grid(self) -> CheckpointGrid:
        """The adaptive checkpoint grid."""
        return CheckpointGrid(self.n_min, self.ratio, self.n_max)


@dataclass
class _Doc:
    prepared: PreparedText
    rng: np.random.Generator
    scores: list[float] = field(default_factory=list)
    exact: bool = False
    ci: Interval = field(default_factory=lambda: Interval(0.0, 1.0))

    @property
    def n(self) -> int:
        return len(self.scores)

    @property
    def mean(self) -> float:
        return float(np.mean(self.scores)) if self.scores else 0.5


@dataclass(frozen=True)
class QueryCertificate:
    """Outcome for one query.

    Attributes:
        decisions: One per K.
        forwards: (query, text) pairs scored.
        samples: Copies scored per document.
        smoothed: Estimated smoothed score per document.
        low: Lower bounds.
        high: Upper bounds.
        bounds: o_d per document.
        exact: Whether a document was scored exactly (enumeration).
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
            "documents": [
                {"smoothed": round(g, 6), "low": round(lo, 6), "high": round(hi, 6), "o_d": round(o, 6), "samples": n, "exact": ex}
                for g, lo, hi, o, n, ex in zip(self.smoothed, self.low, self.high, self.bounds, self.samples, self.exact)
            ],
        }


def _score(scorer: Scorer, pairs: list[tuple[str, str]], batch: int) -> np.ndarray:
    out = []
    for start in range(0, len(pairs), batch):
        s = np.asarray(scorer(pairs[start : start + batch]), dtype=np.float64)
        if s.shape != (len(pairs[start : start + batch]),):
            raise ValueError(f"scorer returned shape {s.shape} for {len(pairs[start:start + batch])} pairs")
        if np.any(~np.isfinite(s)) or s.min() < -1e-6 or s.max() > 1 + 1e-6:
            raise ValueError(f"mapped scores must lie in [0, 1]; got range [{s.min()}, {s.max()}] (check score_map)")
        out.append(np.clip(s, 0.0, 1.0))
    return np.concatenate(out) if out else np.zeros(0)


def _draw(query: str, docs: list[_Doc], targets: dict[int, int], smoother: Smoother, scorer: Scorer, batch: int) -> int:
    """Bring each document i to targets[i] copies; return pairs scored."""
    pairs: list[tuple[str, str]] = []
    owners: list[int] = []
    for i, target in targets.items():
        need = target - docs[i].n
        if need > 0:
            for text in smoother.sample(docs[i].prepared, need, docs[i].rng):
                pairs.append((query, text))
                owners.append(i)
    scores = _score(scorer, pairs, batch)
    for i, s in zip(owners, scores.tolist()):
        docs[i].scores.append(s)
    return len(pairs)


def _half_width(d: _Doc, n: int, delta: float, kind: BoundKind) -> float:
    if d.exact:
        return 0.0
    var = float(np.var(d.scores, ddof=1)) if d.n > 1 else 0.25
    ci = interval(0.5, var, n, delta, kind)
    return (ci.high - ci.low) / 2.0


def _futile(docs: list[_Doc], o: Sequence[float], k: int, settings: CertifySettings, delta_look: float) -> bool:
    """Whether K is hopeless within n_max copies (heuristic stopping rule, not part of the bound).

    With T the current top K by point estimate, take the binding pair: d* in T with the lowest
    lower bound and e* outside with the highest U + o. K is futile when the point margin
    g^(d*) - g^(e*) - o(e*), plus two standard errors of it, is still below the interval half
    widths the two documents would have at n_max (with their current sample variances).
    """

    point = np.array([d.mean for d in docs])
    lo = np.array([d.ci.low for d in docs])
    hi = np.array([d.ci.high for d in docs]) + np.asarray(o)
    inside = np.zeros(len(docs), dtype=bool)
    inside[top_k(point, k)] = True
    i_in = int(np.flatnonzero(inside)[np.argmin(lo[inside])])
    i_out = int(np.flatnonzero(~inside)[np.argmax(hi[~inside])])
    a, b = docs[i_in], docs[i_out]
    if (not a.exact and a.n < 2) or (not b.exact and b.n < 2):
        return False
    margin = a.mean - b.mean - float(o[i_out])
    se = math.sqrt(sum(0.0 if x.exact else float(np.var(x.scores, ddof=1)) / x.n for x in (a, b)))
    reach = _half_width(a, settings.n_max, delta_look, settings.bound) + _half_width(b, settings.n_max, delta_look, settings.bound)
    return margin + 2.0 * se < reach


def certify_query(
    query: str,
    texts: Sequence[str],
    scorer: Scorer,
    smoother: Smoother,
    settings: CertifySettings,
    rngs: Sequence[np.random.Generator],
) -> QueryCertificate:
    """Certify the ranking of ``texts`` (the candidates) for ``query`` at every K.

    Args:
        query: Query text.
        texts: Candidate document texts (the smoothed ranker re-ranks exactly these).
        scorer: Maps (query, text) pairs to [0, 1].
        smoother: The smoothing distribution.
        settings: Procedure, alpha, K values, sample sizes.
        rngs: One generator per candidate (its copies are drawn from it in order, so fixed
            and adaptive runs with the same seeds see the same copies).
    """
    docs = [_Doc(smoother.prepare(t), rng) for t, rng in zip(texts, rngs, strict=True)]
    forwards = 0
    # Exact documents: few distinct copies, scored once each.
    exact_pairs: list[tuple[str, str]] = []
    exact_owner: list[int] = []
    for i, d in enumerate(docs):
        copies = smoother.enumerate(d.prepared, settings.enumerate_limit)
        if copies is not None:
            d.exact = True
            exact_pairs += [(query, c) for c in copies]
            exact_owner += [i] * len(copies)
    if exact_pairs:
        for i, s in zip(exact_owner, _score(scorer, exact_pairs, settings.score_batch).tolist()):
            docs[i].scores.append(s)
        forwards += len(exact_pairs)
        for d in docs:
            if d.exact:
                d.ci = Interval(d.mean, d.mean)
    random_idx = [i for i, d in enumerate(docs) if not d.exact]
    delta_doc = settings.alpha / max(1, len(random_idx))
    o = [d.prepared.bound for d in docs]

    def state():
        return ([d.mean for d in docs], [d.ci.low for d in docs], [d.ci.high for d in docs])

    rounds = 0
    if settings.procedure == "fixed":
        if random_idx:
            forwards += _draw(query, docs, {i: settings.n_fixed for i in random_idx}, smoother, scorer, settings.score_batch)
            rounds = 1
            for i in random_idx:
                d = docs[i]
                d.ci = interval(d.mean, float(np.var(d.scores, ddof=1)) if d.n > 1 else 0.25, d.n, delta_doc, settings.bound)
        p, lo, hi = state()
        decisions = tuple(decide(p, lo, hi, o, k) for k in settings.k_values)
    elif settings.procedure == "adaptive":
        grid = settings.grid
        delta_look = grid.delta_per_look(delta_doc)
        frozen: dict[int, KDecision] = {}
        while True:
            p, lo, hi = state()
            active: set[int] = set()
            for k in settings.k_values:
                if k in frozen:
                    continue
                dec = decide(p, lo, hi, o, k)
                if dec.certified or dec.reason == "too_few_candidates" or not feasible(lo, hi, o, k):
                    frozen[k] = dec
                    continue
                if settings.futility and rounds > 0 and _futile(docs, o, k, settings, delta_look):
                    frozen[k] = dec
                    continue
                active.update(int(i) for i in critical_documents(p, lo, hi, o, k))
            targets = {i: grid.next_size(docs[i].n) for i in active if not docs[i].exact}
            targets = {i: t for i, t in targets.items() if t is not None}
            if not targets:
                break
            forwards += _draw(query, docs, targets, smoother, scorer, settings.score_batch)
            rounds += 1
            for i in targets:
                d = docs[i]
                fresh = interval(d.mean, float(np.var(d.scores, ddof=1)), d.n, delta_look, settings.bound)
                d.ci = d.ci.intersect(fresh)
        p, lo, hi = state()
        decisions = tuple(frozen.get(k) or decide(p, lo, hi, o, k) for k in settings.k_values)
    else:
        raise ValueError(f"unknown procedure {settings.procedure!r}")
    p, lo, hi = state()
    return QueryCertificate(
        decisions=decisions,
        forwards=forwards,
        samples=tuple(d.n for d in docs),
        smoothed=tuple(p),
        low=tuple(lo),
        high=tuple(hi),
        bounds=tuple(o),
        exact=tuple(d.exact for d in docs),
        rounds=rounds,
    )
