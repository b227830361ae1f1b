"""The re-ranking job: score each unit's (query, candidates) with a ranker and sort them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from robustrank.ranked import sort_ranked
from robustrank.rankers.base import score_pairs

__all__ = ["RerankJob", "RerankUnit"]

RerankUnit = tuple[str, list[str], list[str]]
"""(query text, candidate doc ids, candidate doc texts) of one query."""


@dataclass(frozen=True)
class RerankJob:
    """Re-rank units with ``ranker``; all pairs of a batch of units are scored in one call."""

    ranker: Any

    def run_batch(self, units: list[RerankUnit]) -> list[list[tuple[str, float]]]:
        """Ranked [(doc_id, score)] per unit, best first (evaluation order of :mod:`robustrank.ranked`)."""
        pairs = [(q, t) for q, _, texts in units for t in texts]
        scores = score_pairs(self.ranker, pairs).tolist() if pairs else []
        out, i = [], 0
        for _, ids, texts in units:
            ranked = sort_ranked(zip(ids, scores[i : i + len(texts)]))
            i += len(texts)
            out.append([(d, float(s)) for d, s in ranked])
        return out
