"""Configuration of the certification task ``certify`` (CertDR randomized smoothing).

Defaults are sized for the demo (MiniLM bi-encoder on vaswani, ~2 minutes on 2 CPU cores): far
fewer queries and candidates than the paper (all test queries, top-100 candidates, K = 1..10,
20..90, n = 1000-2000 copies per document); every choice is recorded in results.json.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator, model_validator

from robustrank.adversarial.specs import DefenseSpec
from robustrank.schema_base import StrictModel

__all__ = ["CertifyConfig", "DefenseSpec"]


def _default_defenses() -> list[DefenseSpec]:
    return [DefenseSpec(name="certdr_wu_2022"), DefenseSpec(name="perplexity_detector")]


class CertifyConfig(StrictModel):
    """Certified top-K robustness (Wu et al., CIKM 2022), plus evaluation of defence plugins."""

    enabled: bool = Field(False, description="Run the certification task.")
    queries: int = Field(12, gt=0, description="Judged queries certified (a seeded sample; the paper: all test queries).")
    candidates: int = Field(
        20, gt=1, description="Top-N of the undefended ranker's re-ranked list that the smoothed ranker re-ranks "
        "and the certificate covers (the paper: top-100)."
    )
    k_values: list[int] = Field(
        default_factory=lambda: [1, 3, 5, 10],
        description="K of CRQ@K (each < candidates; the paper: 1..10, 20..90 over the top-100).",
    )
    alpha: float = Field(0.05, gt=0, lt=1, description="Error level of each query's certificate (all K simultaneously).")
    procedure: Literal["adaptive", "fixed"] = Field(
        "adaptive", description="adaptive: top-K identification sampling with anytime-valid bounds; fixed: n_fixed copies per document (the reference)."
    )
    n_fixed: int = Field(1000, ge=2, description="Copies per document for procedure fixed (reference: 1000).")
    n_min: int = Field(32, ge=2, description="Adaptive: copies of every sampled document at the first look.")
    growth: float = Field(1.5, gt=1, description="Adaptive: growth of a document's copies per round (fixed-n bounds: of the checkpoint grid).")
    n_max: int = Field(4096, ge=2, description="Cap on copies per document for procedure adaptive.")
    bound: Literal["betting", "empirical_bernstein", "hoeffding", "both"] = Field(
        "betting", description="Confidence bound: betting confidence sequence (Waudby-Smith & Ramdas 2023, anytime-valid), "
        "Maurer-Pontil empirical Bernstein, Hoeffding, or the tighter of the last two."
    )
    alpha_scheme: Literal["rank", "uniform"] = Field(
        "rank", description="Split of alpha over sampled documents: weighted toward the K boundaries by unsmoothed rank, or uniform."
    )
    per_round: int = Field(2, ge=1, description="Adaptive: widest blocking documents sampled per open K and round (besides the binding pair).")
    futility: bool = Field(
        True, description="Adaptive: stop working on a K that even n_max copies would very likely not certify (affects cost, never validity)."
    )
    enumerate_limit: int | Literal["auto"] = Field(
        "auto", description="Score a document exactly when its smoothing distribution has at most this many copies "
        "(auto: the sample budget, n_max or n_fixed)."
    )
    score_batch: int = Field(1024, gt=0, description="(query, copy) pairs per scoring call.")
    min_similarity: float = Field(
        0.7, ge=-1, le=1, description="Lexicon pairs at or above this similarity are substitutions (0.5 gives a 7,643-word "
        "component and o_d near 1 for most vaswani documents; see docs/certify.md)."
    )
    max_set_size: int | Literal["auto"] = Field(
        "auto", description="Cap on |S(w)| (reference: 100); auto = the largest synonym component (no TV term)."
    )
    score_map: Literal["calibrated", "auto", "cosine_affine", "sigmoid", "identity"] = Field(
        "calibrated", description="Map of ranker scores to [0, 1]: calibrated = clipped affine map fitted on held-out queries; "
        "auto = (s+1)/2 for cosine bi-encoders, sigmoid otherwise."
    )
    calibration_queries: int = Field(
        20, gt=0, description="Calibrated map: judged queries outside the certified sample whose unsmoothed candidate scores fit the map."
    )
    defenses: list[DefenseSpec] = Field(default_factory=_default_defenses, description="Defence plugins evaluated on the same queries.")
    detector_docs: int = Field(2000, gt=10, description="Clean collection documents sampled for the detector (half fit, half false-positive rate).")
    detector_stuffed: int = Field(100, gt=0, description="Keyword-stuffed copies generated when the audit has no t4 adversarial documents.")

    @field_validator("k_values")
    @classmethod
    def _check_k(cls, v: list[int]) -> list[int]:
        if not v or any(k < 1 for k in v):
            raise ValueError("k_values needs at least one K >= 1")
        return sorted(set(v))

    @model_validator(mode="after")
    def _check_sizes(self) -> CertifyConfig:
        if max(self.k_values) >= self.candidates:
            raise ValueError(f"every K must be below candidates ({self.candidates}); got {max(self.k_values)}")
        if self.n_max < self.n_min:
            raise ValueError("n_max must be >= n_min")
        if isinstance(self.max_set_size, int) and self.max_set_size < 1:
            raise ValueError("max_set_size must be >= 1 or auto")
        if isinstance(self.enumerate_limit, int) and self.enumerate_limit < 1:
            raise ValueError("enumerate_limit must be >= 1 or auto")
        return self
