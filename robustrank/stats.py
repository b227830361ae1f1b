"""Statistics on per-query metric values: summaries, bootstrap CIs and paired comparisons.

Built on scipy (bootstrap, paired t-test, Wilcoxon signed-rank) and statsmodels (multiple-testing
correction); nothing here re-implements a test.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

__all__ = [
    "summarize",
    "bootstrap_ci",
    "paired_comparison",
    "metric_drop",
    "group_gap",
    "domain_gap",
    "correct_pvalues",
    "worst_mean",
    "clopper_pearson",
]


def _clean(x: float) -> float | None:
    return None if x is None or not math.isfinite(x) else float(x)


def bootstrap_ci(
    values: Sequence[float], *, confidence: float = 0.95, n_resamples: int = 1000, seed: int = 0
) -> tuple[float | None, float | None]:
    """Percentile bootstrap CI of the mean (``scipy.stats.bootstrap``), seeded.

    Returns:
        (low, high); the point itself for a constant sample; (None, None) for fewer than 2 values.
    """
    from scipy import stats

    arr = np.asarray(values, dtype=np.float64)
    if arr.size < 2:
        return (None, None)
    if np.all(arr == arr[0]):
        return (float(arr[0]), float(arr[0]))
    res = stats.bootstrap(
        (arr,), np.mean, confidence_level=confidence, n_resamples=n_resamples, method="percentile",
        rng=np.random.default_rng(seed), vectorized=True,
    )
    return (_clean(res.confidence_interval.low), _clean(res.confidence_interval.high))


def worst_mean(values: Sequence[float], fraction: float = 0.1) -> float | None:
    """Mean of the worst ``fraction`` of values (at least one value)."""
    arr = np.sort(np.asarray(values, dtype=np.float64))
    if arr.size == 0:
        return None
    k = max(1, math.ceil(fraction * arr.size))
    return float(arr[:k].mean())


def summarize(
    values: Sequence[float], *, confidence: float = 0.95, n_resamples: int = 1000, seed: int = 0, worst_fraction: float = 0.1
) -> dict[str, Any]:
    """Distribution summary of per-query values.

    Returns:
        n, mean, std (sample, ddof=1), median, min, max, worst-fraction mean, bootstrap CI of the mean.
    """
    arr = np.asarray(values, dtype=np.float64)
    low, high = bootstrap_ci(arr, confidence=confidence, n_resamples=n_resamples, seed=seed)
    return {
        "n": int(arr.size),
        "mean": _clean(arr.mean()) if arr.size else None,
        "std": _clean(arr.std(ddof=1)) if arr.size > 1 else None,
        "median": _clean(np.median(arr)) if arr.size else None,
        "min": _clean(arr.min()) if arr.size else None,
        "max": _clean(arr.max()) if arr.size else None,
        "worst_fraction": worst_fraction,
        "worst_mean": worst_mean(arr, worst_fraction),
        "ci_low": low,
        "ci_high": high,
        "confidence": confidence,
    }


def paired_comparison(
    a: Sequence[float], b: Sequence[float], *, confidence: float = 0.95, n_resamples: int = 1000, seed: int = 0
) -> dict[str, Any]:
    """Compare paired per-query values ``a`` (e.g. neural) against ``b`` (e.g. BM25).

    Differences are a - b. Tests: paired t-test (``scipy.stats.ttest_rel``) and Wilcoxon
    signed-rank (``scipy.stats.wilcoxon``, zero differences dropped as in Wilcoxon's method);
    effect size Cohen's d_z = mean(diff) / sd(diff); bootstrap CI of the mean difference.

    Returns:
        n, mean_diff, CI, relative_diff (mean_diff / mean(b)), wins/losses/ties, t-test and
        Wilcoxon statistics and p-values (None where undefined, with a note), cohens_dz.
    """
    from scipy import stats

    x, y = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if x.shape != y.shape:
        raise ValueError(f"paired samples differ in length: {x.size} vs {y.size}")
    d = x - y
    out: dict[str, Any] = {
        "n": int(d.size),
        "mean_diff": _clean(d.mean()) if d.size else None,
        "relative_diff": _clean(d.mean() / y.mean()) if d.size and y.mean() != 0 else None,
        "wins": int((d > 0).sum()),
        "losses": int((d < 0).sum()),
        "ties": int((d == 0).sum()),
        "notes": [],
    }
    out["diff_ci_low"], out["diff_ci_high"] = bootstrap_ci(d, confidence=confidence, n_resamples=n_resamples, seed=seed)
    sd = d.std(ddof=1) if d.size > 1 else float("nan")
    out["cohens_dz"] = _clean(d.mean() / sd) if d.size > 1 and sd > 0 else None
    if d.size < 2 or not np.any(d != 0):
        out.update(t_stat=None, t_pvalue=None, wilcoxon_stat=None, wilcoxon_pvalue=None)
        out["notes"].append("no test: fewer than 2 queries or all differences are zero")
        return out
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        t = stats.ttest_rel(x, y)
        out["t_stat"], out["t_pvalue"] = _clean(t.statistic), _clean(t.pvalue)
        try:
            w = stats.wilcoxon(x, y, zero_method="wilcox")
            out["wilcoxon_stat"], out["wilcoxon_pvalue"] = _clean(w.statistic), _clean(w.pvalue)
        except ValueError as exc:
            out["wilcoxon_stat"] = out["wilcoxon_pvalue"] = None
            out["notes"].append(f"wilcoxon: {exc}")
    return out


def correct_pvalues(pvalues: Mapping[str, float | None], method: str = "holm", alpha: float = 0.05) -> dict[str, float | None]:
    """Multiple-testing correction (``statsmodels.stats.multitest.multipletests``).

    Args:
        pvalues: name -> raw p-value (None entries are passed through as None).
        method: Any multipletests method ("holm", "bonferroni", "fdr_bh", ...).
        alpha: Family-wise level.

    Returns:
        name -> corrected p-value.
    """
    from statsmodels.stats.multitest import multipletests

    names = [k for k, v in pvalues.items() if v is not None]
    out: dict[str, float | None] = {k: None for k in pvalues}
    if names:
        _, corrected, _, _ = multipletests([pvalues[k] for k in names], alpha=alpha, method=method)
        out.update({k: float(v) for k, v in zip(names, corrected)})
    return out


def metric_drop(
    original: Sequence[float], perturbed: Sequence[float], *, confidence: float = 0.95, n_resamples: int = 1000, seed: int = 0
) -> dict[str, Any]:
    """Effectiveness lost under a perturbation, per query paired (original vs perturbed).

    drop = mean(original - perturbed) (positive = worse under perturbation);
    relative_drop = drop / mean(original). Tests are those of :func:`paired_comparison`.

    Returns:
        n, original_mean, perturbed_mean, drop, relative_drop, drop_ci_low/high, t_pvalue,
        wilcoxon_pvalue, cohens_dz, improved/worsened/unchanged query counts, notes.
    """
    c = paired_comparison(original, perturbed, confidence=confidence, n_resamples=n_resamples, seed=seed)
    orig = np.asarray(original, dtype=np.float64)
    pert = np.asarray(perturbed, dtype=np.float64)
    return {
        "n": c["n"],
        "original_mean": _clean(orig.mean()) if orig.size else None,
        "perturbed_mean": _clean(pert.mean()) if pert.size else None,
        "drop": c["mean_diff"],
        "relative_drop": _clean(c["mean_diff"] / orig.mean()) if orig.size and orig.mean() != 0 else None,
        "drop_ci_low": c["diff_ci_low"],
        "drop_ci_high": c["diff_ci_high"],
        "t_pvalue": c["t_pvalue"],
        "wilcoxon_pvalue": c["wilcoxon_pvalue"],
        "cohens_dz": c["cohens_dz"],
        "worsened": c["wins"],
        "improved": c["losses"],
        "unchanged": c["ties"],
        "notes": c["notes"],
    }


def group_gap(
    group: Sequence[float], rest: Sequence[float], *, confidence: float = 0.95, n_resamples: int = 1000, seed: int = 0
) -> dict[str, Any]:
    """Difference between a slice of queries and the remaining queries (independent samples).

    gap = mean(group) - mean(rest), with a bootstrap CI (both samples resampled independently,
    ``scipy.stats.bootstrap``) and Welch's t-test (``scipy.stats.ttest_ind(equal_var=False)``).

    Returns:
        n, n_rest, mean, rest_mean, gap, gap_ci_low/high, pvalue (None where undefined).
    """
    from scipy import stats

    g = np.asarray(group, dtype=np.float64)
    r = np.asarray(rest, dtype=np.float64)
    out: dict[str, Any] = {
        "n": int(g.size),
        "n_rest": int(r.size),
        "mean": _clean(g.mean()) if g.size else None,
        "rest_mean": _clean(r.mean()) if r.size else None,
        "gap": _clean(g.mean() - r.mean()) if g.size and r.size else None,
        "gap_ci_low": None,
        "gap_ci_high": None,
        "pvalue": None,
    }
    if g.size < 2 or r.size < 2:
        return out
    if not (np.all(g == g[0]) and np.all(r == r[0])):
        res = stats.bootstrap(
            (g, r), lambda a, b, axis=-1: a.mean(axis=axis) - b.mean(axis=axis), confidence_level=confidence,
            n_resamples=n_resamples, method="percentile", rng=np.random.default_rng(seed), vectorized=True,
        )
        out["gap_ci_low"], out["gap_ci_high"] = _clean(res.confidence_interval.low), _clean(res.confidence_interval.high)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            out["pvalue"] = _clean(stats.ttest_ind(g, r, equal_var=False).pvalue)
    else:
        out["gap_ci_low"] = out["gap_ci_high"] = out["gap"]
    return out


def domain_gap(
    in_neural: Sequence[float],
    in_bm25: Sequence[float],
    ood_neural: Sequence[float],
    ood_bm25: Sequence[float],
    *,
    confidence: float = 0.95,
    n_resamples: int = 1000,
    seed: int = 0,
) -> dict[str, Any]:
    """Relative drop in-domain -> OOD for both systems and the robustness gap between them.

    relative drop = (mean_in - mean_ood) / mean_in per system; gap = neural relative drop -
    BM25 relative drop (positive: the neural ranker degrades more than BM25). The CI comes
    from ``scipy.stats.bootstrap`` resampling queries within each collection independently,
    keeping each query's (neural, BM25) values paired.

    Returns:
        neural_relative_drop, bm25_relative_drop, gap, gap_ci_low/high (None if undefined).
    """
    from scipy import stats

    a = np.vstack([np.asarray(in_neural, float), np.asarray(in_bm25, float)])
    b = np.vstack([np.asarray(ood_neural, float), np.asarray(ood_bm25, float)])

    def rel(x, y):
        return (x - y) / x if x != 0 else None

    out: dict[str, Any] = {
        "neural_relative_drop": _clean(rel(a[0].mean(), b[0].mean())) if a.size and b.size and a[0].mean() else None,
        "bm25_relative_drop": _clean(rel(a[1].mean(), b[1].mean())) if a.size and b.size and a[1].mean() else None,
        "gap": None,
        "gap_ci_low": None,
        "gap_ci_high": None,
    }
    if out["neural_relative_drop"] is None or out["bm25_relative_drop"] is None:
        return out
    out["gap"] = out["neural_relative_drop"] - out["bm25_relative_drop"]
    if a.shape[1] < 2 or b.shape[1] < 2:
        return out

    def statistic(x, y, axis=-1):
        # scipy passes (system, [resample,] query): the system axis stays first
        xn, xb = x[0].mean(axis=-1), x[1].mean(axis=-1)
        yn, yb = y[0].mean(axis=-1), y[1].mean(axis=-1)
        with np.errstate(divide="ignore", invalid="ignore"):
            return (xn - yn) / xn - (xb - yb) / xb

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = stats.bootstrap(
            (a, b), statistic, confidence_level=confidence, n_resamples=n_resamples, method="percentile",
            rng=np.random.default_rng(seed), vectorized=True, axis=-1,
        )
    out["gap_ci_low"], out["gap_ci_high"] = _clean(res.confidence_interval.low), _clean(res.confidence_interval.high)
    return out


def clopper_pearson(successes: int, trials: int, level: float = 0.95) -> tuple[float, float]:
    """Exact (Clopper-Pearson) two-sided confidence interval for a binomial proportion.

    Args:
        successes: Number of successes.
        trials: Number of trials (> 0).
        level: Confidence level.
    """
    from scipy.stats import beta

    if trials <= 0:
        raise ValueError("clopper_pearson needs trials > 0")
    a = (1.0 - level) / 2.0
    low = 0.0 if successes == 0 else float(beta.ppf(a, successes, trials - successes + 1))
    high = 1.0 if successes == trials else float(beta.ppf(1.0 - a, successes + 1, trials - successes))
    return low, high
