"""Retrieve-then-rerank: the first stage (BM25 or a run file) and neural re-ranking."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any

from robustrank.metrics import Run
from robustrank.ranked import check_finite, sort_ranked
from robustrank.rankers.base import Ranker, score_pairs
from robustrank.records import Document

__all__ = ["first_stage_bm25", "rerank"]

log = logging.getLogger(__name__)


def first_stage_bm25(bm25, queries: Mapping[str, str], depth: int, *, progress: bool = False) -> dict[str, list[tuple[str, float]]]:
    """BM25 top-``depth`` for each query (query_id -> [(doc_id, score)], best first)."""
    from tqdm.auto import tqdm

    return {qid: bm25.retrieve(text, depth) for qid, text in tqdm(queries.items(), desc="bm25 retrieve", unit="q", disable=not progress, leave=False)}


def rerank(
    ranker: Ranker,
    queries: Mapping[str, str],
    candidates: Run,
    documents: Mapping[str, Document],
    *,
    chunk_queries: int = 8,
    progress: bool = False,
    desc: str = "rerank",
    on_query: Callable[[str, list[tuple[str, float]]], Any] | None = None,
) -> dict[str, list[tuple[str, float]]]:
    """Re-score each query's candidates with ``ranker`` and sort them in evaluation order
    (:mod:`robustrank.ranked`: ties by doc_id descending); a NaN/inf score is an error naming the
    query and document.

    Pairs of several queries are scored in one call so the ranker can batch across queries.

    Args:
        ranker: Any ranker.
        queries: query_id -> text.
        candidates: query_id -> [(doc_id, first-stage score)].
        documents: doc_id -> Document (candidates not in the corpus are dropped with a warning).
        chunk_queries: Queries per scoring call.
        progress: Show a tqdm bar.
        desc: Bar label.
        on_query: Called with (query_id, ranked list) as soon as a query is done (checkpointing).

    Returns:
        query_id -> [(doc_id, score)] sorted best first.
    """
    from tqdm.auto import tqdm

    qids = list(queries)
    out: dict[str, list[tuple[str, float]]] = {}
    dropped = 0
    with tqdm(total=len(qids), desc=desc, unit="q", disable=not progress, leave=False) as bar:
        for start in range(0, len(qids), chunk_queries):
            chunk = qids[start : start + chunk_queries]
            pairs, owners = [], []
            for qid in chunk:
                for did, _ in candidates.get(qid, ()):
                    if did not in documents:
                        dropped += 1
                        continue
                    pairs.append((queries[qid], documents[did].full_text))
                    owners.append((qid, did))
            scores = score_pairs(ranker, pairs).tolist()
            for qid in chunk:
                out[qid] = []
            for (qid, did), s in zip(owners, scores):
                out[qid].append((did, float(s)))
            for qid in chunk:
                check_finite(qid, out[qid], f"ranker {getattr(ranker, 'name', '?')!r}")
                out[qid] = sort_ranked(out[qid])
                if on_query is not None:
                    on_query(qid, out[qid])
            bar.update(len(chunk))
    if dropped:
        log.warning("%d candidate documents are not in the corpus and were skipped", dropped)
    return out
