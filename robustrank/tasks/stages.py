"""Pipeline audit: which stage of retrieve-then-rerank loses what under each T2 query variation.

For a first stage that is not the re-ranker's own (dense, hybrid, BM25 or a run) followed by the
ranker under audit, each T2 variation's loss on the first measure (e.g. nDCG@10) is split per query:

* **first-stage recall drop**: R@depth of the candidate list with the original query minus with
  the variant (relevant documents the first stage no longer hands on);
* **re-ranker drop**: the final measure with the original query minus the re-ranker's with the
  variant query on the *original* candidates (what the re-ranker loses by itself);
* **end-to-end drop**: the final measure with the original query minus with the variant through
  the whole pipeline (T2's neural drop);
* **first-stage share**: end-to-end drop minus re-ranker drop (what the changed candidate list costs).

Each with a paired bootstrap CI over the evaluated queries. Runs after T2 and reuses its variants.
"""

from __future__ import annotations

import logging
from typing import Any

from pydantic import Field

from robustrank.errors import TaskSkipped
from robustrank.metrics import evaluate
from robustrank.results import MetricKey
from robustrank.schema_base import MAX_BOOTSTRAP, StrictModel
from robustrank.stats import metric_drop

__all__ = ["PipelineStagesTask"]

log = logging.getLogger(__name__)


class StagesConfig(StrictModel):
    """Pipeline audit: per T2 variation, what the first stage loses (recall) and what the re-ranked list loses."""

    enabled: bool = Field(True, description="Run the task when listed (meaningful with a dense, hybrid or run first stage).")
    bootstrap_samples: int = Field(1000, gt=0, le=MAX_BOOTSTRAP)
    confidence: float = Field(0.95, gt=0, lt=1)


class PipelineStagesTask:
    """Per-stage losses of the retrieve-then-rerank pipeline under T2's query variations.

    Args:
        options: The ``tasks.stages`` section.
    """

    name = "stages"
    title = "Pipeline: what each stage loses under query variations"
    Options = StagesConfig
    after = ("t2",)

    @staticmethod
    def report_view(result: dict[str, Any], results: dict[str, Any], *, figures: bool = False) -> Any:
        """Summary rows per variation (first-stage recall drop, re-ranker drop) and sample size."""
        from robustrank.tasks.views.pipeline import stages_view

        return stages_view(result, results, figures=figures)

    def __init__(self, options: StagesConfig | None = None):
        self.options = options or StagesConfig(enabled=True)

    def run(self, ctx: Any) -> dict[str, Any]:
        """Split each T2 variation's loss into first-stage and re-ranker parts."""
        t2 = ctx.result_of("t2")
        if not t2:
            raise TaskSkipped("needs the T2 variations (tasks.t2 enabled and finished)")
        if t2.get("rerank_candidates") != "variant":
            raise TaskSkipped("needs tasks.t2.rerank_candidates: variant (the whole pipeline sees the variant)")
        opt = self.options
        coll = ctx.in_domain
        qids = ctx.query_ids(coll)
        depth = ctx.config.candidates.depth
        first = ctx.config.measures[0]
        recall = f"R@{depth}"
        stat_kw = {"confidence": opt.confidence, "n_resamples": opt.bootstrap_samples}
        base = ctx.runs(coll)

        def values(run) -> dict[str, dict[str, float]]:
            return evaluate(run, coll.qrels, [recall, first], qids)

        orig_cands, orig_final = values(base["candidates"]), values(base["neural"])
        variations: dict[str, Any] = {}
        metrics: dict[str, Any] = {}
        for key, entry in t2["variations"].items():
            texts = {q: entry["variants"][q]["text"] for q in qids}
            cands = ctx.recorded_runs.get((coll.name, key, "candidates"))
            final = ctx.recorded_runs.get((coll.name, key, "neural"))
            if cands is None or final is None:
                log.warning("stages: no recorded runs of variation %s; skipped", key)
                continue
            fixed = ctx.rerank(f"stages/{key}/fixed/{coll.name}", texts, base["candidates"], coll.documents, desc=f"stages {key}")
            v_cands, v_final, v_fixed = values(cands), values(final), values(fixed)
            seed = int(ctx.rng("stages", key).integers(2**31))
            e2e = metric_drop([orig_final[first][q] for q in qids], [v_final[first][q] for q in qids], seed=seed, **stat_kw)
            rer = metric_drop([orig_final[first][q] for q in qids], [v_fixed[first][q] for q in qids], seed=seed, **stat_kw)
            share = metric_drop([v_fixed[first][q] for q in qids], [v_final[first][q] for q in qids], seed=seed, **stat_kw)
            rec = metric_drop([orig_cands[recall][q] for q in qids], [v_cands[recall][q] for q in qids], seed=seed, **stat_kw)
            fs_only = metric_drop([orig_cands[first][q] for q in qids], [v_cands[first][q] for q in qids], seed=seed, **stat_kw)
            variations[key] = {
                "first_stage_recall": rec,
                "first_stage_alone": fs_only,
                "reranker_on_fixed_candidates": rer,
                "first_stage_share": share,
                "end_to_end": e2e,
            }
            metrics.update({
                str(MetricKey.of(self.name, key, "recall_drop")): rec["drop"],
                str(MetricKey.of(self.name, key, "reranker_drop")): rer["drop"],
                str(MetricKey.of(self.name, key, "first_stage_share")): share["drop"],
                str(MetricKey.of(self.name, key, "end_to_end_drop")): e2e["drop"],
            })
        return {
            "dataset": coll.name,
            "n_queries": len(qids),
            "first_stage": ctx.config.candidates.source,
            "depth": depth,
            "measure": first,
            "recall_measure": recall,
            "original": {
                "first_stage_recall_mean": _mean(orig_cands[recall], qids),
                "first_stage_measure_mean": _mean(orig_cands[first], qids),
                "final_measure_mean": _mean(orig_final[first], qids),
            },
            "variations": variations,
            "metrics": metrics,
        }


def _mean(values: dict[str, float], qids: list[str]) -> float | None:
    return sum(values[q] for q in qids) / len(qids) if qids else None
