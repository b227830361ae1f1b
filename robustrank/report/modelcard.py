"""A Hugging Face model-card fragment from results.json, so the audit can travel with the model.

:func:`model_card` returns YAML front matter with a ``model-index`` (the Hub's structured
evaluation results: per result a ``task``, a ``dataset`` and ``metrics`` with ``type``, ``value``,
``name``; see the Hub's model-card documentation) followed by a Markdown robustness section
(T1-T4, certification, gate verdict, with intervals). Values in the ``model-index`` are the
unrounded numbers of results.json; the Markdown rounds to three decimals. Every metric is
``verified: false`` (self-reported by the audit, not by the Hub).
"""

from __future__ import annotations

import re
from typing import Any

import yaml

from robustrank.report import compliance_tasks as tasks

__all__ = ["metric_type", "model_card", "model_index"]

TASK = {"type": "text-ranking", "name": "Text Ranking (re-ranking)"}


def metric_type(*parts: str) -> str:
    """A metric identifier for the model-index: ``nDCG@10`` -> ``ndcg_at_10``; parts joined by ``_``."""
    text = "_".join(p for p in parts if p)
    return re.sub(r"[^a-z0-9]+", "_", text.replace("@", "_at_").lower()).strip("_")


def _num(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _result(dataset: str, metrics: list[dict[str, Any]], task_name: str = TASK["name"]) -> dict[str, Any] | None:
    metrics = [m for m in metrics if _num(m["value"])]
    if not metrics:
        return None
    return {"task": {"type": TASK["type"], "name": task_name}, "dataset": {"type": dataset, "name": dataset, "split": "test"},
            "metrics": [{**m, "verified": False} for m in metrics]}


def model_index(results: dict[str, Any]) -> list[dict[str, Any]]:
    """The ``model-index`` list (one model) of a results document."""
    out: list[dict[str, Any] | None] = []
    eff = tasks.effectiveness(results)
    if eff["status"] == "ok":
        out.append(_result(str(eff.get("dataset")), [
            {"type": metric_type(r["measure"]), "value": r["mean"], "name": f"{r['measure']} (n={r['n']})"}
            for r in eff["rows"] if r["system"] == "neural"]))
    gen = tasks.generalisation(results)
    for name in dict.fromkeys(r["dataset"] for r in gen["rows"] if r["status"] == "ok"):
        out.append(_result(name, [
            {"type": metric_type(r["measure"]), "value": r["neural_mean"], "name": f"{r['measure']} (out-of-domain, n={r['n']})"}
            for r in gen["rows"] if r["dataset"] == name and r["status"] == "ok"]))
    noise = tasks.natural_noise(results)
    if noise["status"] == "ok":
        out.append(_result(str(noise.get("dataset")), [
            {"type": metric_type(r["measure"], "relative_drop", r["variation"]), "value": r["relative_drop"],
             "name": f"{r['measure']} relative drop under {r['variation']} queries"}
            for r in noise["rows"]], "Robustness to query variations"))
    adv = tasks.adversarial(results)
    if adv["status"] == "ok":
        out.append(_result(str((results.get("tasks") or {}).get("t4", {}).get("result", {}).get("dataset")), [
            {"type": metric_type("attack_success_rate", r["attack"]), "value": r["success_rate"],
             "name": f"{r['attack']} attack success rate (n={r['n_targets']} targets)"}
            for r in adv["rows"] if r["system"] == "neural" and r["status"] == "ok"], "Adversarial robustness"))
    cert = tasks.certification(results)
    if cert["status"] == "ok":
        out.append(_result(str(cert.get("dataset")), [
            {"type": metric_type(f"crq@{r['k']}"), "value": r["crq"], "name": f"certified robust queries at K={r['k']} (alpha={cert['alpha']})"}
            for r in cert["rows"]], "Certified robustness"))
    model = (results.get("ranker") or {}).get("model") or results.get("name") or "model"
    return [{"name": str(model), "results": [r for r in out if r]}]


def _f(v: Any, pct: bool = False) -> str:
    if not _num(v):
        return "–"
    return f"{v * 100:.1f}%" if pct else f"{v:.3f}"


def _ci(ci: Any, pct: bool = False) -> str:
    return f" [{_f(ci[0], pct)}, {_f(ci[1], pct)}]" if ci and None not in ci else ""


def _markdown(results: dict[str, Any], gate: Any) -> str:
    lines = [f"## Robustness audit (robustrank {results.get('robustrank_version', '?')})", "",
             f"Audit `{results.get('name')}`, seed {results.get('seed')}, finished {results.get('finished_at')}. "
             "Means with bootstrap intervals; BM25 is the reference.", ""]
    if gate is not None:
        c = gate.counts
        lines += [f"**Release gate: {gate.outcome}** ({c['PASS']} pass, {c['WARN']} warn, {c['FAIL']} fail, {c['ERROR']} error)", ""]
        lines += [f"- {x.outcome} `{x.check}` ({x.severity}): {x.message}" for x in gate.conditions] + [""]
    else:
        lines += ["Release gate: no policy in this audit.", ""]
    eff = tasks.effectiveness(results)
    lines += ["### T1: effectiveness", ""]
    if eff["status"] == "ok":
        lines += [f"{eff['dataset']}, {eff['n_queries']} queries.", "", "| measure | neural [CI] | BM25 [CI] |", "|---|---|---|"]
        by = {(r["measure"], r["system"]): r for r in eff["rows"]}
        for m in dict.fromkeys(r["measure"] for r in eff["rows"]):
            n, b = by[(m, "neural")], by[(m, "bm25")]
            lines.append(f"| {m} | {_f(n['mean'])}{_ci(n['ci'])} | {_f(b['mean'])}{_ci(b['ci'])} |")
    else:
        lines.append(f"T1 {eff['status']}.")
    noise = tasks.natural_noise(results)
    lines += ["", "### T2: query variations", ""]
    if noise["status"] == "ok":
        lines += [f"{noise['dataset']}, {noise['n_queries']} queries; drop = original - varied.", "",
                  "| variation | measure | drop [CI] | relative drop | BM25 relative drop |", "|---|---|---|---|---|"]
        lines += [f"| {r['variation']} | {r['measure']} | {_f(r['drop'])}{_ci(r['drop_ci'])} | {_f(r['relative_drop'])} | {_f(r['bm25_relative_drop'])} |" for r in noise["rows"]]
    else:
        lines.append(f"T2 {noise['status']}.")
    gen = tasks.generalisation(results)
    lines += ["", "### T3: unseen domains", ""]
    if gen["status"] == "ok":
        lines += ["| collection | measure | neural [CI] | gap to BM25's drop [CI] |", "|---|---|---|---|"]
        lines += [f"| {r['dataset']} | {r['measure']} | {_f(r['neural_mean'])}{_ci(r['neural_ci'])} | {_f(r['gap'])}{_ci(r['gap_ci'])} |"
                  for r in gen["rows"] if r["status"] == "ok"]
    else:
        lines.append(f"T3 {gen['status']}.")
    adv = tasks.adversarial(results)
    lines += ["", "### T4: adversarial attacks", ""]
    if adv["status"] == "ok":
        b = adv.get("budget") or {}
        lines += [f"Budget: {b.get('max_words')} words per document, {b.get('max_victim_queries')} victim queries per target.", "",
                  "| attack | system | success rate [CI] | targets |", "|---|---|---|---|"]
        lines += [f"| {r['attack']} | {r['system']} | {_f(r['success_rate'], True)}{_ci(r['success_rate_ci'], True)} | {r['n_targets'] if r['n_targets'] is not None else '–'} |"
                  for r in adv["rows"] if r["status"] == "ok"]
    else:
        lines.append(f"T4 {adv['status']}.")
    cert = tasks.certification(results)
    lines += ["", "### Certification", ""]
    if cert["status"] == "ok":
        lines += [cert["statement"], "", "| K | CRQ@K [CI] | certified | inconclusive | n |", "|---|---|---|---|---|"]
        lines += [f"| {r['k']} | {_f(r['crq'])}{_ci(r['crq_ci'])} | {r['proof']} | {r['inconclusive']} | {r['n']} |" for r in cert["rows"]]
    else:
        lines.append(f"Certification {cert['status']}.")
    return "\n".join(lines) + "\n"


def model_card(results: dict[str, Any], gate: Any = None) -> str:
    """The model-card fragment: ``---`` YAML front matter with ``model-index`` ``---``, then Markdown."""
    front = yaml.safe_dump({"model-index": model_index(results)}, sort_keys=False, allow_unicode=True)
    return f"---\n{front}---\n\n{_markdown(results, gate)}"
