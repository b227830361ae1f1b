"""Ranked lists as they are evaluated: the tie rule and the check for usable scores.

Evaluation goes through ir-measures / pytrec_eval, which (like trec_eval) orders a query's
documents by descending score and breaks ties by descending document id (string order). Every
ranked list robustrank stores (checkpoint, results, run files) is sorted with the same rule,
so a stored list is exactly the order that was evaluated and anyone re-evaluating it gets the
same numbers. A ranker that returns NaN or an infinite score is an error naming the query and
the document, raised before anything is stored.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

from robustrank.errors import RobustRankError

__all__ = ["TIE_RULE", "NonFiniteScore", "check_finite", "sort_ranked"]

TIE_RULE = "score descending, ties by doc_id descending (trec_eval / pytrec_eval order)"
"""The order of every stored ranked list; recorded in results.json as ``ranking.tie_rule``."""


class NonFiniteScore(RobustRankError):
    """A ranker returned NaN or an infinite score."""


class _Desc:
    """Wraps a string so that sorting ascending orders it descending."""

    __slots__ = ("s",)

    def __init__(self, s: str):
        self.s = s

    def __lt__(self, other: _Desc) -> bool:
        return self.s > other.s

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Desc) and self.s == other.s


def _key(item: tuple[str, float]) -> tuple[float, _Desc]:
    return (-item[1], _Desc(item[0]))


def sort_ranked(pairs: Iterable[tuple[str, float]]) -> list[tuple[str, float]]:
    """Sort (doc_id, score) pairs in evaluation order (see :data:`TIE_RULE`)."""
    return sorted(pairs, key=_key)


def check_finite(query_id: str, pairs: Iterable[tuple[str, float]], ranker: str = "ranker") -> None:
    """Raise :class:`NonFiniteScore` naming the query and document of the first NaN/inf score."""
    for doc_id, score in pairs:
        if not math.isfinite(score):
            raise NonFiniteScore(f"{ranker} returned {score!r} for query {query_id!r}, document {doc_id!r}; scores must be finite numbers")
