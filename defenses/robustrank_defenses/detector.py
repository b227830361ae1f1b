"""A document screen against adversarial documents: fluency (n-gram perplexity) and term stuffing.

Word-substitution attacks (PRADA) make text less fluent; keyword stuffing and trigger attacks
repeat query terms. ``StuffingDetector`` scores each document with two features, learned from
clean collection documents:

* **perplexity**: log per-word perplexity under the suite's n-gram language model
  (``robustrank.api.NgramLM``: interpolated Witten-Bell, order 3 by default, the same model and
  conventions as T4's fluency measure and PAT);
* **stuffing**: the largest share of one content term (non-stopword) among the content tokens.

Each feature is standardised robustly on held-out clean documents (median and 1.4826 x MAD, so
the z-score of a normal feature has unit scale); the anomaly score is the larger of the two
z-scores, and the threshold is its ``quantile`` on the held-out clean documents (nominal
false-positive rate 1 - quantile; the certify task measures it on further clean documents).
The train/calibration split is drawn from the seed the audit routes to the defence
(``fit(texts, seed=...)``); the detector has no seed of its own.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Sequence
from typing import Any

import numpy as np
from pydantic import Field

from robustrank.api import NgramLM, StrictModel, stopwords, words

__all__ = ["StuffingDetector"]

log = logging.getLogger(__name__)


class DetectorOptions(StrictModel):
    """Options of the perplexity / term-stuffing detector."""

    order: int = Field(3, ge=1, le=5, description="n-gram order of the language model.")
    unk_cutoff: int = Field(2, ge=1, description="Training words seen fewer times map to <UNK>.")
    calibration_share: float = Field(0.25, gt=0, lt=1, description="Share of fit() texts held out to standardise and set the threshold.")
    quantile: float = Field(0.95, gt=0.5, lt=1, description="Threshold = this quantile of held-out clean anomaly scores.")


def _stuffing(tokens: list[str], stop: frozenset[str]) -> float:
    content = [t for t in tokens if t not in stop and not t.isdigit()]
    if not content:
        return 0.0
    return Counter(content).most_common(1)[0][1] / len(content)


class StuffingDetector:
    """Flags documents whose fluency or term-stuffing score is anomalous.

    Args:
        options: :class:`DetectorOptions` or a dict of them.
    """

    name = "perplexity_detector"
    Options = DetectorOptions

    def __init__(self, options: DetectorOptions | dict[str, Any] | None = None):
        self.options = options if isinstance(options, DetectorOptions) else DetectorOptions(**(options or {}))
        self.threshold = float("inf")
        self._lm: Any = None
        self._center = np.zeros(2)
        self._scale = np.ones(2)

    def _features(self, texts: Sequence[str]) -> np.ndarray:
        stop = stopwords()
        out = np.zeros((len(texts), 2))
        for i, text in enumerate(texts):
            toks = words(text)
            ppl = self._lm.perplexity(toks) if toks else None
            out[i, 0] = float(np.log(ppl)) if ppl else 0.0
            out[i, 1] = _stuffing(toks, stop)
        return out

    def fit(self, texts: Sequence[str], *, seed: int) -> None:
        """Train the language model and calibrate the threshold on clean texts.

        Args:
            texts: Clean documents.
            seed: Seed of the train/calibration split (routed from the audit seed).

        Raises:
            ValueError: With fewer than 4 texts.
        """
        if len(texts) < 4:
            raise ValueError("the detector needs at least 4 clean texts")
        opt = self.options
        order = np.random.default_rng(seed).permutation(len(texts))
        n_cal = min(len(texts) - 1, max(2, int(round(opt.calibration_share * len(texts)))))
        cal = [texts[i] for i in order[:n_cal]]
        train = [texts[i] for i in order[n_cal:]]
        self._lm = NgramLM(train, order=opt.order, unk_cutoff=opt.unk_cutoff)
        feats = self._features(cal)
        self._center = np.median(feats, axis=0)
        mad = np.median(np.abs(feats - self._center), axis=0) * 1.4826
        self._scale = np.where(mad > 1e-9, mad, 1.0)
        self.threshold = float(np.quantile(self._combine(feats), opt.quantile))
        log.info("detector fit on %d texts, calibrated on %d; threshold %.3f", len(train), len(cal), self.threshold)

    def _combine(self, feats: np.ndarray) -> np.ndarray:
        return ((feats - self._center) / self._scale).max(axis=1)

    def features(self, texts: Sequence[str]) -> dict[str, list[float]]:
        """The two raw features per text (log perplexity, stuffing share)."""
        f = self._features(texts)
        return {"log_perplexity": f[:, 0].tolist(), "stuffing": f[:, 1].tolist()}

    def score(self, texts: Sequence[str]) -> np.ndarray:
        """Anomaly score per text (higher = more suspicious; flagged when > ``threshold``).

        Raises:
            RuntimeError: Before :meth:`fit`.
        """
        if self._lm is None:
            raise RuntimeError("call fit() on clean documents first")
        return self._combine(self._features(texts))

    def flag(self, texts: Sequence[str]) -> np.ndarray:
        """Boolean flags (score above the threshold)."""
        return self.score(texts) > self.threshold
