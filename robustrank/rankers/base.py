"""The ranker protocol: as small as ``score(query, docs) -> scores``, plus optional capabilities.

A ranker is any object with a ``name`` and ``score(query, docs)``. Tasks that need more ask for
a capability and check it with ``isinstance`` (the protocols are runtime-checkable):

* :class:`SupportsPairs` - ``score_pairs(pairs)`` scores many (query, doc) pairs in one batch.
* :class:`SupportsTokenizer` - ``tokenizer`` (a Hugging Face tokenizer).
* :class:`SupportsGradients` - ``embedding_gradients(query, doc)``: gradient of the score with
  respect to the document's input word embeddings (white-box attacks).
* :class:`SupportsEmbeddingTable` - ``input_embeddings(token_ids)``: rows of the input word
  embedding table (white-box attacks score candidate tokens against gradients, HotFlip-style).
* :class:`SupportsFingerprint` - ``fingerprint()``: sha256 of the weight files.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

import numpy as np

from robustrank.ranked import sort_ranked

__all__ = [
    "Ranker",
    "SupportsPairs",
    "SupportsTokenizer",
    "SupportsGradients",
    "SupportsEmbeddingTable",
    "SupportsFingerprint",
    "TokenGradients",
    "score_pairs",
    "rank",
]


@runtime_checkable
class Ranker(Protocol):
    """Anything that scores documents for a query (higher = more relevant)."""

    name: str

    def score(self, query: str, docs: Sequence[str]) -> np.ndarray:
        """Score each document text for the query; returns float array of len(docs)."""
        ...


@runtime_checkable
class SupportsPairs(Protocol):
    """Batched scoring of arbitrary (query, doc) pairs."""

    def score_pairs(self, pairs: Sequence[tuple[str, str]]) -> np.ndarray:
        """Score each (query, doc) pair; returns float array of len(pairs)."""
        ...


@runtime_checkable
class SupportsTokenizer(Protocol):
    """Exposes the model's tokenizer."""

    tokenizer: Any


@dataclass(frozen=True)
class TokenGradients:
    """Gradient of a (query, doc) score w.r.t. the document's input word embeddings.

    Attributes:
        tokens: Document word-piece tokens, in order.
        token_ids: Their vocabulary ids.
        gradients: Array [len(tokens), embedding_dim].
        score: The score the gradient was taken of.
    """

    tokens: tuple[str, ...]
    token_ids: tuple[int, ...]
    gradients: np.ndarray
    score: float


@runtime_checkable
class SupportsGradients(Protocol):
    """White-box access: gradients w.r.t. input embeddings."""

    def embedding_gradients(self, query: str, doc: str) -> TokenGradients:
        """Return the gradient of score(query, doc) w.r.t. the doc's input embeddings."""
        ...


@runtime_checkable
class SupportsEmbeddingTable(Protocol):
    """White-box access: the input word-embedding table, with the tokenizer that indexes it."""

    tokenizer: Any

    def input_embeddings(self, token_ids: Sequence[int]) -> np.ndarray:
        """Rows of the input embedding table for ``token_ids``: float array [len(token_ids), dim]."""
        ...


@runtime_checkable
class SupportsFingerprint(Protocol):
    """Reports hashes of the files that define the ranker."""

    def fingerprint(self) -> dict[str, str]:
        """Return {file: sha256}."""
        ...


def score_pairs(ranker: Ranker, pairs: Sequence[tuple[str, str]]) -> np.ndarray:
    """Score (query, doc) pairs with any ranker, batching by query when it lacks ``score_pairs``.

    Args:
        ranker: Any ranker.
        pairs: (query, doc text) pairs.

    Returns:
        Scores aligned with ``pairs``.
    """
    if not pairs:
        return np.zeros(0, dtype=np.float64)
    if isinstance(ranker, SupportsPairs):
        return np.asarray(ranker.score_pairs(pairs), dtype=np.float64)
    out = np.empty(len(pairs), dtype=np.float64)
    by_query: dict[str, list[int]] = {}
    for i, (q, _) in enumerate(pairs):
        by_query.setdefault(q, []).append(i)
    for q, idx in by_query.items():
        scores = np.asarray(ranker.score(q, [pairs[i][1] for i in idx]), dtype=np.float64)
        if scores.shape != (len(idx),):
            raise ValueError(f"ranker {getattr(ranker, 'name', ranker)!r} returned {scores.shape} scores for {len(idx)} docs")
        out[idx] = scores
    return out


def rank(ranker: Ranker, query: str, doc_ids: Sequence[str], texts: Sequence[str]) -> list[tuple[str, float]]:
    """Rank documents for a query, best first (ties by doc_id descending, the evaluation order).

    Args:
        ranker: Any ranker.
        query: Query text.
        doc_ids: Ids aligned with ``texts``.
        texts: Document texts.

    Returns:
        (doc_id, score) pairs sorted by descending score.
    """

    scores = np.asarray(ranker.score(query, list(texts)), dtype=np.float64)
    return sort_ranked(zip(doc_ids, scores.tolist()))
