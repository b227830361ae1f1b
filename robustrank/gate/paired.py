"""Paired regression tests of ``delta(...)`` conditions: where the per-query values come from, and
the one-sided test on their differences (see :mod:`robustrank.gate.evaluate`).

The per-query values are the long records of results.json (``tasks.<key>.result.per_query``,
see :mod:`robustrank.results.schema`), selected by field filter:

* by default, the filter the metric's task recorded for that metric in
  ``result.metric_per_query`` (e.g. ``t1.nDCG@10.mean`` -> ``{system: neural, measure: nDCG@10}``,
  ``certify.crq@10`` -> ``{system: smoothed, measure: certified@10}``) - no task is special-cased;
* ``paired.per_query: {measure: RR@10, system: neural}`` - a filter over the records of the
  metric's task (``task:`` picks another task's records);
* ``paired.per_query: "$.json.path"`` - a ``{query_id: value}`` mapping anywhere in the document
  (for values a task keeps outside the long records).

The same selection is applied to the current results and to the baseline.
"""

from __future__ import annotations

import math
from typing import Any

from robustrank.config.gate import ConditionSpec
from robustrank.gate.expr import Condition, _walk, parse_ref, task_of
from robustrank.results.schema import select_values, task_records

__all__ = ["paired_test", "per_query_values"]


def _selector(cond: Condition, spec: ConditionSpec, results: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """(task key, record filter) for the condition's per-query values."""
    given = spec.paired.per_query if spec.paired else None
    task = task_of(cond.ref)
    if isinstance(given, dict):
        selector = dict(given)
        return str(selector.pop("task", task)), selector
    if not cond.ref.is_metric or task is None:
        raise LookupError("no per-query values for a JSON-path reference; set paired.per_query")
    result = (((results.get("tasks") or {}).get(task) or {}).get("result")) or {}
    selector = (result.get("metric_per_query") or {}).get(cond.ref.text)
    if not isinstance(selector, dict):
        raise LookupError(
            f"task {task} records no per-query values for {cond.ref.text} (result.metric_per_query); "
            "set paired.per_query to a record filter or a JSON path"
        )
    return task, selector


def per_query_values(cond: Condition, spec: ConditionSpec, results: dict[str, Any], baseline: dict[str, Any]) -> tuple[dict[str, float], dict[str, float], str]:
    """The current and baseline ``{query_id: value}`` of the condition, and where they came from.

    Raises:
        LookupError: No per-query values can be found (message says why).
    """
    given = spec.paired.per_query if spec.paired else None
    if isinstance(given, str):
        ref = parse_ref(given)
        return _mapping(results, ref), _mapping(baseline, ref), ref.text
    task, selector = _selector(cond, spec, results)
    source = f"$.tasks.{task}.result.per_query[{', '.join(f'{k}={v}' for k, v in selector.items())}]"

    def values(doc: dict[str, Any], which: str) -> dict[str, float]:
        entry = (doc.get("tasks") or {}).get(task) or {}
        if entry.get("status") != "ok":
            raise LookupError(f"{which}: task {task} has no result")
        try:
            return select_values(task_records(entry.get("result")), selector)
        except LookupError as exc:
            raise LookupError(f"{which}: {exc}") from None

    return values(results, "results"), values(baseline, "baseline"), source


def _mapping(doc: dict[str, Any], ref: Any) -> dict[str, float]:
    """A {query_id: number} mapping at a JSON path (LookupError when absent)."""
    found = _walk(doc, ref.path)
    if not found.ok or not isinstance(found.value, dict):
        raise LookupError(found.error or f"{ref.text} is not a mapping of per-query values")
    return {q: float(v) for q, v in found.value.items() if isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)}


def paired_test(cond: Condition, spec: ConditionSpec, results: dict[str, Any], baseline: dict[str, Any]) -> dict[str, Any]:
    """One-sided paired test of the per-query differences (current - baseline) against the bound.

    Raises:
        LookupError: No per-query values, or fewer than 2 queries shared with the baseline.
    """
    import numpy as np
    from scipy import stats

    cur, old, source = per_query_values(cond, spec, results, baseline)
    common = sorted(set(cur) & set(old))
    if len(common) < 2:
        raise LookupError(f"fewer than 2 queries shared with the baseline at {source}")
    d = np.array([cur[q] - old[q] for q in common]) - float(cond.value)
    alternative = "less" if cond.op in (">=", ">") else "greater"
    if spec.paired.test == "t":
        if np.allclose(d, d[0]):
            p = 0.0 if (d[0] < 0 if alternative == "less" else d[0] > 0) else 1.0
        else:
            p = float(stats.ttest_1samp(d, 0.0, alternative=alternative).pvalue)
    else:
        if np.all(d == 0):
            p = 1.0
        else:
            p = float(stats.wilcoxon(d, alternative=alternative, zero_method="wilcox").pvalue)
    return {
        "test": "one-sided paired t-test" if spec.paired.test == "t" else "one-sided Wilcoxon signed-rank",
        "alternative": f"mean(current - baseline) {'<' if alternative == 'less' else '>'} {cond.value:g}",
        "n_queries": len(common),
        "mean_difference": float(np.mean(d + float(cond.value))),
        "p_value": p,
        "alpha": spec.paired.alpha,
        "significant": p < spec.paired.alpha,
        "per_query_source": source,
    }
