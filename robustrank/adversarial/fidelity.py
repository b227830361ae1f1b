"""How faithfully a surrogate or imitation model reproduces a victim's rankings (held-out queries).

For each held-out query the candidate model re-scores the victim's top-``depth`` list; it is
compared with the victim by

* Spearman's rho between the model's and the victim's scores (the victim's ranks when its
  scores are hidden), over the whole list;
* top-k overlap ``|top-k(victim) ∩ top-k(model)| / k``;
* rank-biased overlap (Webber et al., TOIS 2010, extrapolated ``RBO_ext`` of their Eq. 32).

Each is averaged over queries with a seeded percentile-bootstrap 95% interval over queries, next
to what a random order scores (top-k: k / depth; Spearman: 0).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from robustrank.stats import bootstrap_ci

__all__ = ["measure_fidelity", "rank_biased_overlap", "top_k_overlap"]


def top_k_overlap(a: Sequence[str], b: Sequence[str], k: int = 10) -> float:
    """|top-k(a) ∩ top-k(b)| / k."""
    return len(set(a[:k]) & set(b[:k])) / k


def rank_biased_overlap(a: Sequence[str], b: Sequence[str], p: float = 0.7) -> float:
    """Extrapolated rank-biased overlap of two rankings (Webber et al., 2010, Eq. 32).

    Both lists are read to the shorter one's depth k:
    ``RBO_ext = X_k / k * p^k + (1 - p) / p * sum_{d=1..k} X_d / d * p^d``, X_d the overlap at
    depth d. 1.0 for identical lists.
    """
    k = min(len(a), len(b))
    if k == 0:
        return 0.0
    seen_a: set[str] = set()
    seen_b: set[str] = set()
    overlap, acc = 0, 0.0
    for d in range(1, k + 1):
        x, y = a[d - 1], b[d - 1]
        if x == y:
            overlap += 1
        else:
            overlap += (x in seen_b) + (y in seen_a)
        seen_a.add(x)
        seen_b.add(y)
        acc += overlap / d * p**d
    return float(overlap / k * p**k + (1 - p) / p * acc)


def _summary(values: list[float], seed: int) -> dict[str, Any]:
    lo, hi = bootstrap_ci(values, seed=seed)
    return {"mean": float(np.mean(values)) if values else None, "ci_low": lo, "ci_high": hi, "n": len(values)}


def measure_fidelity(
    score_fn: Callable[[str, Sequence[str]], np.ndarray],
    rankings: Mapping[str, Sequence[tuple[str, float | None]]],
    queries: Mapping[str, str],
    documents: Mapping[str, str],
    *,
    depth: int = 100,
    k: int = 10,
    p: float = 0.7,
    seed: int = 0,
) -> dict[str, Any]:
    """Agreement of a model with the victim on the given (held-out) queries.

    Args:
        score_fn: The model's ``(query, texts) -> scores``.
        rankings: query_id -> the victim's list [(doc_id, score or None)], best first.
        queries: query_id -> text of the queries to measure on (e.g. held out of training).
        documents: doc_id -> text.
        depth: Victim list depth re-scored.
        k: Depth of the top-k overlap.
        p: RBO persistence.
        seed: Seeds the bootstrap.

    Returns:
        ``{"queries", "depth", "spearman", "top10_overlap", "rbo"`` (each ``{mean, ci_low,
        ci_high, n}``), ``"random_top10_overlap", "rbo_p", "spearman_against"`` (scores or
        ranks), ``"per_query"}``.
    """
    from scipy.stats import spearmanr

    per: dict[str, dict[str, float]] = {}
    against = "victim scores"
    for qid in sorted(queries):
        lst = list(rankings.get(qid, ()))[:depth]
        ranked = [d for d, _ in lst if d in documents]
        if len(ranked) < max(k, 3):
            continue
        mine_scores = np.asarray(score_fn(queries[qid], [documents[d] for d in ranked]), dtype=np.float64)
        victim = [s for d, s in lst if d in documents]
        if any(s is None for s in victim):
            against = "victim ranks"
            ref = -np.arange(len(ranked), dtype=np.float64)
        else:
            ref = np.asarray(victim, dtype=np.float64)
        rho = spearmanr(mine_scores, ref).statistic
        mine = [ranked[i] for i in sorted(range(len(ranked)), key=lambda i: (-mine_scores[i], ranked[i]))]
        per[qid] = {
            "spearman": float(rho) if np.isfinite(rho) else 0.0,
            "top10_overlap": top_k_overlap(ranked, mine, k),
            "rbo": rank_biased_overlap(ranked, mine, p),
        }
    n_depth = min((min(depth, len(rankings.get(q, ()))) for q in per), default=depth)
    return {
        "queries": len(per),
        "depth": n_depth,
        "spearman": _summary([v["spearman"] for v in per.values()], seed),
        "top10_overlap": _summary([v["top10_overlap"] for v in per.values()], seed),
        "rbo": _summary([v["rbo"] for v in per.values()], seed),
        "spearman_against": against,
        "random_top10_overlap": k / n_depth if per else None,
        "rbo_p": p,
        "interval": "95% percentile bootstrap over queries",
        "per_query": per,
    }
