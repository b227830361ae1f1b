"""Options of the corpus-poisoning task (``tasks.poisoning``), after Zhong et al., EMNLP 2023."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from robustrank.schema_base import StrictModel

__all__ = ["PoisoningConfig"]


class PoisoningConfig(StrictModel):
    """Corpus poisoning of the dense retriever: optimised passages injected into the corpus.

    The evaluated queries are split (seeded) into attacker queries, whose embeddings the passages
    are optimised against, and held-out queries, on which the attack is measured.
    """

    enabled: bool = Field(True, description="Run the task when listed (needs a bi-encoder: the dense first stage or the ranker under audit).")
    method: Literal["auto", "hotflip", "black-box"] = Field(
        "auto",
        description="hotflip: gradient-guided token flips (white-box, Zhong et al. 2023); black-box: random token "
        "proposals scored through the victim's embeddings only; auto: hotflip when the victim exposes gradients.",
    )
    passages: int = Field(10, gt=0, description="Passages optimised (one per k-means cluster of attacker queries).")
    injected: list[int] = Field(
        default_factory=lambda: [1, 5, 10],
        description="Numbers of passages injected (the largest clusters' passages first); each at most 'passages'.",
    )
    tokens: int = Field(30, gt=0, le=250, description="Tokens per passage (budget).")
    steps: int = Field(40, gt=0, description="Optimisation steps per passage (one token position per step).")
    candidates: int = Field(32, gt=0, description="Replacement tokens evaluated per step.")
    attack_share: float = Field(0.5, gt=0, lt=1, description="Share of the evaluated queries given to the attacker.")
    top_k: list[int] = Field(default_factory=lambda: [10, 20], description="Cut-offs at which poisoned passages are counted.")
    confidence: float = Field(0.95, gt=0, lt=1)
    bootstrap_samples: int = Field(1000, gt=0)

    @model_validator(mode="after")
    def _check_injected(self) -> PoisoningConfig:
        bad = [n for n in self.injected if n <= 0 or n > self.passages]
        if bad:
            raise ValueError(f"injected {bad} must lie in 1..passages ({self.passages})")
        if not self.injected or not self.top_k or min(self.top_k) <= 0:
            raise ValueError("injected and top_k need at least one positive value")
        return self
