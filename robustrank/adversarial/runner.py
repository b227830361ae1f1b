"""Running one attack on one target under the audit's budget, and aggregating the outcomes.

Each target is attacked through a fresh :class:`~robustrank.adversarial.VictimOracle`, which
counts and caps victim queries. Afterwards the audit - not the attack - measures the outcome:
the new rank under the victim (one uncounted scoring of the adversarial text against the
others' fixed scores), the words changed (word-level Levenshtein distance of original and
adversarial text, whatever edits the attack claims) against the word budget, similarity and
fluency. An attack
that overspends its word budget has its result discarded (the target counts as a failure with
``budget_violation`` set); one whose victim budget runs out keeps the original text.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict
from typing import Any

import numpy as np

from robustrank.adversarial.edits import changed_words, document_words
from robustrank.adversarial.types import (
    AttackTarget,
    Budget,
    BudgetExceeded,
    VictimOracle,
)

__all__ = ["aggregate", "attack_one"]

log = logging.getLogger(__name__)


def attack_one(
    attack: Any,
    target: AttackTarget,
    score_fn: Callable[[str, Sequence[str]], np.ndarray],
    other_texts: Mapping[str, str],
    budget: Budget,
    rng: np.random.Generator,
    *,
    expose_scores: bool = True,
    similarity: Callable[[str, str], float] | None = None,
    perplexity: Callable[[str], float | None] | None = None,
    keep_texts: bool = True,
) -> dict[str, Any]:
    """Attack one target and measure the outcome under the victim.

    Returns:
        The per-target record of results.json (see module docstring); JSON-serialisable.
    """
    oracle = VictimOracle(score_fn, target, other_texts, max_queries=budget.max_victim_queries, expose_scores=expose_scores)
    measure = getattr(score_fn, "final", score_fn)  # a defended ranker's precise re-scoring, if it has one
    original_rank = int(oracle.rank_of_scores(np.asarray(measure(target.query, [target.text]), dtype=np.float64))[0])
    t0 = time.perf_counter()
    error = None
    info: dict[str, Any] = {}
    try:
        outcome = attack.attack(target, oracle, budget, rng)
        adversarial, edits, info = outcome.adversarial_text, list(outcome.edits), dict(outcome.info)
    except BudgetExceeded as exc:
        adversarial, edits, error = target.text, [], f"BudgetExceeded: {exc}"
    seconds = time.perf_counter() - t0
    n_words = len(document_words(target.text))
    changed = changed_words(target.text, adversarial)
    limit = budget.word_limit(n_words)
    violation = None
    if limit is not None and changed > limit:
        violation = f"changed {changed} words, budget {limit}"
        log.warning("attack %s on %s/%s: %s; result discarded", getattr(attack, "name", "?"), target.query_id, target.doc_id, violation)
    if violation or adversarial == target.text:
        new_rank = original_rank
        if violation:
            adversarial, edits = target.text, []
    else:
        new_rank = int(oracle.rank_of_scores(np.asarray(measure(target.query, [adversarial]), dtype=np.float64))[0])
    ppl_orig = perplexity(target.text) if perplexity else None
    ppl_adv = (ppl_orig if adversarial == target.text else perplexity(adversarial)) if perplexity else None
    record: dict[str, Any] = {
        "query_id": target.query_id,
        "query": target.query,
        "doc_id": target.doc_id,
        "list_rank": target.rank,
        "original_rank": original_rank,
        "new_rank": new_rank,
        "success": new_rank < original_rank,
        "victim_queries": oracle.queries_used,
        "words": n_words,
        "words_changed": changed,
        "word_limit": limit,
        "perturbation_pct": 100.0 * changed / n_words if n_words else 0.0,
        "similarity": similarity(target.text, adversarial) if similarity else None,
        "perplexity": ppl_adv,
        "perplexity_original": ppl_orig,
        "edits": [asdict(e) for e in edits],
        "seconds": round(seconds, 4),
        "info": info,
    }
    if keep_texts:
        record["original_text"] = target.text
        record["adversarial_text"] = adversarial
    if error:
        record["error"] = error
    if violation:
        record["budget_violation"] = violation
    return record


def _mean(values: Sequence[float | None]) -> float | None:
    vals = [float(v) for v in values if v is not None and math.isfinite(float(v))]
    return float(np.mean(vals)) if vals else None


def aggregate(records: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Aggregate metrics over per-target records.

    success_rate: share of targets whose rank improved under the victim; top10_rate / top50_rate:
    share ending in the top 10 / 50; avg_boosted_ranks: mean (original rank - new rank) over all
    targets; perturbation_pct: mean share of words changed (percent); semantic_similarity and
    perplexities: means over targets; victim_queries_mean and seconds_per_target: cost.
    """
    n = len(records)
    if not n:
        return {"n_targets": 0}
    orig = np.array([r["original_rank"] for r in records], dtype=float)
    new = np.array([r["new_rank"] for r in records], dtype=float)
    out = {
        "n_targets": n,
        "success_rate": float(np.mean(new < orig)),
        "top10_rate": float(np.mean(new <= 10)),
        "top50_rate": float(np.mean(new <= 50)),
        "avg_boosted_ranks": float(np.mean(orig - new)),
        "mean_original_rank": float(orig.mean()),
        "mean_new_rank": float(new.mean()),
        "perturbation_pct": _mean([r["perturbation_pct"] for r in records]),
        "semantic_similarity": _mean([r.get("similarity") for r in records]),
        "perplexity_original": _mean([r.get("perplexity_original") for r in records]),
        "perplexity_adversarial": _mean([r.get("perplexity") for r in records]),
        "victim_queries_mean": float(np.mean([r["victim_queries"] for r in records])),
        "seconds_per_target": float(np.mean([r["seconds"] for r in records])),
        "budget_violations": int(sum(1 for r in records if r.get("budget_violation"))),
        "errors": int(sum(1 for r in records if r.get("error"))),
    }
    flags = [r["flagged"] for r in records if r.get("flagged") is not None]
    if flags:
        out["flagged_rate"] = float(np.mean(flags))
    return out
