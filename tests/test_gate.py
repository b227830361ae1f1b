"""Release gate: condition parsing, the four outcomes, fail-closed errors, deltas and paired
tests against a baseline, exit codes, Markdown and JUnit output (all from results files)."""

from __future__ import annotations

import copy
import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from click.testing import CliRunner

from robustrank.cli import main
from robustrank.config.gate import GateConfig
from robustrank.errors import ConfigError
from robustrank.gate.evaluate import evaluate_gate
from robustrank.gate.expr import parse_condition, parse_ref, resolve
from robustrank.gate.output import gate_junit, gate_markdown

FULL = Path(__file__).parent / "fixtures" / "results" / "full.json"


@pytest.fixture()
def results() -> dict:
    return json.loads(FULL.read_text())


def gate_of(*conditions, **kw) -> GateConfig:
    return GateConfig.model_validate({"conditions": list(conditions), **kw})


def outcome(results, check, **kw):
    return evaluate_gate(gate_of({"check": check, **kw}), results).conditions[0]


# --- parsing -----------------------------------------------------------------------------------

@pytest.mark.parametrize("text, ref, delta, op, value", [
    ("t1.nDCG@10.mean >= 0.40", "t1.nDCG@10.mean", False, ">=", 0.40),
    ("  certify.crq@10>=0.05 ", "certify.crq@10", False, ">=", 0.05),
    ("delta(t1.nDCG@10.mean) >= -0.01", "t1.nDCG@10.mean", True, ">=", -0.01),
    ("delta( t4.prada_wu_2023.success_rate ) <= 0.05", "t4.prada_wu_2023.success_rate", True, "<=", 0.05),
    ("$.tasks.t1.status == 'ok'", "$.tasks.t1.status", False, "==", "ok"),
    ("$.tasks.t3.result.domains[\"my.data\"].status != \"error\"", "$.tasks.t3.result.domains[\"my.data\"].status", False, "!=", "error"),
    ("t3.gap.cranfield < 1e-1", "t3.gap.cranfield", False, "<", 0.1),
    ("$.environment.packages.torch != null_is_a_string", None, None, None, None),
])
def test_parse_condition(text, ref, delta, op, value):
    if ref is None:
        with pytest.raises(ValueError, match="not a number"):
            parse_condition(text)
        return
    c = parse_condition(text)
    assert (c.ref.text, c.delta, c.op, c.value) == (ref, delta, op, value)


@pytest.mark.parametrize("text, msg", [
    ("t1.nDCG@10.mean", "expected"),
    ("t1.nDCG@10.mean >= high", "not a number"),
    ("t1.nDCG@10.mean >= 'x'", "needs a number"),
    ("delta(t1.x) == true", "compares with a number"),
    ("mean of t1 >= 0.3", "not a metric key"),
    ("$.tasks[ >= 1", "malformed JSON path"),
    ("t1.x >= nan", "finite"),
])
def test_parse_errors(text, msg):
    with pytest.raises(ValueError, match=msg):
        parse_condition(text)


def test_json_path_segments():
    ref = parse_ref("$.tasks.t2.result.variations['a.b'].examples[-1]")
    assert ref.path == ("tasks", "t2", "result", "variations", "a.b", "examples", -1)
    doc = {"tasks": {"t2": {"status": "ok", "result": {"variations": {"a.b": {"examples": ["q1", "q9"]}}}}}}
    assert resolve(doc, ref).value == "q9"


def test_config_reports_bad_condition_with_key_path(tmp_path):
    from robustrank.config import parse_config

    data = {"name": "x", "ranker": {"model": "m"}, "datasets": {"in_domain": {"path": "d"}},
            "gate": {"conditions": ["t1.nDCG@10.mean >= 0.4", {"check": "t1.nDCG@10.mean >> 0.4"}]}}
    with pytest.raises(ConfigError, match=r"m.yaml: gate.conditions\[1\].check: "):
        parse_config(data, source="m.yaml")
    data["gate"] = {"conditions": [{"check": "t1.x >= 1", "paired": {"test": "t"}}]}
    with pytest.raises(ConfigError, match="paired.*delta"):
        parse_config(data, source="m.yaml")
    data["gate"] = {"conditions": [{"check": "delta(t1.x) >= 1", "paired": {"per_query": "tasks.t1"}}]}
    with pytest.raises(ConfigError, match=r"paired.per_query: per_query is a record filter \(mapping\) or a JSON path"):
        parse_config(data, source="m.yaml")
    data["gate"] = {"conditions": [{"check": "delta(t1.x) >= 1", "paired": {"per_query": {}}}]}
    with pytest.raises(ConfigError, match=r"paired.per_query: per_query filter is empty"):
        parse_config(data, source="m.yaml")
    data["gate"] = {"conditions": [{"check": "t1.x >= 1", "severity": "block"}]}
    with pytest.raises(ConfigError, match=r"gate.conditions\[0\].severity"):
        parse_config(data, source="m.yaml")


# --- the four outcomes ---------------------------------------------------------------------------

def test_four_outcomes(results):
    gate = gate_of(
        "t1.nDCG@10.mean >= 0.40",                                   # 0.4379: PASS
        {"check": "t4.prada_wu_2023.success_rate <= 0.5", "severity": "warn"},  # 0.75: WARN
        "t3.gap.cisi <= -0.5",                                        # -0.0476: FAIL
        "t9.whatever >= 1",                                           # no task t9: ERROR
    )
    g = evaluate_gate(gate, results)
    assert [c.outcome for c in g.conditions] == ["PASS", "WARN", "FAIL", "ERROR"]
    assert g.conditions[0].value == results["metrics"]["t1.nDCG@10.mean"]
    assert g.outcome == "ERROR" and g.exit_code == 1
    assert g.counts == {"PASS": 1, "WARN": 1, "FAIL": 1, "ERROR": 1}
    assert evaluate_gate(gate_of(*gate.conditions[:3]), results).outcome == "FAIL"
    assert evaluate_gate(gate_of(*gate.conditions[:2]), results).outcome == "WARN"
    assert evaluate_gate(gate_of(*gate.conditions[:2]), results).exit_code == 0
    assert evaluate_gate(gate_of(*gate.conditions[:1]), results).outcome == "PASS"


def test_boundaries_and_operators(results):
    v = results["metrics"]["t1.nDCG@10.mean"]
    assert outcome(results, f"t1.nDCG@10.mean >= {v!r}").outcome == "PASS"
    assert outcome(results, f"t1.nDCG@10.mean > {v!r}").outcome == "FAIL"
    assert outcome(results, "$.tasks.t1.status == 'ok'").outcome == "PASS"
    assert outcome(results, "$.tasks.t1.result.n_queries >= 50").outcome == "FAIL"
    assert outcome(results, "$.tasks.t4.result.attacks.prada_wu_2023.systems.neural.metrics.top10_rate <= 0.5").outcome == "PASS"


# --- fail closed -------------------------------------------------------------------------------

def test_errored_task_is_error_and_fails_closed(results):
    results["tasks"]["t4"] = {"status": "error", "error": "RuntimeError: boom", "traceback": "", "duration_s": 1.0}
    results["metrics"] = {k: v for k, v in results["metrics"].items() if not k.startswith("t4.")}
    c = outcome(results, "t4.prada_wu_2023.success_rate <= 0.5", severity="warn")
    assert c.outcome == "ERROR" and "task t4 errored: RuntimeError: boom" in c.message
    assert c.counts_as_failure  # even a warn-severity condition: ERROR fails by default
    g = evaluate_gate(gate_of("t1.nDCG@10.mean >= 0.4", {"check": "t4.prada_wu_2023.success_rate <= 0.5", "severity": "warn"}), results)
    assert g.outcome == "ERROR" and g.exit_code == 1
    tolerant = evaluate_gate(gate_of("t1.nDCG@10.mean >= 0.4", "t4.prada_wu_2023.success_rate <= 0.5", on_error="warn"), results)
    assert tolerant.outcome == "WARN" and tolerant.exit_code == 0
    per_condition = evaluate_gate(gate_of({"check": "t4.prada_wu_2023.success_rate <= 0.5", "on_error": "warn"}), results)
    assert per_condition.outcome == "WARN"


@pytest.mark.parametrize("mutate, check, needle", [
    (lambda r: None, "t1.nDCG@10.meen >= 0.1", "did you mean t1.nDCG@10.mean"),
    (lambda r: (r["tasks"].pop("certify"), [r["metrics"].pop(k) for k in list(r["metrics"]) if k.startswith("certify.")]),
     "certify.crq@10 >= 0.05", "did not run"),
    (lambda r: r["tasks"].__setitem__("t3", {"status": "skipped", "reason": "no OOD collections"}), "t3.gap.cranfield <= 0.1", "skipped"),
    (lambda r: r["metrics"].__setitem__("t1.nDCG@10.mean", None), "t1.nDCG@10.mean >= 0.1", "null"),
    (lambda r: (r["tasks"]["t3"]["result"]["domains"].__setitem__("cranfield", {"status": "error", "error": "OSError: corpus gone"}),
                r["metrics"].pop("t3.gap.cranfield")), "t3.gap.cranfield <= 0.1", "domains/cranfield errored: OSError: corpus gone"),
    (lambda r: None, "$.tasks.t1.result.nope >= 1", "does not exist"),
    (lambda r: None, "$.tasks.t1.result.measures >= 1", "not a value"),
    (lambda r: None, "$.tasks.t1.status >= 1", "not a number"),
])
def test_missing_values_are_error(results, mutate, check, needle):
    mutate(results)
    c = outcome(results, check)
    assert c.outcome == "ERROR" and needle in c.message and c.counts_as_failure


# --- regression against a baseline --------------------------------------------------------------

def _ndcg_records(doc):
    """The T1 long records of the neural ranker's nDCG@10 (dicts, mutable in place)."""
    return [r for r in doc["tasks"]["t1"]["result"]["per_query"] if r["system"] == "neural" and r["measure"] == "nDCG@10"]


def _worse_copy(results, shift):
    """A copy of results with every T1 nDCG@10 per-query neural value raised by ``shift`` (the baseline)."""
    base = copy.deepcopy(results)
    recs = _ndcg_records(base)
    for r in recs:
        r["value"] += shift
    base["metrics"]["t1.nDCG@10.mean"] = sum(r["value"] for r in recs) / len(recs)
    return base


def test_delta_needs_baseline_and_same_data(results):
    g = evaluate_gate(gate_of("delta(t1.nDCG@10.mean) >= -0.01"), results)
    assert g.conditions[0].outcome == "ERROR" and "baseline" in g.conditions[0].message
    other = _worse_copy(results, 0.0)
    other["fingerprints"]["datasets"]["vaswani"] = {"corpus": "0" * 64}
    g = evaluate_gate(gate_of("delta(t1.nDCG@10.mean) >= -0.01"), results, baseline=other)
    assert g.conditions[0].outcome == "ERROR" and "different data" in g.conditions[0].message
    assert any("vaswani differs" in n for n in g.baseline_notes)
    g = evaluate_gate(gate_of("delta(t1.nDCG@10.mean) >= -0.01", require_same_data=False), results, baseline=other)
    assert g.conditions[0].outcome == "PASS"


def test_delta_point_conditions(results):
    base = _worse_copy(results, 0.05)  # the baseline was 0.05 better: current dropped 0.05
    c = evaluate_gate(gate_of("delta(t1.nDCG@10.mean) >= -0.01"), results, baseline=base).conditions[0]
    assert c.outcome == "FAIL" and c.delta == pytest.approx(-0.05) and c.baseline_value == pytest.approx(base["metrics"]["t1.nDCG@10.mean"])
    c = evaluate_gate(gate_of("delta(t1.nDCG@10.mean) >= -0.1"), results, baseline=base).conditions[0]
    assert c.outcome == "PASS"
    # "PRADA success may not rise more than 5 points"
    base["metrics"]["t4.prada_wu_2023.success_rate"] = 0.625
    c = evaluate_gate(gate_of("delta(t4.prada_wu_2023.success_rate) <= 0.05"), results, baseline=base).conditions[0]
    assert c.outcome == "FAIL" and c.delta == pytest.approx(0.125)


@pytest.mark.parametrize("test", ["t", "wilcoxon"])
def test_paired_regression(results, test):
    paired = {"test": test, "alpha": 0.05}
    # a consistent drop of 0.2 on every query: significantly beyond the allowed 0.01
    base = _worse_copy(results, 0.2)
    c = evaluate_gate(gate_of({"check": "delta(t1.nDCG@10.mean) >= -0.01", "paired": paired}), results, baseline=base).conditions[0]
    assert c.outcome == "FAIL" and c.test["significant"] and c.test["n_queries"] == 8
    assert c.test["mean_difference"] == pytest.approx(-0.2)
    # a noisy drop: the point estimate violates the bound but the paired test cannot tell -> WARN
    base = copy.deepcopy(results)
    recs = sorted(_ndcg_records(base), key=lambda r: r["query_id"])
    for i, r in enumerate(recs):
        r["value"] += 0.3 if i % 2 else -0.26
    base["metrics"]["t1.nDCG@10.mean"] = sum(r["value"] for r in recs) / len(recs)
    c = evaluate_gate(gate_of({"check": "delta(t1.nDCG@10.mean) >= -0.01", "paired": paired}), results, baseline=base).conditions[0]
    assert c.delta < -0.01 and c.outcome == "WARN" and not c.test["significant"]
    # no regression at all -> PASS
    c = evaluate_gate(gate_of({"check": "delta(t1.nDCG@10.mean) >= -0.01", "paired": paired}), results, baseline=copy.deepcopy(results)).conditions[0]
    assert c.outcome == "PASS"


def test_paired_needs_per_query_values(results):
    base = copy.deepcopy(results)
    c = evaluate_gate(gate_of({"check": "delta(t3.gap.cisi) <= 0.05", "paired": {}}), results, baseline=base).conditions[0]
    assert c.outcome == "ERROR" and "per_query" in c.message and "t3 records no per-query values" in c.message
    # an explicit record filter over the metric's task
    spec = {"check": "delta(t1.RR@10.mean) >= -0.01", "paired": {"per_query": {"system": "neural", "measure": "RR@10"}}}
    c = evaluate_gate(gate_of(spec), results, baseline=base).conditions[0]
    assert c.outcome == "PASS" and c.test["per_query_source"] == "$.tasks.t1.result.per_query[system=neural, measure=RR@10]"
    assert c.test["n_queries"] == 8
    # an ambiguous filter (both systems) is an error, not a silent pick
    spec = {"check": "delta(t1.RR@10.mean) >= -0.01", "paired": {"per_query": {"measure": "RR@10"}}}
    c = evaluate_gate(gate_of(spec), results, baseline=base).conditions[0]
    assert c.outcome == "ERROR" and "matches several records" in c.message
    # a JSON path to a {query_id: value} mapping still works
    base["tasks"]["t2"]["result"]["extra_values"] = results["tasks"]["t2"]["result"]["extra_values"] = {"1": 0.5, "2": 0.25, "3": 0.0}
    spec = {"check": "delta(t1.RR@10.mean) >= -0.01", "paired": {"per_query": "$.tasks.t2.result.extra_values"}}
    c = evaluate_gate(gate_of(spec), results, baseline=base).conditions[0]
    assert c.test["n_queries"] == 3 and c.test["per_query_source"] == "$.tasks.t2.result.extra_values"


def test_paired_inference_uses_the_long_records_generically(results):
    """The default per-query values come from the metric's own task (metric_per_query), not a T1 special case."""
    base = copy.deepcopy(results)
    cert = base["tasks"]["certify"]["result"]
    for r in cert["per_query"]:
        if r["measure"] == "certified@10":
            r["value"] = 1.0  # the baseline certified every query at K=10
    base["metrics"]["certify.crq@10"] = 1.0
    c = evaluate_gate(gate_of({"check": "delta(certify.crq@10) >= -0.1", "paired": {"test": "t"}}), results, baseline=base).conditions[0]
    assert c.test["per_query_source"] == "$.tasks.certify.result.per_query[system=smoothed, measure=certified@10]"
    assert c.test["n_queries"] == 8 and c.test["mean_difference"] == pytest.approx(results["metrics"]["certify.crq@10"] - 1.0)
    assert c.outcome == "FAIL" and c.test["significant"]
    # mutant: without the task's metric_per_query entry the gate cannot guess
    del results["tasks"]["certify"]["result"]["metric_per_query"]["certify.crq@10"]
    c = evaluate_gate(gate_of({"check": "delta(certify.crq@10) >= -0.1", "paired": {"test": "t"}}), results, baseline=base).conditions[0]
    assert c.outcome == "ERROR" and "records no per-query values" in c.message


def test_dotted_names_round_trip_through_the_gate(results):
    """A dataset named with a dot gets a quoted segment; the gate reads it back."""
    results["metrics"]['t3.gap["my.data"]'] = 0.02
    assert outcome(results, 't3.gap["my.data"] <= 0.05').outcome == "PASS"
    assert outcome(results, "t3.gap['my.data'] <= 0.05").outcome == "PASS"  # single quotes: same key
    c = outcome(results, "t3.gap.my.data <= 0.05")  # unquoted: another key, with a hint
    assert c.outcome == "ERROR" and 'did you mean t3.gap["my.data"]' in c.message
    results["metrics"]['t3.gap["a >= b"]'] = 0.5
    assert outcome(results, 't3.gap["a >= b"] >= 0.5').outcome == "PASS"


# --- outputs ---------------------------------------------------------------------------------------

def test_markdown_and_junit(results):
    results["tasks"]["t4"] = {"status": "error", "error": "boom <script>alert(1)</script> | x", "traceback": "", "duration_s": 0}
    results["metrics"] = {k: v for k, v in results["metrics"].items() if not k.startswith("t4.")}
    gate = gate_of("t1.nDCG@10.mean >= 0.40", {"check": "t2.typo.nDCG@10.relative_drop <= 0.1", "severity": "warn", "name": "typo | <b>drop</b>"},
                   "t3.gap.cisi <= -0.5", "t4.prada_wu_2023.success_rate <= 0.5", {"check": "certify.crq@99 >= 0", "on_error": "warn"})
    g = evaluate_gate(gate, results, results_digest="ab" * 32)
    md = gate_markdown(g)
    assert "robustrank gate: **ERROR**" in md
    assert "<script>" not in md and "&lt;script&gt;" in md and "<b>" not in md
    rows = [line for line in md.splitlines() if line.startswith("| ") and "condition" not in line]
    assert len(rows) == 5
    for row in rows:  # escaped pipes keep every row at 7 cells
        assert len([c for c in row.replace("\\|", "").split("|")]) == 9
    assert "ab" * 32 in md
    root = ET.fromstring(gate_junit(g))
    suite = root.find("testsuite")
    cases = suite.findall("testcase")
    assert len(cases) == 5 and suite.get("tests") == "5"
    assert [c.find("failure") is not None for c in cases] == [False, False, True, False, False]
    assert [c.find("error") is not None for c in cases] == [False, False, False, True, False]
    assert cases[4].find("skipped") is not None  # tolerated ERROR
    assert suite.get("failures") == "1" and suite.get("errors") == "1" and suite.get("skipped") == "1"
    assert "boom <script>" in cases[3].find("error").get("message")  # XML-escaped on the wire, intact when parsed
    assert {p.get("name"): p.get("value") for p in suite.find("properties")}["outcome"] == "ERROR"
    assert json.loads(json.dumps(g.to_dict()))["counts"]["FAIL"] == 1


# --- command line ----------------------------------------------------------------------------------

def _policy(tmp_path, *conditions, **kw):
    import yaml

    p = tmp_path / "policy.yaml"
    p.write_text(yaml.safe_dump({"gate": {"conditions": list(conditions), **kw}}))
    return p


def test_cli_exit_codes(tmp_path):
    r = CliRunner()
    ok = _policy(tmp_path, "t1.nDCG@10.mean >= 0.40")
    res = r.invoke(main, ["gate", str(FULL), "--policy", str(ok), "--markdown", str(tmp_path / "g.md"), "--junit", str(tmp_path / "g.xml"), "--json", str(tmp_path / "g.json")])
    assert res.exit_code == 0, res.output
    assert "gate: PASS" in res.output and (tmp_path / "g.md").is_file() and ET.parse(tmp_path / "g.xml")
    assert json.loads((tmp_path / "g.json").read_text())["outcome"] == "PASS"
    # the policy recorded in results.json (a warn condition is violated there)
    res = r.invoke(main, ["gate", str(FULL)])
    assert res.exit_code == 0 and "gate: WARN" in res.output
    res = r.invoke(main, ["gate", str(FULL), "--policy", str(_policy(tmp_path, "t1.nDCG@10.mean >= 0.9"))])
    assert res.exit_code == 1 and "gate: FAIL" in res.output
    res = r.invoke(main, ["gate", str(FULL), "--policy", str(_policy(tmp_path, "t7.x >= 0.9"))])
    assert res.exit_code == 1 and "gate: ERROR" in res.output
    res = r.invoke(main, ["gate", str(FULL), "--policy", str(_policy(tmp_path, "t7.x >= 0.9", on_error="warn"))])
    assert res.exit_code == 0 and "gate: WARN" in res.output


def test_cli_input_errors_exit_2(tmp_path):
    r = CliRunner()
    bad = tmp_path / "bad.json"
    bad.write_text("{nope")
    res = r.invoke(main, ["gate", str(bad)])
    assert res.exit_code == 2 and res.output.startswith("error: ") and "invalid JSON" in res.output
    res = r.invoke(main, ["gate", str(tmp_path / "missing.json")])
    assert res.exit_code == 2 and "not found" in res.output
    res = r.invoke(main, ["gate", str(FULL), "--policy", str(_policy(tmp_path, "t1.x >>= 2"))])
    assert res.exit_code == 2 and "gate.conditions[0].check" in res.output and res.output.count("\n") == 1
    res = r.invoke(main, ["gate", str(FULL), "--policy", str(_policy(tmp_path))])
    assert res.exit_code == 2 and "no conditions" in res.output
    res = r.invoke(main, ["gate", str(FULL), "--baseline", str(bad)])
    assert res.exit_code == 2 and "invalid JSON" in res.output
    res = r.invoke(main, ["gate"])
    assert res.exit_code == 2  # click usage error
    res = r.invoke(main, ["gate", str(FULL), "--frobnicate"])
    assert res.exit_code == 2


def test_cli_baseline(tmp_path, results):
    base = _worse_copy(results, 0.2)
    (tmp_path / "old.json").write_text(json.dumps(base))
    pol = _policy(tmp_path, {"check": "delta(t1.nDCG@10.mean) >= -0.01", "paired": {"test": "t"}})
    res = CliRunner().invoke(main, ["gate", str(FULL), "--policy", str(pol), "--baseline", str(tmp_path / "old.json"), "--junit", str(tmp_path / "g.xml")])
    assert res.exit_code == 1 and "FAIL" in res.output
    props = {p.get("name"): p.get("value") for p in ET.parse(tmp_path / "g.xml").getroot().find("testsuite/properties")}
    assert props["baseline"].endswith("old.json") and len(props["baseline_sha256"]) == 64
    res = CliRunner().invoke(main, ["gate", str(FULL), "--policy", str(pol)])
    assert res.exit_code == 1 and "ERROR" in res.output and "needs a baseline" in res.output


def test_audit_gate(tiny_config, tmp_path):
    text = tiny_config.read_text()
    tiny_config.write_text(text + "gate:\n  conditions:\n    - t1.nDCG@10.mean >= 0.0\n    - check: t1.nDCG@10.mean >= 2.0\n      severity: warn\n")
    r = CliRunner()
    res = r.invoke(main, ["-q", "audit", str(tiny_config), "--max-queries", "2", "--gate"])
    assert res.exit_code == 0, res.output
    out = tmp_path / "out"
    for name in ("results.json", "report.html", "compliance.html", "gate.md", "gate.xml", "gate.json"):
        assert (out / name).is_file(), name
    assert json.loads((out / "gate.json").read_text())["outcome"] == "WARN"
    assert "Release gate: <span class=\"WARN\">WARN</span>" in (out / "report.html").read_text()
    tiny_config.write_text(text + "gate:\n  conditions: ['t1.nDCG@10.mean >= 2.0']\n")
    res = r.invoke(main, ["-q", "audit", str(tiny_config), "--max-queries", "2", "--gate"])
    assert res.exit_code == 1 and "gate: FAIL" in res.output
    tiny_config.write_text(text)  # --gate without a policy: input error before the audit runs
    res = r.invoke(main, ["-q", "audit", str(tiny_config), "--gate"])
    assert res.exit_code == 2 and "gate.conditions" in res.output
