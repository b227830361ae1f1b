"""T4 - defence against adversarial operations (Wu et al., TOIS 2022, third robustness definition).

Document-side attacks against the ranker under audit, each next to the same attack against BM25:

* every attack plugin listed in ``tasks.t4.attacks`` (entry-point group ``robustrank.attacks``)
  is loaded generically, its options validated with its ``Options`` model, ``prepare(env)``
  called once per attacked system (e.g. PRADA trains its surrogate on that system's rankings),
  and its ``summary()`` recorded under ``prepare``;
* systems: ``neural`` (the ranker re-ranking the candidates), ``bm25`` (BM25's own top list) and
  ``neural+<defence>`` for every RankerDefense in ``tasks.t4.defenses`` (the defended ranker
  re-ranks the sampled queries' candidates; its surrogate, if any, learns from those lists only).
  A DocumentScreen defence instead flags adversarial documents (``flagged_rate``);
* targets: per sampled query, documents sampled from rank ranges of each system's own list
  (default ranks 51-100), seeded per (system, query); each target is one checkpointed unit
  ``t4 / <attack>/<system>/<query>/<doc>`` with its own generator, so a killed audit resumes;
* measurement by the audit (see :mod:`robustrank.adversarial.runner`): rank under the victim, word
  budget check, similarity (MiniLM cosine, standing in for USE) and fluency (n-gram perplexity);
* T5-style spam injection: ``n_docs`` synthetic stuffed documents per sampled query (random
  collection documents from outside the query's candidate lists, stuffed with the query's terms)
  are added to each system's list; reported: injected documents in the top 10, share of queries
  with one there, best injected rank.
"""

from __future__ import annotations

import logging
from typing import Any

from robustrank import plugins
from robustrank.adversarial.analysis import analyse, flat_metrics, metric_key
from robustrank.adversarial.bm25_column import BM25Column
from robustrank.adversarial.campaign import AttackedSystem, Campaign
from robustrank.adversarial.defenses import defended_score_fn, defense_environment
from robustrank.adversarial.injection import run_injection
from robustrank.adversarial.measures import build_fluency
from robustrank.adversarial.screening import fit_screen, screening_summary
from robustrank.adversarial.similarity import build_similarity
from robustrank.adversarial.specs import load_defense
from robustrank.adversarial.targets import sample_queries, select_targets
from robustrank.adversarial.threat import system_access
from robustrank.adversarial.types import Budget
from robustrank.errors import PluginError
from robustrank.memory import release_memory
from robustrank.seeds import derive_seed
from robustrank.tasks.adversarial_options import T4Config

__all__ = ["AdversarialTask"]

log = logging.getLogger(__name__)


class AdversarialTask:
    """T4: attacks (PRADA, baselines, stuffing, any plugin) against the ranker and BM25.

    Args:
        options: The ``tasks.t4`` section.
    """

    name = "t4"
    title = "Adversarial: document-side attacks, ranker vs BM25"
    Options = T4Config
    report_fragment = "templates/t4.html.j2"
    compliance_fragment = "templates/t4.compliance.html.j2"

    @staticmethod
    def report_view(result: dict[str, Any], results: dict[str, Any], *, figures: bool = False) -> Any:
        """This task's summary rows, sample sizes, limitations and figures (see :class:`~robustrank.tasks.base.TaskView`)."""
        from robustrank.tasks.views.adversarial import view

        return view(result, results, figures=figures)

    def __init__(self, options: T4Config | None = None):
        self.options = options or T4Config()

    # -- systems -------------------------------------------------------------------------------
    def _systems(self, ctx: Any, coll: Any, runs: dict[str, Any], sampled: list[str], docs: dict[str, str]):
        """The attacked systems, the fitted document screens and the defences' provenance."""
        opt = self.options
        systems: dict[str, AttackedSystem] = {}
        if "neural" in opt.systems:
            systems["neural"] = AttackedSystem("neural", ctx.ranker.score, runs["neural"], getattr(ctx.ranker, "inner", ctx.ranker))
        if "bm25" in opt.systems:
            bm = ctx.bm25(coll)
            systems["bm25"] = AttackedSystem("bm25", bm.score, runs["bm25"], bm, "BM25's own top list; adversarial texts scored with the collection's statistics")
        screens: dict[str, Any] = {}
        defense_info: dict[str, Any] = {}
        for spec in opt.defenses:
            name = spec.name
            d, info = load_defense(spec)
            defense_info[name] = {"distribution": info.distribution, "version": info.version, "entry_point": info.value, "options": spec.options}
            if hasattr(d, "wrap"):
                ranker = d.wrap(ctx.ranker, defense_environment(ctx, name, docs))
                queries = {q: runs["queries"][q] for q in sampled}
                ranked = ctx.rerank(f"t4/{name}/{coll.name}", queries, runs["candidates"], coll.documents, ranker=ranker, desc=f"t4 rerank {name}")
                key = f"neural+{name}"
                systems[key] = AttackedSystem(key, defended_score_fn(ranker), ranked, ranker, f"neural ranker wrapped by defence {name}")
                defense_info[name]["role"] = "ranker"
            if all(hasattr(d, a) for a in ("fit", "score", "threshold")):
                sample = ctx.rng("t4", "screen", name).permutation(len(docs))[:2000]
                ids = list(docs)
                source = fit_screen(d, [docs[ids[i]] for i in sample], ctx.stream_seed("defense", name), runs, sampled, docs)
                screens[name] = d
                defense_info[name]["calibration"] = {**(d.info() if hasattr(d, "info") else {"threshold": d.threshold}), "pairs_source": source}
                defense_info[name]["role"] = "screen" if "role" not in defense_info[name] else "ranker+screen"
        return systems, screens, defense_info

    # -- run -------------------------------------------------------------------------------------
    def run(self, ctx: Any) -> dict[str, Any]:
        """Select targets, run every attack against every system, measure, inject spam."""
        opt = self.options
        coll = ctx.in_domain
        qids = ctx.query_ids(coll)
        runs = ctx.runs(coll)
        docs = {d: doc.full_text for d, doc in coll.documents.items()}
        sampled = sample_queries(qids, opt.targets.queries, ctx.rng("t4", "queries"))
        budget = Budget(opt.budget.max_words, opt.budget.max_fraction, opt.budget.max_victim_queries)

        systems, screens, defense_info = self._systems(ctx, coll, runs, sampled, docs)
        for system in systems.values():
            for qid in sampled:
                ranked = system.rankings.get(qid, [])
                picks = select_targets(ranked, opt.targets.rank_ranges, opt.targets.per_query, ctx.rng("t4", "targets", system.name, qid))
                system.targets += [(qid, d, r) for _, d, r in picks]

        similarity = build_similarity(opt.similarity_model, ctx.ranker, device=ctx.config.ranker.device, base_dir=ctx.config.base_dir)
        access = {s.name: system_access(s.name, s.ranker, white_box=opt.white_box, expose_scores=opt.expose_scores) for s in systems.values()}
        for a in access.values():
            if a.get("downgrade"):
                log.warning("t4: %s", a["downgrade"])
        with ctx.timed("t4:fluency_lm"):
            fluency = build_fluency(opt.fluency, list(docs.values()), seed=derive_seed(ctx.seed, "t4", "fluency"), resolve=ctx.resolve, device=ctx.config.ranker.device)
        ppl_cache: dict[str, float | None] = {}

        def perplexity(text: str) -> float | None:
            if text not in ppl_cache:
                ppl_cache[text] = fluency.perplexity(text)
            return ppl_cache[text]

        campaign = Campaign(
            ctx=ctx, documents=docs, queries=runs["queries"], budget=budget, expose_scores=opt.expose_scores,
            white_box=opt.white_box, keep_texts=opt.keep_texts, similarity=similarity.similarity, perplexity=perplexity, screens=screens,
        )
        column = BM25Column(ctx.config, {"similarity": similarity.info, "fluency": fluency.info}, enabled=not screens)
        attacks_out: dict[str, Any] = {}
        metrics: dict[str, Any] = {}
        for key, spec in _attack_keys(opt.attacks):
            try:
                plugins.load_plugin("attack", spec.name, required=("attack",))
            except PluginError as exc:  # one broken plugin is one error row, not a failed T4
                log.error("t4: attack %s: %s", key, exc)
                attacks_out[key] = {"attack": spec.name, "status": "error", "error": str(exc), "systems": {}}
                continue
            entry: dict[str, Any] = {"attack": spec.name, "options": spec.options, "plugin": None, "prepare": {}, "systems": {}}
            for system in systems.values():
                entry["systems"][system.name] = column.run(campaign, key, spec, system, entry)  # bm25: shared cache
                release_memory()  # the prepared attack (a surrogate model) is gone: return its memory before the next
            entry["plugin"] = _plugin_info(spec.name)
            attacks_out[key] = entry
            for sname, res in entry["systems"].items():
                if res.get("status") == "ok":
                    metrics.update(flat_metrics(self.name, key, sname, res["metrics"]))
        analysis = analyse(self.name, attacks_out, list(systems), opt.ensemble, ctx.stream_seed)
        metrics.update(analysis["metrics"])

        injection = None
        if opt.injection.enabled:
            with ctx.timed("t4:injection"):
                injection = run_injection(ctx, opt.injection, docs, runs["queries"], sampled, systems)
            for sname, res in injection["systems"].items():
                metrics[str(metric_key(self.name, "injection", sname, "share_queries_with_injected_in_top10"))] = res["share_queries_with_injected_in_top10"]
                metrics[str(metric_key(self.name, "injection", sname, "mean_in_top10"))] = res["mean_in_top10"]

        return {
            "dataset": coll.name,
            "target_protocol": {
                "rank_ranges": [list(r) for r in opt.targets.rank_ranges],
                "per_query": opt.targets.per_query,
                "queries": len(sampled),
                "profile": opt.profile,
                "seed": ctx.seed,
                "query_ids": sampled,
                "source": "each system's own ranked list (neural: re-ranked candidates; bm25: BM25 top list)",
            },
            "budget": {"max_words": opt.budget.max_words, "max_fraction": opt.budget.max_fraction, "max_victim_queries": opt.budget.max_victim_queries},
            "threat_model": {"white_box": opt.white_box, "expose_scores": opt.expose_scores, "systems": access},
            "systems": {s.name: {"targets": len(s.targets), "note": s.note, "access": access[s.name]} for s in systems.values()},
            "defenses": defense_info,
            "measures": {"similarity": similarity.info, "fluency": fluency.info},
            "attacks": attacks_out,
            "comparisons": analysis["comparisons"],
            "screening": screening_summary(attacks_out, screens) if screens else None,
            **analysis["ensembles"],
            "injection": injection,
            "metrics": metrics,
        }


def _attack_keys(specs: list[Any]) -> list[tuple[str, Any]]:
    """(results key, spec) per attack: the spec's key or name; ``name@2``... when repeated."""
    used: dict[str, int] = {}
    out = []
    for spec in specs:
        key = spec.key or spec.name
        used[key] = used.get(key, 0) + 1
        out.append((key if used[key] == 1 else f"{key}@{used[key]}", spec))
    return out


def _plugin_info(name: str) -> dict[str, Any]:
    info = next((p for p in plugins.available("attack") if p.name == name), None)
    return {"distribution": info.distribution, "version": info.version, "entry_point": info.value} if info else {}
