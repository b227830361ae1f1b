"""CertDR randomized smoothing as a ranker defence (Wu et al., CIKM 2022).

``CertDRSmoothing.wrap(ranker, env)`` returns a smoothed ranker: the score of (q, d) is the
Monte-Carlo mean, over ``samples`` perturbed copies of d, of the ranker's score mapped to
[0, 1]. Copies come from the CertDR smoothing distribution (each word with a perturbation set
S(w) is replaced by a uniform draw from S(w); see ``robustrank.certify``). Its expectation is
the smoothed score g(q, d) that the ``certify`` task certifies; with finitely many samples the
wrapped ranker is an estimate of g (the reference ranks by such estimates, n = 1000-2000; the
default here is small for speed and recorded).

Noise (``noise: common``, the default): common random numbers tied to (query, word slot). For
each query one matrix of uniforms ``U[copy, slot]`` is drawn from the defence seed and the query;
copy ``c`` of any document replaces its ``i``-th word by choice ``floor(U[c, i] * |S(w)|)`` of its
perturbation set. Every text scored for a query shares these numbers, so an edit changes only
the noise of the word slots it touches: an attacker cannot gain rank by re-rolling the Monte
Carlo noise of the whole document (the old scheme, ``noise: independent``, seeded the copies by
the document text, so every edit drew fresh noise for all words). Word slots count alphabetic
words, so punctuation and whitespace changes leave the noise unchanged; an insertion shifts the
slots after it.

Final re-scoring: :meth:`SmoothedRanker.score_final` estimates the smoothed score with
``final_samples`` copies (default 10x ``samples``) from another common-random-number stream;
T4 uses it for the reported rank of the original and adversarial text (via
:func:`robustrank.api.defended_score_fn`), so a win bought with the noise of the ``samples``-copy
estimate is not reported as a win.

Either way the smoothed ranker is a deterministic function: a repeated (query, doc) pair gets
the same score, which attacks and score caches need.
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
    noise: Literal["common", "independent"] = Field(
        "common", description="common: noise tied to (query, word slot), shared across texts; independent: seeded by the text."
    )
    final_samples: int | None = Field(
        None, gt=0, description="Copies for the final re-scoring of reported ranks (default 10x samples)."
    )


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

    def __init__(
        self,
        ranker: Any,
        smoother: Smoother,
        *,
        samples: int,
        score_map: str,
        seed: int,
        batch_size: int = 2048,
        noise: str = "common",
        final_samples: int | None = None,
    ):
        self.ranker = ranker
        self.smoother = smoother
        self.samples = samples
        self.noise = noise
        self.final_samples = final_samples or 10 * samples
        self.score_map = score_map
        self.seed = seed
        self.batch_size = batch_size
        self.name = f"{getattr(ranker, 'name', 'ranker')}+certdr_wu_2022"
        self.forwards = 0

    def describe(self) -> dict[str, Any]:
        """Settings, for results.json."""
        return {
            "type": "certdr_wu_2022",
            "samples": self.samples,
            "final_samples": self.final_samples,
            "noise": self.noise,
            "noise_note": (
                "common random numbers tied to (query, word slot), shared across texts"
                if self.noise == "common"
                else "independent copies seeded by (query, document text): every edit re-draws all noise"
            ),
            "score_map": self.score_map,
            "sets": self.smoother.sets.info,
        }

    def uniforms(self, query: str, n_slots: int, copies: int, stream: str = "crn") -> np.ndarray:
        """The common random numbers of ``query``: array [copies, n_slots] of uniforms in [0, 1).

        Drawn slot by slot from a generator seeded by (defence seed, stream, query), so the
        first k columns are the same whatever ``n_slots >= k`` is asked for.
        """
        rng = np.random.default_rng(derive_seed(self.seed, "certdr", stream, copies, query))
        return rng.random((max(n_slots, 0), copies)).T

    def _copies(self, query: str, doc: str, copies: int, stream: str) -> list[str]:
        prepared = self.smoother.prepare(doc)
        if self.noise == "independent":
            rng = np.random.default_rng(derive_seed(self.seed, "certdr", stream, query, doc) if stream != "crn" else derive_seed(self.seed, "certdr", query, doc))
            return self.smoother.sample(prepared, copies, rng)
        return self.smoother.sample_common(prepared, self.uniforms(query, prepared.n_words, copies, stream))

    def _smoothed(self, pairs: Sequence[tuple[str, str]], copies: int, stream: str) -> np.ndarray:
        expanded: list[tuple[str, str]] = []
        for q, d in pairs:
            expanded += [(q, c) for c in self._copies(q, d, copies, stream)]
        raw = np.concatenate(
            [score_pairs(self.ranker, expanded[i : i + self.batch_size]) for i in range(0, len(expanded), self.batch_size)]
        ) if expanded else np.zeros(0)
        self.forwards += len(expanded)
        mapped = apply_score_map(self.score_map, raw)
        return mapped.reshape(len(pairs), copies).mean(axis=1)

    def score_pairs(self, pairs: Sequence[tuple[str, str]]) -> np.ndarray:
        """Smoothed score of each (query, doc) pair, in [0, 1] (``samples`` copies)."""
        return self._smoothed(pairs, self.samples, "crn")

    def score_final(self, query: str, docs: Sequence[str]) -> np.ndarray:
        """A more precise smoothed score (``final_samples`` copies, its own noise stream) for reported ranks."""
        return self._smoothed([(query, d) for d in docs], self.final_samples, "final")

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
        return SmoothedRanker(
            ranker, Smoother(sets), samples=opt.samples, score_map=concrete, seed=env.seed, batch_size=opt.batch_size,
            noise=opt.noise, final_samples=opt.final_samples,
        )
