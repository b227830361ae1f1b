"""Random synonym substitution: the word-substitution baseline at PRADA's budget.

Picks ``min(word budget, max_words)`` substitutable words of the target document uniformly at
random and replaces each by a synonym drawn uniformly from its lexicon neighbours (same
candidate set as PRADA: top ``synonyms_k`` = 50 with similarity >= 0.7, the PRADA reference
settings ``simi_candi_topk`` / ``simi_threshod``). It never queries the victim (0 victim
queries); the audit measures where the result ranks. With ``greedy: true`` it instead keeps a
random substitution only when the victim ranks the document higher (one victim query each) -
the "random + greedy" ablation of PRADA.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from pydantic import Field

from robustrank.api import (
    AttackOutcome,
    AttackTarget,
    Budget,
    Edit,
    StrictModel,
    VictimOracle,
    apply_edits,
    document_words,
)
from robustrank_attacks._common import substitutable_words, word_limit

__all__ = ["RandomSubstitution"]


class RandomSubstitution:
    """Random synonym substitution (no victim feedback unless ``greedy``)."""

    name = "random_substitution"
    threat_model = "black-box"

    class Options(StrictModel):
        """Options of ``random_substitution``."""

        max_words: int | None = Field(10, ge=0, description="Substitutions at most (PRADA reference m = 10); the task budget also applies.")
        synonyms_k: int = Field(50, gt=0, description="Lexicon neighbours considered (PRADA reference: 50).")
        min_similarity: float = Field(0.7, ge=-1, le=1, description="Lexicon similarity threshold (PRADA reference: 0.7).")
        skip_stopwords: bool = Field(True, description="Never substitute stopwords.")
        greedy: bool = Field(False, description="Keep a substitution only if the victim ranks the document higher.")

    def __init__(self, options: Options | None = None):
        self.options = options or self.Options()
        self._lexicon: Any = None

    def prepare(self, env: Any) -> None:
        """Take the lexicon from the environment."""
        self._lexicon = env.lexicon

    def summary(self) -> dict[str, Any]:
        """Settings, for results.json."""
        return {"baseline": "random synonym substitution", "greedy": self.options.greedy}

    def attack(self, target: AttackTarget, victim: VictimOracle, budget: Budget, rng: np.random.Generator) -> AttackOutcome:
        """Substitute random words by random synonyms within the word budget."""
        if self._lexicon is None:
            raise RuntimeError("random_substitution: prepare(env) was not called")
        o = self.options
        toks = document_words(target.text)
        limit = word_limit(budget, len(toks), o.max_words)
        subs = substitutable_words(target.text, self._lexicon, k=o.synonyms_k, min_similarity=o.min_similarity, skip_stopwords=o.skip_stopwords)
        positions = [i for i, w in enumerate(toks) if w.lower() in subs]
        if not positions or limit == 0:
            return AttackOutcome(target.text, (), victim.queries_used)
        order = rng.permutation(len(positions))
        edits: list[Edit] = []
        rank = target.rank
        tried = 0
        for j in order:
            if len(edits) >= limit:
                break
            pos = positions[j]
            syns = subs[toks[pos].lower()]
            edit = Edit("substitute", pos, toks[pos], syns[int(rng.integers(len(syns)))])
            if not o.greedy:
                edits.append(edit)
                continue
            if victim.remaining() == 0:
                break
            tried += 1
            new_rank = victim.ranks([apply_edits(target.text, [*edits, edit])])[0]
            if new_rank < rank:
                rank = new_rank
                edits.append(edit)
        return AttackOutcome(apply_edits(target.text, edits), tuple(edits), victim.queries_used, {"candidates": len(positions), "tried": tried})
