"""Keyword stuffing / term spamming: query terms added to the target document.

Modes (all at the task's word budget, capped by ``max_words``):

* ``prepend`` / ``append`` / ``interleave`` - T5-style keyword stuffing: the query's content
  terms, cycled, inserted before the text, after it, or spread evenly through it;
* ``replace`` - the term-spamming (TS) baseline of PRADA (Wu et al., TOIS 2023): a random
  starting word is chosen and the following words are replaced by the cycled query terms, so the
  document length does not change.

The query terms are the query's distinct non-stopword words. The attack never queries the victim.
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
from pydantic import Field

from robustrank.api import (
    AttackOutcome,
    AttackTarget,
    Budget,
    StrictModel,
    VictimOracle,
    apply_edits,
    document_words,
    query_terms,
    stuffing_edits,
)
from robustrank_attacks._common import word_limit

__all__ = ["KeywordStuffing"]


class KeywordStuffing:
    """Keyword stuffing (prepend / append / interleave) and term spamming (replace)."""

    name = "keyword_stuffing"
    threat_model = "black-box"

    class Options(StrictModel):
        """Options of ``keyword_stuffing``."""

        mode: Literal["prepend", "append", "interleave", "replace"] = Field("interleave", description="Where the query terms go.")
        max_words: int | None = Field(10, ge=0, description="Terms added at most (default: PRADA's m = 10); the task budget also applies.")

    def __init__(self, options: Options | None = None):
        self.options = options or self.Options()

    def summary(self) -> dict[str, Any]:
        """Settings, for results.json."""
        kind = "term spamming (PRADA TS baseline)" if self.options.mode == "replace" else "keyword stuffing"
        return {"kind": kind, "mode": self.options.mode}

    def attack(self, target: AttackTarget, victim: VictimOracle, budget: Budget, rng: np.random.Generator) -> AttackOutcome:
        """Stuff the query's terms into the document within the word budget."""
        n_words = len(document_words(target.text))
        n = word_limit(budget, n_words, self.options.max_words)
        edits = stuffing_edits(target.text, query_terms(target.query), n, self.options.mode, rng)
        return AttackOutcome(apply_edits(target.text, edits), tuple(edits), victim.queries_used, {"terms": query_terms(target.query)})
