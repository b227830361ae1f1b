"""T5-style spam injection: synthetic stuffed documents added to each sampled query's list.

Per sampled query, ``n_docs`` carrier documents are drawn (seeded) from the collection outside
every system's candidate list and stuffed with the query's non-stopword terms by the suite's one
stuffing generator (:func:`robustrank.adversarial.edits.stuffing_edits`); each system then
scores its own list plus the spam. Reported per system: injected documents in the top 10,
share of queries with one there, best injected rank. One checkpointed unit per (system, query).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from robustrank.adversarial.campaign import AttackedSystem
from robustrank.adversarial.edits import apply_edits, query_terms, stuffing_edits

__all__ = ["run_injection"]


def run_injection(
    ctx: Any,
    cfg: Any,
    documents: Mapping[str, str],
    queries: Mapping[str, str],
    sampled: list[str],
    systems: Mapping[str, AttackedSystem],
) -> dict[str, Any]:
    """Inject spam into every system's lists of the ``sampled`` queries and measure where it lands.

    Args:
        ctx: The audit context (checkpointed units, seeded streams).
        cfg: The ``tasks.t4.injection`` options.
        documents: doc_id -> text of the collection.
        queries: query_id -> text.
        sampled: The attacked queries.
        systems: The attacked systems by name.
    """
    all_ids = list(documents)
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
        query = queries[qid]
        rng = ctx.rng("t4", "injection", qid)
        listed = {d for s in systems.values() for d, _ in s.rankings.get(qid, [])}
        carriers: list[str] = []
        while len(carriers) < min(cfg.n_docs, len(all_ids) - len(listed)):
            d = all_ids[int(rng.integers(len(all_ids)))]
            if d not in listed and d not in carriers:
                carriers.append(d)
        spam = [apply_edits(documents[d], stuffing_edits(documents[d], query_terms(query), cfg.stuffed_terms, cfg.mode, rng)) for d in carriers]
        for sname, system in systems.items():

            def compute(system=system, qid=qid, query=query, spam=spam, carriers=carriers):
                ranked = [d for d, _ in system.rankings.get(qid, [])]
                scores = np.asarray(system.score_fn(query, [documents[d] for d in ranked] + spam), dtype=np.float64)
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
