"""Quality measures of adversarial documents: fluency (perplexity) and semantic similarity.

* Fluency: perplexity under an n-gram language model trained on the collection with
  ``nltk.lm.WittenBellInterpolated`` (order 3 by default) - or under a configured local causal
  LM (``transformers.AutoModelForCausalLM``). Witten-Bell rather than Kneser-Ney: nltk's
  ``KneserNeyInterpolated`` scores a 40-word abstract in ~2.4 s on the development machine
  (recursive, uncached), Witten-Bell in ~1 ms. Words seen once in the training sample map to
  ``<UNK>`` (``unk_cutoff=2``) so unseen words get the ``<UNK>`` probability instead of zero.
  The PRADA paper measures fluency with a GPT-2 perplexity; the n-gram LM is our offline default
  (``fluency.kind: causal_lm`` restores a neural LM when one is available locally).
* Semantic similarity: cosine of the bi-encoder embeddings (all-MiniLM-L6-v2 by default) of the
  original and the adversarial document. It stands in for the Universal Sentence Encoder used by
  PRADA / TextFooler, which is not available offline here.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from robustrank.text import words

__all__ = ["CausalLMFluency", "NgramFluency", "BiEncoderSimilarity", "build_fluency"]

log = logging.getLogger(__name__)


class NgramFluency:
    """Perplexity under an interpolated Witten-Bell n-gram model (nltk.lm) of a text sample.

    Args:
        texts: Training texts (e.g. the collection's documents).
        order: n-gram order.
        unk_cutoff: Words seen fewer times map to ``<UNK>``.
    """

    def __init__(self, texts: Sequence[str], *, order: int = 3, unk_cutoff: int = 2):
        from nltk.lm import Vocabulary, WittenBellInterpolated
        from nltk.lm.preprocessing import padded_everygram_pipeline

        self.order = order
        sents = [words(t) for t in texts]
        train, _ = padded_everygram_pipeline(order, sents)
        vocab = Vocabulary((w for s in sents for w in s), unk_cutoff=unk_cutoff)
        self._lm = WittenBellInterpolated(order, vocabulary=vocab)
        self._lm.fit(train)
        self.info = {
            "kind": "ngram",
            "implementation": "nltk.lm.WittenBellInterpolated",
            "order": order,
            "unk_cutoff": unk_cutoff,
            "train_texts": len(texts),
            "vocabulary": len(vocab),
        }

    def perplexity(self, text: str) -> float | None:
        """Perplexity of ``text`` (None for a text without words)."""
        from nltk.lm.preprocessing import pad_both_ends
        from nltk.util import ngrams

        toks = words(text)
        if not toks:
            return None
        grams = list(ngrams(list(pad_both_ends(toks, n=self.order)), self.order))
        value = self._lm.perplexity(grams)
        return float(value) if math.isfinite(value) else None


class CausalLMFluency:
    """Perplexity under a local causal language model (e.g. GPT-2 copied to a folder).

    Args:
        model: Local folder of an ``AutoModelForCausalLM``.
        device: torch device spec.
        max_length: Tokens scored at most.
    """

    def __init__(self, model: str | Path, *, device: str = "auto", max_length: int = 512):
        import transformers

        from robustrank.rankers.device import resolve_device

        self._dev = resolve_device(device)
        self._tok = transformers.AutoTokenizer.from_pretrained(str(model), local_files_only=True)
        self._model = transformers.AutoModelForCausalLM.from_pretrained(str(model), local_files_only=True).to(self._dev).eval()
        self._max = max_length
        self.info = {"kind": "causal_lm", "model": str(model), "max_length": max_length}

    def perplexity(self, text: str) -> float | None:
        """exp(mean token negative log-likelihood) of ``text``."""
        import torch

        enc = self._tok(text, return_tensors="pt", truncation=True, max_length=self._max).to(self._dev)
        if enc["input_ids"].shape[1] < 2:
            return None
        with torch.inference_mode():
            loss = self._model(**enc, labels=enc["input_ids"]).loss
        return float(math.exp(float(loss)))


def build_fluency(cfg: Any, documents: Sequence[str], *, seed: int, resolve=None, device: str = "auto"):
    """The fluency scorer a :class:`~robustrank.config_attacks.FluencyConfig` describes.

    Args:
        cfg: The ``fluency`` section.
        documents: The collection's texts (the n-gram LM trains on a seeded sample).
        seed: Seed of the sample.
        resolve: Resolves a configured model path.
        device: torch device spec for a causal LM.
    """
    if cfg.kind == "causal_lm":
        path = resolve(cfg.model) if resolve else cfg.model
        return CausalLMFluency(path, device=device)
    docs = list(documents)
    if cfg.train_docs is not None and cfg.train_docs < len(docs):
        idx = np.random.default_rng(seed).choice(len(docs), size=cfg.train_docs, replace=False)
        docs = [docs[i] for i in sorted(idx)]
    return NgramFluency(docs, order=cfg.order)


class BiEncoderSimilarity:
    """Cosine similarity of two texts' bi-encoder embeddings (the USE stand-in).

    Args:
        encoder: Any object with ``encode(texts) -> array`` (e.g. ``BiEncoderRanker``).
        name: What the encoder is, for results.json.
    """

    def __init__(self, encoder: Any, name: str):
        self._enc = encoder
        self.info = {
            "model": name,
            "measure": "cosine of mean-pooled bi-encoder embeddings",
            "note": "stands in for the Universal Sentence Encoder (USE) of PRADA/TextFooler, unavailable offline",
        }

    def similarity(self, a: str, b: str) -> float:
        """Cosine similarity of ``a`` and ``b``."""
        if a == b:
            return 1.0
        e = np.asarray(self._enc.encode([a, b]), dtype=np.float64)
        na, nb = np.linalg.norm(e[0]), np.linalg.norm(e[1])
        if na == 0 or nb == 0:
            return 0.0
        return float(e[0] @ e[1] / (na * nb))
