"""A word n-gram language model of the collection, for trigger fluency and perplexity.

PAT (Liu et al., CCS 2022) scores trigger fluency with a BERT language model fine-tuned on
WikiText-103 (reference code LauJames/PAT, ``--lm_model_dir``); no such model can be fetched
here, so the fluency term uses an n-gram LM trained on the attacked collection itself, as the
issue specifies. The model is ``nltk.lm.WittenBellInterpolated`` (order 2 by default): unlike
nltk's ``KneserNeyInterpolated`` it scores in microseconds rather than tens of milliseconds,
which matters inside a beam search. Words seen fewer than ``unk_cutoff`` times map to
``<UNK>``, so every word has a finite probability.

Text is split with :func:`robustrank.api.words` (lowercase alphanumeric words), the same split
the rest of the suite uses.

``<UNK>`` is a class, not a word: its probability is split evenly over the word types it
stands for (the training words below the cutoff), so a rare or unseen word is not scored as if
it were as likely as all rare words together - otherwise a fluency-guided search drifts to
out-of-vocabulary words.

If ``robustrank.api`` later offers a shared LM (the adversarial task's ``attack_metrics``), this
module should be replaced by it.
"""

from __future__ import annotations

import hashlib
import logging
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

__all__ = ["NgramLM", "train_ngram_lm"]

log = logging.getLogger(__name__)

_CACHE: dict[tuple[str, int, int], "NgramLM"] = {}


@dataclass(frozen=True)
class NgramLM:
    """A fitted n-gram LM.

    Attributes:
        order: n of the n-grams.
        model: The fitted ``nltk.lm`` model.
        n_sentences: Training texts.
        n_tokens: Training words.
    """

    order: int
    model: Any
    n_sentences: int
    n_tokens: int
    unk_types: int = 1

    def logprob(self, word: str, context: Sequence[str]) -> float:
        """Natural-log probability of ``word`` after ``context`` (sentence start when empty)."""
        ctx = ["<s>"] * (self.order - 1) + list(context)
        ctx = ctx[len(ctx) - (self.order - 1) :] if self.order > 1 else []
        lp = self.model.logscore(word, ctx) * math.log(2.0)
        if self.model.vocab.lookup(word) == "<UNK>":
            # <UNK> pools the mass of every rare or unseen word; one such word gets its share
            lp -= math.log(self.unk_types)
        return lp

    def sequence_logprob(self, tokens: Sequence[str]) -> float:
        """Natural-log probability of a word sequence from sentence start (no end symbol)."""
        return sum(self.logprob(w, tokens[:i]) for i, w in enumerate(tokens))

    def perplexity(self, tokens: Sequence[str]) -> float:
        """Per-word perplexity of a word sequence read from sentence start (inf when empty)."""
        if not tokens:
            return float("inf")
        return math.exp(-self.sequence_logprob(tokens) / len(tokens))

    def info(self) -> dict[str, Any]:
        """Provenance, for results.json."""
        return {
            "kind": "nltk.lm.WittenBellInterpolated",
            "order": self.order,
            "trained_on": "the attacked collection",
            "sentences": self.n_sentences,
            "tokens": self.n_tokens,
            "unk_types": self.unk_types,
        }


def train_ngram_lm(texts: Iterable[str], *, order: int = 2, unk_cutoff: int = 2) -> NgramLM:
    """Fit (or reuse, within the process) a Witten-Bell interpolated n-gram LM on texts.

    Args:
        texts: Training texts (one per document).
        order: n-gram order.
        unk_cutoff: Words seen fewer times become ``<UNK>``.

    Returns:
        The fitted LM.
    """
    from nltk.lm import Vocabulary, WittenBellInterpolated
    from nltk.lm.preprocessing import padded_everygram_pipeline

    from robustrank.api import words

    sents = [words(t) for t in texts]
    h = hashlib.sha256()
    for s in sents:
        h.update(" ".join(s).encode())
        h.update(b"\n")
    key = (h.hexdigest(), order, unk_cutoff)
    if key in _CACHE:
        return _CACHE[key]
    sents = [s for s in sents if s]
    train, vocab_text = padded_everygram_pipeline(order, sents)
    model = WittenBellInterpolated(order, vocabulary=Vocabulary(unk_cutoff=unk_cutoff))
    model.fit(train, vocab_text)
    rare = sum(1 for c in model.vocab.counts.values() if c < unk_cutoff)
    lm = NgramLM(order, model, len(sents), sum(len(s) for s in sents), max(1, rare))
    log.info("n-gram LM: order %d on %d texts, %d words", order, lm.n_sentences, lm.n_tokens)
    _CACHE[key] = lm
    return lm
