"""Helpers of the white-box attacks: access checks and word <-> word-piece alignment."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from robustrank.api import SupportsEmbeddingTable, SupportsGradients, TokenGradients, document_words

__all__ = ["WhiteBoxVictim", "white_box_reason"]


def white_box_reason(ranker: Any) -> str | None:
    """Why ``ranker`` cannot be attacked white-box (None when it can)."""
    if ranker is None:
        return "white-box attack, but the audit grants no gradients (tasks.t4.white_box: false) or the victim exposes none"
    if not isinstance(ranker, SupportsGradients):
        return "white-box attack, but the victim exposes no embedding_gradients"
    if not isinstance(ranker, SupportsEmbeddingTable):
        return "white-box attack, but the victim exposes no input_embeddings / tokenizer"
    return None


class WhiteBoxVictim:
    """The victim's gradients and embedding table, with word-level bookkeeping.

    Args:
        ranker: A ranker with ``embedding_gradients``, ``input_embeddings`` and ``tokenizer``.
    """

    def __init__(self, ranker: Any):
        self.ranker = ranker
        self.tokenizer = ranker.tokenizer
        self._special = set(getattr(self.tokenizer, "all_special_ids", []) or [])
        self._pieces: dict[str, tuple[int, ...]] = {}
        self._rows: dict[int, np.ndarray] = {}
        self.gradient_calls = 0

    def pieces(self, word: str) -> tuple[int, ...]:
        """Word-piece ids of one word (no special tokens)."""
        if word not in self._pieces:
            self._pieces[word] = tuple(self.tokenizer(word, add_special_tokens=False)["input_ids"])
        return self._pieces[word]

    def embeddings(self, ids: Sequence[int]) -> np.ndarray:
        """Embedding rows of ``ids`` (cached)."""
        missing = [i for i in dict.fromkeys(ids) if i not in self._rows]
        if missing:
            for i, row in zip(missing, np.asarray(self.ranker.input_embeddings(missing), dtype=np.float64)):
                self._rows[i] = row
        return np.stack([self._rows[i] for i in ids]) if ids else np.zeros((0, 0))

    def mean_embedding(self, word: str) -> np.ndarray | None:
        """Mean embedding of a word's pieces (None for a word without pieces)."""
        p = self.pieces(word)
        return self.embeddings(list(p)).mean(0) if p else None

    def gradients(self, query: str, text: str) -> TokenGradients:
        """Gradient of the victim's score of ``text`` w.r.t. its input embeddings."""
        self.gradient_calls += 1
        return self.ranker.embedding_gradients(query, text)

    def align(self, text: str, tg: TokenGradients) -> list[list[int] | None]:
        """For each word of ``text`` (:func:`document_words`), its rows in ``tg`` (None: truncated away).

        The document's word pieces are the concatenation of its words' pieces with punctuation
        pieces in between; each word is matched in order, skipping other tokens. A word the
        model never saw (truncated) gets None.
        """
        ids = list(tg.token_ids)
        out: list[list[int] | None] = []
        cursor = 0
        for w in document_words(text):
            p = list(self.pieces(w))
            found = None
            j = cursor
            while p and j + len(p) <= len(ids):
                if ids[j : j + len(p)] == p:
                    found = j
                    break
                j += 1
            if found is None:
                out.append(None)
                continue
            out.append(list(range(found, found + len(p))))
            cursor = found + len(p)
        return out

    def find(self, tg: TokenGradients, piece_ids: Sequence[int]) -> int | None:
        """First index of the id sequence ``piece_ids`` in ``tg``'s tokens."""
        ids = list(tg.token_ids)
        n = len(piece_ids)
        for j in range(len(ids) - n + 1):
            if ids[j : j + n] == list(piece_ids):
                return j
        return None
