"""Report view of T3 (unseen domains)."""

from __future__ import annotations

from typing import Any

from robustrank.report.view import ci_of, draw, fmt_pct, pair, summary_row
from robustrank.tasks.base import TaskView


def view(res: dict[str, Any], results: dict[str, Any], *, figures: bool = False) -> TaskView:
    """A summary row per collection (the gap measure), sample sizes and a figure per measure."""
    measures = (results.get("config") or {}).get("measures") or []
    gm = res.get("gap_measure")
    rows, sizes = [], []
    for name, d in res.get("domains", {}).items():
        ok = d.get("status") == "ok"
        sizes.append({"what": f"judged queries of {name}", "n": d.get("n_queries") if ok else f"error: {d.get('error')}"})
        if not ok or gm not in d.get("measures", {}):
            rows.append(summary_row(f"{name}", None, None, None, None, None, f"error: {d.get('error', '')}"))
            continue
        r = d["measures"][gm]
        rows.append(summary_row(
            f"{name}: {gm}", r["neural"].get("mean"), ci_of(r["neural"]), r["bm25"].get("mean"), ci_of(r["bm25"]),
            ("gap of relative drops", r["shift"].get("gap"), pair(r["shift"].get("gap_ci_low"), r["shift"].get("gap_ci_high"))),
            f"relative drop {fmt_pct(r['shift'].get('neural_relative_drop'))} / {fmt_pct(r['shift'].get('bm25_relative_drop'))}",
        ))
    figs: dict[str, Any] = {}
    if figures:
        from robustrank.report import plots

        figs = {m: draw(plots.domain_shift, res.get("in_domain", {}), res.get("domains", {}), m) for m in measures}
    return TaskView(summary=tuple(rows), sizes=tuple(sizes), figures=figs)
