"""Effectiveness through ir-measures (``nDCG@10``, ``RR@10``, ``AP@100``, ``R@100``, ...)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

__all__ = ["Run", "evaluate"]

Run = Mapping[str, Sequence[tuple[str, float]]]
"""A ranked run: query_id -> [(doc_id, score), ...]."""


def evaluate(
    run: Run,
    qrels: Mapping[str, Mapping[str, int]],
    measures: Sequence[str],
    query_ids: Sequence[str],
) -> dict[str, dict[str, float]]:
    """Per-query values of each measure.

    Queries in ``query_ids`` that are judged but have no retrieved document (e.g. an empty
    query) get 0, so every evaluated query counts; queries outside ``query_ids`` are ignored.

    Args:
        run: The ranked lists.
        qrels: Judgments.
        measures: ir-measures measure strings.
        query_ids: Judged queries to evaluate.

    Returns:
        measure string -> {query_id: value}, query order as in ``query_ids``.
    """
    import ir_measures

    parsed = {m: ir_measures.parse_measure(m) for m in measures}
    back = {str(p): m for m, p in parsed.items()}
    wanted = set(query_ids)
    sub_qrels = {q: dict(qrels[q]) for q in query_ids if q in qrels}
    sub_run = {q: {d: float(s) for d, s in run.get(q, ())} for q in query_ids}
    sub_run = {q: docs for q, docs in sub_run.items() if docs}
    values: dict[str, dict[str, float]] = {m: {} for m in measures}
    if sub_run and sub_qrels:
        for metric in ir_measures.iter_calc(list(parsed.values()), sub_qrels, sub_run):
            if metric.query_id in wanted:
                values[back[str(metric.measure)]][metric.query_id] = float(metric.value)
    return {m: {q: values[m].get(q, 0.0) for q in query_ids} for m in measures}
