"""T3 - unseen domains (Wu et al., TOIS 2022, OOD generalisability, second perspective).

The ranker and BM25 are evaluated on the in-domain collection and on each collection listed in
``datasets.ood`` with the same pipeline (BM25 top-depth re-ranked by the ranker). For each OOD
collection and measure: both systems' effectiveness with bootstrap CIs, each system's relative
drop from in-domain, and the robustness gap (neural relative drop - BM25 relative drop) with a
bootstrap CI. A collection that fails to load or evaluate becomes an error row; the others go on.
"""

from __future__ import annotations

import logging
from typing import Any

from pydantic import Field

from robustrank.errors import TaskSkipped
from robustrank.results import MetricKey, per_query_records
from robustrank.schema_base import MAX_BOOTSTRAP, StrictModel
from robustrank.stats import domain_gap, summarize

__all__ = ["DomainShiftTask"]

log = logging.getLogger(__name__)

SYSTEMS = ("neural", "bm25")



class T3Config(StrictModel):
    """T3: unseen domains (OOD, second perspective); the OOD collections come from datasets.ood."""

    enabled: bool = True
    bootstrap_samples: int = Field(1000, gt=0, le=MAX_BOOTSTRAP)
    confidence: float = Field(0.95, gt=0, lt=1)


class DomainShiftTask:
    """T3: in-domain vs out-of-domain effectiveness, neural vs BM25.

    Args:
        options: The ``tasks.t3`` section.
    """

    name = "t3"
    title = "OOD: unseen domains"
    Options = T3Config
    report_fragment = "templates/t3.html.j2"

    @staticmethod
    def report_view(result: dict[str, Any], results: dict[str, Any], *, figures: bool = False) -> Any:
        """This task's summary rows, sample sizes, limitations and figures (see :class:`~robustrank.tasks.base.TaskView`)."""
        from robustrank.tasks.views.ood_domains import view

        return view(result, results, figures=figures)

    def __init__(self, options: T3Config | None = None):
        self.options = options or T3Config()

    def _evaluate(self, ctx: Any, coll: Any) -> tuple[list[str], dict[str, dict[str, dict[str, float]]]]:
        qids = ctx.query_ids(coll)
        runs = ctx.runs(coll)
        return qids, {s: ctx.evaluate(runs[s], coll, qids) for s in SYSTEMS}

    def run(self, ctx: Any) -> dict[str, Any]:
        """Evaluate every OOD collection and compare its drop with BM25's."""
        if not ctx.config.datasets.ood:
            raise TaskSkipped("no out-of-domain collections configured (datasets.ood is empty)")
        opt = self.options
        stat_kw = {"confidence": opt.confidence, "n_resamples": opt.bootstrap_samples}
        in_coll = ctx.in_domain
        in_q, in_vals = self._evaluate(ctx, in_coll)
        in_domain = {
            "dataset": in_coll.name,
            "n_queries": len(in_q),
            "measures": {
                m: {s: summarize([in_vals[s][m][q] for q in in_q], seed=int(ctx.rng("t3", in_coll.name, m).integers(2**31)), **stat_kw) for s in SYSTEMS}
                for m in ctx.config.measures
            },
        }
        domains: dict[str, Any] = {}
        records = per_query_records(in_vals, in_q, dataset=in_coll.name)
        for ds in ctx.config.datasets.ood:
            name = ds.display_name
            try:
                coll = ctx.collection(ds)
                qids, vals = self._evaluate(ctx, coll)
                if not qids:
                    raise ValueError("no judged queries")
                measures = {}
                for m in ctx.config.measures:
                    seed = int(ctx.rng("t3", name, m).integers(2**31))
                    row = {s: summarize([vals[s][m][q] for q in qids], seed=seed, **stat_kw) for s in SYSTEMS}
                    row["shift"] = domain_gap(
                        [in_vals["neural"][m][q] for q in in_q],
                        [in_vals["bm25"][m][q] for q in in_q],
                        [vals["neural"][m][q] for q in qids],
                        [vals["bm25"][m][q] for q in qids],
                        seed=seed,
                        **stat_kw,
                    )
                    measures[m] = row
                domains[name] = {
                    "status": "ok",
                    "n_queries": len(qids),
                    "documents": len(coll.documents),
                    "measures": measures,
                }
                records += per_query_records(vals, qids, dataset=name)
            except Exception as exc:  # one bad collection must not sink the others
                log.error("t3: %s failed: %s", name, exc)
                domains[name] = {"status": "error", "error": f"{type(exc).__name__}: {exc}"}
        first = ctx.config.measures[0]
        return {
            "in_domain": in_domain,
            "domains": domains,
            "gap": {n: d["measures"][first]["shift"]["gap"] for n, d in domains.items() if d["status"] == "ok"},
            "gap_measure": first,
            "per_query": records,
            "metrics": {
                **{str(MetricKey.of(self.name, "gap", n)): d["measures"][first]["shift"]["gap"] for n, d in domains.items() if d["status"] == "ok"},
                **{
                    str(MetricKey.of(self.name, n, m, name)): d["measures"][m]["shift"][key]
                    for n, d in domains.items()
                    if d["status"] == "ok"
                    for m in d["measures"]
                    for name, key in (("relative_drop", "neural_relative_drop"), ("bm25_relative_drop", "bm25_relative_drop"), ("gap", "gap"))
                },
            },
        }
