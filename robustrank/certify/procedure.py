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

from collections.abc import Sequence

import numpy as np

from robustrank.certify.engine import certify_scores
from robustrank.certify.settings import BoundName, CertifySettings, QueryCertificate, Scorer, ScoreSource
from robustrank.certify.smoothing import Smoother

__all__ = ["BoundName", "CertifySettings", "QueryCertificate", "ScoreSource", "Scorer", "TextSource", "certify_query", "certify_scores"]


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
