"""The job of a ranker defence's evaluation: re-rank one certified query's top-n (one unit per query).

Shipped once to each worker (:mod:`robustrank.executors`): the defended ranker, e.g. CertDR's
smoothed ranker with its synonym sets (the audited ranker inside it travels as a reference and is
rebuilt in the worker from the config). A unit's payload carries the query and its candidates'
ids and texts. The result carries the ranked list and the number of forward passes the unit
cost (read from the defended ranker's ``forwards`` counter around the unit, in whatever process
ran it), so the driver sums forwards over units - including units read back from a checkpoint.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from robustrank.ranked import sort_ranked
from robustrank.rankers.base import score_pairs

__all__ = ["DefenseJob", "unit_result"]


@dataclass
class DefenseJob:
    """Re-rank candidate lists with one defended ranker."""

    ranker: Any

    def run(self, payload: tuple[str, list[str], list[str]]) -> dict[str, Any]:
        """``{"ranked": [(doc_id, score)], "forwards": n}`` for one query's candidates."""
        query, doc_ids, texts = payload
        before = int(getattr(self.ranker, "forwards", 0))
        scores = score_pairs(self.ranker, [(query, t) for t in texts])
        ranked = sort_ranked(zip(doc_ids, scores.tolist()))
        return {"ranked": [(d, float(s)) for d, s in ranked], "forwards": int(getattr(self.ranker, "forwards", 0)) - before}


def unit_result(stored: Any) -> tuple[list[tuple[str, float]], int | None]:
    """(ranked list, forwards) of a stored unit; forwards is None for a unit checkpointed before
    units recorded their forwards (a bare ranked list)."""
    if isinstance(stored, dict):
        return [(d, s) for d, s in stored["ranked"]], int(stored["forwards"])
    return [(d, s) for d, s in stored], None
