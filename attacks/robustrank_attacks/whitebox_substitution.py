"""White-box word substitution: synonyms ranked by the victim's own gradients, verified greedily.

The worst-case counterpart of PRADA (Wu et al., TOIS 2023) for an attacker who holds the audited
model: same candidate set (lexicon synonyms, top ``synonyms_k`` = 50 with similarity >= 0.7, the
PRADA reference settings), same word budget (``m`` = 10 and the task's), same victim-query budget,
but the victim's own gradients instead of a surrogate's.

Per greedy step:

1. one gradient of the victim's score w.r.t. the current document's input word embeddings
   (``embedding_gradients``; a white-box call, not counted as a victim query);
2. first-order (HotFlip, Ebrahimi et al., ACL 2018) estimate of the score change of every
   (position, synonym) substitution: ``(e(w') - e(w)) . g`` summed over the word's pieces when the
   synonym has as many word pieces as the word, else mean piece embeddings against the summed
   gradient of the word's pieces (a first-order approximation either way);
3. the ``verify`` best estimates are scored by real forwards through the victim oracle (each one
   victim query, counted against the budget), and the best is kept if it beats the current
   document (score when the audit exposes scores, rank otherwise); if none does, the next
   ``verify`` candidates of the same gradient are tried, up to ``patience`` batches.

It stops at the word budget, when the victim budget is spent, or when no verified candidate
improves. Positions already substituted are not revisited; words the model never sees
(truncated) are never substituted.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from pydantic import Field

from robustrank.api import (
    AttackOutcome,
    AttackTarget,
    Budget,
    BudgetExceeded,
    Edit,
    StrictModel,
    VictimOracle,
    apply_edits,
    document_words,
)
from robustrank_attacks._common import substitutable_words, word_limit
from robustrank_attacks._whitebox import WhiteBoxVictim, white_box_reason

__all__ = ["HotFlipSubstitution"]


class HotFlipSubstitution:
    """Gradient-ranked, forward-verified greedy synonym substitution on the victim itself."""

    name = "hotflip_substitution"
    threat_model = "white-box"

    class Options(StrictModel):
        """Options of ``hotflip_substitution``."""

        max_words: int | None = Field(10, ge=0, description="Substitutions at most (PRADA's m = 10); the task budget also applies.")
        synonyms_k: int = Field(50, gt=0, description="Lexicon neighbours considered (PRADA reference: 50).")
        min_similarity: float = Field(0.7, ge=-1, le=1, description="Lexicon similarity threshold (PRADA reference: 0.7).")
        skip_stopwords: bool = Field(True, description="Never substitute stopwords (as PRADA's candidates).")
        verify: int = Field(8, gt=0, description="Candidates scored by real forwards per batch.")
        patience: int = Field(2, gt=0, description="Batches of verified candidates tried per gradient before stopping.")

    def __init__(self, options: Options | None = None):
        self.options = options or self.Options()
        self._lexicon: Any = None
        self._wb: WhiteBoxVictim | None = None

    def applicable(self, env: Any) -> str | None:
        """A reason when the victim exposes no gradients / embedding table."""
        return white_box_reason(env.white_box_ranker)

    def prepare(self, env: Any) -> None:
        """Take the lexicon and the victim's white-box handle."""
        reason = white_box_reason(env.white_box_ranker)
        if reason:
            raise RuntimeError(f"hotflip_substitution: {reason}")
        self._lexicon = env.lexicon
        self._wb = WhiteBoxVictim(env.white_box_ranker)

    def summary(self) -> dict[str, Any]:
        """Threat model and settings, for results.json."""
        return {"threat_model": "white-box", "gradients": "victim's own (embedding_gradients)", "verify": self.options.verify,
                "candidates": f"lexicon top-{self.options.synonyms_k}, similarity >= {self.options.min_similarity}"}

    def _estimates(self, text: str, query: str, free: dict[int, list[str]], toks: list[str]) -> tuple[list[tuple[float, int, str]], float]:
        wb = self._wb
        tg = wb.gradients(query, text)
        rows = wb.align(text, tg)
        grads = np.asarray(tg.gradients, dtype=np.float64)
        out = []
        for pos, syns in free.items():
            r = rows[pos] if pos < len(rows) else None
            if not r:
                continue
            g = grads[r]
            orig_ids = [tg.token_ids[i] for i in r]
            e_orig = wb.embeddings(orig_ids)
            for s in syns:
                p = list(wb.pieces(s))
                if not p:
                    continue
                if len(p) == len(r):
                    est = float(np.sum((wb.embeddings(p) - e_orig) * g))
                else:
                    est = float((wb.embeddings(p).mean(0) - e_orig.mean(0)) @ g.sum(0))
                out.append((est, pos, s))
        out.sort(key=lambda x: (-x[0], x[1], x[2]))
        return out, float(tg.score)

    def attack(self, target: AttackTarget, victim: VictimOracle, budget: Budget, rng: np.random.Generator) -> AttackOutcome:
        """Greedy, gradient-ranked, forward-verified substitution (see module docstring)."""
        if self._wb is None:
            raise RuntimeError("hotflip_substitution: prepare(env) was not called")
        o = self.options
        toks = document_words(target.text)
        limit = word_limit(budget, len(toks), o.max_words)
        subs = substitutable_words(target.text, self._lexicon, k=o.synonyms_k, min_similarity=o.min_similarity, skip_stopwords=o.skip_stopwords)
        free = {i: subs[w.lower()] for i, w in enumerate(toks) if w.lower() in subs}
        n_positions = len(free)
        edits: list[Edit] = []
        text = target.text
        use_scores = victim.expose_scores
        current: float | None = None
        rank = target.rank
        verified = steps = 0
        calls_before = self._wb.gradient_calls
        try:
            while free and len(edits) < limit and (victim.remaining() is None or victim.remaining() > 0):
                ranked, grad_score = self._estimates(text, target.query, free, toks)
                if current is None:
                    current = grad_score
                improved = False
                for b in range(o.patience):
                    batch = ranked[b * o.verify : (b + 1) * o.verify]
                    left = victim.remaining()
                    if left is not None:
                        batch = batch[:left]
                    if not batch:
                        break
                    trial = [[*edits, Edit("substitute", pos, toks[pos], s)] for _, pos, s in batch]
                    texts = [apply_edits(target.text, t) for t in trial]
                    verified += len(texts)
                    if use_scores:
                        values = victim.scores(texts)
                        best = int(np.argmax(values))
                        better = values[best] > current
                    else:
                        values = np.asarray(victim.ranks(texts))
                        best = int(np.argmin(values))
                        better = values[best] < rank
                    if better:
                        _, pos, s = batch[best]
                        edits = trial[best]
                        text = texts[best]
                        if use_scores:
                            current = float(values[best])
                        else:
                            rank = int(values[best])
                        del free[pos]
                        improved = True
                        steps += 1
                        break
                if not improved:
                    break
        except BudgetExceeded:
            pass
        info = {"threat_model": "white-box", "steps": steps, "verified_candidates": verified,
                "gradient_calls": self._wb.gradient_calls - calls_before, "substitutable_positions": n_positions}
        return AttackOutcome(apply_edits(target.text, edits), tuple(edits), victim.queries_used, info)
