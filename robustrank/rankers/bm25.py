"""BM25 (rank-bm25's Okapi implementation) as first stage, baseline and ranker.

Documents are tokenised with :func:`robustrank.text.bm25_tokenize` (lowercase words, bundled
stopwords removed, Porter stems). Scoring a document *text* that is not in the index (e.g. an
adversarially edited document) uses the collection's statistics (idf, average length) and the
library's own scoring formula on that text.
"""

from __future__ import annotations

import copy
import logging
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from robustrank.ranked import sort_ranked
from robustrank.records import Document
from robustrank.text import bm25_tokenize

__all__ = ["BM25Ranker"]

log = logging.getLogger(__name__)


class BM25Ranker:
    """BM25 over a document collection.

    Args:
        documents: doc_id -> Document to index.
        k1: Term-frequency saturation.
        b: Length normalisation.
        stem: Porter-stem terms.
        stopwords: Remove bundled stopwords.
        progress: Show a progress bar while indexing.
    """

    def __init__(
        self,
        documents: Mapping[str, Document],
        *,
        k1: float = 0.9,
        b: float = 0.4,
        stem: bool = True,
        stopwords: bool = True,
        progress: bool = False,
    ):
        from rank_bm25 import BM25Okapi
        from tqdm.auto import tqdm

        self.name = "bm25"
        self.k1, self.b, self.stem, self.stopwords = k1, b, stem, stopwords
        self.doc_ids = list(documents)
        corpus = [self._tok(documents[d].full_text) for d in tqdm(self.doc_ids, desc="bm25 index", unit="doc", disable=not progress, leave=False)]
        # rank-bm25 divides by the average length; an all-empty corpus would divide by zero.
        if not any(corpus):
            corpus[0] = ["\x00empty"]
        self._index = BM25Okapi(corpus, k1=k1, b=b)

    @classmethod
    def from_config(cls, config: Any, *, collection: Any = None, **_: Any) -> BM25Ranker:
        """Build from a RankerConfig (``options`` may hold k1, b, stem, stopwords) over ``collection``."""
        if collection is None:
            raise ValueError("the bm25 ranker needs a collection to take its statistics from")
        return cls(collection.documents, **config.options)

    def _tok(self, text: str) -> list[str]:
        return bm25_tokenize(text, stem=self.stem, remove_stopwords=self.stopwords)

    def params(self) -> dict[str, Any]:
        """Settings, for results.json."""
        return {"implementation": "rank_bm25.BM25Okapi", "k1": self.k1, "b": self.b, "stem": self.stem, "stopwords": self.stopwords}

    def retrieve(self, query: str, depth: int) -> list[tuple[str, float]]:
        """Top-``depth`` (doc_id, score) over the whole collection, best first.

        Documents with score 0 (no query term) are not returned; ties are ordered (and cut at
        ``depth``) by the evaluation rule of :mod:`robustrank.ranked` (doc_id descending).
        """

        q = self._tok(query)
        if not q:
            return []
        scores = self._index.get_scores(q)
        k = min(depth, len(scores))
        kth = scores[np.argpartition(-scores, k - 1)[k - 1]]
        top = np.nonzero(scores >= kth)[0]  # every document tied at the cut competes for it
        hits = [(self.doc_ids[i], float(scores[i])) for i in top if scores[i] > 0]
        return sort_ranked(hits)[:k]

    def score(self, query: str, docs: Sequence[str]) -> np.ndarray:
        """BM25 score of arbitrary texts with the collection's idf and average length."""
        if not docs:
            return np.zeros(0)
        view = copy.copy(self._index)
        toks = [self._tok(d) for d in docs]
        view.corpus_size = len(docs)
        view.doc_freqs = [Counter(t) for t in toks]
        view.doc_len = [len(t) for t in toks]
        return np.asarray(view.get_scores(self._tok(query)), dtype=np.float64)
