"""The compliance record: results.json mapped to what robustness reviewers ask for.

:func:`build_record` turns a results document (and optionally its gate outcome and file digest)
into one JSON-serialisable record with the sections a reviewer of EU AI Act Art. 15, NIST AI RMF
MEASURE 2.5 / 2.7 or ISO/IEC 24029-2 looks for (:data:`REQUIREMENTS` maps each to sections).
Every number in the record is copied from results.json; the only derived numbers are the
certification verdict counts per K and their shares (recountable from the per-query
certificates). The compliance page renders this record, and ``robustrank report --compliance
--json`` exports it; its layout is :mod:`robustrank.report.compliance_schema`.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from robustrank.report import compliance_tasks as tasks
from robustrank.report.compliance_schema import COMPLIANCE_RECORD_VERSION, ComplianceRecord

__all__ = ["NOT_DECLARED", "REQUIREMENTS", "build_record", "config_sha256"]

NOT_DECLARED = "not declared (model.yaml has no {key})"

REQUIREMENTS: tuple[dict[str, Any], ...] = (
    {"framework": "EU AI Act", "clause": "Art. 15(1), 15(3)",
     "asks": "an appropriate level of accuracy; the levels of accuracy and the relevant accuracy metrics declared",
     "sections": ["system_identity", "intended_use", "declared_effectiveness"]},
    {"framework": "EU AI Act", "clause": "Art. 15(4)",
     "asks": "resilience to errors, faults or inconsistencies of the inputs and the environment",
     "sections": ["natural_noise", "generalisation_limits"]},
    {"framework": "EU AI Act", "clause": "Art. 15(5)",
     "asks": "resilience against attempts to alter use or performance: adversarial examples / model evasion",
     "sections": ["adversarial", "certification"]},
    {"framework": "NIST AI RMF", "clause": "MEASURE 2.5",
     "asks": "validity and reliability demonstrated; limits of generalisability beyond the development conditions documented",
     "sections": ["declared_effectiveness", "generalisation_limits", "statistical_protocol", "limitations_and_residual_risk"]},
    {"framework": "NIST AI RMF", "clause": "MEASURE 2.7",
     "asks": "security and resilience evaluated and documented",
     "sections": ["natural_noise", "adversarial", "certification", "limitations_and_residual_risk"]},
    {"framework": "ISO/IEC 24029-2", "clause": "domain of use; formal verification outcomes",
     "asks": "the declared operating domain; per property a proof, a counterexample or an inconclusive result",
     "sections": ["intended_use", "certification"]},
    {"framework": "all", "clause": "record keeping",
     "asks": "decision, sign-off, re-evaluation triggers and reproducibility of the evidence",
     "sections": ["gate_decision", "reevaluation_triggers", "reproducibility"]},
)

TRIGGERS = (
    "The model weights change (any sha256 under system identity differs) or the model is fine-tuned or quantised.",
    "The retrieval pipeline changes: first stage, candidate depth, maximum input length, pooling or similarity.",
    "The evaluation or deployment data change (a collection sha256 differs) or the operating domain is widened.",
    "The release policy or the audit configuration changes (config sha256 differs).",
    "robustrank, torch or transformers is upgraded (see reproducibility).",
    "A new attack, threat model or synonym lexicon relevant to the deployment becomes known.",
    "Monitoring in operation shows effectiveness below the lower end of a declared interval.",
)


def config_sha256(results: dict[str, Any]) -> str:
    """sha256 of the recorded config as canonical JSON (sorted keys, no spaces, UTF-8)."""
    text = json.dumps(results.get("config") or {}, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _identity(results: dict[str, Any]) -> dict[str, Any]:
    r = results.get("ranker") or {}
    cfg = results.get("config") or {}
    cand = cfg.get("candidates") or {}
    bm = (results.get("baseline") or {}).get("bm25") or {}
    details = ", ".join(f"{k} {r[k]}" for k in ("pooling", "similarity", "max_length", "dtype", "device") if r.get(k) is not None)
    pipeline = (
        f"first stage {cand.get('source', '?')} (top {cand.get('depth', '?')} candidates) -> "
        f"{r.get('type', '?')} re-ranker {r.get('model') or r.get('name') or '?'}" + (f" ({details})" if details else "")
    )
    return {
        "model": r.get("model") or r.get("name"), "type": r.get("type"), "path": r.get("path"),
        "weights_sha256": dict((results.get("fingerprints") or {}).get("model") or {}),
        "pipeline": pipeline,
        "baseline": f"BM25 {bm.get('implementation')} (k1={bm.get('k1')}, b={bm.get('b')})" if bm else None,
    }


def _intended_use(results: dict[str, Any]) -> dict[str, Any]:
    cfg = results.get("config") or {}
    use, domain = cfg.get("intended_use"), cfg.get("operating_domain")
    ind = ((cfg.get("datasets") or {}).get("in_domain") or {}).get("name")
    evaluated = []
    for name, d in (results.get("datasets") or {}).items():
        evaluated.append({"collection": name, "role": "in-domain" if name == ind else "out-of-domain (T3)",
                          "documents": d.get("documents"), "judged_queries": d.get("judged_queries")})
    return {
        "declared": bool(use or domain),
        "intended_use": use if use else NOT_DECLARED.format(key="intended_use"),
        "operating_domain": domain if domain else NOT_DECLARED.format(key="operating_domain"),
        "evaluated_on": evaluated,
    }


def _protocol(results: dict[str, Any], sizes: list[dict[str, Any]]) -> dict[str, Any]:
    cfg_tasks = (results.get("config") or {}).get("tasks") or {}
    settings = {
        key: {k: v for k, v in opts.items() if isinstance(v, (int, float, str, bool)) and k != "enabled"}
        for key, opts in cfg_tasks.items() if isinstance(opts, dict)
    }
    present = {k for k, t in (results.get("tasks") or {}).items() if t.get("status") == "ok"}
    tests = []
    if "t1" in present:
        tests.append("t1: bootstrap percentile intervals of per-query means; paired t-test and Wilcoxon signed-rank, neural vs BM25 on the same queries")
    if "t2" in present:
        corr = (tasks.task_status(results, "t2")[1] or {}).get("correction") or {}
        tests.append(f"t2: {corr.get('test', 'paired tests')} per variation and measure, corrected ({corr.get('method', 'not recorded')})")
    if "t3" in present:
        tests.append("t3: bootstrap intervals of each collection's mean and of the robustness gap to BM25")
    if "t4" in present:
        tests.append("t4: success rates over attacked targets with binomial intervals where recorded")
    if "certify" in present:
        cert = tasks.task_status(results, "certify")[1] or {}
        tests.append(f"certify: {cert.get('procedure', '?')} Monte Carlo certificates, bound {cert.get('bound', 'not recorded')}")
    corrections = []
    t2 = tasks.task_status(results, "t2")[1]
    if t2 and t2.get("correction"):
        corrections.append({"task": "t2", **t2["correction"]})
    return {"seed": results.get("seed"), "sample_sizes": sizes, "tests": tests, "corrections": corrections, "settings": settings}


def _gate(gate: Any) -> dict[str, Any]:
    sign = [{"role": "reviewer", "name": None, "date": None}, {"role": "approver", "name": None, "date": None}]
    if gate is None:
        return {"outcome": "no policy", "counts": {}, "conditions": [], "sign_off": sign}
    conds = [{"check": c.check, "name": c.name, "severity": c.severity, "outcome": c.outcome,
              "value": c.value if isinstance(c.value, (int, float, str, bool)) or c.value is None else str(c.value),
              "message": c.message} for c in gate.conditions]
    return {"outcome": gate.outcome, "counts": dict(gate.counts), "conditions": conds, "sign_off": sign}


def _fmt_ci(ci: Any) -> str:
    return f" [{ci[0]:.3f}, {ci[1]:.3f}]" if ci and None not in ci else ""


def _residual(results: dict[str, Any], adv: dict[str, Any], cert: dict[str, Any], gate: dict[str, Any]) -> list[str]:
    out = [f"Gate condition {c['name']} is {c['outcome']}: {c['message']}" for c in gate["conditions"] if c["outcome"] != "PASS"]
    for row in adv["rows"]:
        ci, rate = row["success_rate_ci"], row["success_rate"]
        shown = (ci[0] if ci and ci[0] is not None else rate) or 0
        if row["status"] == "ok" and shown > 0:
            out.append(f"Model evasion demonstrated: {row['attack']} on {row['system']} succeeded on {rate:.3f}{_fmt_ci(ci)} of {row['n_targets']} targets.")
    for row in cert["rows"]:
        if row["inconclusive_share"]:
            out.append(f"Certification at K={row['k']}: {row['inconclusive']} of {row['n']} queries inconclusive (neither certified nor broken).")
        if row["soundness_alarm"]:
            out.append(f"Certification at K={row['k']}: {row['soundness_alarm']} soundness alarms (certified and broken).")
    for key, t in (results.get("tasks") or {}).items():
        if t.get("status") != "ok":
            out.append(f"Task {key} did not finish ({t.get('status')}): no evidence for its requirements.")
    return out


def _reproducibility(results: dict[str, Any], digest: str | None) -> dict[str, Any]:
    env = results.get("environment") or {}
    lex = results.get("lexicon")
    return {
        "robustrank_version": results.get("robustrank_version"), "results_schema_version": results.get("schema_version"),
        "results_sha256": digest, "config_path": results.get("config_path"), "config_sha256": config_sha256(results),
        "config_fingerprint": (results.get("checkpoint") or {}).get("fingerprint"), "seed": results.get("seed"),
        "python": env.get("python"), "platform": env.get("platform"), "packages": dict(env.get("packages") or {}),
        "plugins": dict(results.get("plugins") or {}),
        "model_sha256": dict((results.get("fingerprints") or {}).get("model") or {}),
        "data_sha256": {k: dict(v) for k, v in ((results.get("fingerprints") or {}).get("datasets") or {}).items()},
        "lexicon": {k: lex.get(k) for k in ("name", "version", "sha256")} if isinstance(lex, dict) else None,
    }


def build_record(results: dict[str, Any], gate: Any = None, *, digest: str | None = None, sizes: list[dict[str, Any]] | None = None, limitations: list[str] | None = None) -> dict[str, Any]:
    """The compliance record of a results document.

    Args:
        results: The parsed results.json.
        gate: Its :class:`robustrank.gate.GateResult` (None: no policy).
        digest: sha256 of the results file (None when rendered without the file).
        sizes: Sample sizes per task (default: :func:`robustrank.report.view.sample_sizes`).
        limitations: Known limitations (default: :func:`robustrank.report.view.known_limitations`).

    Returns:
        A JSON-serialisable dict valid against :func:`robustrank.report.compliance_schema.compliance_json_schema`.
    """
    from robustrank.report import view

    sizes = view.sample_sizes(results) if sizes is None else sizes
    limitations = view.known_limitations(results) if limitations is None else limitations
    adv, cert, gate_rec = tasks.adversarial(results), tasks.certification(results), _gate(gate)
    record = {
        "record_version": COMPLIANCE_RECORD_VERSION,
        "audit": str(results.get("name", "?")),
        "generated_by": f"robustrank {results.get('robustrank_version', '?')}",
        "run": {"started_at": results.get("started_at"), "finished_at": results.get("finished_at"), "results_sha256": digest},
        "requirements": [dict(r) for r in REQUIREMENTS],
        "sections": {
            "system_identity": _identity(results),
            "intended_use": _intended_use(results),
            "declared_effectiveness": tasks.effectiveness(results),
            "generalisation_limits": tasks.generalisation(results),
            "natural_noise": tasks.natural_noise(results),
            "adversarial": adv,
            "certification": cert,
            "statistical_protocol": _protocol(results, [dict(s) for s in sizes]),
            "gate_decision": gate_rec,
            "reevaluation_triggers": list(TRIGGERS),
            "limitations_and_residual_risk": {"known_limitations": list(limitations), "residual_risk": _residual(results, adv, cert, gate_rec)},
            "reproducibility": _reproducibility(results, digest),
        },
    }
    ComplianceRecord.model_validate(record)
    return record
