"""The job of one (attack, system) pair: attack a target and measure it (one work unit per target).

A :class:`TargetJob` holds what every target of the pair shares - the prepared attack, the
victim's scoring function, documents, budget and measures - and is shipped once to each worker
(:mod:`robustrank.executors`); a unit's payload is the target and its own seeded generator, so a
target's record does not depend on where, or in which order, targets run.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from robustrank.adversarial.runner import attack_one
from robustrank.adversarial.types import AttackTarget, Budget

__all__ = ["TargetJob", "screen_flag"]


@dataclass
class TargetJob:
    """Attack targets of one system with one prepared attack (see module docstring).

    ``documents`` needs only the texts of the targets' ranked lists (the victim oracle scores
    the other documents of a target's list), which keeps the shipped job small on large collections.
    """

    attack: Any
    score_fn: Callable[[str, list[str]], Any]
    documents: Mapping[str, str]
    budget: Budget
    expose_scores: bool
    keep_texts: bool
    similarity: Callable[[str, str], float]
    perplexity: Callable[[str], float | None]
    screens: dict[str, Any] = field(default_factory=dict)

    def run(self, payload: tuple[AttackTarget, np.random.Generator]) -> dict[str, Any]:
        """The per-target record of results.json (see :func:`~robustrank.adversarial.runner.attack_one`),
        with the document screens' flags on the adversarial and the original text."""
        target, rng = payload
        rec = attack_one(
            self.attack, target, self.score_fn, self.documents, self.budget, rng,
            expose_scores=self.expose_scores, similarity=self.similarity, perplexity=self.perplexity, keep_texts=self.keep_texts,
        )
        if self.screens:
            adv = rec.get("adversarial_text", target.text)
            rec["flags"] = {n: screen_flag(s, adv, target.query) for n, s in self.screens.items()}
            rec["flagged"] = any(rec["flags"].values())
            rec["flags_original"] = {n: screen_flag(s, target.text, target.query) for n, s in self.screens.items()}
        return rec


def screen_flag(screen: Any, text: str, query: str) -> bool:
    """Whether a document screen flags ``text``: per query when it screens with queries
    (``flag(texts, queries)``), else its anomaly score against ``threshold``."""
    if hasattr(screen, "flag"):
        try:
            return bool(screen.flag([text], [query])[0])
        except TypeError:
            return bool(screen.flag([text])[0])
    return bool(float(screen.score([text])[0]) > float(screen.threshold))
