"""The attack ensemble: per target, the strongest outcome over a portfolio of attacks.

Robust-accuracy practice in adversarial ML (AutoAttack, Croce & Hein, ICML 2020) reports the
per-example worst case over a portfolio of attacks run under one budget. T4's ensemble does the
same for ranking: for each target ``(query_id, doc_id)`` of a system, among the member attacks
that ran on it, the outcome with the best (lowest) new rank wins (ties: the member listed
first). The ensemble's success, top-10 and top-50 rates are therefore at least every member's
by construction, and its mean boost at least every member's whenever the members measured the
same original rank (always, for a deterministic victim; ``original_rank_disagreements`` counts
the targets where they did not). Every member respects the per-target budget on its own; the
ensemble's cost is the sum of its members' (recorded as ``victim_queries_mean``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from robustrank.adversarial.runner import aggregate
from robustrank.adversarial.uncertainty import add_intervals

__all__ = ["ensemble_outcomes", "run_ensemble"]


def ensemble_outcomes(records: Mapping[str, Sequence[Mapping[str, Any]]]) -> list[dict[str, Any]]:
    """Per-target strongest outcome over member attacks (``records``: member key -> its records).

    Returns:
        One record per target attacked by at least one member, in first-seen order: the
        winner's measured fields (ranks, words, similarity, perplexity) plus ``winner``,
        ``tied_with`` (other members reaching the same new rank), ``member_new_ranks``,
        ``members`` (that attacked it) and the summed ``victim_queries`` / ``seconds``.
    """
    by_target: dict[tuple[str, str], dict[str, Mapping[str, Any]]] = {}
    for key, recs in records.items():
        for r in recs:
            by_target.setdefault((r["query_id"], r["doc_id"]), {})[key] = r
    out = []
    for outcomes in by_target.values():
        order = list(outcomes)  # member order of ``records``
        best = min(order, key=lambda k: (outcomes[k]["new_rank"], order.index(k)))
        w = outcomes[best]
        rec = {k: w.get(k) for k in ("query_id", "query", "doc_id", "list_rank", "original_rank", "new_rank", "words", "words_changed",
                                     "word_limit", "perturbation_pct", "similarity", "perplexity", "perplexity_original")}
        rec["success"] = rec["new_rank"] < rec["original_rank"]
        rec["winner"] = best
        rec["tied_with"] = [k for k in order if k != best and outcomes[k]["new_rank"] == w["new_rank"]]
        rec["member_new_ranks"] = {k: outcomes[k]["new_rank"] for k in order}
        rec["members"] = order
        rec["victim_queries"] = int(sum(outcomes[k]["victim_queries"] for k in order))
        rec["seconds"] = float(sum(outcomes[k]["seconds"] for k in order))
        rec["original_rank_disagreement"] = len({outcomes[k]["original_rank"] for k in order}) > 1
        if w.get("flagged") is not None:
            rec["flagged"] = w["flagged"]
        out.append(rec)
    return out


def run_ensemble(members: Mapping[str, Mapping[str, Any]], system: str, *, seed: int) -> dict[str, Any]:
    """The ensemble over ``members`` (attack key -> its T4 entry) on one system.

    Members whose run on ``system`` is not ``ok`` are left out (listed under ``excluded``).

    Returns:
        ``{status, members, excluded, threat_models, metrics, wins, targets}``; ``status`` is
        ``not_applicable`` when no member ran on the system.
    """
    ok = {k: e["systems"][system] for k, e in members.items() if e["systems"].get(system, {}).get("status") == "ok"}
    excluded = {k: e["systems"].get(system, {}).get("status", "absent") for k, e in members.items() if k not in ok}
    if not ok:
        return {"status": "not_applicable", "reason": "no member attack ran on this system", "excluded": excluded}
    targets = ensemble_outcomes({k: v["targets"] for k, v in ok.items()})
    metrics = add_intervals(aggregate(targets), targets, seed=seed)
    metrics["original_rank_disagreements"] = int(sum(t["original_rank_disagreement"] for t in targets))
    wins = {k: 0 for k in ok}
    for t in targets:
        if t["success"]:
            wins[t["winner"]] += 1
    return {
        "status": "ok",
        "members": list(ok),
        "excluded": excluded,
        "threat_models": {k: (v.get("threat_model") or {}).get("ran_under") for k, v in ok.items()},
        "metrics": metrics,
        "wins": wins,
        "targets": targets,
    }
