"""T2 - unseen query variations and query types (Wu et al., TOIS 2022, OOD generalisability).

For each configured variation (typos, synonym substitution, word-order shuffle, stopword
drop/insert, a combination), every evaluated query gets one seeded variant; both the neural
ranker and BM25 are evaluated on the variants and compared per query with the originals
(paired t-test, Wilcoxon). Query-type and length slices compare a slice's effectiveness with the
rest of the queries (Welch t-test). All p-values of the task form one family, corrected with
statsmodels' ``multipletests`` (Holm by default).

Pipeline under a variant (``rerank_candidates``):
* ``variant`` (default): BM25 retrieves with the variant and the neural ranker re-ranks that
  list - the whole retrieve-then-rerank system sees the perturbed query.
* ``original``: the neural ranker re-ranks the original query's BM25 candidates, isolating the
  re-ranker; BM25 is still evaluated on its own retrieval with the variant.
An empty or all-stopword variant is kept and scored (an empty query retrieves nothing and scores
0); no query is dropped.
"""

from __future__ import annotations

import logging
from typing import Any, Literal

from pydantic import Field

from robustrank.pipeline import first_stage_bm25
from robustrank.query_types import slices as make_slices
from robustrank.results import MetricKey, per_query_records
from robustrank.schema_base import MAX_BOOTSTRAP, StrictModel
from robustrank.stats import correct_pvalues, group_gap, metric_drop
from robustrank.tasks.ood_fail_rate import fail_measure, fail_rate, fail_rate_metrics
from robustrank.variations import build_variation, generate_variants

__all__ = ["QueryVariationTask"]

log = logging.getLogger(__name__)

SYSTEMS = ("neural", "bm25")



class VariationSpec(StrictModel):
    """One query variation of T2."""

    name: Literal["typo", "synonym", "shuffle", "stopword_drop", "stopword_insert", "combined"]
    rate: float = Field(0.25, ge=0, le=1, description="Share of eligible words (or characters) edited.")


def _default_variations() -> list[VariationSpec]:
    return [
        VariationSpec(name="typo", rate=0.25),
        VariationSpec(name="synonym", rate=0.5),
        VariationSpec(name="shuffle", rate=1.0),
        VariationSpec(name="stopword_drop", rate=1.0),
        VariationSpec(name="stopword_insert", rate=0.3),
        VariationSpec(name="combined", rate=0.25),
    ]


_CORRECTIONS = Literal["holm", "bonferroni", "holm-sidak", "sidak", "simes-hochberg", "hommel", "fdr_bh", "fdr_by"]


class T2Config(StrictModel):
    """T2: unseen query variations and query types (OOD, first perspective)."""

    enabled: bool = True
    variations: list[VariationSpec] = Field(default_factory=_default_variations)
    rerank_candidates: Literal["variant", "original"] = Field(
        "variant",
        description="variant: the perturbed query goes through the whole pipeline (BM25 retrieves with it, "
        "the ranker re-ranks); original: the ranker re-ranks the original query's candidates.",
    )
    slices: bool = Field(True, description="Report query-type and length slices.")
    correction: _CORRECTIONS = Field("holm", description="statsmodels multipletests method across all comparisons.")
    alpha: float = Field(0.05, gt=0, lt=1)
    bootstrap_samples: int = Field(1000, gt=0, le=MAX_BOOTSTRAP)
    confidence: float = Field(0.95, gt=0, lt=1)
    max_examples: int = Field(20, ge=0, description="Variant examples per variation kept for the report (all per-query values are kept).")
    fail_tolerance: float = Field(
        0.1, ge=0, description="Fail rate: a query fails a variation when its fail_measure drops by more than this (absolute)."
    )
    fail_measure: str | None = Field(None, description="Measure of the fail rate (default: nDCG@10 when measured, else the first measure).")


class QueryVariationTask:
    """T2: effectiveness under query variations and across query types, neural vs BM25.

    Args:
        options: The ``tasks.t2`` section.
    """

    name = "t2"
    title = "OOD: unseen query variations and query types"
    Options = T2Config
    report_fragment = "templates/t2.html.j2"

    @staticmethod
    def report_view(result: dict[str, Any], results: dict[str, Any], *, figures: bool = False) -> Any:
        """This task's summary rows, sample sizes, limitations and figures (see :class:`~robustrank.tasks.base.TaskView`)."""
        from robustrank.tasks.views.ood_queries import view

        return view(result, results, figures=figures)

    def __init__(self, options: T2Config | None = None):
        self.options = options or T2Config()

    def run(self, ctx: Any) -> dict[str, Any]:
        """Generate variants, evaluate both systems on them, build slices, correct p-values."""

        opt = self.options
        coll = ctx.in_domain
        qids = ctx.query_ids(coll)
        base = ctx.runs(coll)
        original = {"neural": ctx.evaluate(base["neural"], coll, qids), "bm25": ctx.evaluate(base["bm25"], coll, qids)}
        queries = {q: coll.queries[q].text for q in qids}
        stat_kw = {"confidence": opt.confidence, "n_resamples": opt.bootstrap_samples}
        uses_lexicon = any(v.name in ("synonym", "combined") for v in opt.variations)
        lexicon = ctx.lexicon if uses_lexicon else None

        variations: dict[str, Any] = {}
        records = per_query_records(original, qids)
        pvalues: dict[str, float | None] = {}
        fmeasure = fail_measure(opt.fail_measure, list(ctx.config.measures))
        for spec in opt.variations:
            key = spec.name if spec.name not in variations else f"{spec.name}@{spec.rate}"
            variation = build_variation(spec.name, spec.rate, lexicon=lexicon)
            variants = generate_variants(queries, variation, ctx.seed)
            texts = {q: variants[q].text for q in qids}
            bm25_run = first_stage_bm25(ctx.bm25(coll), texts, ctx.config.candidates.depth)
            candidates = ctx.first_stage(coll, texts, bm25_run) if opt.rerank_candidates == "variant" else base["candidates"]
            neural_run = ctx.rerank(f"t2/{key}/{opt.rerank_candidates}/{coll.name}", texts, candidates, coll.documents, desc=f"t2 {key}")
            for system, run in (("bm25", bm25_run), ("candidates", candidates), ("neural", neural_run)):
                ctx.record_run(coll.name, key, system, run)
            perturbed = {"neural": ctx.evaluate(neural_run, coll, qids), "bm25": ctx.evaluate(bm25_run, coll, qids)}
            measures: dict[str, Any] = {}
            for m in ctx.config.measures:
                seed = int(ctx.rng("t2", key, m).integers(2**31))
                row = {
                    s: metric_drop([original[s][m][q] for q in qids], [perturbed[s][m][q] for q in qids], seed=seed, **stat_kw)
                    for s in SYSTEMS
                }
                nd, bd = row["neural"]["relative_drop"], row["bm25"]["relative_drop"]
                row["robustness_gap"] = nd - bd if nd is not None and bd is not None else None
                measures[m] = row
                for s in SYSTEMS:
                    pvalues[f"variation/{key}/{m}/{s}"] = row[s]["t_pvalue"]
            records += per_query_records(perturbed, qids, variation=key)
            changed = [q for q in qids if variants[q].text != variants[q].original]
            variations[key] = {
                "variation": spec.name,
                "rate": spec.rate,
                "queries": len(qids),
                "changed_queries": len(changed),
                "empty_variants": sum(1 for q in qids if not variants[q].text.strip()),
                "measures": measures,
                "fail_rate": {
                    "measure": fmeasure,
                    "tolerance": opt.fail_tolerance,
                    **{s: fail_rate(original[s][fmeasure], perturbed[s][fmeasure], qids, opt.fail_tolerance, opt.confidence) for s in SYSTEMS},
                },
                "variants": {q: {"original": variants[q].original, "text": variants[q].text, "edits": list(variants[q].edits)} for q in qids},
                "examples": changed[: opt.max_examples],
            }

        slices_out: dict[str, Any] = {}
        if opt.slices:

            for label, members in make_slices(queries).items():
                member_set = set(members)
                rest = [q for q in qids if q not in member_set]
                entry: dict[str, Any] = {"queries": len(members), "measures": {}}
                for m in ctx.config.measures:
                    seed = int(ctx.rng("t2-slice", label, m).integers(2**31))
                    entry["measures"][m] = {
                        s: group_gap([original[s][m][q] for q in members], [original[s][m][q] for q in rest], seed=seed, **stat_kw)
                        for s in SYSTEMS
                    }
                    for s in SYSTEMS:
                        pvalues[f"slice/{label}/{m}/{s}"] = entry["measures"][m][s]["pvalue"]
                slices_out[label] = entry

        corrected = correct_pvalues(pvalues, method=opt.correction, alpha=opt.alpha)
        for key, entry in variations.items():
            for m, row in entry["measures"].items():
                for s in SYSTEMS:
                    row[s]["p_corrected"] = corrected[f"variation/{key}/{m}/{s}"]
                    row[s]["significant"] = row[s]["p_corrected"] is not None and row[s]["p_corrected"] < opt.alpha
        for label, entry in slices_out.items():
            for m, row in entry["measures"].items():
                for s in SYSTEMS:
                    row[s]["p_corrected"] = corrected[f"slice/{label}/{m}/{s}"]
                    row[s]["significant"] = row[s]["p_corrected"] is not None and row[s]["p_corrected"] < opt.alpha

        return {
            "dataset": coll.name,
            "n_queries": len(qids),
            "rerank_candidates": opt.rerank_candidates,
            "correction": {
                "method": opt.correction,
                "alpha": opt.alpha,
                "family_size": sum(1 for v in pvalues.values() if v is not None),
                "test": "paired t-test (variations), Welch t-test (slices)",
            },
            "lexicon": lexicon.info if lexicon is not None else None,
            "variations": variations,
            "slices": slices_out,
            "summary": _summary(variations, ctx.config.measures[0]),
            "per_query": records,
            "metrics": {
                str(MetricKey.of(self.name, key, m, name)): value
                for key, entry in variations.items()
                for m, row in entry["measures"].items()
                for name, value in (
                    ("relative_drop", row["neural"]["relative_drop"]),
                    ("bm25_relative_drop", row["bm25"]["relative_drop"]),
                    ("gap", row["robustness_gap"]),
                )
            } | {k: v for key, entry in variations.items() for k, v in fail_rate_metrics(self.name, key, entry["fail_rate"]).items()},
        }


def _summary(variations: dict[str, Any], measure: str) -> list[dict[str, Any]]:
    """One row per variation: relative loss of each system on the first measure."""
    rows = []
    for key, entry in variations.items():
        row = entry["measures"][measure]
        rows.append({
            "variation": key,
            "measure": measure,
            "neural_relative_drop": row["neural"]["relative_drop"],
            "bm25_relative_drop": row["bm25"]["relative_drop"],
            "robustness_gap": row["robustness_gap"],
        })
    return rows
