"""Options of the adversarial task ``t4`` (attacks against the ranker and BM25).

Defaults are sized for the demo (a few targets, a small surrogate); the constants that come from
the papers are documented where the attack plugins define them (e.g. PRADA's m = 10 words).
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator, model_validator

from robustrank.adversarial.specs import AttackSpec, DefenseSpec
from robustrank.schema_base import StrictModel

__all__ = [
    "PROFILES",
    "AttackSpec",
    "BudgetConfig",
    "EnsembleConfig",
    "FluencyConfig",
    "InjectionConfig",
    "T4Config",
    "TargetConfig",
]


class TargetConfig(StrictModel):
    """Which (query, document) pairs are attacked.

    Default as in the PRADA line of work (Wu et al., TOIS 2023): documents sampled from ranks
    51-100 of the victim's re-ranked top-100.
    """

    rank_ranges: list[tuple[int, int]] = Field(
        default_factory=lambda: [(51, 100)], description="1-based inclusive rank ranges of the victim's list to sample targets from."
    )
    per_query: int = Field(1, gt=0, description="Targets sampled per query (spread over the ranges).")
    queries: int | None = Field(8, gt=0, description="Queries sampled (seeded) from the evaluated queries; null = all.")

    @field_validator("rank_ranges")
    @classmethod
    def _check_ranges(cls, v: list[tuple[int, int]]) -> list[tuple[int, int]]:
        if not v:
            raise ValueError("at least one rank range is needed")
        for lo, hi in v:
            if lo < 1 or hi < lo:
                raise ValueError(f"rank range [{lo}, {hi}] must satisfy 1 <= lo <= hi")
        return v


class BudgetConfig(StrictModel):
    """Per-target limits every attack must respect (checked after each attack)."""

    max_words: int | None = Field(10, ge=0, description="Words substituted/inserted at most (PRADA reference: m = 10).")
    max_fraction: float | None = Field(None, gt=0, le=1, description="Share of the document's words changed at most.")
    max_victim_queries: int | None = Field(100, gt=0, description="Victim calls (candidate texts scored) at most per target.")


class FluencyConfig(StrictModel):
    """Fluency of documents: perplexity under an n-gram LM trained on the collection, or a local causal LM."""

    kind: Literal["ngram", "causal_lm"] = Field("ngram", description="ngram: nltk.lm on the collection; causal_lm: a local model folder.")
    order: int = Field(3, ge=1, le=5, description="n-gram order.")
    train_docs: int | None = Field(5000, gt=0, description="Collection documents (seeded sample) the n-gram LM is trained on; null = all.")
    model: str | None = Field(None, description="causal_lm: local model folder (AutoModelForCausalLM).")

    @model_validator(mode="after")
    def _check(self) -> FluencyConfig:
        if self.kind == "causal_lm" and not self.model:
            raise ValueError("fluency kind 'causal_lm' needs 'model' (a local folder)")
        return self


class InjectionConfig(StrictModel):
    """T5-style spam: synthetic stuffed documents injected into each query's candidate list."""

    enabled: bool = Field(True, description="Run the injection experiment.")
    n_docs: int = Field(5, gt=0, description="Synthetic documents injected per query.")
    stuffed_terms: int = Field(10, gt=0, description="Query-term occurrences stuffed into each synthetic document.")
    mode: Literal["prepend", "append", "interleave"] = Field("interleave", description="Where the query terms go in the carrier document.")


PROFILES: dict[str, int | None] = {"quick": 8, "standard": 50, "paper": None}
"""Queries sampled per profile (one target each by default): quick for a smoke run, standard
(>= 50 targets) for a release decision, paper = every evaluated query. docs/attacks.md gives the
confidence-interval half-width each profile yields."""


class EnsembleConfig(StrictModel):
    """The attack ensemble: per target, the strongest outcome over a portfolio of attacks."""

    enabled: bool = Field(True, description="Report the ensemble (t4.ensemble) when at least two attacks ran.")
    members: list[str] | None = Field(None, description="Attack keys in the portfolio, in tie-break order; null = every attack.")


class T4Config(StrictModel):
    """T4: defence against adversarial operations (Wu et al., TOIS 2022, third robustness definition)."""

    enabled: bool = Field(False, description="Run the adversarial task.")
    profile: Literal["quick", "standard", "paper"] = Field(
        "quick",
        description="Target count: quick = 8 queries, standard = 50 (>= 50 targets), paper = all evaluated queries; "
        "an explicit targets.queries overrides it.",
    )
    targets: TargetConfig = Field(default_factory=TargetConfig)
    budget: BudgetConfig = Field(default_factory=BudgetConfig)
    attacks: list[AttackSpec] = Field(
        default_factory=lambda: [
            AttackSpec(name="prada_wu_2023"),
            AttackSpec(name="random_substitution"),
            AttackSpec(name="keyword_stuffing"),
        ],
        description="Attack plugins to run (each against the neural ranker, BM25 and every defended ranker).",
    )
    systems: list[Literal["neural", "bm25"]] = Field(
        default_factory=lambda: ["neural", "bm25"], description="Undefended systems attacked (BM25 is the reference)."
    )
    defenses: list[DefenseSpec] = Field(
        default_factory=list,
        description="Defence plugins: a RankerDefense is attacked as system neural+<name>; a DocumentScreen "
        "reports flagged_rate of the adversarial documents.",
    )
    white_box: bool = Field(False, description="Give attacks the victim's gradients (when it exposes them).")
    expose_scores: bool = Field(True, description="Black box with scores (false: ranks only).")
    similarity_model: str | list[str] = Field(
        "sentence-transformers/all-MiniLM-L6-v2",
        description="Bi-encoder whose cosine measures original vs adversarial similarity (stands in for USE); a list is "
        "tried in order and the first that resolves and is not the victim wins (else the victim judges, recorded).",
    )
    fluency: FluencyConfig = Field(default_factory=FluencyConfig)
    injection: InjectionConfig = Field(default_factory=InjectionConfig)
    ensemble: EnsembleConfig = Field(default_factory=EnsembleConfig)
    keep_texts: bool = Field(True, description="Store original and adversarial texts per target in results.json.")

    @model_validator(mode="after")
    def _check_keys(self) -> T4Config:
        keys = [a.key for a in self.attacks if a.key]
        if len(keys) != len(set(keys)):
            raise ValueError("attack keys must be unique")
        reserved = {"ensemble", "ensemble_black_box", "injection"} & {a.key or a.name for a in self.attacks}
        if reserved:
            raise ValueError(f"attack key {sorted(reserved)[0]!r} is reserved; give the attack another key")
        known = {a.key or a.name for a in self.attacks}
        unknown = [m for m in self.ensemble.members or [] if m.split("@")[0] not in known]
        if unknown:
            raise ValueError(f"ensemble.members: {unknown[0]!r} is not an attack key ({', '.join(sorted(known))})")
        return self

    @model_validator(mode="before")
    @classmethod
    def _apply_profile(cls, data: object) -> object:
        """The profile sets ``targets.queries`` unless the config sets it explicitly."""
        if not isinstance(data, dict):
            return data
        profile = data.get("profile", "quick")
        if profile not in PROFILES:
            return data  # the field validator reports it
        targets = data.get("targets")
        if isinstance(targets, TargetConfig):
            if "queries" in targets.model_fields_set:
                return data
            targets = targets.model_dump()
        targets = dict(targets or {})
        targets.setdefault("queries", PROFILES[profile])
        return {**data, "targets": targets}
