"""certify - CertDR certified top-K robustness to word substitution, and defence evaluation.

Wu et al., "Certified Robustness to Word Substitution Ranking Attack for Neural Ranking Models",
CIKM 2022 (reference code: ict-bigdatalab/CertDR, a port of SAFER). For a seeded sample of
judged queries, the smoothed ranker re-ranks the top-N of the undefended ranker's list, and the
task decides for each K whether no word-substitution attack on one document outside the top K
can move it into the top K (CRQ@K = share of queries certified). See
:mod:`robustrank.certify` for the sets, bounds and decision, and ``docs/certify.md``.

Deviations from the paper, recorded in the result's ``deviations``: fewer queries and
candidates; the lexicon stands in for counter-fitted neighbours; large components are cut by
graph distance rather than embedding cosine; TV term divides by max(|S(w)|, |S(w')|); the Monte
Carlo term is always on (simultaneous bounds, alpha split over documents); adaptive sampling;
per-document certification condition (implied by the reference's).

Defences listed in ``defenses`` are evaluated on the same queries: a ranker defence (e.g.
``certdr_wu_2022``) by the configured measures of its re-ranking of the same candidates vs the
undefended ranker; a document screen (e.g. ``perplexity_detector``) by its false-positive rate
on clean documents and its detection rate on the adversarial documents of task t4 when t4 ran in
this audit (``source: t4``), else on keyword-stuffed copies generated here
(``source: generated_keyword_stuffing``).
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from typing import Any

import numpy as np

from robustrank.certify import CertifySettings, Smoother, SynonymSets
from robustrank.certify.scoremap import ScoreMap, fit_calibrated_map, mapped_scorer, resolve_score_map
from robustrank.certify.verdict import VERDICTS
from robustrank.results import MetricKey
from robustrank.stats import clopper_pearson
from robustrank.tasks.certify_defenses import evaluate_defense
from robustrank.tasks.certify_job import CertifyJob
from robustrank.tasks.certify_options import CertifyConfig
from robustrank.tasks.certify_verdicts import join_verdicts

__all__ = ["CertifyTask"]

log = logging.getLogger(__name__)

DEVIATIONS = [
    "queries and candidates: a seeded sample of queries and the top-N of the undefended ranker (paper: all test queries, top-100)",
    "substitution space: robustrank's WordNet+GloVe lexicon instead of counter-fitted GloVe neighbours",
    "perturbation sets: max_set_size auto (default) makes every connected component of the synonym graph one set, so every TV term is 0 "
    "(reference: cap 100, larger components cut by embedding distance); with a numeric cap, large components are cut by graph path "
    "length (edge cost 1 - similarity), not by PCA-processed embedding cosine",
    "TV term: 1 - |S(w) ∩ S(w')| / max(|S(w)|, |S(w')|) (the reference divides by |S(w)|, understating TV when |S(w')| > |S(w)|)",
    "score map: calibrated clipped affine map fitted on held-out queries' unsmoothed candidate scores (reference: sigmoid of the cross-encoder logit)",
    "Monte Carlo error always on: simultaneous two-sided bounds at level alpha per query, alpha split over the sampled documents "
    "weighted by unsmoothed rank (reference: off by default, Hoeffding on two estimates)",
    "bound: betting confidence sequences (Waudby-Smith & Ramdas 2023), anytime-valid (reference: Hoeffding at fixed n)",
    "certification condition per document: min_topK L - max_rest (U + o_d) > 0 (implied by the reference's g_K - g_K+1 - max o_d - mc > 0)",
    "adaptive top-K identification sampling (LUCB-style) up to n_max copies (reference: fixed n = 1000-2000 per document)",
    "documents whose smoothing support is at most the sample budget are scored exactly by enumeration (no error level)",
    "the candidate set is held fixed (as in the reference): the certificate covers promotions among the N candidates",
    "verdict per (query, K) joined with t4's in-threat-model substitution attacks, verified on the smoothed ranker (not in the paper)",
]


class CertifyTask:
    """CertDR certification of top-K robustness (CRQ@K) and defence evaluation.

    Args:
        options: The ``tasks.certify`` section.
    """

    name = "certify"
    title = "Certified top-K robustness (CertDR) and defences"
    Options = CertifyConfig
    report_fragment = "templates/certify.html.j2"
    compliance_fragment = "templates/certify.compliance.html.j2"
    after = ("t4",)
    """Runs after T4 when both are enabled: T4's adversarial documents join the verdicts."""

    @staticmethod
    def report_view(result: dict[str, Any], results: dict[str, Any], *, figures: bool = False) -> Any:
        """This task's summary rows, sample sizes, limitations and figures (see :class:`~robustrank.tasks.base.TaskView`)."""
        from robustrank.tasks.views.certify import view

        return view(result, results, figures=figures)

    def __init__(self, options: CertifyConfig | None = None):
        self.options = options or CertifyConfig(enabled=True)

    def _sample_queries(self, ctx: Any, qids: list[str]) -> list[str]:
        n = min(self.options.queries, len(qids))
        chosen = set(ctx.rng("certify", "queries").choice(len(qids), size=n, replace=False).tolist())
        return [q for i, q in enumerate(qids) if i in chosen]

    def run(self, ctx: Any) -> dict[str, Any]:
        """Certify the sampled queries and evaluate the configured defences."""
        opt = self.options
        coll = ctx.in_domain
        runs = ctx.runs(coll)
        all_qids = ctx.query_ids(coll)
        qids = self._sample_queries(ctx, all_qids)
        score_map = self._score_map(ctx, runs, all_qids, qids)
        scorer = mapped_scorer(ctx.ranker, score_map)
        t0 = time.perf_counter()
        sets = SynonymSets(ctx.lexicon, min_similarity=opt.min_similarity, max_set_size=opt.max_set_size)
        smoother = Smoother(sets)
        settings = CertifySettings(
            alpha=opt.alpha, k_values=tuple(opt.k_values), procedure=opt.procedure, n_fixed=opt.n_fixed,
            n_min=opt.n_min, ratio=opt.growth, n_max=opt.n_max, bound=opt.bound,
            enumerate_limit=None if opt.enumerate_limit == "auto" else opt.enumerate_limit, score_batch=opt.score_batch,
            futility=opt.futility, alpha_scheme=opt.alpha_scheme, per_round=opt.per_round,
        )
        units = {qid: self._payload(ctx, coll, runs, qid) for qid in qids}
        with ctx.timed("certify:queries"):
            records = list(ctx.map_units("certify", "queries", CertifyJob(scorer, smoother, settings), units).values())
        keys = [str(k) for k in opt.k_values]
        crq = {k: float(np.mean([r["certified"][k] for r in records])) if records else 0.0 for k in keys}
        n_cert = {k: int(sum(r["certified"][k] for r in records)) for k in keys}
        forwards = [int(r["forwards"]) for r in records]
        failures = {k: dict(Counter(r["failed"][k] for r in records if k in r["failed"])) for k in keys}
        o_all = [d["o_d"] for r in records for d in r["documents"]]
        verdict = join_verdicts(ctx, records, runs["queries"], opt.k_values, opt.alpha, sets, smoother, scorer, settings)
        result: dict[str, Any] = {
            "dataset": coll.name,
            "alpha": opt.alpha,
            "procedure": opt.procedure,
            "k_values": list(opt.k_values),
            "n_queries": len(records),
            "candidates_per_query": opt.candidates,
            "score_map": score_map.describe(),
            "score_map_fit": score_map.to_json(),
            "synonym_sets": sets.info,
            "bound": self._bound_text(settings, opt),
            "sampling": {
                "n_fixed": opt.n_fixed if opt.procedure == "fixed" else None,
                "n_min": opt.n_min if opt.procedure == "adaptive" else None,
                "n_max": opt.n_max if opt.procedure == "adaptive" else None,
                "growth": opt.growth if opt.procedure == "adaptive" else None,
                "grid": list(settings.grid.sizes) if opt.procedure == "adaptive" and opt.bound != "betting" else None,
                "enumerate_limit": settings.enumeration_limit,
                "alpha_scheme": opt.alpha_scheme,
                "futility": opt.futility if opt.procedure == "adaptive" else None,
            },
            "crq": crq,
            "crq_interval": {k: list(clopper_pearson(n_cert[k], len(records))) if records else None for k in keys},
            "forwards_per_query": {"mean": float(np.mean(forwards)) if forwards else 0.0, "total": int(sum(forwards))},
            "failures": failures,
            "o_d": {"mean": float(np.mean(o_all)) if o_all else None, "median": float(np.median(o_all)) if o_all else None,
                    "share_zero": float(np.mean(np.asarray(o_all) == 0.0)) if o_all else None},
            "exact_share": float(np.mean([d["exact"] for r in records for d in r["documents"]])) if o_all else None,
            "verdict": verdict,
            "seconds": round(time.perf_counter() - t0, 3),
            "deviations": DEVIATIONS,
            "queries": records,
        }
        result["defenses"] = {spec.name: evaluate_defense(ctx, opt, coll, runs, qids, spec) for spec in opt.defenses}

        def key(*parts: str) -> str:
            return str(MetricKey.of(self.name, *parts))

        metrics: dict[str, float] = {key(f"crq@{k}"): v for k, v in crq.items()}
        metrics[key("forwards_per_query")] = result["forwards_per_query"]["mean"]
        for k in keys:
            for v in VERDICTS:
                metrics[key("verdict", f"{v}@{k}")] = verdict["counts"][f"verdict.{v}@{k}"]
        for name, rec in result["defenses"].items():
            for m, v in rec.get("effectiveness", {}).items():
                metrics[key(name, m, "diff")] = v["diff"]
                metrics[key(name, m, "defended")] = v["defended"]
            if "false_positive_rate" in rec:
                metrics[key(name, "false_positive_rate")] = rec["false_positive_rate"]
                for k, v in rec.get("detection_rate", {}).items():
                    metrics[key(name, "detection_rate", k)] = v
        result["metrics"] = metrics
        result["per_query"] = [
            {"query_id": r["query_id"], "system": "smoothed", "measure": f"certified@{k}", "value": float(r["certified"][k])} for k in keys for r in records
        ] + [
            {"query_id": r["query_id"], "system": "smoothed", "measure": f"verdict.{v}@{k}", "value": float(r["verdict"][k] == v)}
            for k in keys for v in VERDICTS for r in records
        ]
        result["metric_per_query"] = {key(f"crq@{k}"): {"system": "smoothed", "measure": f"certified@{k}"} for k in keys}
        return result

    @staticmethod
    def _bound_text(settings: CertifySettings, opt: CertifyConfig) -> str:
        kind = {"betting": "betting confidence sequence (Waudby-Smith & Ramdas 2023; hedged capital, predictable plug-in bets, "
                "two one-sided processes at delta/2 each, running intersection)",
                "empirical_bernstein": "empirical Bernstein (Maurer & Pontil 2009, Thm 4)", "hoeffding": "Hoeffding",
                "both": "min of Hoeffding and empirical Bernstein (each at half the level)"}[opt.bound]
        split = f"alpha split over the sampled documents ({opt.alpha_scheme} weights), exact documents none"
        if opt.procedure == "fixed":
            return f"{kind}, two-sided, {split}, one look at n = {opt.n_fixed}"
        if opt.bound == "betting":
            return f"{kind}, {split}; anytime-valid, so every look is free; adaptive top-K identification sampling up to n = {opt.n_max}"
        return (f"{kind}, two-sided, {split}, each divided over the J = {len(settings.grid.sizes)} "
                f"grid sizes {list(settings.grid.sizes)} (valid under optional stopping), intervals intersected across looks")

    def _score_map(self, ctx, runs, all_qids: list[str], certified: list[str]) -> ScoreMap:
        """The score map; ``calibrated`` is fitted on held-out queries' unsmoothed candidate scores.

        The held-out queries are judged queries outside the certified sample, chosen by the seed
        (``ctx.rng("certify", "calibration")``); only their top-N unsmoothed scores are used, so
        the map does not depend on any certified query or its candidates.
        """
        opt = self.options
        if opt.score_map != "calibrated":
            return ScoreMap(resolve_score_map(opt.score_map, ctx.ranker))
        chosen = set(certified)
        pool = [q for q in all_qids if q not in chosen]
        if not pool:
            raise ValueError("certify: score_map calibrated needs judged queries outside the certified sample")
        n = min(opt.calibration_queries, len(pool))
        pick = sorted(ctx.rng("certify", "calibration").choice(len(pool), size=n, replace=False).tolist())
        held_out = [pool[i] for i in pick]
        scores = [s for q in held_out for _, s in runs["neural"].get(q, [])[: opt.candidates]]
        return fit_calibrated_map(scores, fitted_on={"query_ids": held_out, "queries": len(held_out), "top_n": opt.candidates,
                                                     "source": "unsmoothed scores of the held-out queries' top-N candidates"})

    def _payload(self, ctx, coll, runs, qid) -> tuple[str, str, list[str], list[str], list[int]]:
        """One certified query's unit: query, top-N candidates and their seeds (drawn here, by query id)."""
        ranked = [d for d, _ in runs["neural"].get(qid, []) if d in coll.documents][: self.options.candidates]
        texts = [coll.documents[d].full_text for d in ranked]
        seeds = ctx.rng("certify", qid).integers(0, 2**63 - 1, size=len(texts))
        return qid, runs["queries"][qid], ranked, texts, [int(x) for x in seeds]
