"""Report views of the dense-retrieval tasks: corpus poisoning and the pipeline stages."""

from __future__ import annotations

from typing import Any

from robustrank.report.view import pair, summary_row
from robustrank.tasks.base import TaskView


def poisoning_view(res: dict[str, Any], results: dict[str, Any], *, figures: bool = False) -> TaskView:
    """One summary row per (passages injected, top-k) cell: dense vs BM25 share of held-out queries."""
    rows = []
    for cell, d in res.get("heldout", {}).get("dense", {}).items():
        b = res["heldout"].get("bm25", {}).get(cell, {})
        n, k = cell.split(".")
        rows.append(summary_row(
            f"{n[1:]} passages injected: held-out queries with one in the {k.replace('top', 'top ')}",
            d.get("share"), pair(*d.get("share_ci", (None, None))), b.get("share"), pair(*b.get("share_ci", (None, None))),
            ("mean number there (dense)", d.get("mean_count"), pair(*d.get("mean_count_ci", (None, None)))),
            f"n={d.get('n_queries')} held-out queries, {res.get('method')}",
        ))
    sizes = [{"what": f"held-out queries of {res.get('dataset')} ({res.get('n_attack_queries')} others given to the attacker)", "n": res.get("n_heldout_queries")}]
    return TaskView(summary=tuple(rows), sizes=tuple(sizes))


def stages_view(res: dict[str, Any], results: dict[str, Any], *, figures: bool = False) -> TaskView:
    """One summary row per variation: first-stage recall drop and the re-ranker's drop on fixed candidates."""
    rows = []
    for key, v in res.get("variations", {}).items():
        rec, rer = v["first_stage_recall"], v["reranker_on_fixed_candidates"]
        e2e = v["end_to_end"].get("drop")
        rows.append(summary_row(
            f"{key}: first-stage {res.get('recall_measure')} drop", rec.get("drop"), pair(rec.get("drop_ci_low"), rec.get("drop_ci_high")), None, None,
            (f"re-ranker {res.get('measure')} drop on fixed candidates", rer.get("drop"), pair(rer.get("drop_ci_low"), rer.get("drop_ci_high"))),
            f"end-to-end drop {e2e:.4f}" if e2e is not None else "",
        ))
    return TaskView(summary=tuple(rows), sizes=({"what": f"queries of {res.get('dataset')}", "n": res.get("n_queries")},))
