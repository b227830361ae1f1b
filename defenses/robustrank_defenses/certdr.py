"""CertDR randomized smoothing as a ranker defence (Wu et al., CIKM 2022).

``CertDRSmoothing.wrap(ranker, env)`` returns a smoothed ranker: the score of (q, d) is the
Monte-Carlo mean, over ``samples`` perturbed copies of d, of the ranker's score mapped to
[0, 1]. Copies come from the CertDR smoothing distribution (each word with a perturbation set
S(w) is replaced by a uniform draw from S(w); see ``robustrank.certify``). Its expectation is
the smoothed score g(q, d) that the ``certify`` task certifies; with finitely many samples the
wrapped ranker is an estimate of g (the reference ranks by such estimates, n = 1000-2000; the
default here is small for speed and recorded).

Copies are seeded by (defence seed, query, document text), so the smoothed ranker is a
deterministic function: a repeated (query, doc) pair gets the same score, which attacks and
score caches need.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any, Literal

import numpy as np
from pydantic import Field

from robustrank.api import (
    DefenseEnvironment,
    Smoother,
    StrictModel,
    SynonymSets,
    apply_score_map,
    derive_seed,
    resolve_score_map,
    score_pairs,
)

__all__ = ["CertDRSmoothing", "SmoothedRanker"]

log = logging.getLogger(__name__)


class CertDROptions(StrictModel):
    """Options of the CertDR smoothing defence."""

    samples: int = Field(16, gt=0, description="Perturbed copies per (query, document) (reference: 1000-2000).")
    min_similarity: float = Field(0.7, ge=-1, le=1, description="Lexicon similarity threshold of the substitution graph.")
    max_set_size: int = Field(100, gt=0, description="Cap on |S(w)| (reference: 100).")
    score_map: Literal["auto", "cosine_affine", "sigmoid", "identity"] = Field("auto", description="Ranker score to [0, 1].")
    batch_size: int = Field(2048, gt=0, description="(query, copy) pairs per call to the wrapped ranker.")


class SmoothedRanker:
    """A ranker whose score is the mean mapped score over perturbed copies of the document.

    Args:
        ranker: The ranker to smooth.
        smoother: The smoothing distribution.
        samples: Copies per pair.
        score_map: Concrete score map (see ``robustrank.certify.scoremap``).
        seed: Seed of the copies.
        batch_size: Pairs per call to ``ranker``.
    """

    def __init__(self, ranker: Any, smoother: Smoother, *, samples: int, score_map: str, seed: int, batch_size: int = 2048):
        self.ranker = ranker
        self.smoother = smoother
        self.samples = samples
        self.score_map = score_map
        self.seed = seed
        self.batch_size = batch_size
        self.name = f"{getattr(ranker, 'name', 'ranker')}+certdr_wu_2022"
        self.forwards = 0

    def describe(self) -> dict[str, Any]:
        """Settings, for results.json."""
        return {"type": "certdr_wu_2022", "samples": self.samples, "score_map": self.score_map, "sets": self.smoother.sets.info}

    def score_pairs(self, pairs: Sequence[tuple[str, str]]) -> np.ndarray:
        """Smoothed score of each (query, doc) pair, in [0, 1]."""
        expanded: list[tuple[str, str]] = []
        for q, d in pairs:
            rng = np.random.default_rng(derive_seed(self.seed, "certdr", q, d))
            expanded += [(q, c) for c in self.smoother.sample(self.smoother.prepare(d), self.samples, rng)]
        raw = np.concatenate(
            [score_pairs(self.ranker, expanded[i : i + self.batch_size]) for i in range(0, len(expanded), self.batch_size)]
        ) if expanded else np.zeros(0)
        self.forwards += len(expanded)
        mapped = apply_score_map(self.score_map, raw)
        return mapped.reshape(len(pairs), self.samples).mean(axis=1)

    def score(self, query: str, docs: Sequence[str]) -> np.ndarray:
        """Smoothed scores of documents for a query."""
        return self.score_pairs([(query, d) for d in docs])


class CertDRSmoothing:
    """The CertDR defence: randomized smoothing over synonym substitutions.

    Args:
        options: :class:`CertDROptions` or a dict of them.
    """

    name = "certdr_wu_2022"
    Options = CertDROptions

    def __init__(self, options: CertDROptions | dict[str, Any] | None = None):
        self.options = options if isinstance(options, CertDROptions) else CertDROptions(**(options or {}))

    def wrap(self, ranker: Any, env: DefenseEnvironment) -> SmoothedRanker:
        """The smoothed version of ``ranker``.

        Args:
            ranker: Any ranker (scores are mapped to [0, 1] by ``score_map``).
            env: Gives the lexicon and the seed.
        """
        opt = self.options
        sets = SynonymSets(env.lexicon, min_similarity=opt.min_similarity, max_set_size=opt.max_set_size)
        concrete = resolve_score_map(opt.score_map, ranker)
        log.info("certdr smoothing: %d copies per pair, score map %s", opt.samples, concrete)
        return SmoothedRanker(ranker, Smoother(sets), samples=opt.samples, score_map=concrete, seed=env.seed, batch_size=opt.batch_size)
