"""Report view of T2 (unseen query variations and query types)."""

from __future__ import annotations

from typing import Any

from robustrank.report.view import draw, fmt_p, pair, summary_row
from robustrank.tasks.base import TaskView


def view(res: dict[str, Any], results: dict[str, Any], *, figures: bool = False) -> TaskView:
    """A summary row per variation (drops in the first measure), the sample size and a drop
    figure per measure."""
    measures = (results.get("config") or {}).get("measures") or []
    first = measures[0] if measures else None
    rows = []
    for key, v in res.get("variations", {}).items():
        r = v.get("measures", {}).get(first)
        if not r:
            continue
        rows.append(summary_row(
            f"{key}: drop in {first}", r["neural"].get("drop"), pair(r["neural"].get("drop_ci_low"), r["neural"].get("drop_ci_high")),
            r["bm25"].get("drop"), pair(r["bm25"].get("drop_ci_low"), r["bm25"].get("drop_ci_high")),
            ("gap of relative drops", r.get("robustness_gap"), None),
            f"p corr. {fmt_p(r['neural'].get('p_corrected'))} / {fmt_p(r['bm25'].get('p_corrected'))}",
        ))
    figs: dict[str, Any] = {}
    if figures:
        from robustrank.report import plots

        figs = {m: draw(plots.variation_drops, res.get("variations", {}), m) for m in measures}
    size = {"what": f"queries × {len(res.get('variations', {}))} variations of {res.get('dataset')}", "n": res.get("n_queries")}
    return TaskView(summary=tuple(rows), sizes=(size,), figures=figs)
