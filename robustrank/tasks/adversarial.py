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
* measurement by the audit (see :mod:`robustrank.attack_runner`): rank under the victim, word
  budget check, similarity (MiniLM cosine, standing in for USE) and fluency (n-gram perplexity);
* T5-style spam injection: ``n_docs`` synthetic stuffed documents per sampled query (random
  collection documents from outside the query's candidate lists, stuffed with the query's terms)
  are added to each system's list; reported: injected documents in the top 10, share of queries
  with one there, best injected rank.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from robustrank.config_attacks import T4Config

__all__ = ["AdversarialTask"]

log = logging.getLogger(__name__)


@dataclass
class _System:
    name: str
    score_fn: Callable[[str, list[str]], np.ndarray]
    rankings: Mapping[str, list[tuple[str, float]]]
    ranker: Any = None
    note: str = ""
    targets: list[tuple[str, str, int]] = field(default_factory=list)


class AdversarialTask:
    """T4: attacks (PRADA, baselines, stuffing, any plugin) against the ranker and BM25.

    Args:
        options: The ``tasks.t4`` section.
    """

    name = "t4"
    title = "Adversarial: document-side attacks, ranker vs BM25"

    def __init__(self, options: T4Config | None = None):
        self.options = options or T4Config()

    # -- systems -------------------------------------------------------------------------------
    def _systems(self, ctx: Any, coll: Any, runs: dict[str, Any], sampled: list[str]) -> tuple[dict[str, _System], dict[str, Any], dict[str, Any]]:
        from robustrank.defense import DefenseEnvironment
        from robustrank.plugins import load_plugin

        opt = self.options
        systems: dict[str, _System] = {}
        if "neural" in opt.systems:
            systems["neural"] = _System("neural", lambda q, t: ctx.ranker.score(q, t), runs["neural"], getattr(ctx.ranker, "inner", ctx.ranker))
        if "bm25" in opt.systems:
            bm = ctx.bm25(coll)
            systems["bm25"] = _System("bm25", bm.score, runs["bm25"], bm, "BM25's own top list; adversarial texts scored with the collection's statistics")
        screens: dict[str, Any] = {}
        defense_info: dict[str, Any] = {}
        docs = {d: doc.full_text for d, doc in coll.documents.items()}
        for name in opt.defenses:
            cls, info = load_plugin("defense", name)
            d = cls(cls.Options()) if hasattr(cls, "Options") else cls()
            defense_info[name] = {"distribution": info.distribution, "version": info.version, "entry_point": info.value}
            if hasattr(d, "wrap"):
                env = DefenseEnvironment(documents=docs, lexicon=ctx.lexicon, seed=ctx.seed, artifact_dir=ctx.artifact_dir, device=ctx.config.ranker.device)
                ranker = d.wrap(ctx.ranker, env)
                queries = {q: runs["queries"][q] for q in sampled}
                ranked = ctx.rerank(f"t4/{name}/{coll.name}", queries, runs["candidates"], coll.documents, ranker=ranker, desc=f"t4 rerank {name}")
                key = f"neural+{name}"
                systems[key] = _System(key, lambda q, t, r=ranker: np.asarray(r.score(q, list(t)), dtype=np.float64), ranked, ranker, f"neural ranker wrapped by defence {name}")
                defense_info[name]["role"] = "ranker"
            if all(hasattr(d, a) for a in ("fit", "score", "threshold")):
                sample = np.random.default_rng(ctx.rng("t4", "screen", name).integers(2**31)).permutation(len(docs))[:2000]
                ids = list(docs)
                d.fit([docs[ids[i]] for i in sample])
                screens[name] = d
                defense_info[name]["role"] = "screen" if "role" not in defense_info[name] else "ranker+screen"
        return systems, screens, defense_info

    # -- run -------------------------------------------------------------------------------------
    def run(self, ctx: Any) -> dict[str, Any]:
        """Select targets, run every attack against every system, measure, inject spam."""
        from pydantic import ValidationError

        from robustrank.adversarial import AttackEnvironment, AttackTarget, Budget
        from robustrank.attack_runner import aggregate, attack_one, sample_queries, select_targets
        from robustrank.context import derive_seed
        from robustrank.errors import ConfigError, PluginError
        from robustrank.plugins import load_plugin

        opt = self.options
        coll = ctx.in_domain
        qids = ctx.query_ids(coll)
        runs = ctx.runs(coll)
        docs = {d: doc.full_text for d, doc in coll.documents.items()}
        seed = opt.targets.seed if opt.targets.seed is not None else ctx.seed
        sampled = sample_queries(qids, opt.targets.queries, np.random.default_rng(derive_seed(seed, "t4", "queries")))
        budget = Budget(opt.budget.max_words, opt.budget.max_fraction, opt.budget.max_victim_queries)

        # load and validate every attack before the expensive work
        loaded = []
        used_keys: dict[str, int] = {}
        for spec in opt.attacks:
            key = spec.key or spec.name
            if key in used_keys:
                used_keys[key] += 1
                key = f"{key}@{used_keys[key]}"
            else:
                used_keys[key] = 1
            try:
                cls, info = load_plugin("attack", spec.name, required=("attack",))
            except PluginError as exc:  # one broken plugin is one error row, not a failed T4
                log.error("t4: attack %s: %s", key, exc)
                loaded.append((key, spec, None, str(exc), None))
                continue
            try:
                options = cls.Options.model_validate(spec.options) if hasattr(cls, "Options") else dict(spec.options)
            except ValidationError as exc:
                first = exc.errors()[0]
                loc = ".".join(str(p) for p in first["loc"])
                raise ConfigError(f"{ctx.config.source}: tasks.t4.attacks[{spec.name}].options.{loc}: {first['msg']}") from None
            loaded.append((key, spec, cls, info, options))

        systems, screens, defense_info = self._systems(ctx, coll, runs, sampled)
        for sys in systems.values():
            for qid in sampled:
                ranked = sys.rankings.get(qid, [])
                rng = np.random.default_rng(derive_seed(seed, "t4", "targets", sys.name, qid))
                sys.targets += [(qid, d, r) for _, d, r in select_targets(ranked, opt.targets.rank_ranges, opt.targets.per_query, rng)]

        similarity = self._similarity(ctx)
        fluency = self._fluency(ctx, docs, seed)
        ppl_cache: dict[str, float | None] = {}

        def perplexity(text: str) -> float | None:
            if text not in ppl_cache:
                ppl_cache[text] = fluency.perplexity(text)
            return ppl_cache[text]

        attacks_out: dict[str, Any] = {}
        metrics: dict[str, Any] = {}
        for key, spec, cls, info, options in loaded:
            if cls is None:
                attacks_out[key] = {"attack": spec.name, "status": "error", "error": info, "systems": {}}
                continue
            entry: dict[str, Any] = {
                "attack": spec.name,
                "options": options.model_dump(mode="json") if hasattr(options, "model_dump") else options,
                "plugin": {"distribution": info.distribution, "version": info.version, "entry_point": info.value},
                "prepare": {},
                "systems": {},
            }
            for sys in systems.values():
                entry["systems"][sys.name] = self._attack_system(
                    ctx, key, cls, options, sys, docs, runs, budget, entry, screens, similarity, perplexity,
                    AttackEnvironment, AttackTarget, attack_one, aggregate,
                )
            attacks_out[key] = entry
            for sname, res in entry["systems"].items():
                if res.get("status") != "ok":
                    continue
                m = res["metrics"]
                prefix = "" if sname == "neural" else ("bm25_" if sname == "bm25" else f"{sname}.")
                for name in ("success_rate", "top10_rate", "top50_rate", "avg_boosted_ranks", "perturbation_pct", "semantic_similarity", "victim_queries_mean"):
                    if m.get(name) is not None:
                        metrics[f"{key}.{prefix}{name}"] = m[name]
                if m.get("flagged_rate") is not None:
                    metrics[f"{key}.{prefix}flagged_rate"] = m["flagged_rate"]

        injection = None
        if opt.injection.enabled:
            with ctx.timed("t4:injection"):
                injection = self._injection(ctx, coll, docs, runs, sampled, systems)
            for sname, res in injection["systems"].items():
                prefix = "" if sname == "neural" else ("bm25_" if sname == "bm25" else f"{sname}.")
                metrics[f"injection.{prefix}share_queries_with_injected_in_top10"] = res["share_queries_with_injected_in_top10"]
                metrics[f"injection.{prefix}mean_in_top10"] = res["mean_in_top10"]

        return {
            "dataset": coll.name,
            "target_protocol": {
                "rank_ranges": [list(r) for r in opt.targets.rank_ranges],
                "per_query": opt.targets.per_query,
                "queries": len(sampled),
                "seed": seed,
                "query_ids": sampled,
                "source": "each system's own ranked list (neural: re-ranked candidates; bm25: BM25 top list)",
            },
            "budget": {"max_words": opt.budget.max_words, "max_fraction": opt.budget.max_fraction, "max_victim_queries": opt.budget.max_victim_queries},
            "threat_model": {"white_box": opt.white_box, "expose_scores": opt.expose_scores},
            "systems": {s.name: {"targets": len(s.targets), "note": s.note} for s in systems.values()},
            "defenses": defense_info,
            "measures": {"similarity": similarity.info, "fluency": fluency.info},
            "attacks": attacks_out,
            "injection": injection,
            "metrics": metrics,
        }

    def _attack_system(self, ctx, key, cls, options, sys, docs, runs, budget, entry, screens, similarity, perplexity,
                       AttackEnvironment, AttackTarget, attack_one, aggregate) -> dict[str, Any]:
        from tqdm.auto import tqdm

        opt = self.options
        try:
            attack = cls(options)
            rankings = {q: [(d, s if opt.expose_scores else None) for d, s in lst] for q, lst in sys.rankings.items()}
            env = AttackEnvironment(
                documents=docs,
                queries={q: runs["queries"][q] for q in rankings if q in runs["queries"]},
                victim_rankings=rankings,
                rank_fn=None,
                lexicon=ctx.lexicon,
                seed=int(ctx.rng("t4", key, sys.name, "prepare").integers(2**31)),
                artifact_dir=ctx.artifact_dir,
                device=ctx.config.ranker.device,
                white_box_ranker=sys.ranker if opt.white_box else None,
                progress=ctx.progress,
            )
            if hasattr(attack, "applicable"):
                reason = attack.applicable(env)
                if reason:
                    return {"status": "not_applicable", "reason": str(reason)}
            with ctx.timed(f"t4:{key}:{sys.name}:prepare"):
                if hasattr(attack, "prepare"):
                    attack.prepare(env)
            if hasattr(attack, "summary"):
                entry["prepare"][sys.name] = attack.summary()
            records = []
            with ctx.timed(f"t4:{key}:{sys.name}:attack"):
                for qid, did, rank in tqdm(sys.targets, desc=f"t4 {key} {sys.name}", unit="doc", disable=not ctx.progress, leave=False):
                    ranked = rankings[qid]
                    target = AttackTarget(qid, runs["queries"][qid], did, docs[did], rank, tuple((d, s) for d, s in ranked))

                    def compute(target=target, qid=qid, did=did):
                        rec = attack_one(
                            attack, target, sys.score_fn, docs, budget, ctx.rng("t4", key, sys.name, qid, did),
                            expose_scores=opt.expose_scores, similarity=similarity.similarity, perplexity=perplexity, keep_texts=opt.keep_texts,
                        )
                        if screens:
                            adv = rec.get("adversarial_text", target.text)
                            rec["flags"] = {n: bool(float(s.score([adv])[0]) > float(s.threshold)) for n, s in screens.items()}
                            rec["flagged"] = any(rec["flags"].values())
                        return rec

                    records.append(ctx.unit("t4", f"{key}/{sys.name}/{qid}/{did}", compute))
            return {"status": "ok", "metrics": aggregate(records), "targets": records}
        except Exception as exc:  # one failing (attack, system) pair does not stop the task
            log.error("t4: attack %s against %s failed: %s", key, sys.name, exc)
            log.debug("traceback", exc_info=True)
            return {"status": "error", "error": f"{type(exc).__name__}: {exc}"}

    # -- measures --------------------------------------------------------------------------------
    def _similarity(self, ctx: Any):
        from robustrank.attack_metrics import BiEncoderSimilarity
        from robustrank.rankers.hf import BiEncoderRanker
        from robustrank.rankers.resolve import resolve_model

        name = self.options.similarity_model
        inner = getattr(ctx.ranker, "inner", ctx.ranker)
        if isinstance(inner, BiEncoderRanker) and inner.model_path == resolve_model(name, base_dir=ctx.config.base_dir):
            return BiEncoderSimilarity(inner, name)
        return BiEncoderSimilarity(BiEncoderRanker(name, device=ctx.config.ranker.device, base_dir=ctx.config.base_dir), name)

    def _fluency(self, ctx: Any, docs: dict[str, str], seed: int):
        from robustrank.attack_metrics import build_fluency

        with ctx.timed("t4:fluency_lm"):
            return build_fluency(self.options.fluency, list(docs.values()), seed=derive(seed), resolve=ctx.resolve, device=ctx.config.ranker.device)

    # -- spam injection --------------------------------------------------------------------------
    def _injection(self, ctx: Any, coll: Any, docs: dict[str, str], runs: dict[str, Any], sampled: list[str], systems: dict[str, _System]) -> dict[str, Any]:
        from robustrank.attack_text import apply_edits, query_terms, stuffing_edits

        cfg = self.options.injection
        all_ids = list(docs)
        out: dict[str, Any] = {
            "n_injected": cfg.n_docs,
            "stuffed_terms": cfg.stuffed_terms,
            "mode": cfg.mode,
            "carrier": "random collection documents outside the query's candidate lists, stuffed with the query's non-stopword terms",
            "queries": len(sampled),
            "systems": {},
        }
        per_system: dict[str, list[dict[str, Any]]] = {s: [] for s in systems}
        for qid in sampled:
            query = runs["queries"][qid]
            rng = ctx.rng("t4", "injection", qid)
            listed = {d for s in systems.values() for d, _ in s.rankings.get(qid, [])}
            carriers: list[str] = []
            while len(carriers) < min(cfg.n_docs, len(all_ids) - len(listed)):
                d = all_ids[int(rng.integers(len(all_ids)))]
                if d not in listed and d not in carriers:
                    carriers.append(d)
            spam = [apply_edits(docs[d], stuffing_edits(docs[d], query_terms(query), cfg.stuffed_terms, cfg.mode, rng)) for d in carriers]
            for sname, sys in systems.items():

                def compute(sys=sys, qid=qid, query=query, spam=spam, carriers=carriers):
                    ranked = [d for d, _ in sys.rankings.get(qid, [])]
                    scores = np.asarray(sys.score_fn(query, [docs[d] for d in ranked] + spam), dtype=np.float64)
                    base, inj = scores[: len(ranked)], scores[len(ranked) :]
                    ranks = [int(np.sum(base >= s)) + 1 for s in inj]  # ties rank below the listed documents
                    return {"query_id": qid, "carriers": carriers, "ranks": ranks, "in_top10": sum(r <= 10 for r in ranks), "best_rank": min(ranks) if ranks else None}

                per_system[sname].append(ctx.unit("t4", f"injection/{sname}/{qid}", compute))
        for sname, rows in per_system.items():
            best = [r["best_rank"] for r in rows if r["best_rank"] is not None]
            out["systems"][sname] = {
                "mean_in_top10": float(np.mean([r["in_top10"] for r in rows])) if rows else 0.0,
                "share_queries_with_injected_in_top10": float(np.mean([r["in_top10"] > 0 for r in rows])) if rows else 0.0,
                "mean_best_rank": float(np.mean(best)) if best else None,
                "queries": rows,
            }
        return out


def derive(seed: int) -> int:
    """Seed of the fluency LM's training sample."""
    from robustrank.context import derive_seed

    return derive_seed(seed, "t4", "fluency")
