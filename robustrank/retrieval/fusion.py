"""Reciprocal rank fusion (Cormack, Clarke and Büttcher, SIGIR 2009) of ranked runs."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

__all__ = ["reciprocal_rank_fusion"]


def reciprocal_rank_fusion(
    runs: Sequence[Mapping[str, Sequence[tuple[str, float]]]], *, k: int = 60, depth: int | None = None
) -> dict[str, list[tuple[str, float]]]:
    """Fuse runs by RRF: score(d) = sum over runs of 1 / (k + rank of d), ranks from 1.

    Args:
        runs: query_id -> [(doc_id, score)] sorted best first (each run's own scores are ignored).
        k: The RRF constant (60 in the paper).
        depth: Keep this many documents per query (None: all).

    Returns:
        query_id -> [(doc_id, fused score)], best first, ties by doc_id.
    """
    out: dict[str, list[tuple[str, float]]] = {}
    qids = dict.fromkeys(q for run in runs for q in run)
    for qid in qids:
        fused: dict[str, float] = {}
        for run in runs:
            for rank, (did, _) in enumerate(run.get(qid, ()), start=1):
                fused[did] = fused.get(did, 0.0) + 1.0 / (k + rank)
        ranked = sorted(fused.items(), key=lambda x: (-x[1], x[0]))
        out[qid] = ranked[:depth] if depth is not None else ranked
    return out
