"""Corpus poisoning of the dense retriever (``corpus_poisoning_zhong_2023``; Zhong et al., EMNLP 2023).

Threat model: the attacker may add a few passages to the corpus and knows some queries of the
kind users ask (here: a seeded ``attack_share`` of the evaluated queries); it wants its passages
retrieved for *other* queries. Passages are optimised against the victim encoder (white-box
HotFlip, or a black-box search when the victim exposes no gradients, e.g. an ONNX model; see
:mod:`robustrank.retrieval.poisoning`), one per k-means cluster of the attacker's query embeddings.

Measured on the held-out queries, for each number of injected passages (the largest clusters'
first) and each cut-off k: the share of queries with at least one poisoned passage in the top k
(Clopper-Pearson interval) and the mean number of poisoned passages there (bootstrap interval),
for the dense retriever and for BM25 over the same poisoned corpus. The same numbers on the
attacker's own queries are kept for reference (in-sample, optimistic).
"""

from __future__ import annotations

import logging
import time
from typing import Any

import numpy as np

from robustrank.errors import ConfigError
from robustrank.records import Document
from robustrank.results import MetricKey
from robustrank.retrieval.poisoning import blackbox_passage, count_in_topk, hotflip_passage, kmeans, whole_word_vocab
from robustrank.stats import bootstrap_ci
from robustrank.tasks.poisoning_options import PoisoningConfig

__all__ = ["CorpusPoisoningTask"]

log = logging.getLogger(__name__)

ATTACK = "corpus_poisoning_zhong_2023"
POISON_PREFIX = "~poison-"


def _proportion(hits: int, n: int, confidence: float) -> tuple[float | None, float | None]:
    """Clopper-Pearson interval of a proportion (``statsmodels`` method ``beta``)."""
    from statsmodels.stats.proportion import proportion_confint

    if n == 0:
        return (None, None)
    low, high = proportion_confint(hits, n, alpha=1 - confidence, method="beta")
    return float(low), float(high)


def _summarise(counts: np.ndarray, opt: PoisoningConfig, seed: int) -> dict[str, Any]:
    n = int(counts.size)
    hit = int((counts > 0).sum())
    low, high = _proportion(hit, n, opt.confidence)
    m_low, m_high = bootstrap_ci(counts.astype(float), confidence=opt.confidence, n_resamples=opt.bootstrap_samples, seed=seed)
    return {
        "n_queries": n,
        "queries_hit": hit,
        "share": hit / n if n else None,
        "share_ci": [low, high],
        "share_ci_method": "clopper-pearson",
        "mean_count": float(counts.mean()) if n else None,
        "mean_count_ci": [m_low, m_high],
    }


class CorpusPoisoningTask:
    """Inject optimised passages; count how often they reach the top k of held-out queries.

    Args:
        options: The ``tasks.poisoning`` section.
    """

    name = "poisoning"
    title = "Corpus poisoning of the dense retriever (Zhong et al., 2023)"
    Options = PoisoningConfig

    @staticmethod
    def report_view(result: dict[str, Any], results: dict[str, Any], *, figures: bool = False) -> Any:
        """Summary rows (dense vs BM25 per cell, with intervals) and sample sizes."""
        from robustrank.tasks.views.pipeline import poisoning_view

        return poisoning_view(result, results, figures=figures)

    def __init__(self, options: PoisoningConfig | None = None):
        self.options = options or PoisoningConfig(enabled=True)

    def run(self, ctx: Any) -> dict[str, Any]:
        """Split queries, optimise passages, inject them and measure dense vs BM25."""
        opt = self.options
        t0 = time.perf_counter()
        coll = ctx.in_domain
        qids = ctx.query_ids(coll)
        if len(qids) < 4:
            raise ConfigError(f"{ctx.config.source}: tasks.poisoning: needs at least 4 evaluated queries, got {len(qids)}")
        perm = ctx.rng("poisoning", "split").permutation(len(qids))
        n_attack = min(len(qids) - 1, max(1, round(opt.attack_share * len(qids))))
        attack_q = [qids[i] for i in sorted(perm[:n_attack])]
        heldout_q = [qids[i] for i in sorted(perm[n_attack:])]
        texts = {q: coll.queries[q].text for q in qids}

        retriever = ctx.dense_retriever(coll)
        victim = getattr(retriever.encoder, "inner", retriever.encoder)
        method = self._method(victim)
        tokenizer = getattr(victim, "tokenizer", None)
        if tokenizer is None:
            raise ConfigError(f"{ctx.config.source}: tasks.poisoning: the victim encoder exposes no tokenizer to build passages from")

        q_embs = np.asarray(victim.encode([texts[q] for q in attack_q]), dtype=np.float32)
        labels = kmeans(q_embs.astype(np.float64), opt.passages, ctx.rng("poisoning", "kmeans"))
        clusters = sorted({int(c) for c in labels}, key=lambda c: (-int((labels == c).sum()), c))
        vocab = whole_word_vocab(tokenizer)
        query_vocab = np.intersect1d(
            np.unique(np.concatenate([np.asarray(tokenizer(texts[q], add_special_tokens=False)["input_ids"], dtype=np.int64) for q in attack_q])), vocab
        )
        weight = None
        passages = []
        for j, c in enumerate(clusters):
            target = q_embs[labels == c].mean(0).astype(np.float32)
            passages.append(ctx.unit("poisoning", f"passage/{j}", lambda j=j, c=c, target=target: self._optimise(
                ctx, victim, tokenizer, method, j, c, target, int((labels == c).sum()), vocab, query_vocab, weight)))

        p_texts = [p["text"] for p in passages]
        p_embs = np.asarray(victim.encode(p_texts), dtype=np.float32)
        max_k = max(opt.top_k)
        injected = sorted({min(n, len(passages)) for n in opt.injected})

        def dense_counts(query_ids: list[str]) -> dict[str, Any]:
            run = retriever.retrieve({q: texts[q] for q in query_ids}, max_k)
            corpus = np.array([[s for _, s in run[q]] + [-np.inf] * (max_k - len(run[q])) for q in query_ids], dtype=np.float64)
            qe = np.asarray(victim.encode([texts[q] for q in query_ids]), dtype=np.float32)
            scores = (qe @ p_embs.T).astype(np.float64)
            out = {}
            for n in injected:
                for k in opt.top_k:
                    seed = int(ctx.rng("poisoning", "dense", n, k, len(query_ids)).integers(2**31))
                    out[f"n{n}.top{k}"] = _summarise(count_in_topk(corpus, scores[:, :n], k), opt, seed)
            return out

        def bm25_counts(query_ids: list[str]) -> dict[str, Any]:
            from robustrank.rankers.bm25 import BM25Ranker

            p = ctx.config.candidates.bm25
            out = {}
            for n in injected:
                docs = dict(coll.documents)
                docs.update({f"{POISON_PREFIX}{j:03d}": Document(f"{POISON_PREFIX}{j:03d}", p_texts[j]) for j in range(n)})
                bm = BM25Ranker(docs, k1=p.k1, b=p.b, stem=p.stem, stopwords=p.stopwords)
                runs = {q: bm.retrieve(texts[q], max_k) for q in query_ids}
                for k in opt.top_k:
                    counts = np.array([sum(1 for d, _ in runs[q][:k] if d.startswith(POISON_PREFIX)) for q in query_ids])
                    seed = int(ctx.rng("poisoning", "bm25", n, k).integers(2**31))
                    out[f"n{n}.top{k}"] = _summarise(counts, opt, seed)
            return out

        heldout = {"dense": dense_counts(heldout_q), "bm25": bm25_counts(heldout_q)}
        in_sample = {"dense": dense_counts(attack_q)}
        metrics = {
            str(MetricKey.of(self.name, system, *cell.split("."), name)): v[name]
            for system, cells in heldout.items()
            for cell, v in cells.items()
            for name in ("share", "mean_count")
        }
        metrics.update({str(MetricKey.of(self.name, "dense", *cell.split("."), "share_ci_low")): v["share_ci"][0] for cell, v in heldout["dense"].items()})
        return {
            "attack": ATTACK,
            "dataset": coll.name,
            "method": method,
            "victim": victim.describe() if hasattr(victim, "describe") else {"name": getattr(victim, "name", "?")},
            "threat_model": "attacker adds passages to the corpus and knows a disjoint sample of user queries",
            "budget": {"passages": len(passages), "tokens_per_passage": opt.tokens, "steps": opt.steps, "candidates_per_step": opt.candidates},
            "injected": injected,
            "top_k": list(opt.top_k),
            "n_attack_queries": len(attack_q),
            "n_heldout_queries": len(heldout_q),
            "attack_query_ids": attack_q,
            "heldout_query_ids": heldout_q,
            "corpus_documents": len(coll.documents),
            "passages": passages,
            "heldout": heldout,
            "attack_queries": in_sample,
            "seconds": round(time.perf_counter() - t0, 3),
            "metrics": metrics,
        }

    def _method(self, victim: Any) -> str:
        white = hasattr(victim, "embedding_gradients") and hasattr(victim, "backbone")
        if self.options.method == "hotflip" and not white:
            note = getattr(victim, "describe", lambda: {})().get("gradients") or "the victim exposes no gradients"
            raise ConfigError(f"tasks.poisoning.method: hotflip needs gradients: {note}; use method black-box or auto")
        if self.options.method == "auto":
            return "hotflip" if white else "black-box"
        return self.options.method

    def _optimise(self, ctx, victim, tokenizer, method, j, cluster, target, n_queries, vocab, query_vocab, weight) -> dict[str, Any]:
        opt = self.options
        rng = ctx.rng("poisoning", "passage", j)
        t0 = time.perf_counter()
        if method == "hotflip":
            ids, sim, initial, accepted = hotflip_passage(
                victim, target, tokens=opt.tokens, steps=opt.steps, candidates=opt.candidates, rng=rng, vocab=vocab, weight=weight
            )
            calls = 0
        else:
            ids, sim, initial, accepted, calls = blackbox_passage(
                victim, tokenizer, target, tokens=opt.tokens, steps=opt.steps, candidates=opt.candidates, rng=rng,
                vocab=vocab, query_vocab=query_vocab,
            )
        text = " ".join(tokenizer.convert_ids_to_tokens(ids.tolist()))
        reencoded = tokenizer(text, add_special_tokens=False)["input_ids"]
        text_sim = float(np.asarray(victim.encode([text]), dtype=np.float32)[0] @ target)
        log.info("poisoning: passage %d (cluster of %d queries): similarity %.3f -> %.3f", j, n_queries, initial, sim)
        return {
            "index": j,
            "cluster": cluster,
            "attack_queries": n_queries,
            "text": text,
            "similarity": sim,
            "text_similarity": text_sim,
            "initial_similarity": initial,
            "accepted_steps": accepted,
            "victim_encodings": calls,
            "round_trip": list(reencoded) == ids.tolist(),
            "seconds": round(time.perf_counter() - t0, 3),
        }
