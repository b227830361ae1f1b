"""Lead-sentence attack: move the sentence that best matches the query to the front.

No word is changed (perturbation 0%), only the order of sentences - a probe of position bias.
Tries the ``max_sentences`` best-matching sentences and keeps the order the victim ranks best.
"""

from __future__ import annotations

import re

from robustrank.api import AttackOutcome, AttackTarget, Budget, StrictModel, VictimOracle, words

_SENTENCE = re.compile(r"(?<=[.!?])\s+")


class LeadSentenceAttack:
    """Reorders a document's sentences so the one most similar to the query comes first."""

    name = "lead_sentence"

    class Options(StrictModel):
        """Options of the attack."""

        max_sentences: int = 3

    def __init__(self, options: LeadSentenceAttack.Options):
        self.options = options

    def attack(self, target: AttackTarget, victim: VictimOracle, budget: Budget, rng) -> AttackOutcome:
        """Try moving each of the best-matching sentences to the front; keep the best rank."""
        sentences = [s for s in _SENTENCE.split(target.text) if s.strip()]
        if len(sentences) < 2:
            return AttackOutcome(target.text, (), victim.queries_used, {"reason": "single sentence"})
        query = set(words(target.query))
        overlap = [len(query & set(words(s))) for s in sentences]
        order = sorted(range(1, len(sentences)), key=lambda i: -overlap[i])[: self.options.max_sentences]
        limit = victim.remaining()
        if limit is not None:
            order = order[:limit]
        candidates = [" ".join([sentences[i], *sentences[:i], *sentences[i + 1 :]]) for i in order]
        if not candidates:
            return AttackOutcome(target.text, (), victim.queries_used)
        ranks = victim.ranks(candidates)
        best = min(range(len(ranks)), key=lambda j: ranks[j])
        text = candidates[best] if ranks[best] < target.rank else target.text
        return AttackOutcome(text, (), victim.queries_used, {"moved_sentence": order[best], "tried": len(candidates)})
