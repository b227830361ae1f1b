"""White-box trigger: greedy coordinate gradient (GCG) on the victim itself, with a fluency term.

The worst-case counterpart of PAT (Liu et al., CCS 2022) for an attacker who holds the audited
model: a trigger of ``trigger_length`` whole-word tokens (PAT's 6 by default, capped by the word
budget) is inserted into the target (at the start by default) and optimised directly on the
victim's score, following greedy coordinate gradient (Zou et al., "Universal and Transferable
Adversarial Attacks on Aligned Language Models", 2023) restricted to whole words:

1. one gradient of the victim's score w.r.t. the current text's input embeddings (a white-box
   call, not a victim query) gives, for every trigger slot j and vocabulary word v, the
   first-order gain ``e(v) . g_j`` of putting v in slot j (HotFlip);
2. per slot, the ``preselect`` words with the largest gain are re-ranked by
   ``gain + fluency_weight * log P_LM(v | trigger words before it)`` under the collection n-gram
   LM (``robustrank.api.NgramLM``, order 2) and the ``top_k`` best kept;
3. ``batch`` candidate triggers, each changing one random slot to one random word of its top-k,
   are scored by real forwards through the victim oracle (each one victim query); the best
   replaces the current trigger if its objective ``score + fluency_weight * mean log P_LM``
   is higher (ranks instead of scores when the audit hides scores).

It stops after ``iterations`` rounds or when the victim budget cannot pay for another round.
The vocabulary is the victim tokenizer's whole-word tokens (alphabetic, two or more letters, not
word-piece continuations, specials or stopwords), so every trigger word is one embedding row.
``init: query_terms`` starts from the query's terms that are whole-word tokens (cycled; random
words where there are none), ``random`` from random words. ``fluency_weight`` is in victim-score
units per nat of mean per-word log-probability.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

import numpy as np
from pydantic import Field

from robustrank.api import (
    AttackEnvironment,
    AttackOutcome,
    AttackTarget,
    Budget,
    BudgetExceeded,
    VictimOracle,
    stopwords,
    words,
)
from robustrank_attacks._whitebox import WhiteBoxVictim, white_box_reason
from robustrank_attacks.triggers import TriggerAttackBase, TriggerOptions, insert_trigger, whole_word_vocabulary

__all__ = ["GCGTrigger"]


class GCGOptions(TriggerOptions):
    """Options of ``gcg_trigger`` (trigger options shared with PAT, plus the GCG search)."""

    iterations: int = Field(20, gt=0, description="GCG rounds at most (the victim budget usually stops it first).")
    batch: int = Field(16, gt=0, description="Candidate triggers scored by real forwards per round.")
    top_k: int = Field(16, gt=0, description="Words kept per slot after the fluency re-ranking.")
    preselect: int = Field(64, gt=0, description="Words per slot taken by first-order gain before the fluency re-ranking.")
    fluency_weight: float = Field(0.005, ge=0, description="Weight of the mean trigger log-probability (score units per nat).")
    init: Literal["query_terms", "random"] = Field("query_terms", description="Initial trigger.")
    victim_check: bool = Field(False, description="One extra victim query for the final rank (the audit measures it anyway).")


class GCGTrigger(TriggerAttackBase):
    """Greedy-coordinate-gradient trigger optimised on the victim (see module docstring)."""

    name = "gcg_trigger"
    threat_model = "white-box"
    Options = GCGOptions

    def __init__(self, options: GCGOptions | Mapping[str, Any] | None = None):
        super().__init__(options)
        self._wb: WhiteBoxVictim | None = None
        self._ids: np.ndarray = np.zeros(0, dtype=np.int64)
        self._words: list[str] = []
        self._emb: np.ndarray = np.zeros((0, 0))

    def applicable(self, env: AttackEnvironment) -> str | None:
        """A reason when the victim exposes no gradients / embedding table."""
        return white_box_reason(env.white_box_ranker)

    def prepare(self, env: AttackEnvironment) -> None:
        """Fit LM and detector; read the victim's whole-word vocabulary and its embeddings."""
        reason = white_box_reason(env.white_box_ranker)
        if reason:
            raise RuntimeError(f"gcg_trigger: {reason}")
        super().prepare(env)
        self._wb = WhiteBoxVictim(env.white_box_ranker)
        vocab = whole_word_vocabulary(self._wb.tokenizer)
        self._ids = np.array([i for i, _ in vocab], dtype=np.int64)
        self._words = [w for _, w in vocab]
        self._emb = np.asarray(env.white_box_ranker.input_embeddings(self._ids.tolist()), dtype=np.float64)
        self._index = {w: j for j, w in enumerate(self._words)}

    def summary(self) -> dict[str, Any]:
        """Threat model, vocabulary and shared settings."""
        o = self.options
        return {**super().summary(), "threat_model": "white-box", "vocabulary_size": len(self._words),
                "search": f"GCG over whole words: {o.batch} candidates per round, top-{o.top_k} per slot, fluency weight {o.fluency_weight}"}

    def _lm_mean(self, trigger: list[str]) -> float:
        if self.lm is None or not trigger:
            return 0.0
        return float(np.mean(self.lm.word_logprobs(trigger, end=False)))

    def _init(self, query: str, n: int, rng: np.random.Generator) -> list[str]:
        if self.options.init == "query_terms":
            sw = stopwords()
            terms = [w for w in words(query) if w not in sw and w in self._index]
            if terms:
                return [terms[i % len(terms)] for i in range(n)]
        return [self._words[int(i)] for i in rng.integers(0, len(self._words), size=n)]

    def _slot_candidates(self, query: str, text: str, trigger: list[str]) -> list[list[int]] | None:
        wb = self._wb
        tg = wb.gradients(query, text)
        ids = [int(self._ids[self._index[w]]) for w in trigger]
        start = wb.find(tg, ids)
        if start is None:
            return None
        grads = np.asarray(tg.gradients, dtype=np.float64)[start : start + len(ids)]
        gains = grads @ self._emb.T  # [slots, vocab]: first-order score of each word in each slot
        o = self.options
        out = []
        for j in range(len(trigger)):
            pre = np.argpartition(-gains[j], min(o.preselect, gains.shape[1] - 1))[: o.preselect]
            if self.lm is not None and o.fluency_weight > 0:
                ctx = trigger[:j]
                fl = np.array([self.lm.logprob(self._words[v], ctx) for v in pre])
                total = gains[j, pre] + o.fluency_weight * fl
            else:
                total = gains[j, pre]
            out.append(pre[np.argsort(-total, kind="stable")][: o.top_k].tolist())
        return out

    def attack(self, target: AttackTarget, victim: VictimOracle, budget: Budget, rng: np.random.Generator) -> AttackOutcome:
        """Optimise a trigger on the victim with GCG (see module docstring)."""
        if self._wb is None:
            raise RuntimeError("gcg_trigger: prepare(env) was not called")
        o = self.options
        n = self.trigger_budget(target, budget)
        if n == 0 or not self._words:
            return self.outcome(target, victim, [], {"method": "gcg", "rounds": 0})
        trigger = self._init(target.query, n, rng)
        use_scores = victim.expose_scores
        cur_text, _ = insert_trigger(target.text, trigger, o.position)
        current: float | None = None
        rounds = accepted = 0
        calls_before = self._wb.gradient_calls
        try:
            for _ in range(o.iterations):
                left = victim.remaining()
                if left is not None and left < 2:
                    break
                cands = self._slot_candidates(target.query, cur_text, trigger)
                if cands is None:
                    break
                size = o.batch if left is None else min(o.batch, left - (1 if current is None else 0))
                trials: list[list[str]] = []
                seen = {tuple(trigger)}
                for _ in range(size * 4):
                    if len(trials) >= size:
                        break
                    j = int(rng.integers(len(trigger)))
                    new = list(trigger)
                    new[j] = self._words[cands[j][int(rng.integers(len(cands[j])))]]
                    if tuple(new) not in seen:
                        seen.add(tuple(new))
                        trials.append(new)
                if not trials:
                    break
                batch = ([trigger] if current is None else []) + trials
                texts = [insert_trigger(target.text, t, o.position)[0] for t in batch]
                fluency = np.array([self._lm_mean(t) for t in batch])
                if use_scores:
                    values = victim.scores(texts) + o.fluency_weight * fluency
                else:
                    values = -np.asarray(victim.ranks(texts), dtype=float) + o.fluency_weight * fluency
                if current is None:
                    current, values, batch, texts = float(values[0]), values[1:], batch[1:], texts[1:]
                rounds += 1
                best = int(np.argmax(values))
                if values[best] > current:
                    trigger, cur_text, current = batch[best], texts[best], float(values[best])
                    accepted += 1
        except BudgetExceeded:
            pass
        info = {"method": "gcg", "threat_model": "white-box", "rounds": rounds, "accepted": accepted, "objective": current,
                "gradient_calls": self._wb.gradient_calls - calls_before}
        return self.outcome(target, victim, trigger, info)
