"""Risk scorecard, significance colouring, T2 fail rate and a release policy that covers every task."""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path

import pytest

from robustrank.config.gate import GateConfig
from robustrank.config.scorecard import Band, ScorecardConfig
from robustrank.gate.evaluate import evaluate_gate
from robustrank.report.scorecard import Share, findings, severity
from robustrank.report.significance import direction_class, significant
from robustrank.stats import clopper_pearson
from robustrank.tasks.ood_fail_rate import fail_rate, fail_rate_from_records, fail_rate_metrics

REPO = Path(__file__).resolve().parents[1]
HIGH = Band(high=0.25, medium=0.10)


# --- severity ladder -------------------------------------------------------------------------

@pytest.mark.parametrize(("share", "expected"), [
    (Share(0.50, 0.30, 0.80), "critical"),   # whole interval beyond high
    (Share(0.50, 0.16, 0.84), "high"),       # estimate beyond high, interval is not
    (Share(0.25, 0.05, 0.60), "high"),       # at the threshold counts
    (Share(0.12, 0.01, 0.40), "medium"),
    (Share(0.05, 0.00, 0.30), "low"),        # only the interval reaches medium
    (Share(0.00, 0.00, 0.05), None),         # interval on the safe side: no finding
    (Share(0.05), None),                     # no interval: estimate below medium
])
def test_severity_ladder_bad_when_high(share, expected):
    assert severity(share, HIGH, bad_when_high=True) == expected


@pytest.mark.parametrize(("share", "expected"), [
    (Share(0.00, 0.00, 0.03), "critical"),   # CRQ provably below 5%
    (Share(0.00, 0.00, 0.31), "high"),
    (Share(0.20, 0.05, 0.50), "medium"),
    (Share(0.40, 0.20, 0.70), "low"),
    (Share(0.90, 0.60, 0.99), None),
])
def test_severity_ladder_bad_when_low(share, expected):
    assert severity(share, Band(high=0.05, medium=0.25), bad_when_high=False) == expected


def test_threshold_order_is_validated():
    with pytest.raises(ValueError, match="t4_top10_rate"):
        ScorecardConfig(t4_top10_rate={"high": 0.1, "medium": 0.3})
    with pytest.raises(ValueError, match="crq"):
        ScorecardConfig(crq={"high": 0.5, "medium": 0.1})


# --- findings from results.json ----------------------------------------------------------------

def test_findings_numbers_equal_results(results):
    found = findings(results)
    assert found, "the fixture has findings"
    assert [f.rank for f in found] == sorted(f.rank for f in found)  # worst first
    metrics = results["metrics"]
    for f in found:
        assert f.key in metrics, f.key
        if ".verdict." in f.key:  # verdict metrics are counts; the finding shows count / n
            assert f.neural.count == metrics[f.key] and f.neural.n == results["tasks"]["certify"]["result"]["n_queries"]
        else:
            assert f.neural.value == pytest.approx(metrics[f.key]), f.key
        for side in ("ci_low", "ci_high"):
            if f"{f.key}.{side}" in metrics:
                assert getattr(f.neural, side) == pytest.approx(metrics[f"{f.key}.{side}"])
    by_key = {f.key: f for f in found}
    prada = by_key["t4.prada_wu_2023.top10_rate"]
    assert "2/4 (50% [7%, 93%])" in prada.text and "BM25: 0/4 (0% [0%, 60%])" in prada.text
    assert prada.bm25.value == metrics["t4.prada_wu_2023.bm25_top10_rate"]
    assert prada.severity == "high" and prada.anchor == "task-t4"
    assert "t4.ensemble.top10_rate" in by_key  # the worst case over attacks
    assert by_key["certify.verdict.broken@10"].severity == "high"


def test_thresholds_come_from_the_policy(results):
    lenient = copy.deepcopy(results)
    lenient["config"]["gate"]["scorecard"] = {"t4_top10_rate": {"high": 0.95, "medium": 0.9}}
    keys = {f.key: f.severity for f in findings(lenient)}
    assert keys.get("t4.prada_wu_2023.top10_rate") == "low"  # 0.5 [7%, 93%]: only the interval reaches 0.9
    strict = copy.deepcopy(results)
    strict["config"]["gate"]["scorecard"] = {"t4_top10_rate": {"high": 0.05, "medium": 0.01}}
    assert {f.key: f.severity for f in findings(strict)}["t4.prada_wu_2023.top10_rate"] == "critical"


def test_scorecard_is_first_after_the_verdict_and_links_to_sections(results):
    from robustrank.report import render_html

    page = render_html(results, figures=False)
    assert page.index('id="verdict"') < page.index('id="scorecard"') < page.index('id="summary"')
    anchors = set(re.findall(r'<a href="#(task-[^"]+)"', page[page.index('id="scorecard"'):page.index('id="summary"')]))
    assert anchors and all(f'id="{a}"' in page for a in anchors)
    assert "@media print" in page and "<details" in page and "<script" not in page.split("</style>")[0]


# --- colour means significance -------------------------------------------------------------------

def test_direction_only_for_significant_differences():
    assert direction_class(0.001, -0.05, 0.05, p_corrected=0.99) == ""
    assert direction_class(0.04, 0.01, 0.07) == "better"
    assert direction_class(-0.04, -0.07, -0.01) == "worse"
    assert direction_class(-0.04, None, None, p_corrected=0.001) == "worse"
    assert not significant(-0.02, 0.03, 0.2) and significant(None, None, 0.01)


def test_t1_row_with_tiny_insignificant_difference_is_not_coloured(results):
    from robustrank.report import render_html

    r = copy.deepcopy(results)
    c = r["tasks"]["t1"]["result"]["measures"]["nDCG@10"]["comparison"]
    c.update(mean_diff=0.001, diff_ci_low=-0.05, diff_ci_high=0.052, t_pvalue=0.99, wilcoxon_pvalue=0.99)
    rr = r["tasks"]["t1"]["result"]["measures"]["RR@10"]["comparison"]  # significant loss [-0.321, -0.021]
    page = render_html(r, figures=False)
    t1 = page[page.index('id="task-t1"'):page.index('id="task-t2"')]
    rows = re.findall(r'<tr class="([^"]*)">\s*<td class="l">([^<]+)</td>', t1)
    classes = dict((m, cls) for cls, m in rows)
    assert classes["nDCG@10"] == ""  # +0.001, p = 0.99: neutral (sign-only colouring made it green)
    assert rr["diff_ci_high"] < 0 and classes["RR@10"] == "worse"


# --- T2 fail rate ------------------------------------------------------------------------------

def test_fail_rate_counts_drops_beyond_tolerance():
    orig = {"a": 0.75, "b": 0.75, "c": 0.5, "d": 0.5}
    pert = {"a": 0.49, "b": 0.5, "c": 0.5, "d": 0.9}  # a drops 0.26 (> 0.25), b exactly 0.25 (not more)
    fr = fail_rate(orig, pert, list(orig), 0.25)
    assert (fr["count"], fr["n"], fr["rate"]) == (1, 4, 0.25)
    assert (fr["ci_low"], fr["ci_high"]) == pytest.approx(clopper_pearson(1, 4))
    keys = fail_rate_metrics("t2", "typo", {"neural": fr, "bm25": fr})
    assert set(keys) == {"t2.typo.fail_rate", "t2.typo.fail_rate.ci_low", "t2.typo.fail_rate.ci_high",
                         "t2.typo.bm25_fail_rate", "t2.typo.bm25_fail_rate.ci_low", "t2.typo.bm25_fail_rate.ci_high"}


def test_fixture_fail_rates_match_per_query_records(results):
    t2 = results["tasks"]["t2"]["result"]
    for key, v in t2["variations"].items():
        fr = v["fail_rate"]
        for s in ("neural", "bm25"):
            again = fail_rate_from_records(t2["per_query"], key, s, fr["measure"], fr["tolerance"])
            assert again == fr[s]
        assert results["metrics"][f"t2.{key}.fail_rate"] == fr["neural"]["rate"]
        assert results["metrics"][f"t2.{key}.bm25_fail_rate.ci_high"] == fr["bm25"]["ci_high"]


def test_t2_section_shows_fail_rates_next_to_bm25(results):
    from robustrank.report import render_html

    page = render_html(results, figures=False)
    typo = results["tasks"]["t2"]["result"]["variations"]["typo"]["fail_rate"]
    sec = page[page.index('id="t2-fail-rate"'):]
    assert f"{typo['neural']['count']} / {typo['neural']['n']}" in sec and f"{typo['bm25']['ci_high'] * 100:.1f}%" in sec


# --- gate: interval bounds, and a demo policy over every task -------------------------------------

def test_gate_reads_interval_bounds(results):
    metrics = results["metrics"]
    gate = GateConfig(conditions=["t4.prada_wu_2023.top10_rate.ci_high <= 0.2", "t4.prada_wu_2023.top10_rate.ci_low <= 0.2",
                                  "t4.ensemble.top10_rate.ci_low <= 0.01", "t2.combined.fail_rate.ci_low <= 0.3"])
    out = evaluate_gate(gate, results)
    got = {c.check: (c.outcome, c.value) for c in out.conditions}
    assert got["t4.prada_wu_2023.top10_rate.ci_high <= 0.2"] == ("FAIL", metrics["t4.prada_wu_2023.top10_rate.ci_high"])
    assert got["t4.prada_wu_2023.top10_rate.ci_low <= 0.2"] == ("PASS", metrics["t4.prada_wu_2023.top10_rate.ci_low"])
    assert got["t4.ensemble.top10_rate.ci_low <= 0.01"][0] == "FAIL"
    assert got["t2.combined.fail_rate.ci_low <= 0.3"] == ("FAIL", metrics["t2.combined.fail_rate.ci_low"])


def _emittable_keys(cfg) -> set[str]:
    """Every metric key the demo's tasks can emit, built with the tasks' own key functions."""
    from robustrank.adversarial.analysis import METRICS, flat_metrics
    from robustrank.certify.verdict import VERDICTS

    keys: set[str] = set()
    full = {name: 0.5 for name in METRICS} | {f"{n}_{s}": 0.1 for n in METRICS for s in ("ci_low", "ci_high")}
    t4 = cfg.tasks["t4"]
    for key in [a.key or a.name for a in t4.attacks] + ["ensemble", "ensemble_black_box"]:
        for system in ("neural", "bm25"):
            keys |= set(flat_metrics("t4", key, system, full))
    fr = {"rate": 0.1, "ci_low": 0.0, "ci_high": 0.2}
    for v in cfg.tasks["t2"].variations:
        keys |= set(fail_rate_metrics("t2", v.name, {"neural": fr, "bm25": fr}))
        for m in cfg.measures:
            keys |= {f"t2.{v.name}.{m}.{n}" for n in ("relative_drop", "bm25_relative_drop", "gap")}
    for m in cfg.measures:
        keys |= {f"t1.{m}.{n}" for n in ("mean", "std", "worst_mean", "ci_low", "bm25_mean", "diff_vs_bm25")}
    keys |= {f"t3.gap.{d.name}" for d in cfg.datasets.ood}
    cert = cfg.tasks["certify"]
    keys |= {f"certify.crq@{k}" for k in cert.k_values} | {f"certify.verdict.{v}@{k}" for v in VERDICTS for k in cert.k_values}
    keys |= {f"certify.perplexity_detector.detection_rate.{a.key or a.name}" for a in t4.attacks}
    return keys


def test_demo_policy_covers_every_task_on_interval_bounds():
    from robustrank.config import load_config
    from robustrank.gate.expr import parse_condition, task_of

    cfg = load_config(REPO / "examples" / "demo.yaml")
    conds = [parse_condition(c.check) for c in cfg.gate.conditions]
    assert {task_of(c.ref) for c in conds} >= {"t1", "t2", "t3", "t4", "certify"}
    t4 = [c for c in conds if task_of(c.ref) == "t4"]
    assert all(c.ref.text.endswith((".ci_low", ".ci_high")) for c in t4)  # interval bounds, not point estimates
    attacks = {a.key or a.name for a in cfg.tasks["t4"].attacks}
    assert attacks <= {c.ref.text.split(".")[1] for c in t4}  # every attack
    assert any(c.ref.text.startswith("t4.ensemble.") for c in t4)  # and the worst case over attacks
    emittable = _emittable_keys(cfg)
    missing = [c.ref.text for c in conds if c.ref.text not in emittable]
    assert not missing, missing


def test_scorecard_thresholds_are_part_of_the_policy_schema():
    gate = GateConfig.model_validate({"conditions": ["t1.nDCG@10.mean >= 0.1"], "scorecard": {"crq": {"high": 0.0, "medium": 0.1}}})
    assert gate.scorecard.crq.medium == 0.1 and gate.scorecard.t4_top10_rate.high == 0.25
    with pytest.raises(ValueError):
        GateConfig.model_validate({"scorecard": {"t4_top10": {"high": 1, "medium": 0}}})
    json.dumps(gate.model_dump())


def test_t2_drops_coloured_only_when_corrected_p_is_below_alpha(results):
    from robustrank.report import render_html

    def t2_section(res):
        page = render_html(res, figures=False)
        return page[page.index('id="task-t2"'):page.index('id="task-t3"')]

    assert 'class="worse"' not in t2_section(results)  # every corrected p is 1.0 in the fixture
    r = copy.deepcopy(results)
    row = r["tasks"]["t2"]["result"]["variations"]["typo"]["measures"]["nDCG@10"]["neural"]
    row["p_corrected"] = 0.001
    assert t2_section(r).count('class="worse"') == 1


def test_insignificant_t1_loss_is_at_most_low(results):
    r = copy.deepcopy(results)
    c = r["tasks"]["t1"]["result"]["measures"]["nDCG@10"]["comparison"]
    c.update(mean_diff=-0.05, diff_ci_low=-0.2, diff_ci_high=0.1)  # estimate beyond high (0.02), interval includes 0
    r["metrics"]["t1.nDCG@10.diff_vs_bm25"] = -0.05
    sev = {f.key: f.severity for f in findings(r)}
    assert sev["t1.nDCG@10.mean"] == "low"
    assert sev["t1.RR@10.mean"] == "critical"  # [-0.321, -0.021]: significant and beyond high


def test_detector_judged_on_attacks_that_reached_the_top_10(results):
    r = copy.deepcopy(results)
    det = r["tasks"]["certify"]["result"]["defenses"]["perplexity_detector"]
    det["detection_rate"]["no_effect_attack"] = 0.0  # an attack T4 never made effective against the ranker
    det["n_adversarial"]["no_effect_attack"] = 8
    f = next(f for f in findings(r) if f.title.startswith("detector"))
    assert f.key.endswith("detection_rate.prada_wu_2023")  # prada lifted 2/4 into the top 10
