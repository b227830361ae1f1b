"""Trigger insertion shared by PAT and its baselines, and the two baselines themselves.

A trigger attack inserts a short word sequence into the target document (at the start by
default, as PAT does - reference code LauJames/PAT, ``adv_ir/pat_attack.py``, "front"). This
module holds what every trigger attack shares:

* inserting the trigger and describing it as an :class:`~robustrank.api.Edit`, truncated to the
  budget's word limit;
* one optional rank check of the final text on the victim, through the
  :class:`~robustrank.api.VictimOracle` only;
* the trigger's perplexity under an n-gram LM of the collection (``robustrank.api.NgramLM``);
* an inline tf-idf stuffing ("spamicity") score and whether it flags the document.

Spamicity (our own simple detector, standing in for a defence plugin): the share of a
document's tf-idf mass that falls on the query's terms,
``sum_{t in q} tf(t,d) idf(t) / sum_{t in d} tf(t,d) idf(t)`` over BM25 terms (stopwords removed,
Porter-stemmed), idf = ``log(N / df)``. The flagging threshold is the (1 - ``spam_fpr``) quantile
of this score over the genuine documents of the victim's lists for the audit's queries, i.e. a
detector calibrated to a 1% false-positive rate on unattacked candidates.

Baselines at the same trigger length (issue 5): :class:`RandomTrigger` (uniformly random
whole-word tokens of the imitation model's vocabulary) and :class:`QueryTermTrigger` (the
query's own non-stopword terms in order, repeated cyclically to the trigger length).
"""

from __future__ import annotations

import logging
import math
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any, Literal

import numpy as np
from pydantic import Field

from robustrank.api import (
    AttackEnvironment,
    AttackOutcome,
    AttackTarget,
    Budget,
    BudgetExceeded,
    Edit,
    StrictModel,
    VictimOracle,
    bm25_tokenize,
    document_words,
    resolve_model,
    stopwords,
    train_ngram_lm,
    words,
)

__all__ = [
    "QueryTermTrigger",
    "RandomTrigger",
    "SpamDetector",
    "TriggerAttackBase",
    "TriggerOptions",
    "insert_trigger",
    "whole_word_vocabulary",
]

log = logging.getLogger(__name__)

Position = Literal["start", "middle", "end"] | int


class TriggerOptions(StrictModel):
    """Options every trigger attack shares."""

    trigger_length: int = Field(6, ge=1, description="Trigger words (PAT reference --tri_len 6).")
    position: Position = Field("start", description="Where the trigger goes: start | middle | end | a word index.")
    victim_check: bool = Field(True, description="Check the final text's rank on the victim once (one victim query).")
    vocab_model: str = Field(
        "sentence-transformers/all-MiniLM-L6-v2",
        description="Model whose tokenizer vocabulary triggers are drawn from (PAT: the imitation model's).",
    )
    lm_order: int = Field(2, ge=1, le=5, description="Order of the collection n-gram LM (fluency, perplexity).")
    spam_fpr: float = Field(0.01, gt=0, lt=1, description="False-positive rate the stuffing detector is calibrated to.")


def whole_word_vocabulary(tokenizer: Any) -> list[tuple[int, str]]:
    """Token ids and strings of the vocabulary's whole-word tokens usable in a trigger.

    Kept: alphabetic tokens of at least two letters that are not word-piece continuations
    (``##...``), special tokens or stopwords. Sorted by id (deterministic).
    """
    sw = stopwords()
    special = set(getattr(tokenizer, "all_special_tokens", []))
    vocab = tokenizer.get_vocab()
    out = [
        (i, t)
        for t, i in vocab.items()
        if t.isascii() and t.isalpha() and len(t) >= 2 and t not in special and t.lower() not in sw and t == t.lower()
    ]
    return sorted(out)


def _split_position(n_words: int, position: Position) -> int:
    if position == "start":
        return 0
    if position == "end":
        return n_words
    if position == "middle":
        return n_words // 2
    return max(0, min(int(position), n_words))


def insert_trigger(text: str, trigger: Sequence[str], position: Position) -> tuple[str, Edit | None]:
    """Insert trigger words into a text at a word position.

    Args:
        text: The document (split into words on whitespace).
        trigger: The trigger words.
        position: start | middle | end | a word index.

    Returns:
        (new text, the insert edit) - (text, None) for an empty trigger.
    """
    if not trigger:
        return text, None
    toks = text.split()
    at = _split_position(len(toks), position)
    new = toks[:at] + list(trigger) + toks[at:]
    return " ".join(new), Edit("insert", at, "", " ".join(trigger))


class SpamDetector:
    """Inline tf-idf keyword-stuffing score, calibrated on genuine candidate documents.

    Args:
        documents: doc_id -> text of the collection (for idf).
        rankings: query_id -> the victim's lists (calibration documents).
        queries: query_id -> text.
        fpr: False-positive rate on the calibration pairs.
    """

    def __init__(self, documents: Mapping[str, str], rankings: Mapping[str, Sequence[tuple[str, Any]]], queries: Mapping[str, str], fpr: float = 0.01):
        df: Counter[str] = Counter()
        self._terms: dict[str, list[str]] = {}
        for d, text in documents.items():
            toks = bm25_tokenize(text)
            self._terms[d] = toks
            df.update(set(toks))
        n = max(1, len(documents))
        self._idf = {t: math.log(n / c) for t, c in df.items()}
        self._max_idf = math.log(n)
        scores = [self._score(bm25_tokenize(queries[q]), self._terms[d]) for q in queries for d, _ in rankings.get(q, ()) if d in self._terms]
        self.fpr = fpr
        self.threshold = float(np.quantile(scores, 1 - fpr)) if scores else float("inf")
        self.n_calibration = len(scores)

    def _score(self, q_terms: Sequence[str], d_terms: Sequence[str]) -> float:
        tf = Counter(d_terms)
        total = sum(c * self._idf.get(t, self._max_idf) for t, c in tf.items())
        if total <= 0:
            return 0.0
        qs = set(q_terms)
        return sum(c * self._idf.get(t, self._max_idf) for t, c in tf.items() if t in qs) / total

    def score(self, query: str, text: str) -> float:
        """Share of the text's tf-idf mass on the query's terms (0..1)."""
        return self._score(bm25_tokenize(query), bm25_tokenize(text))

    def flags(self, query: str, text: str) -> bool:
        """Whether the score exceeds the calibrated threshold."""
        return self.score(query, text) > self.threshold

    def info(self) -> dict[str, Any]:
        """Settings, for results.json."""
        return {
            "kind": "query-term share of tf-idf mass",
            "threshold": self.threshold,
            "fpr": self.fpr,
            "calibration_pairs": self.n_calibration,
        }


class TriggerAttackBase:
    """Common machinery of trigger attacks: prepare the LM and detector, build the outcome."""

    name = "trigger"
    threat_model = "black-box"
    Options = TriggerOptions

    def __init__(self, options: TriggerOptions | Mapping[str, Any] | None = None):
        if options is None:
            options = self.Options()
        elif not isinstance(options, StrictModel):
            options = self.Options.model_validate(dict(options))
        self.options = options
        self.lm = None
        self.spam: SpamDetector | None = None
        self.documents: Mapping[str, str] = {}

    def prepare(self, env: AttackEnvironment) -> None:
        """Fit the collection LM and calibrate the stuffing detector."""

        self.documents = env.documents
        self.lm = train_ngram_lm(env.documents.values(), order=self.options.lm_order)
        self.spam = SpamDetector(env.documents, env.victim_rankings, env.queries, self.options.spam_fpr)

    def summary(self) -> dict[str, Any]:
        """Settings of the shared parts, for results.json (``prepare``)."""
        return {
            "fluency_lm": self.lm.info if self.lm is not None else None,
            "spam_detector": self.spam.info() if self.spam is not None else None,
        }

    def trigger_budget(self, target: AttackTarget, budget: Budget) -> int:
        """Trigger length allowed on this target: the option, capped by the budget's word limit."""
        limit = budget.word_limit(len(document_words(target.text)))
        n = self.options.trigger_length
        return n if limit is None else max(0, min(n, limit))

    def outcome(self, target: AttackTarget, victim: VictimOracle, trigger: Sequence[str], info: dict[str, Any]) -> AttackOutcome:
        """Insert the trigger, check the victim once (if enabled and affordable), describe it."""
        text, edit = insert_trigger(target.text, trigger, self.options.position)
        info = dict(info)
        info["trigger"] = " ".join(trigger)
        info["trigger_length"] = len(trigger)
        info["position"] = self.options.position
        if self.lm is not None:
            ppl = self.lm.perplexity(list(trigger))
            info["trigger_perplexity"] = ppl
        if self.spam is not None:
            info["spamicity"] = self.spam.score(target.query, text)
            info["spamicity_original"] = self.spam.score(target.query, target.text)
            info["flagged"] = bool(info["spamicity"] > self.spam.threshold)
        if self.options.victim_check and trigger and (victim.remaining() is None or victim.remaining() > 0):
            try:
                info["victim_rank"] = int(victim.ranks([text])[0])
            except BudgetExceeded:
                log.debug("no victim query left for the final check")
        return AttackOutcome(text, (edit,) if edit else (), victim.queries_used, info)


class RandomTrigger(TriggerAttackBase):
    """Baseline: a trigger of uniformly random whole-word vocabulary tokens (same length as PAT)."""

    name = "trigger_random"

    def prepare(self, env: AttackEnvironment) -> None:
        """Fit LM and detector; read the vocabulary of ``vocab_model``'s tokenizer."""
        from transformers import AutoTokenizer


        super().prepare(env)
        tok = AutoTokenizer.from_pretrained(resolve_model(self.options.vocab_model), local_files_only=True)
        self.vocab = [t for _, t in whole_word_vocabulary(tok)]

    def summary(self) -> dict[str, Any]:
        """Vocabulary size and shared settings."""
        return {**super().summary(), "vocabulary_size": len(getattr(self, "vocab", []))}

    def attack(self, target: AttackTarget, victim: VictimOracle, budget: Budget, rng: np.random.Generator) -> AttackOutcome:
        """Insert ``trigger_length`` random vocabulary words."""
        n = self.trigger_budget(target, budget)
        trigger = [self.vocab[int(i)] for i in rng.integers(0, len(self.vocab), size=n)]
        return self.outcome(target, victim, trigger, {"method": "random vocabulary tokens"})


class QueryTermTrigger(TriggerAttackBase):
    """Baseline: the query's own terms as the trigger (same length as PAT)."""

    name = "trigger_query_terms"

    def attack(self, target: AttackTarget, victim: VictimOracle, budget: Budget, rng: np.random.Generator) -> AttackOutcome:
        """Insert the query's non-stopword terms, cycled to ``trigger_length`` words."""
        n = self.trigger_budget(target, budget)
        sw = stopwords()
        terms = [w for w in words(target.query) if w not in sw] or words(target.query)
        trigger = [terms[i % len(terms)] for i in range(n)] if terms else []
        return self.outcome(target, victim, trigger, {"method": "query terms"})
