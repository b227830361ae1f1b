"""certify: join the certificates with T4's adversarial documents — a verdict per (query, K).

See :mod:`robustrank.certify.verdict` for the verdicts and the threat-model check. This module
does the task's part: it reads T4's result (``ctx.result_of("t4")``), keeps the adversarial
documents that lie inside the certificate's threat model, scores their *smoothed* copies with
betting bounds and records, per query and K, certified / broken / inconclusive /
soundness_alarm.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from robustrank.certify import CertifySettings, Smoother, SynonymSets
from robustrank.certify.verdict import check_threat_model, combine_verdicts, smoothed_bounds_for_text, t4_counterexamples, verdict_metrics

__all__ = ["DEFINITION", "join_verdicts"]

log = logging.getLogger(__name__)

DEFINITION = (
    "certified: the certificate holds; broken: a t4 adversarial document inside the threat model (lexicon synonym substitutions "
    "of the certificate's graph, within t4's word budget) enters the smoothed top K (its lower confidence bound exceeds the K-th "
    "highest upper bound of the other candidates); inconclusive: neither; soundness_alarm: both"
)


def _screen(t4: Mapping[str, Any] | None, by_query: Mapping[str, dict[str, Any]], sets: SynonymSets) -> tuple[list[dict[str, Any]], dict[str, list]]:
    """Every t4 record with its outcome, and the in-threat-model ones grouped by query."""
    checked: list[dict[str, Any]] = []
    inside: dict[str, list[tuple[str, str, dict[str, Any], dict[str, Any]]]] = {}
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
            if check.inside:
                entry["outcome"] = "inside_threat_model"
                inside.setdefault(q["query_id"], []).append((key, rec["adversarial_text"], entry, q))
            else:
                entry["outcome"] = f"outside_threat_model:{check.reason}"
        checked.append(entry)
    return checked, inside


def _thresholds(q: dict[str, Any], idx: int, keys: Sequence[str]) -> tuple[int, dict[str, float]]:
    """Smoothed rank of candidate ``idx`` and, per K it is outside of, the K-th highest upper bound of the others."""
    docs = q["documents"]
    smoothed = np.array([d["smoothed"] for d in docs])
    rank = int(np.argsort(-smoothed, kind="stable").tolist().index(idx)) + 1
    others = np.sort([d["high"] for j, d in enumerate(docs) if j != idx])[::-1]
    return rank, {k: float(others[int(k) - 1]) for k in keys if rank > int(k) and int(k) <= len(others)}


def join_verdicts(
    ctx: Any,
    records: list[dict[str, Any]],
    query_texts: Mapping[str, str],
    k_values: Sequence[int],
    alpha: float,
    sets: SynonymSets,
    smoother: Smoother,
    scorer: Callable[[Sequence[tuple[str, str]]], np.ndarray],
    settings: CertifySettings,
) -> dict[str, Any]:
    """A verdict per (query, K); sets ``record["verdict"]`` on every certificate record.

    Args:
        ctx: The task context (``result_of("t4")``, ``rng``).
        records: The certificate records (``query_id``, ``doc_ids``, ``documents``, ``certified``).
        query_texts: Query text per query id.
        k_values: The K values.
        alpha: Level split over one query's in-threat-model adversarial documents.
        sets, smoother, scorer, settings: Those of the certificates (same threat model, map and bounds).

    Returns:
        The ``verdict`` record: source, counts (``verdict.<v>@K``), soundness alarms, every t4
        record with its outcome, and the definition.
    """
    t4 = ctx.result_of("t4")
    by_query = {r["query_id"]: r for r in records}
    keys = [str(k) for k in k_values]
    broken: dict[str, dict[str, bool]] = {q: {} for q in by_query}
    checked, inside = _screen(t4, by_query, sets)
    for qid, items in inside.items():
        delta = alpha / len(items)
        for key, adv, entry, q in items:
            rank, thresholds = _thresholds(q, q["doc_ids"].index(entry["doc_id"]), keys)
            if not thresholds:
                entry["outcome"] = "already_in_top_k"
                continue
            query_text = query_texts[qid]
            prepared = smoother.prepare(adv)
            rng = ctx.rng("certify", "verdict", key, qid, entry["doc_id"])
            exact = smoother.enumerate(prepared, settings.enumeration_limit)
            exact_scores = np.asarray(scorer([(query_text, c) for c in exact])) if exact is not None else None
            bounds = smoothed_bounds_for_text(
                lambda n, prepared=prepared, rng=rng, query_text=query_text: np.asarray(scorer([(query_text, c) for c in smoother.sample(prepared, n, rng)])),
                exact_scores, delta, thresholds, settings.n_min, settings.n_max, settings.ratio,
            )
            entry["smoothed_adversarial"] = {**bounds, "delta": delta, "thresholds": thresholds}
            entry["smoothed_rank_of_original"] = rank
            entry["enters_top_k"] = {k: bool(bounds["low"] > t) for k, t in thresholds.items()}
            for k, hit in entry["enters_top_k"].items():
                broken[qid][k] = broken[qid].get(k, False) or hit
    for qid, r in by_query.items():
        r["verdict"] = combine_verdicts(r["certified"], broken[qid])
    alarms = [(q, k) for q, r in by_query.items() for k, x in r["verdict"].items() if x == "soundness_alarm"]
    for q, k in alarms:
        log.error("certify: SOUNDNESS ALARM - query %s is certified at K=%s but t4 found an in-threat-model counterexample that enters the smoothed top %s", q, k, k)
    return {
        "source": "t4" if t4 else "none (t4 did not run: no counterexamples were searched)",
        "counts": verdict_metrics([r["verdict"] for r in by_query.values()], k_values),
        "soundness_alarms": [{"query_id": q, "k": int(k)} for q, k in alarms],
        "t4_records": checked,
        "definition": DEFINITION,
    }
