"""A document screen against adversarial documents: fluency, repetition and query-term stuffing.

Word-substitution attacks (PRADA) make text less fluent; keyword stuffing and trigger attacks
repeat query terms. ``StuffingDetector`` scores each document with features learned from clean
collection documents:

* **log_perplexity**: log per-word perplexity under the suite's n-gram language model
  (``robustrank.api.NgramLM``: interpolated Witten-Bell, order 3 by default, the same model and
  conventions as T4's fluency measure and PAT);
* **stuffing**: the largest share of one content term (non-stopword) among the content tokens;
* **repetition**: the share of content tokens whose term occurs more than once;
* **bigram_repeat**: the largest number of times one content bigram occurs (stuffed phrases);
* **query_terms** (only when the query is known - a search engine screens documents per query,
  and T4 knows each target's query): occurrences of the query's content terms among the
  document's content tokens, and **query_density**, their share of the content tokens.

Each feature is standardised robustly (median and 1.4826 x MAD; a feature with zero MAD keeps
unit scale) on held-out clean documents; the anomaly score is the largest z-score, and a
document is flagged above the ``quantile`` of the clean anomaly scores (nominal false-positive
rate 1 - quantile). Two thresholds: ``threshold`` for documents screened without a query
(calibrated on held-out clean texts) and ``threshold_query`` for (query, document) pairs
(calibrated on held-out clean candidate pairs given to :meth:`fit` as ``pairs``; without pairs
the query features are not used). The train/calibration splits are drawn from the seed the audit
routes to the defence (``fit(texts, seed=...)``); the detector has no seed of its own.
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
    quantile: float = Field(0.97, gt=0.5, lt=1, description="Threshold = this quantile of held-out clean anomaly scores "
        "(nominal FPR 1 - quantile; 0.97 keeps the measured FPR under 5%: 3.4% [2.4%, 4.7%] on vaswani, docs/attacks.md).",
    )
    query_features: bool = Field(True, description="Use query-term count and density when the query is known (needs calibration pairs).")


TEXT_FEATURES = ("log_perplexity", "stuffing", "repetition", "bigram_repeat")
QUERY_FEATURES = ("query_terms", "query_density")


def _content(tokens: list[str], stop: frozenset[str]) -> list[str]:
    return [t for t in tokens if t not in stop and not t.isdigit()]


def _stuffing(tokens: list[str], stop: frozenset[str]) -> float:
    content = _content(tokens, stop)
    if not content:
        return 0.0
    return Counter(content).most_common(1)[0][1] / len(content)


def _repetition(content: list[str]) -> tuple[float, float]:
    """(share of content tokens whose term repeats, largest count of one content bigram)."""
    if not content:
        return 0.0, 0.0
    counts = Counter(content)
    repeated = sum(c for c in counts.values() if c > 1) / len(content)
    bigrams = Counter(zip(content, content[1:]))
    return repeated, float(max(bigrams.values(), default=0))


def _query_features(content: list[str], query_content: set[str]) -> tuple[float, float]:
    k = sum(1 for t in content if t in query_content)
    return float(k), (k / len(content) if content else 0.0)


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
        self.threshold_query: float | None = None
        self._lm: Any = None
        self._center = np.zeros(len(TEXT_FEATURES) + len(QUERY_FEATURES))
        self._scale = np.ones(len(TEXT_FEATURES) + len(QUERY_FEATURES))
        self.calibration: dict[str, Any] = {}

    def _features(self, texts: Sequence[str], queries: Sequence[str] | None = None) -> np.ndarray:
        """Raw features per text: the text features, then the query features (NaN without a query)."""
        stop = stopwords()
        out = np.full((len(texts), len(TEXT_FEATURES) + len(QUERY_FEATURES)), np.nan)
        for i, text in enumerate(texts):
            toks = words(text)
            content = _content(toks, stop)
            ppl = self._lm.perplexity(toks) if toks else None
            out[i, 0] = float(np.log(ppl)) if ppl else 0.0
            out[i, 1] = _stuffing(toks, stop)
            out[i, 2], out[i, 3] = _repetition(content)
            if queries is not None:
                qc = set(_content(words(queries[i]), stop))
                out[i, 4], out[i, 5] = _query_features(content, qc)
        return out

    def _standardise(self, feats: np.ndarray, cols: slice) -> None:
        block = feats[:, cols]
        center = np.median(block, axis=0)
        mad = np.median(np.abs(block - center), axis=0) * 1.4826
        self._center[cols] = center
        self._scale[cols] = np.where(mad > 1e-9, mad, 1.0)

    def fit(self, texts: Sequence[str], *, seed: int, pairs: Sequence[tuple[str, str]] | None = None) -> None:
        """Train the language model and calibrate the thresholds on clean texts (and clean pairs).

        Args:
            texts: Clean documents.
            seed: Seed of the train/calibration splits (routed from the audit seed).
            pairs: Clean (query, document) pairs, e.g. the candidates of queries not under
                attack; half (seeded) standardise the query features, the other half set
                ``threshold_query``. Without pairs, documents are screened without their query.

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
        nt = len(TEXT_FEATURES)
        feats = self._features(cal)
        self._standardise(feats, slice(0, nt))
        self.threshold = float(np.quantile(self._combine(feats), opt.quantile))
        self.threshold_query = None
        self.calibration = {"train_texts": len(train), "calibration_texts": len(cal), "quantile": opt.quantile,
                            "nominal_fpr": round(1 - opt.quantile, 6), "calibration_pairs": 0}
        if pairs and opt.query_features and len(pairs) >= 4:
            idx = np.random.default_rng([seed, 1]).permutation(len(pairs))
            half = len(pairs) // 2
            std = [pairs[i] for i in idx[:half]]
            thr = [pairs[i] for i in idx[half:]]
            fs = self._features([d for _, d in std], [q for q, _ in std])
            self._standardise(fs, slice(nt, None))
            ft = self._features([d for _, d in thr], [q for q, _ in thr])
            self.threshold_query = float(np.quantile(self._combine(ft), opt.quantile))
            self.calibration["calibration_pairs"] = len(thr)
            self.calibration["standardisation_pairs"] = len(std)
        log.info("detector fit on %d texts, calibrated on %d; threshold %.3f (with query: %s)", len(train), len(cal), self.threshold, self.threshold_query)

    def _combine(self, feats: np.ndarray) -> np.ndarray:
        z = (feats - self._center) / self._scale
        return np.nanmax(z, axis=1)

    def features(self, texts: Sequence[str], queries: Sequence[str] | None = None) -> dict[str, list[float]]:
        """The raw features per text (query features only with ``queries``)."""
        f = self._features(texts, queries)
        names = TEXT_FEATURES + (QUERY_FEATURES if queries is not None else ())
        return {n: f[:, j].tolist() for j, n in enumerate(names)}

    def _uses_query(self, queries: Sequence[str] | None) -> bool:
        return queries is not None and self.threshold_query is not None

    def score(self, texts: Sequence[str], queries: Sequence[str] | None = None) -> np.ndarray:
        """Anomaly score per text (higher = more suspicious).

        Without ``queries`` (or without calibration pairs) only the text features count and the
        score is compared with ``threshold``; with them, the query features count too and the
        score is compared with ``threshold_query`` (see :meth:`flag`).

        Raises:
            RuntimeError: Before :meth:`fit`.
        """
        if self._lm is None:
            raise RuntimeError("call fit() on clean documents first")
        q = queries if self._uses_query(queries) else None
        feats = self._features(texts, q)
        if q is None:
            feats[:, len(TEXT_FEATURES):] = np.nan
        return self._combine(feats)

    def flag(self, texts: Sequence[str], queries: Sequence[str] | None = None) -> np.ndarray:
        """Boolean flags: score above ``threshold_query`` when screened with queries, else ``threshold``."""
        thr = self.threshold_query if self._uses_query(queries) else self.threshold
        return self.score(texts, queries) > thr

    def info(self) -> dict[str, Any]:
        """Thresholds and calibration sizes, for results.json."""
        return {"features": list(TEXT_FEATURES) + (list(QUERY_FEATURES) if self.threshold_query is not None else []),
                "threshold": self.threshold, "threshold_query": self.threshold_query, **self.calibration}
