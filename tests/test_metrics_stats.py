"""Metrics through ir-measures and statistics against hand-checkable cases."""

from __future__ import annotations

import math

import numpy as np
import pytest

from robustrank.metrics import evaluate
from robustrank.stats import (
    bootstrap_ci,
    correct_pvalues,
    paired_comparison,
    summarize,
    worst_mean,
)


def test_evaluate_hand_checked():
    qrels = {"q1": {"a": 1, "b": 1}, "q2": {"c": 2}, "q3": {"x": 1}}
    run = {"q1": [("a", 3.0), ("z", 2.0), ("b", 1.0)], "q2": [("y", 2.0), ("c", 1.0)], "q3": []}
    out = evaluate(run, qrels, ["RR@10", "nDCG@10", "R@2"], ["q1", "q2", "q3"])
    assert out["RR@10"] == {"q1": 1.0, "q2": 0.5, "q3": 0.0}
    ideal = 1 + 1 / math.log2(3)
    assert out["nDCG@10"]["q1"] == pytest.approx((1 + 1 / math.log2(4)) / ideal)
    assert out["nDCG@10"]["q2"] == pytest.approx((3 / math.log2(3)) / 3)
    assert out["R@2"]["q1"] == 0.5
    assert list(out["RR@10"]) == ["q1", "q2", "q3"]


def test_summarize_and_worst():
    vals = [0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9]
    s = summarize(vals, seed=1, n_resamples=500)
    assert s["mean"] == pytest.approx(0.45)
    assert s["std"] == pytest.approx(np.std(vals, ddof=1))
    assert s["worst_mean"] == pytest.approx(0.0)
    assert s["ci_low"] < 0.45 < s["ci_high"]
    assert summarize(vals, seed=1, n_resamples=500) == s  # seeded
    assert worst_mean(vals, 0.25) == pytest.approx(0.1)  # ceil(2.5) = 3 worst
    assert bootstrap_ci([0.3, 0.3, 0.3]) == (0.3, 0.3)
    assert bootstrap_ci([0.3]) == (None, None)


def test_paired_comparison_hand_checked():
    a = [0.5, 0.6, 0.7, 0.8, 0.4]
    b = [0.4, 0.4, 0.7, 0.5, 0.5]
    c = paired_comparison(a, b, seed=0)
    d = np.array(a) - np.array(b)
    assert c["mean_diff"] == pytest.approx(d.mean())
    assert (c["wins"], c["losses"], c["ties"]) == (3, 1, 1)
    assert c["cohens_dz"] == pytest.approx(d.mean() / d.std(ddof=1))
    from scipy import stats

    assert c["t_pvalue"] == pytest.approx(stats.ttest_rel(a, b).pvalue)
    assert c["relative_diff"] == pytest.approx(d.mean() / np.mean(b))
    same = paired_comparison(a, a)
    assert same["t_pvalue"] is None and same["notes"]
    with pytest.raises(ValueError):
        paired_comparison([1, 2], [1])


def test_holm_correction_hand_checked():
    out = correct_pvalues({"a": 0.01, "b": 0.04, "c": 0.03, "d": None})
    # Holm: sorted 0.01*3=0.03, 0.03*2=0.06, 0.04*1 -> max(0.06, 0.04)=0.06
    assert out["a"] == pytest.approx(0.03)
    assert out["c"] == pytest.approx(0.06)
    assert out["b"] == pytest.approx(0.06)
    assert out["d"] is None


def test_metric_drop_hand_checked():
    from robustrank.stats import metric_drop

    d = metric_drop([0.5, 0.6, 0.7], [0.4, 0.6, 0.2], seed=0)
    assert d["drop"] == pytest.approx(0.2)
    assert d["relative_drop"] == pytest.approx(0.2 / 0.6)
    assert (d["worsened"], d["improved"], d["unchanged"]) == (2, 0, 1)
    assert d["drop_ci_low"] <= 0.2 <= d["drop_ci_high"]


def test_group_gap_hand_checked():
    from scipy import stats

    from robustrank.stats import group_gap

    g = group_gap([0.1, 0.2, 0.3], [0.5, 0.6, 0.7, 0.8], seed=0)
    assert g["gap"] == pytest.approx(0.2 - 0.65)
    assert g["pvalue"] == pytest.approx(stats.ttest_ind([0.1, 0.2, 0.3], [0.5, 0.6, 0.7, 0.8], equal_var=False).pvalue)
    assert g["gap_ci_low"] < g["gap"] < g["gap_ci_high"]
    assert group_gap([0.1], [0.2, 0.3])["pvalue"] is None


def test_domain_gap_hand_checked():
    from robustrank.stats import domain_gap

    # neural 0.5 -> 0.25 (50% drop), BM25 0.4 -> 0.3 (25% drop): gap +0.25
    g = domain_gap([0.4, 0.6], [0.3, 0.5], [0.2, 0.3], [0.2, 0.4], n_resamples=200, seed=0)
    assert g["neural_relative_drop"] == pytest.approx(0.5)
    assert g["bm25_relative_drop"] == pytest.approx(0.25)
    assert g["gap"] == pytest.approx(0.25)
    assert g["gap_ci_low"] <= g["gap_ci_high"]
    big = np.random.default_rng(0)
    a, b = big.random(200), big.random(200)
    g = domain_gap(a, b, a[:150] * 0.5, b[:150], n_resamples=300, seed=1)
    assert g["gap_ci_low"] < g["gap"] < g["gap_ci_high"]
