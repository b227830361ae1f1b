"""The per-task sections of the compliance record (see :mod:`robustrank.report.compliance`).

Each builder reads one task's result from results.json and returns a plain JSON section; it
copies numbers, never computes new estimates. The only derived numbers are counts of per-query
certification verdicts and their shares (the count divided by the number of certified queries),
which a reader can recount from ``tasks.certify.result.queries``.
"""

from __future__ import annotations

from typing import Any

__all__ = ["adversarial", "certification", "effectiveness", "generalisation", "natural_noise", "task_status"]

PROBABILISTIC = (
    "Randomized-smoothing certificates are probabilistic: each holds for the smoothed ranker with probability at "
    "least 1 - alpha over the Monte Carlo sampling (alpha = {alpha}); they are statements about the smoothed ranker, "
    "not a deterministic proof for the deployed (unsmoothed) model."
)


def task_status(results: dict[str, Any], key: str) -> tuple[str, dict[str, Any] | None, str | None]:
    """(status, result, note) of a task: ``not run`` when the audit had no such task."""
    task = (results.get("tasks") or {}).get(key)
    if not task:
        return "not run", None, "the task was not enabled in this audit"
    status = str(task.get("status", "?"))
    note = task.get("error") or task.get("reason")
    return status, (task.get("result") if status == "ok" else None), note


def _ci(d: dict[str, Any], low: str = "ci_low", high: str = "ci_high") -> list[Any] | None:
    lo, hi = d.get(low), d.get(high)
    return None if lo is None and hi is None else [lo, hi]


def effectiveness(results: dict[str, Any]) -> dict[str, Any]:
    """Declared effectiveness: T1's per-measure means with bootstrap intervals, neural and BM25."""
    status, res, note = task_status(results, "t1")
    out: dict[str, Any] = {"task": "t1", "status": status, "note": note, "source": "$.tasks.t1.result.measures", "rows": []}
    if res is None:
        return out
    out["dataset"] = res.get("dataset")
    out["n_queries"] = res.get("n_queries")
    for measure, m in (res.get("measures") or {}).items():
        for system in ("neural", "bm25"):
            s = m.get(system) or {}
            out["rows"].append({
                "measure": measure, "system": system, "n": s.get("n"), "mean": s.get("mean"),
                "ci": _ci(s), "confidence": s.get("confidence"), "p_value": None,
            })
        c = m.get("comparison") or {}
        out["rows"].append({
            "measure": measure, "system": "neural - bm25", "n": c.get("n"), "mean": c.get("mean_diff"),
            "ci": _ci(c, "diff_ci_low", "diff_ci_high"), "confidence": (m.get("neural") or {}).get("confidence"),
            "p_value": c.get("t_pvalue"),
        })
    return out


def generalisation(results: dict[str, Any]) -> dict[str, Any]:
    """Generalisation limits: T3's out-of-domain collections with the gap to BM25's relative drop."""
    status, res, note = task_status(results, "t3")
    out: dict[str, Any] = {"task": "t3", "status": status, "note": note, "source": "$.tasks.t3.result.domains", "rows": []}
    if res is None:
        return out
    out["in_domain"] = (res.get("in_domain") or {}).get("dataset")
    for name, d in (res.get("domains") or {}).items():
        if d.get("status") != "ok":
            out["rows"].append({"dataset": name, "status": d.get("status"), "note": d.get("error") or d.get("reason")})
            continue
        for measure, m in (d.get("measures") or {}).items():
            neural, shift = m.get("neural") or {}, m.get("shift") or {}
            out["rows"].append({
                "dataset": name, "status": "ok", "measure": measure, "n": neural.get("n"),
                "neural_mean": neural.get("mean"), "neural_ci": _ci(neural),
                "neural_relative_drop": shift.get("neural_relative_drop"), "bm25_relative_drop": shift.get("bm25_relative_drop"),
                "gap": shift.get("gap"), "gap_ci": _ci(shift, "gap_ci_low", "gap_ci_high"),
            })
    return out


def natural_noise(results: dict[str, Any]) -> dict[str, Any]:
    """Robustness to natural noise: T2's query variations (drop with interval, corrected p)."""
    status, res, note = task_status(results, "t2")
    out: dict[str, Any] = {"task": "t2", "status": status, "note": note, "source": "$.tasks.t2.result.variations", "rows": []}
    if res is None:
        return out
    out["dataset"] = res.get("dataset")
    out["n_queries"] = res.get("n_queries")
    out["correction"] = res.get("correction")
    for name, v in (res.get("variations") or {}).items():
        for measure, m in (v.get("measures") or {}).items():
            neural, bm25 = m.get("neural") or {}, m.get("bm25") or {}
            out["rows"].append({
                "variation": name, "rate": v.get("rate"), "measure": measure, "n": neural.get("n"),
                "drop": neural.get("drop"), "drop_ci": _ci(neural, "drop_ci_low", "drop_ci_high"),
                "relative_drop": neural.get("relative_drop"), "p_corrected": neural.get("p_corrected"),
                "significant": neural.get("significant"), "bm25_relative_drop": bm25.get("relative_drop"),
            })
    return out


def adversarial(results: dict[str, Any]) -> dict[str, Any]:
    """Threat models, budgets and adversarial results (T4): success rate with interval per attack and system."""
    status, res, note = task_status(results, "t4")
    out: dict[str, Any] = {"task": "t4", "status": status, "note": note, "source": "$.tasks.t4.result.attacks", "rows": []}
    if res is None:
        return out
    out["budget"] = res.get("budget")
    out["target_protocol"] = res.get("target_protocol")
    tm = res.get("threat_model") or {}
    out["threat_model"] = {
        "requested": "white-box" if tm.get("white_box") else "black-box",
        "oracle": "scores" if tm.get("expose_scores", True) else "ranks only",
    }
    for key, a in (res.get("attacks") or {}).items():
        for system, s in (a.get("systems") or {}).items():
            mm = s.get("metrics") or {}
            tms = s.get("threat_model") or {}
            out["rows"].append({
                "attack": key, "system": system, "status": s.get("status"),
                "threat_model": tms.get("ran_under") or tms.get("note") or s.get("reason"),
                "n_targets": mm.get("n_targets"), "success_rate": mm.get("success_rate"),
                "success_rate_ci": _ci(mm, "success_rate_ci_low", "success_rate_ci_high"),
                "top10_rate": mm.get("top10_rate"),
            })
    inj = res.get("injection") or {}
    out["injection"] = {system: s.get("share_queries_with_injected_in_top10") for system, s in (inj.get("systems") or {}).items()} or None
    return out


def _verdict_counts(res: dict[str, Any], k: str) -> dict[str, int | None]:
    """Per-K counts of certified / broken / inconclusive / soundness_alarm queries.

    From ``result.verdict.counts`` when the certificates were joined with T4's counterexamples;
    otherwise recounted from the per-query certificates, with ``broken`` unknown (None: no
    counterexample search) and every uncertified query inconclusive.
    """
    counts = (res.get("verdict") or {}).get("counts")
    if isinstance(counts, dict) and f"verdict.certified@{k}" in counts:
        return {v: int(counts.get(f"verdict.{v}@{k}", 0)) for v in ("certified", "broken", "inconclusive", "soundness_alarm")}
    queries = res.get("queries") or []
    certified = sum(1 for q in queries if (q.get("certified") or {}).get(k))
    return {"certified": certified, "broken": None, "inconclusive": len(queries) - certified, "soundness_alarm": None}


def certification(results: dict[str, Any]) -> dict[str, Any]:
    """Certification: CRQ@K with interval, and the ISO/IEC 24029-2 outcome counts per K."""
    status, res, note = task_status(results, "certify")
    out: dict[str, Any] = {"task": "certify", "status": status, "note": note, "source": "$.tasks.certify.result", "rows": []}
    if res is None:
        return out
    alpha = res.get("alpha")
    out.update({
        "dataset": res.get("dataset"), "alpha": alpha, "procedure": res.get("procedure"), "bound": res.get("bound"),
        "n_queries": res.get("n_queries"), "candidates_per_query": res.get("candidates_per_query"),
        "counterexample_search": (res.get("verdict") or {}).get("source") or "not recorded (no verdicts in this results file)",
        "statement": PROBABILISTIC.format(alpha=alpha),
    })
    n = len(res.get("queries") or [])
    intervals = res.get("crq_interval") or {}
    for k, crq in (res.get("crq") or {}).items():
        counts = _verdict_counts(res, str(k))
        ci = intervals.get(str(k))
        out["rows"].append({
            "k": int(k), "crq": crq, "crq_ci": list(ci) if ci else None, "n": n,
            "proof": counts["certified"], "counterexample": counts["broken"], "inconclusive": counts["inconclusive"],
            "soundness_alarm": counts["soundness_alarm"],
            "inconclusive_share": counts["inconclusive"] / n if n else None,
        })
    return out
