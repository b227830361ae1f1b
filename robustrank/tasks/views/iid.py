"""Report view of T1 (I.I.D. performance variance)."""

from __future__ import annotations

from typing import Any

from robustrank.report.view import ci_of, draw, fmt_p, pair, summary_row
from robustrank.results import pivot, task_records
from robustrank.tasks.base import TaskView


def view(res: dict[str, Any], results: dict[str, Any], *, figures: bool = False) -> TaskView:
    """Summary rows per measure (neural vs BM25 means, their difference), the sample size and
    the per-query distribution figure."""
    rows = []
    for m, v in res.get("measures", {}).items():
        c = v.get("comparison", {})
        rows.append(summary_row(
            f"{m} mean", v["neural"].get("mean"), ci_of(v["neural"]), v["bm25"].get("mean"), ci_of(v["bm25"]),
            ("Δ neural − BM25", c.get("mean_diff"), pair(c.get("diff_ci_low"), c.get("diff_ci_high"))),
            f"n={res.get('n_queries')}, paired t p={fmt_p(c.get('t_pvalue'))}",
        ))
    figs: dict[str, Any] = {}
    if figures and res.get("per_query"):
        from robustrank.report import plots

        measures = list(res.get("measures", {})) or (results.get("config") or {}).get("measures") or []
        figs["t1"] = draw(plots.t1_distribution, pivot(task_records(res), "system", "measure"), measures)
    return TaskView(
        summary=tuple(rows),
        sizes=({"what": f"judged queries of {res.get('dataset')}", "n": res.get("n_queries")},),
        figures=figs,
    )
