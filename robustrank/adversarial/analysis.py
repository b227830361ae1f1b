"""After every attack ran: paired and unpaired comparisons, the ensembles, and the flat metric keys.

Metric keys follow T4's style ``<attack>.<system prefix>
<name>``: no prefix for the audited ranker, ``bm25_`` for BM25, ``<system>.`` for a defended
ranker. Every rate and the mean boost also get ``.ci_low`` / ``.ci_high`` keys, e.g.
``t4.prada_wu_2023.success_rate.ci_low`` or ``t4.ensemble.bm25_top10_rate.ci_high``.

Ensembles (:mod:`robustrank.adversarial.ensemble`): ``ensemble`` over the configured members
(default: every attack); when the members ran under different threat models on a system,
``ensemble_black_box`` keeps only the black-box members there, so the realistic threat and the
worst case are reported side by side.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from robustrank.adversarial.ensemble import run_ensemble
from robustrank.adversarial.uncertainty import compare_attacks, compare_systems
from robustrank.results import MetricKey

__all__ = ["METRICS", "analyse", "flat_metrics", "metric_key"]

METRICS = ("success_rate", "top10_rate", "top50_rate", "avg_boosted_ranks", "perturbation_pct", "semantic_similarity", "victim_queries_mean", "flagged_rate")
_WITH_CI = ("success_rate", "top10_rate", "top50_rate", "avg_boosted_ranks", "flagged_rate")


def metric_key(task: str, key: str, system: str, name: str) -> MetricKey:
    """Key of ``name`` for ``system``: ``<task>.<key>.<name>`` for the audited ranker,
    ``<task>.<key>.bm25_<name>`` for BM25, ``<task>.<key>.<system>.<name>`` for a defended system."""
    parts = (name,) if system == "neural" else ((f"bm25_{name}",) if system == "bm25" else (system, name))
    return MetricKey.of(task, key, *parts)


def flat_metrics(task: str, key: str, system: str, metrics: Mapping[str, Any]) -> dict[str, Any]:
    """The gate keys of one (attack or ensemble, system) result: values and their intervals."""
    out: dict[str, Any] = {}
    for name in METRICS:
        if metrics.get(name) is None:
            continue
        k = metric_key(task, key, system, name)
        out[str(k)] = metrics[name]
        if name in _WITH_CI:
            for side in ("ci_low", "ci_high"):
                if metrics.get(f"{name}_{side}") is not None:
                    out[str(k.child(side))] = metrics[f"{name}_{side}"]
    return out


def _ok_records(entry: Mapping[str, Any], system: str) -> list[dict[str, Any]] | None:
    res = entry["systems"].get(system, {})
    return res.get("targets") if res.get("status") == "ok" else None


def analyse(task: str, attacks: Mapping[str, Mapping[str, Any]], systems: list[str], ensemble_cfg: Any, seed: Callable[..., int]) -> dict[str, Any]:
    """Comparisons and ensembles of one T4 run.

    Args:
        task: The task key the metric keys start with (``t4``).
        attacks: attack key -> its T4 entry (``systems.<name>`` = status, metrics, targets).
        systems: Attacked system names.
        ensemble_cfg: The ``ensemble`` options.
        seed: ``(*parts) -> int`` seed stream of the audit (bootstrap of the ensemble's boost).

    Returns:
        ``{"comparisons": {"between_attacks": {system: ...}, "between_systems": {attack: ...}},
        "ensembles": {name: {system: ...}}, "metrics": {flat keys}}``.
    """
    between_attacks = {}
    for s in systems:
        recs = {k: r for k, e in attacks.items() if (r := _ok_records(e, s))}
        if len(recs) >= 2:
            between_attacks[s] = compare_attacks(recs)
    between_systems = {}
    for k, e in attacks.items():
        recs = {s: r for s in systems if (r := _ok_records(e, s))}
        if len(recs) >= 2:
            between_systems[k] = compare_systems(recs)
    ensembles: dict[str, Any] = {}
    metrics: dict[str, Any] = {}
    members = [m for m in (ensemble_cfg.members or list(attacks)) if m in attacks]
    if ensemble_cfg.enabled and len(members) >= 2:
        portfolio = {m: attacks[m] for m in members}
        ensembles["ensemble"] = {s: run_ensemble(portfolio, s, seed=seed("t4", "ensemble", s, "bootstrap")) for s in systems}
        black = {}
        for s in systems:
            kinds = {m: (attacks[m]["systems"].get(s, {}).get("threat_model") or {}).get("ran_under") for m in members}
            bb = {m: attacks[m] for m, kind in kinds.items() if kind and kind.startswith("black-box")}
            mixed = len({str(v) for v in kinds.values() if v}) > 1
            if mixed and len(bb) >= 1:
                black[s] = run_ensemble(bb, s, seed=seed("t4", "ensemble_black_box", s, "bootstrap"))
        if black:
            ensembles["ensemble_black_box"] = black
        for name, per_system in ensembles.items():
            for s, res in per_system.items():
                if res.get("status") == "ok":
                    metrics.update(flat_metrics(task, name, s, res["metrics"]))
    return {
        "comparisons": {"between_attacks": between_attacks, "between_systems": between_systems},
        "ensembles": ensembles,
        "metrics": metrics,
    }
