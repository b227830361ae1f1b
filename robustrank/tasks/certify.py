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
import math
import time
from collections import Counter
from typing import Any

import numpy as np

from robustrank.certify import CertifySettings, Smoother, SynonymSets, certify_query
from robustrank.certify.scoremap import ScoreMap, fit_calibrated_map, mapped_scorer, resolve_score_map
from robustrank.certify.verdict import (
    VERDICTS,
    check_threat_model,
    combine_verdicts,
    enters_top_k,
    smoothed_bounds_for_text,
    t4_counterexamples,
    verdict_metrics,
)
from robustrank.config_certify import CertifyConfig, DefenseSpec
from robustrank.stats import clopper_pearson

__all__ = ["CertifyTask"]

log = logging.getLogger(__name__)

DEVIATIONS = [
    "queries and candidates: a seeded sample of queries and the top-N of the undefended ranker (paper: all test queries, top-100)",
    "substitution space: robustrank's WordNet+GloVe lexicon instead of counter-fitted GloVe neighbours",
    "perturbation sets: max_set_size auto (default) makes every connected component of the synonym graph one set, so every TV term is 0 (reference: cap 100, larger components cut by embedding distance); with a numeric cap, large components are cut by graph path length (edge cost 1 - similarity), not by PCA-processed embedding cosine",
    "TV term: 1 - |S(w) ∩ S(w')| / max(|S(w)|, |S(w')|) (the reference divides by |S(w)|, understating TV when |S(w')| > |S(w)|)",
    "score map: calibrated clipped affine map fitted on held-out queries' unsmoothed candidate scores (reference: sigmoid of the cross-encoder logit)",
    "Monte Carlo error always on: simultaneous two-sided bounds at level alpha per query, alpha split over the sampled documents weighted by unsmoothed rank (reference: off by default, Hoeffding on two estimates)",
    "bound: betting confidence sequences (Waudby-Smith & Ramdas 2023), anytime-valid (reference: Hoeffding at fixed n)",
    "certification condition per document: min_topK L - max_rest (U + o_d) > 0 (implied by the reference's g_K - g_K+1 - max o_d - mc > 0)",
    "adaptive top-K identification sampling (LUCB-style) up to n_max copies (reference: fixed n = 1000-2000 per document)",
    "documents whose smoothing support is at most the sample budget are scored exactly by enumeration (no error level)",
    "the candidate set is held fixed (as in the reference): the certificate covers promotions among the N candidates",
    "verdict per (query, K) joined with t4's in-threat-model substitution attacks, verified on the smoothed ranker (not in the paper)",
]


def _stuff(text: str, terms: list[str], rng: np.random.Generator, share: float = 0.2) -> str:
    """Insert the query terms, repeated, at random word positions (about ``share`` more words)."""
    toks = text.split()
    if not terms:
        return text
    n_insert = max(len(terms), int(math.ceil(share * len(toks))))
    for i in range(n_insert):
        toks.insert(int(rng.integers(0, len(toks) + 1)), terms[i % len(terms)])
    return " ".join(toks)


class CertifyTask:
    """CertDR certification of top-K robustness (CRQ@K) and defence evaluation.

    Args:
        options: The ``tasks.certify`` section.
    """

    name = "certify"
    title = "Certified top-K robustness (CertDR) and defences"

    def __init__(self, options: CertifyConfig | None = None):
        self.options = options or CertifyConfig(enabled=True)

    def _sample_queries(self, ctx: Any, qids: list[str]) -> list[str]:
        n = min(self.options.queries, len(qids))
        chosen = set(ctx.rng("certify", "queries").choice(len(qids), size=n, replace=False).tolist())
        return [q for i, q in enumerate(qids) if i in chosen]

    def run(self, ctx: Any) -> dict[str, Any]:
        """Certify the sampled queries and evaluate the configured defences."""
        from tqdm.auto import tqdm

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
        records = []
        for qid in tqdm(qids, desc="certify", unit="q", disable=not ctx.progress, leave=False):
            records.append(ctx.unit("certify", qid, lambda qid=qid: self._certify_one(ctx, coll, runs, qid, scorer, smoother, settings)))
        keys = [str(k) for k in opt.k_values]
        crq = {k: float(np.mean([r["certified"][k] for r in records])) if records else 0.0 for k in keys}
        n_cert = {k: int(sum(r["certified"][k] for r in records)) for k in keys}
        forwards = [int(r["forwards"]) for r in records]
        failures = {k: dict(Counter(r["failed"][k] for r in records if k in r["failed"])) for k in keys}
        o_all = [d["o_d"] for r in records for d in r["documents"]]
        verdict = self._verdicts(ctx, records, sets, smoother, scorer, settings)
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
        result["defenses"] = {spec.name: self._defense(ctx, coll, runs, qids, spec) for spec in opt.defenses}
        metrics: dict[str, float] = {f"crq@{k}": v for k, v in crq.items()}
        metrics["forwards_per_query"] = result["forwards_per_query"]["mean"]
        metrics.update(verdict["counts"])
        for name, rec in result["defenses"].items():
            for m, v in rec.get("effectiveness", {}).items():
                metrics[f"{name}.{m}.diff"] = v["diff"]
                metrics[f"{name}.{m}.defended"] = v["defended"]
            if "false_positive_rate" in rec:
                metrics[f"{name}.false_positive_rate"] = rec["false_positive_rate"]
                for key, v in rec.get("detection_rate", {}).items():
                    metrics[f"{name}.detection_rate.{key}"] = v
        result["metrics"] = metrics
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

    def _verdicts(self, ctx, records, sets, smoother, scorer, settings: CertifySettings) -> dict[str, Any]:
        """Join the certificates with t4's adversarial documents: a verdict per (query, K)."""
        opt = self.options
        t4 = ctx.task_results.get("t4")
        by_query = {r["query_id"]: r for r in records}
        keys = [str(k) for k in opt.k_values]
        checked: list[dict[str, Any]] = []
        broken: dict[str, dict[str, bool]] = {q: {} for q in by_query}
        candidates: dict[str, list[tuple[str, str, dict[str, Any], Any]]] = {}
        for key, attack, rec in t4_counterexamples(t4):
            entry = {"attack_key": key, "attack": attack, "query_id": rec.get("query_id"), "doc_id": rec.get("doc_id"),
                     "t4_original_rank": rec.get("original_rank"), "t4_new_rank": rec.get("new_rank")}
            q = by_query.get(rec.get("query_id"))
            if q is None:
                entry["outcome"] = "query_not_certified"
            elif rec.get("doc_id") not in q["doc_ids"]:
                entry["outcome"] = "outside_candidates"
            elif not rec.get("adversarial_text") or not rec.get("original_text"):
                entry["outcome"] = "no_text"
            else:
                check = check_threat_model(rec["original_text"], rec["adversarial_text"], sets, rec.get("word_limit"))
                entry["substitutions"] = [list(p) for p in check.substitutions]
                if not check.inside:
                    entry["outcome"] = f"outside_threat_model:{check.reason}"
                else:
                    entry["outcome"] = "inside_threat_model"
                    candidates.setdefault(q["query_id"], []).append((key, rec["adversarial_text"], entry, q))
            checked.append(entry)
        for qid, items in candidates.items():
            delta = opt.alpha / len(items)
            for key, adv, entry, q in items:
                idx = q["doc_ids"].index(entry["doc_id"])
                docs = q["documents"]
                smoothed = np.array([d["smoothed"] for d in docs])
                rank = int(np.argsort(-smoothed, kind="stable").tolist().index(idx)) + 1
                others = [d["high"] for j, d in enumerate(docs) if j != idx]
                thresholds = {k: float(np.sort(others)[::-1][int(k) - 1]) for k in keys if rank > int(k) and int(k) <= len(others)}
                if not thresholds:
                    entry["outcome"] = "already_in_top_k"
                    continue
                query_text = ctx.runs(ctx.in_domain)["queries"][qid]
                prepared = smoother.prepare(adv)
                rng = ctx.rng("certify", "verdict", key, qid, entry["doc_id"])
                exact = smoother.enumerate(prepared, settings.enumeration_limit)
                exact_scores = np.asarray(scorer([(query_text, c) for c in exact])) if exact is not None else None
                bounds = smoothed_bounds_for_text(
                    lambda n: np.asarray(scorer([(query_text, c) for c in smoother.sample(prepared, n, rng)])),
                    exact_scores, delta, thresholds, settings.n_min, settings.n_max, settings.ratio,
                )
                entry["smoothed_adversarial"] = {**bounds, "delta": delta, "thresholds": thresholds}
                entry["smoothed_rank_of_original"] = rank
                entry["enters_top_k"] = {k: bool(bounds["low"] > t) for k, t in thresholds.items()}
                for k, hit in entry["enters_top_k"].items():
                    if hit:
                        broken[qid][k] = True
        per_query = {}
        for qid, r in by_query.items():
            per_query[qid] = combine_verdicts(r["certified"], broken[qid])
            r["verdict"] = per_query[qid]
        counts = verdict_metrics(list(per_query.values()), opt.k_values)
        alarms = [(q, k) for q, v in per_query.items() for k, x in v.items() if x == "soundness_alarm"]
        for q, k in alarms:
            log.error("certify: SOUNDNESS ALARM - query %s is certified at K=%s but t4 found an in-threat-model "
                      "counterexample that enters the smoothed top %s", q, k, k)
        return {
            "source": "t4" if t4 else "none (t4 did not run: no counterexamples were searched)",
            "counts": counts,
            "soundness_alarms": [{"query_id": q, "k": int(k)} for q, k in alarms],
            "t4_records": checked,
            "definition": "certified: the certificate holds; broken: a t4 adversarial document inside the threat model (lexicon "
                          "synonym substitutions of the certificate's graph, within t4's word budget) enters the smoothed top K "
                          "(its lower confidence bound exceeds the K-th highest upper bound of the other candidates); "
                          "inconclusive: neither; soundness_alarm: both",
        }

    def _certify_one(self, ctx, coll, runs, qid, scorer, smoother, settings) -> dict[str, Any]:
        t0 = time.perf_counter()
        ranked = [d for d, _ in runs["neural"].get(qid, []) if d in coll.documents][: self.options.candidates]
        texts = [coll.documents[d].full_text for d in ranked]
        seeds = ctx.rng("certify", qid).integers(0, 2**63 - 1, size=len(texts))
        cert = certify_query(runs["queries"][qid], texts, scorer, smoother, settings, [np.random.default_rng(int(s)) for s in seeds])
        rec = {"query_id": qid, **cert.to_json(), "doc_ids": ranked, "seconds": round(time.perf_counter() - t0, 3)}
        for d, did in zip(rec["documents"], ranked):
            d["doc_id"] = did
        return rec

    # -- defences -------------------------------------------------------------------------------
    def _defense(self, ctx, coll, runs, qids, spec: DefenseSpec) -> dict[str, Any]:
        from robustrank.defense import DefenseEnvironment
        from robustrank.plugins import load_plugin

        try:
            cls, info = load_plugin("defense", spec.name)
            defense = cls(spec.options)
            if hasattr(defense, "wrap"):
                env = DefenseEnvironment(
                    documents={d: doc.full_text for d, doc in coll.documents.items()},
                    lexicon=ctx.lexicon,
                    seed=int(ctx.rng("certify", "defense", spec.name).integers(2**31)),
                    artifact_dir=ctx.artifact_dir,
                    device=ctx.config.ranker.device,
                )
                return {"role": "ranker", "plugin": info.value, **self._ranker_defense(ctx, coll, runs, qids, spec.name, defense.wrap(ctx.ranker, env))}
            if hasattr(defense, "fit") and hasattr(defense, "score"):
                return {"role": "screen", "plugin": info.value, **self._screen(ctx, coll, runs, qids, defense)}
            return {"status": "error", "error": f"{spec.name} is neither a RankerDefense nor a DocumentScreen"}
        except Exception as exc:  # one failing defence must not lose the certificate
            log.error("defence %s failed: %s", spec.name, exc)
            log.debug("defence traceback", exc_info=True)
            return {"status": "error", "error": f"{type(exc).__name__}: {exc}"}

    def _ranker_defense(self, ctx, coll, runs, qids, name, defended) -> dict[str, Any]:
        from robustrank.rankers.base import score_pairs

        n = self.options.candidates
        t0 = time.perf_counter()
        forwards0 = getattr(defended, "forwards", 0)

        def compute(qid):
            top = [d for d, _ in runs["neural"].get(qid, []) if d in coll.documents][:n]
            scores = score_pairs(defended, [(runs["queries"][qid], coll.documents[d].full_text) for d in top])
            return sorted(zip(top, scores.tolist()), key=lambda x: (-x[1], x[0]))

        from tqdm.auto import tqdm

        undefended, defended_run = {}, {}
        for qid in tqdm(qids, desc=f"certify: {name}", unit="q", disable=not ctx.progress, leave=False):
            ranked = [(d, s) for d, s in ctx.unit("certify", f"defense/{name}/{qid}", lambda qid=qid: compute(qid))]
            full = runs["neural"].get(qid, [])
            top_ids = {d for d, _ in ranked}
            rest = [d for d, _ in full if d not in top_ids]
            defended_run[qid] = ranked + [(d, -1.0 - i) for i, d in enumerate(rest)]
            undefended[qid] = full
        before = ctx.evaluate(undefended, coll, qids)
        after = ctx.evaluate(defended_run, coll, qids)
        eff = {}
        for m in ctx.config.measures:
            u = float(np.mean([before[m][q] for q in qids])) if qids else 0.0
            d = float(np.mean([after[m][q] for q in qids])) if qids else 0.0
            eff[m] = {"undefended": u, "defended": d, "diff": d - u}
        describe = defended.describe() if hasattr(defended, "describe") else {}
        return {
            "effectiveness": eff,
            "samples": int(describe.get("samples", 0)),
            "forwards": int(getattr(defended, "forwards", 0) - forwards0),
            "queries": len(qids),
            "candidates": n,
            "protocol": f"the defended ranker re-ranks the undefended top-{n}; documents below keep their order",
            "seconds": round(time.perf_counter() - t0, 3),
        }

    def _screen(self, ctx, coll, runs, qids, screen) -> dict[str, Any]:
        from robustrank.text import stopwords, words

        opt = self.options
        t0 = time.perf_counter()
        ids = sorted(coll.documents)
        rng = ctx.rng("certify", "detector")
        pick = rng.choice(len(ids), size=min(opt.detector_docs, len(ids)), replace=False)
        clean = [coll.documents[ids[i]].full_text for i in pick]
        half = len(clean) // 2
        screen.fit(clean[:half])
        threshold = float(screen.threshold)
        fpr = float(np.mean(np.asarray(screen.score(clean[half:])) > threshold))
        adversarial: dict[str, list[str]] = {}
        originals: dict[str, list[str]] = {}
        t4 = ctx.task_results.get("t4") or {}
        for key, attack in (t4.get("attacks") or {}).items():
            for system in (attack.get("systems") or {}).values():
                if system.get("status", "ok") != "ok":
                    continue
                for t in system.get("targets") or []:
                    adv, orig = t.get("adversarial_text"), t.get("original_text")
                    if adv and adv != orig:
                        adversarial.setdefault(key, []).append(adv)
                        if orig:
                            originals.setdefault(key, []).append(orig)
        source = "t4"
        if not adversarial:
            source = "generated_keyword_stuffing"
            stop = stopwords()
            texts = []
            srng = ctx.rng("certify", "stuffing")
            pool = [(q, d) for q in qids for d, _ in runs["neural"].get(q, [])[: opt.candidates] if d in coll.documents]
            for j in srng.permutation(len(pool))[: opt.detector_stuffed]:
                q, d = pool[int(j)]
                terms = [w for w in words(runs["queries"][q]) if w not in stop]
                texts.append(_stuff(coll.documents[d].full_text, terms, srng))
            adversarial = {"keyword_stuffing_generated": texts}
        detection = {k: float(np.mean(np.asarray(screen.score(v)) > threshold)) for k, v in adversarial.items() if v}
        out = {
            "threshold": threshold,
            "false_positive_rate": fpr,
            "detection_rate": detection,
            "source": source,
            "n_clean_fit": half,
            "n_clean_eval": len(clean) - half,
            "n_adversarial": {k: len(v) for k, v in adversarial.items()},
            "seconds": round(time.perf_counter() - t0, 3),
        }
        if originals:
            out["originals_flagged_rate"] = {k: float(np.mean(np.asarray(screen.score(v)) > threshold)) for k, v in originals.items()}
        if source == "generated_keyword_stuffing":
            out["generation"] = "query content terms inserted, cycled, at random word positions of top candidates (+20% words)"
        return out
