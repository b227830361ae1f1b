"""Uncertainty of T4's numbers: intervals on rates and boosts, paired and unpaired tests.

Every T4 rate is a share of targets, so it carries an exact (Clopper-Pearson) binomial interval
(``scipy.stats.binomtest(...).proportion_ci(method="exact")``); the mean boost (original rank -
new rank) carries a percentile bootstrap interval (``scipy.stats.bootstrap``) seeded from the
audit's seed stream. Comparisons:

* **between attacks on one system** - the attacks share that system's targets (selected once per
  system and query, before any attack runs), so outcomes are paired by ``(query_id, doc_id)``:
  exact McNemar test on success (``statsmodels ... mcnemar(exact=True)``: a binomial test on the
  discordant pairs) and Wilcoxon signed-rank test on the boosts (``scipy.stats.wilcoxon``, zero
  differences dropped);
* **between systems for one attack** - each system's targets come from its own list, so the
  samples are independent: Fisher's exact test on success counts (``scipy.stats.fisher_exact``)
  and the Mann-Whitney U test on boosts (``scipy.stats.mannwhitneyu``).

Each family of p-values (one per test kind and system, or per test kind and attack) is corrected
for multiple comparisons with Holm's method (:func:`robustrank.stats.correct_pvalues`).
"""

from __future__ import annotations

import itertools
import math
import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from robustrank.stats import bootstrap_ci, correct_pvalues

__all__ = [
    "RATES",
    "add_intervals",
    "compare_attacks",
    "compare_systems",
    "pair_by_target",
    "proportion_ci",
]

RATES = ("success_rate", "top10_rate", "top50_rate")
"""Shares of targets reported with an exact binomial interval."""

CONFIDENCE = 0.95
CORRECTION = "holm"


def _clean(x: Any) -> float | None:
    return None if x is None or not math.isfinite(float(x)) else float(x)


def proportion_ci(k: int, n: int, confidence: float = CONFIDENCE) -> tuple[float | None, float | None]:
    """Exact (Clopper-Pearson) interval of a binomial share ``k / n``; (None, None) when n = 0."""
    from scipy.stats import binomtest

    if n <= 0:
        return (None, None)
    ci = binomtest(int(k), int(n)).proportion_ci(confidence_level=confidence, method="exact")
    return (float(ci.low), float(ci.high))


def _outcome_flags(rec: Mapping[str, Any]) -> dict[str, bool]:
    new, orig = rec["new_rank"], rec["original_rank"]
    return {"success_rate": new < orig, "top10_rate": new <= 10, "top50_rate": new <= 50}


def add_intervals(metrics: dict[str, Any], records: Sequence[Mapping[str, Any]], *, seed: int, confidence: float = CONFIDENCE,
                  n_resamples: int = 2000) -> dict[str, Any]:
    """Add counts and intervals to the aggregate ``metrics`` of ``records`` (returns a new dict).

    Adds ``<rate>_count`` and ``<rate>_ci_low`` / ``<rate>_ci_high`` for every rate of
    :data:`RATES` and for ``flagged_rate`` (when the records carry flags),
    ``avg_boosted_ranks_ci_low`` / ``_ci_high`` (bootstrap, ``seed``), and ``confidence`` /
    ``ci_methods``.
    """
    out = dict(metrics)
    n = len(records)
    out["confidence"] = confidence
    out["ci_methods"] = {"rates": "Clopper-Pearson exact binomial", "avg_boosted_ranks": f"percentile bootstrap, {n_resamples} resamples"}
    if not n:
        return out
    flags = [_outcome_flags(r) for r in records]
    for rate in RATES:
        k = sum(f[rate] for f in flags)
        out[f"{rate}_count"] = int(k)
        out[f"{rate}_ci_low"], out[f"{rate}_ci_high"] = proportion_ci(k, n, confidence)
    flagged = [bool(r["flagged"]) for r in records if r.get("flagged") is not None]
    if flagged:
        out["flagged_count"] = int(sum(flagged))
        out["flagged_n"] = len(flagged)
        out["flagged_rate_ci_low"], out["flagged_rate_ci_high"] = proportion_ci(sum(flagged), len(flagged), confidence)
    boosts = [float(r["original_rank"] - r["new_rank"]) for r in records]
    out["avg_boosted_ranks_ci_low"], out["avg_boosted_ranks_ci_high"] = bootstrap_ci(
        boosts, confidence=confidence, n_resamples=n_resamples, seed=seed
    )
    return out


def pair_by_target(a: Sequence[Mapping[str, Any]], b: Sequence[Mapping[str, Any]]) -> tuple[list[tuple[Mapping, Mapping]], int]:
    """Records of two attacks matched by ``(query_id, doc_id)``; also the number left unmatched."""
    ib = {(r["query_id"], r["doc_id"]): r for r in b}
    ia = {(r["query_id"], r["doc_id"]): r for r in a}
    keys = [k for k in ia if k in ib]
    unmatched = len(ia) + len(ib) - 2 * len(keys)
    return [(ia[k], ib[k]) for k in keys], unmatched


def _mcnemar(sa: Sequence[bool], sb: Sequence[bool]) -> dict[str, Any]:
    from statsmodels.stats.contingency_tables import mcnemar

    both = sum(x and y for x, y in zip(sa, sb))
    only_a = sum(x and not y for x, y in zip(sa, sb))
    only_b = sum(y and not x for x, y in zip(sa, sb))
    neither = len(sa) - both - only_a - only_b
    out: dict[str, Any] = {"both": both, "only_a": only_a, "only_b": only_b, "neither": neither, "pvalue": None}
    if only_a + only_b:
        out["pvalue"] = _clean(mcnemar([[both, only_a], [only_b, neither]], exact=True).pvalue)
    return out


def _wilcoxon(d: np.ndarray) -> float | None:
    from scipy.stats import wilcoxon

    if d.size < 1 or not np.any(d != 0):
        return None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            return _clean(wilcoxon(d, zero_method="wilcox").pvalue)
        except ValueError:
            return None


def _boost(r: Mapping[str, Any]) -> float:
    return float(r["original_rank"] - r["new_rank"])


def compare_attacks(records: Mapping[str, Sequence[Mapping[str, Any]]]) -> dict[str, Any]:
    """Paired comparisons between every two attacks on one system (same targets).

    Args:
        records: attack key -> its per-target records on this system.

    Returns:
        ``{"pairs": {"<a> vs <b>": {...}}, "tests": ..., "correction": "holm"}``; each pair has
        n (paired targets), unmatched, the success table and exact McNemar p-value (raw and
        Holm-corrected over the pairs), mean boost difference a - b with its Wilcoxon p-value
        (raw and corrected).
    """
    pairs: dict[str, Any] = {}
    for a, b in itertools.combinations(records, 2):
        matched, unmatched = pair_by_target(records[a], records[b])
        sa = [r["new_rank"] < r["original_rank"] for r, _ in matched]
        sb = [r["new_rank"] < r["original_rank"] for _, r in matched]
        d = np.array([_boost(x) - _boost(y) for x, y in matched], dtype=float)
        pairs[f"{a} vs {b}"] = {
            "a": a, "b": b, "n": len(matched), "unmatched": unmatched,
            "success_a": int(sum(sa)), "success_b": int(sum(sb)),
            "mcnemar": _mcnemar(sa, sb),
            "boost_diff_mean": _clean(d.mean()) if d.size else None,
            "wilcoxon_pvalue": _wilcoxon(d),
        }
    _correct(pairs, "mcnemar_pvalue_corrected", lambda p: p["mcnemar"]["pvalue"])
    _correct(pairs, "wilcoxon_pvalue_corrected", lambda p: p["wilcoxon_pvalue"])
    return {
        "pairs": pairs,
        "pairing": "by (query_id, doc_id): attacks on one system share its targets",
        "tests": {"success": "exact McNemar (binomial on discordant pairs)", "boost": "Wilcoxon signed-rank on per-target boost differences"},
        "correction": f"{CORRECTION} within this system, separately per test",
    }


def compare_systems(records: Mapping[str, Sequence[Mapping[str, Any]]]) -> dict[str, Any]:
    """Unpaired comparisons of one attack between every two systems (their targets differ).

    Args:
        records: system name -> the attack's per-target records on that system.

    Returns:
        ``{"pairs": {"<s> vs <t>": {...}}, ...}`` with success counts, Fisher's exact p-value,
        mean boosts and the Mann-Whitney U p-value, raw and Holm-corrected over the pairs.
    """
    from scipy.stats import fisher_exact, mannwhitneyu

    pairs: dict[str, Any] = {}
    for s, t in itertools.combinations(records, 2):
        rs, rt = records[s], records[t]
        ks = sum(r["new_rank"] < r["original_rank"] for r in rs)
        kt = sum(r["new_rank"] < r["original_rank"] for r in rt)
        bs, bt = np.array([_boost(r) for r in rs]), np.array([_boost(r) for r in rt])
        entry: dict[str, Any] = {"a": s, "b": t, "n_a": len(rs), "n_b": len(rt), "success_a": int(ks), "success_b": int(kt),
                                 "fisher_pvalue": None, "boost_mean_a": _clean(bs.mean()) if bs.size else None,
                                 "boost_mean_b": _clean(bt.mean()) if bt.size else None, "mannwhitney_pvalue": None}
        if rs and rt:
            entry["fisher_pvalue"] = _clean(fisher_exact([[ks, len(rs) - ks], [kt, len(rt) - kt]]).pvalue)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                try:
                    entry["mannwhitney_pvalue"] = _clean(mannwhitneyu(bs, bt, alternative="two-sided").pvalue)
                except ValueError:
                    pass
        pairs[f"{s} vs {t}"] = entry
    _correct(pairs, "fisher_pvalue_corrected", lambda p: p["fisher_pvalue"])
    _correct(pairs, "mannwhitney_pvalue_corrected", lambda p: p["mannwhitney_pvalue"])
    return {
        "pairs": pairs,
        "pairing": "none: each system's targets come from its own ranked list",
        "tests": {"success": "Fisher's exact test", "boost": "Mann-Whitney U (two-sided)"},
        "correction": f"{CORRECTION} within this attack, separately per test",
    }


def _correct(pairs: dict[str, Any], field: str, get) -> None:
    corrected = correct_pvalues({k: get(v) for k, v in pairs.items()}, method=CORRECTION)
    for k, v in pairs.items():
        v[field] = corrected[k]
