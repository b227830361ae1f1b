"""T2 query-variation fail rate: the share of queries a variation hurts by more than a tolerance.

A query *fails* a variation when its value of the fail measure (nDCG@10 by default) under the
variant is lower than on the original query by more than ``tolerance`` (absolute, e.g. 0.1
nDCG@10). The fail rate is ``failed / queries`` with an exact (Clopper-Pearson) binomial interval
(:func:`robustrank.stats.clopper_pearson`), for the audited ranker and for BM25 on the same
queries - the per-query form ML scanners report beside the mean drop.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from robustrank.results import MetricKey
from robustrank.stats import clopper_pearson

__all__ = ["fail_rate", "fail_rate_metrics", "fail_rate_from_records", "fail_measure"]


def fail_measure(configured: str | None, measures: Sequence[str]) -> str:
    """The measure the fail rate uses: the configured one, else nDCG@10 when measured, else the first.

    Raises:
        ValueError: The configured measure is not one of the audit's measures.
    """
    if configured is not None:
        if configured not in measures:
            raise ValueError(f"fail_measure {configured!r} is not one of the audit's measures ({', '.join(measures)})")
        return configured
    return "nDCG@10" if "nDCG@10" in measures else measures[0]


def fail_rate(original: Mapping[str, float], perturbed: Mapping[str, float], query_ids: Iterable[str], tolerance: float,
              confidence: float = 0.95) -> dict[str, Any]:
    """``{count, n, rate, ci_low, ci_high}``: queries whose value drops by more than ``tolerance``.

    Args:
        original: query_id -> value on the original query.
        perturbed: query_id -> value on the variant.
        query_ids: The evaluated queries (each must be in both mappings).
        tolerance: Largest absolute drop that is not a failure.
        confidence: Level of the exact binomial interval.
    """
    qids = list(query_ids)
    count = sum(1 for q in qids if original[q] - perturbed[q] > tolerance)
    n = len(qids)
    lo, hi = clopper_pearson(count, n, confidence) if n else (None, None)
    return {"count": int(count), "n": n, "rate": count / n if n else None, "ci_low": lo, "ci_high": hi}


def fail_rate_from_records(records: Iterable[Mapping[str, Any]], variation: str, system: str, measure: str, tolerance: float,
                           confidence: float = 0.95) -> dict[str, Any]:
    """:func:`fail_rate` recomputed from T2's long per-query records (``result.per_query``)."""
    original: dict[str, float] = {}
    perturbed: dict[str, float] = {}
    for r in records:
        if r.get("system") != system or r.get("measure") != measure:
            continue
        if r.get("variation") is None:
            original[r["query_id"]] = r["value"]
        elif r.get("variation") == variation:
            perturbed[r["query_id"]] = r["value"]
    return fail_rate(original, perturbed, [q for q in original if q in perturbed], tolerance, confidence)


def fail_rate_metrics(task: str, variation: str, record: Mapping[str, Any]) -> dict[str, Any]:
    """Gate keys ``<task>.<variation>.fail_rate`` (+ ``.ci_low``/``.ci_high``) and ``bm25_fail_rate`` (+ CI)."""
    out: dict[str, Any] = {}
    for system, name in (("neural", "fail_rate"), ("bm25", "bm25_fail_rate")):
        rec = record.get(system) or {}
        if rec.get("rate") is None:
            continue
        k = MetricKey.of(task, variation, name)
        out[str(k)] = rec["rate"]
        out[str(k.child("ci_low"))] = rec["ci_low"]
        out[str(k.child("ci_high"))] = rec["ci_high"]
    return out
