"""Quality measures of adversarial documents: fluency (perplexity) and semantic similarity.

* Fluency: perplexity under the suite's n-gram language model (:mod:`robustrank.adversarial.lm`,
  order 3 by default, trained on a seeded sample of the collection) - or under a configured
  local causal LM (``transformers.AutoModelForCausalLM``).
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

from robustrank.adversarial.lm import NgramLM
from robustrank.rankers.device import resolve_device

__all__ = ["BiEncoderSimilarity", "CausalLMFluency", "build_fluency"]

log = logging.getLogger(__name__)


class CausalLMFluency:
    """Perplexity under a local causal language model (e.g. GPT-2 copied to a folder).

    Args:
        model: Local folder of an ``AutoModelForCausalLM``.
        device: torch device spec.
        max_length: Tokens scored at most.
    """

    def __init__(self, model: str | Path, *, device: str = "auto", max_length: int = 512):
        import transformers


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
    """The fluency scorer a :class:`~robustrank.tasks.adversarial_options.FluencyConfig` describes.

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
    return NgramLM(docs, order=cfg.order)


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
        """Cosine similarity of ``a`` and ``b``, rounded to 6 decimals.

        Float32 embeddings differ in the last bits with the batch a text was embedded in and the
        thread count, so digits beyond 1e-6 would differ between a worker and the driver.
        """
        if a == b:
            return 1.0
        e = np.asarray(self._enc.encode([a, b]), dtype=np.float64)
        na, nb = np.linalg.norm(e[0]), np.linalg.norm(e[1])
        if na == 0 or nb == 0:
            return 0.0
        return round(float(e[0] @ e[1] / (na * nb)), 6)
