"""T1 - I.I.D. performance variance (Wu et al., TOIS 2022, first robustness definition).

On the in-domain test queries: the per-query distribution of every measure for the neural
ranker and for BM25 on the same queries (mean, std, median, worst-10% mean, seeded bootstrap CI),
a paired comparison (t-test, Wilcoxon, Cohen's d_z), the worst queries, and, when the config lists
several checkpoints of one model, the variance across checkpoints.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
from pydantic import Field

from robustrank.rankers.build import build_ranker
from robustrank.rankers.cache import CachedRanker
from robustrank.results import MetricKey, per_query_records
from robustrank.schema_base import MAX_BOOTSTRAP, StrictModel
from robustrank.stats import paired_comparison, summarize

__all__ = ["IIDTask"]

log = logging.getLogger(__name__)



class T1Config(StrictModel):
    """T1: I.I.D. performance variance (Wu et al., TOIS 2022, first robustness definition)."""

    enabled: bool = True
    bootstrap_samples: int = Field(1000, gt=0, le=MAX_BOOTSTRAP, description="Bootstrap resamples for CIs.")
    confidence: float = Field(0.95, gt=0, lt=1, description="CI level.")
    worst_fraction: float = Field(0.1, gt=0, le=1, description="Share of worst queries averaged.")


class IIDTask:
    """T1: effectiveness variance over i.i.d. test queries, neural vs BM25.

    Args:
        options: The ``tasks.t1`` section.
    """

    name = "t1"
    title = "I.I.D. performance variance"
    Options = T1Config
    report_fragment = "templates/t1.html.j2"

    @staticmethod
    def report_view(result: dict[str, Any], results: dict[str, Any], *, figures: bool = False) -> Any:
        """This task's summary rows, sample sizes, limitations and figures (see :class:`~robustrank.tasks.base.TaskView`)."""
        from robustrank.tasks.views.iid import view

        return view(result, results, figures=figures)

    def __init__(self, options: T1Config | None = None):
        self.options = options or T1Config()

    def run(self, ctx: Any) -> dict[str, Any]:
        """Evaluate both systems on the in-domain queries and compare them."""
        opt = self.options
        coll = ctx.in_domain
        qids = ctx.query_ids(coll)
        runs = ctx.runs(coll)
        per_query = {"neural": ctx.evaluate(runs["neural"], coll, qids), "bm25": ctx.evaluate(runs["bm25"], coll, qids)}
        stat_kw = {"confidence": opt.confidence, "n_resamples": opt.bootstrap_samples}
        measures: dict[str, Any] = {}
        for m in ctx.config.measures:
            neural = [per_query["neural"][m][q] for q in qids]
            bm25 = [per_query["bm25"][m][q] for q in qids]
            seed = int(ctx.rng("t1", m).integers(2**31))
            measures[m] = {
                "neural": summarize(neural, seed=seed, worst_fraction=opt.worst_fraction, **stat_kw),
                "bm25": summarize(bm25, seed=seed, worst_fraction=opt.worst_fraction, **stat_kw),
                "comparison": paired_comparison(neural, bm25, seed=seed, **stat_kw),
            }
        first = ctx.config.measures[0]
        diffs = sorted(qids, key=lambda q: (per_query["neural"][first][q], q))
        worst = [
            {
                "query_id": q,
                "query": coll.queries[q].text,
                "neural": per_query["neural"][first][q],
                "bm25": per_query["bm25"][first][q],
            }
            for q in diffs[:10]
        ]
        result: dict[str, Any] = {
            "dataset": coll.name,
            "n_queries": len(qids),
            "unjudged_queries_skipped": len(coll.unjudged_query_ids()),
            "candidate_depth": ctx.config.candidates.depth,
            "measures": measures,
            "worst_queries": {"measure": first, "queries": worst},
            "per_query": per_query_records(per_query, qids),
        }
        if ctx.config.ranker.checkpoints:
            result["checkpoints"] = self._checkpoints(ctx, coll, qids, per_query["neural"])
        metrics: dict[str, Any] = {}
        sources: dict[str, Any] = {}
        for m, v in measures.items():
            for stat, value in (
                ("mean", v["neural"]["mean"]),
                ("std", v["neural"]["std"]),
                ("worst_mean", v["neural"]["worst_mean"]),
                ("ci_low", v["neural"]["ci_low"]),
                ("bm25_mean", v["bm25"]["mean"]),
                ("diff_vs_bm25", v["comparison"]["mean_diff"]),
            ):
                metrics[str(MetricKey.of(self.name, m, stat))] = value
            sources[str(MetricKey.of(self.name, m, "mean"))] = {"system": "neural", "measure": m}
            sources[str(MetricKey.of(self.name, m, "bm25_mean"))] = {"system": "bm25", "measure": m}
        result["metrics"] = metrics
        result["metric_per_query"] = sources
        return result

    def _checkpoints(self, ctx: Any, coll: Any, qids: list[str], main: dict[str, dict[str, float]]) -> dict[str, Any]:
        """Across-checkpoint variance: aggregate mean per checkpoint, their std, per-query std."""

        rc = ctx.config.ranker
        names = [rc.model or rc.type, *rc.checkpoints]
        values = [main]
        for ckpt in rc.checkpoints:
            ckpt_rc = rc.model_copy(update={"model": ckpt, "checkpoints": []})
            ranker = CachedRanker(build_ranker(ckpt_rc, ctx.config), rc.cache_size)
            run = ctx.rerank(
                f"checkpoint/{ckpt}/{coll.name}", ctx.runs(coll)["queries"], ctx.runs(coll)["candidates"], coll.documents,
                ranker=ranker, ranker_config=ckpt_rc, desc=f"rerank {ckpt}",
            )
            values.append(ctx.evaluate(run, coll, qids))
        out: dict[str, Any] = {"checkpoints": names, "measures": {}}
        for m in ctx.config.measures:
            mat = np.array([[v[m][q] for q in qids] for v in values])
            means = mat.mean(axis=1)
            out["measures"][m] = {
                "means": dict(zip(names, means.tolist())),
                "mean_of_means": float(means.mean()),
                "std_of_means": float(means.std(ddof=1)) if len(names) > 1 else None,
                "mean_per_query_std": float(mat.std(axis=0, ddof=1).mean()) if len(names) > 1 else None,
            }
        return out
