"""The one word n-gram language model of robustrank: T4 fluency, the detector and PAT use it.

``NgramLM`` is ``nltk.lm.WittenBellInterpolated`` over lowercase alphanumeric words
(:func:`robustrank.text.words`), trained on the collection. Witten-Bell rather than Kneser-Ney:
nltk's Kneser-Ney scores a 40-word abstract in ~2.4 s (recursive, uncached), Witten-Bell in
~1 ms, which matters inside PAT's beam search and for thousands of adversarial documents.

Conventions, the same for every caller (so perplexities are comparable across the suite):

* sentences are padded with ``<s>`` on the left and ``</s>`` on the right; the padding symbols
  are part of the vocabulary (they are never ``<UNK>``);
* words seen fewer than ``unk_cutoff`` times map to ``<UNK>``; ``<UNK>`` is a class, so its
  probability is split evenly over the word types it stands for - one rare or unseen word gets
  its share, not the mass of all rare words together;
* :meth:`NgramLM.logprob` is the natural-log probability of one word after a context,
  :meth:`NgramLM.word_logprobs` those of a word sequence read from sentence start (plus the end
  symbol when ``end=True``), and :meth:`NgramLM.perplexity` is ``exp(-mean)`` of the latter with
  the end symbol.
"""

from __future__ import annotations

import hashlib
import logging
import math
from collections.abc import Iterable, Sequence
from typing import Any

from robustrank.text import words

__all__ = ["NgramLM", "train_ngram_lm"]

log = logging.getLogger(__name__)

_CACHE: dict[tuple[str, int, int], NgramLM] = {}

BOS, EOS, UNK = "<s>", "</s>", "<UNK>"


class NgramLM:
    """An interpolated Witten-Bell n-gram LM fitted on texts.

    Args:
        texts: Training texts (one per document).
        order: n of the n-grams.
        unk_cutoff: Words seen fewer times map to ``<UNK>``.
    """

    def __init__(self, texts: Iterable[str], *, order: int = 3, unk_cutoff: int = 2):
        from nltk.lm import Vocabulary, WittenBellInterpolated
        from nltk.lm.preprocessing import padded_everygram_pipeline

        if order < 1:
            raise ValueError("order must be >= 1")
        sents = [s for s in (words(t) for t in texts) if s]
        train, vocab_text = padded_everygram_pipeline(order, sents)
        self.order = order
        self.unk_cutoff = unk_cutoff
        self._lm = WittenBellInterpolated(order, vocabulary=Vocabulary(unk_cutoff=unk_cutoff))
        self._lm.fit(train, vocab_text)
        counts = self._lm.vocab.counts
        self.unk_types = max(1, sum(1 for w, c in counts.items() if c < unk_cutoff and w not in (BOS, EOS)))
        self.n_sentences = len(sents)
        self.n_tokens = sum(len(s) for s in sents)

    def logprob(self, word: str, context: Sequence[str] = ()) -> float:
        """Natural-log probability of ``word`` after ``context`` (sentence start when empty)."""
        ctx = [BOS] * (self.order - 1) + list(context)
        ctx = ctx[len(ctx) - (self.order - 1) :] if self.order > 1 else []
        lp = self._lm.logscore(word, ctx) * math.log(2.0)
        if word != EOS and self._lm.vocab.lookup(word) == UNK:
            lp -= math.log(self.unk_types)
        return lp

    def word_logprobs(self, tokens: Sequence[str], *, end: bool = True) -> list[float]:
        """Log-probability of each word read from sentence start (and of ``</s>`` when ``end``)."""
        seq = list(tokens) + ([EOS] if end else [])
        return [self.logprob(w, seq[:i]) for i, w in enumerate(seq)]

    def sequence_logprob(self, tokens: Sequence[str], *, end: bool = False) -> float:
        """Natural-log probability of a word sequence from sentence start."""
        return float(sum(self.word_logprobs(tokens, end=end)))

    def perplexity(self, text: str | Sequence[str]) -> float | None:
        """Per-word perplexity (end symbol included) of a text or word list; None without words."""
        toks = words(text) if isinstance(text, str) else list(text)
        if not toks:
            return None
        lps = self.word_logprobs(toks, end=True)
        value = math.exp(-sum(lps) / len(lps))
        return value if math.isfinite(value) else None

    @property
    def info(self) -> dict[str, Any]:
        """Provenance, for results.json."""
        return {
            "kind": "ngram",
            "implementation": "nltk.lm.WittenBellInterpolated",
            "order": self.order,
            "unk_cutoff": self.unk_cutoff,
            "unk_types": self.unk_types,
            "train_texts": self.n_sentences,
            "train_tokens": self.n_tokens,
            "vocabulary": len(self._lm.vocab),
        }


def train_ngram_lm(texts: Iterable[str], *, order: int = 3, unk_cutoff: int = 2) -> NgramLM:
    """Fit an :class:`NgramLM`, or reuse one fitted on the same texts in this process."""
    texts = list(texts)
    h = hashlib.sha256()
    for t in texts:
        h.update(" ".join(words(t)).encode())
        h.update(b"\n")
    key = (h.hexdigest(), order, unk_cutoff)
    if key not in _CACHE:
        _CACHE[key] = NgramLM(texts, order=order, unk_cutoff=unk_cutoff)
        log.info("n-gram LM: order %d on %d texts, %d words", order, _CACHE[key].n_sentences, _CACHE[key].n_tokens)
    return _CACHE[key]
