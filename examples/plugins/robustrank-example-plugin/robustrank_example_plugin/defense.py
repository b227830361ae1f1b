"""Truncation defence: score only the first ``max_words`` words of every document.

A cheap defence against content appended to a document (e.g. stuffed keywords at the end);
its cost is the effectiveness lost on long relevant documents.
"""

from __future__ import annotations

from collections.abc import Sequence

from robustrank.api import DefenseEnvironment, Ranker, StrictModel, score_pairs


class _TruncatedRanker:
    def __init__(self, inner: Ranker, max_words: int):
        self.inner = inner
        self.max_words = max_words
        self.name = f"{inner.name}+truncate{max_words}"

    def _cut(self, text: str) -> str:
        return " ".join(text.split()[: self.max_words])

    def score(self, query: str, docs: Sequence[str]):
        return score_pairs(self.inner, [(query, self._cut(d)) for d in docs])

    def score_pairs(self, pairs: Sequence[tuple[str, str]]):
        return score_pairs(self.inner, [(q, self._cut(d)) for q, d in pairs])


class TruncateDefense:
    """Wraps a ranker so it only sees the beginning of each document."""

    name = "truncate"

    class Options(StrictModel):
        """Options of the defence."""

        max_words: int = 64

    def __init__(self, options: TruncateDefense.Options):
        self.options = options

    def wrap(self, ranker: Ranker, env: DefenseEnvironment) -> Ranker:
        """Return the defended ranker."""
        return _TruncatedRanker(ranker, self.options.max_words)
