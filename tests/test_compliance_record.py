"""The compliance record (issue 16): the sections reviewers ask for, every number traced to
results.json, the JSON export valid against its published schema, the declared intended use."""

from __future__ import annotations

import copy
import html as htmllib
import json
import re

import pytest
from click.testing import CliRunner
from conftest import FULL_RESULTS as FULL

from robustrank.cli import main
from robustrank.report import render_compliance_html
from robustrank.report.compliance import NOT_DECLARED, build_record
from robustrank.report.compliance_schema import compliance_json_schema
from robustrank.report.render import compliance_record

SECTIONS = (
    "system_identity", "intended_use", "declared_effectiveness", "generalisation_limits", "natural_noise", "adversarial",
    "certification", "statistical_protocol", "gate_decision", "reevaluation_triggers", "limitations_and_residual_risk",
    "reproducibility",
)
HEADINGS = (
    "System identity", "Intended use and operating domain", "Declared effectiveness", "Generalisation limits (T3)",
    "Robustness to natural noise (T2)", "Threat models and adversarial results (T4)", "Certification", "Statistical protocol",
    "Release gate decision", "Re-evaluation triggers", "Known limitations and residual risk", "Reproducibility",
)
# Numbers the page states that are not results: clause numbers of the frameworks it maps to,
# "1 - alpha" of the certification statement, and the "[95% CI]" header of T4's own fragment.
BOILERPLATE = {"15", "2.5", "2.7", "24029", "2", "1", "95%"}
NUMBER = re.compile(r"(?<![\w.@/-])-?\d+(?:\.\d+)?%?(?![\w])")


@pytest.fixture(scope="module")
def record(results):
    return compliance_record(results, results_path=FULL)


@pytest.fixture(scope="module")
def page(results):
    return render_compliance_html(results, results_path=FULL)


def test_every_section_in_record_and_page(record, page):
    assert tuple(record["sections"]) == SECTIONS
    for key, heading in zip(SECTIONS, HEADINGS):
        assert f'<section id="c-{key}">\n<h2>{htmllib.escape(heading, quote=False)}</h2>' in page, key
    for fw in ("EU AI Act", "Art. 15(5)", "MEASURE 2.5", "MEASURE 2.7", "ISO/IEC 24029-2"):
        assert fw in page
    mapped = {s for r in record["requirements"] for s in r["sections"]}
    assert mapped == set(SECTIONS)


def test_sign_off_fields_are_empty(record, page):
    assert record["sections"]["gate_decision"]["sign_off"] == [
        {"role": "reviewer", "name": None, "date": None}, {"role": "approver", "name": None, "date": None}]
    assert page.count('<td class="l" style="width:14rem">&nbsp;</td><td class="l" style="width:8rem">&nbsp;</td>') == 2


def test_certification_outcomes_and_probabilistic_statement(results, record, page):
    cert = record["sections"]["certification"]
    queries = results["tasks"]["certify"]["result"]["queries"]
    for row in cert["rows"]:
        certified = sum(1 for q in queries if q["certified"][str(row["k"])])
        assert row["proof"] == certified and row["inconclusive"] == len(queries) - certified
        assert row["counterexample"] is None  # the fixture records no verdicts: no counterexample search
        assert row["crq"] == results["tasks"]["certify"]["result"]["crq"][str(row["k"])]
    assert "probabilistic" in cert["statement"] and "alpha = 0.001" in cert["statement"]
    assert "probability at least 1 - alpha" in page
    # with recorded verdicts the counts come from result.verdict.counts
    joined = copy.deepcopy(results)
    res = joined["tasks"]["certify"]["result"]
    res["verdict"] = {"source": "t4", "counts": {f"verdict.{v}@{k}": float(n) for k in (1, 5, 10, 20)
                                                  for v, n in (("certified", 1), ("broken", 2), ("inconclusive", 5), ("soundness_alarm", 0))}}
    rows = build_record(joined)["sections"]["certification"]["rows"]
    assert {(r["proof"], r["counterexample"], r["inconclusive"]) for r in rows} == {(1, 2, 5)}


def _rendered_numbers(value) -> set[str]:
    """The ways the page may print a number taken from results.json."""
    out = set()
    if isinstance(value, bool) or value is None:
        return out
    if isinstance(value, str):
        return set(NUMBER.findall(value)) | {t for t in re.findall(r"\d+(?:\.\d+)?", value)}
    if isinstance(value, int):
        out |= {str(value), f"{value:.3f}", f"{value:.4f}", f"{value * 100:.1f}%"}
    if isinstance(value, float):
        out |= {f"{value:.{d}f}" for d in (1, 2, 3, 4)} | {f"{value:.4g}", f"{value:g}", repr(value), f"{value * 100:.1f}%"}
    return {s.lstrip("+") for s in out}


def _all_numbers(doc) -> set[str]:
    out: set[str] = set()
    stack = [doc]
    while stack:
        x = stack.pop()
        if isinstance(x, dict):
            stack.extend(x.values())
            stack.extend(k for k in x if isinstance(k, str))
        elif isinstance(x, list):
            stack.extend(x)
        else:
            out |= _rendered_numbers(x)
    return out


def _page_numbers(page: str) -> list[str]:
    text = re.sub(r"<style.*?</style>", " ", page, flags=re.S)
    text = htmllib.unescape(re.sub(r"<[^>]+>", " ", text))
    return NUMBER.findall(text)


def test_every_number_on_the_page_traces_to_results(results, page):
    queries = results["tasks"]["certify"]["result"]["queries"]
    derived = set()  # certification verdict counts and shares, recounted here from the per-query certificates
    for k in results["tasks"]["certify"]["result"]["k_values"]:
        c = sum(1 for q in queries if q["certified"][str(k)])
        derived |= _rendered_numbers(c) | _rendered_numbers(len(queries) - c) | _rendered_numbers((len(queries) - c) / len(queries))
    allowed = _all_numbers(results) | derived | BOILERPLATE
    found = _page_numbers(page)
    assert len(found) > 300
    stray = sorted({n for n in found if n not in allowed})
    assert not stray, f"numbers on the compliance page not in results.json: {stray[:20]}"


def test_trace_check_has_teeth(results):
    """A number the record invents (a made-up interval bound) is caught by the same check."""
    mutated = render_compliance_html(results, results_path=FULL).replace("0.438", "0.438 [0.123, 0.777]", 1)
    allowed = _all_numbers(results) | BOILERPLATE | {"7", "6", "5", "3", "87.5%", "75.0%", "62.5%", "37.5%"}
    assert {"0.123", "0.777"} <= {n for n in _page_numbers(mutated) if n not in allowed}


def test_record_numbers_equal_results(results, record):
    sec = record["sections"]
    t1 = results["tasks"]["t1"]["result"]["measures"]
    for row in sec["declared_effectiveness"]["rows"]:
        m = t1[row["measure"]]
        if row["system"] in ("neural", "bm25"):
            s = m[row["system"]]
            assert (row["mean"], row["ci"], row["n"]) == (s["mean"], [s["ci_low"], s["ci_high"]], s["n"])
        else:
            c = m["comparison"]
            assert (row["mean"], row["ci"], row["p_value"]) == (c["mean_diff"], [c["diff_ci_low"], c["diff_ci_high"]], c["t_pvalue"])
    t2 = results["tasks"]["t2"]["result"]["variations"]
    for row in sec["natural_noise"]["rows"]:
        s = t2[row["variation"]]["measures"][row["measure"]]["neural"]
        assert (row["drop"], row["drop_ci"], row["p_corrected"]) == (s["drop"], [s["drop_ci_low"], s["drop_ci_high"]], s["p_corrected"])
    t3 = results["tasks"]["t3"]["result"]["domains"]
    for row in sec["generalisation_limits"]["rows"]:
        shift = t3[row["dataset"]]["measures"][row["measure"]]["shift"]
        assert (row["gap"], row["gap_ci"]) == (shift["gap"], [shift["gap_ci_low"], shift["gap_ci_high"]])
    t4 = results["tasks"]["t4"]["result"]["attacks"]
    for row in sec["adversarial"]["rows"]:
        assert row["success_rate"] == t4[row["attack"]]["systems"][row["system"]].get("metrics", {}).get("success_rate")
    assert sec["reproducibility"]["model_sha256"] == results["fingerprints"]["model"]
    assert sec["reproducibility"]["data_sha256"] == results["fingerprints"]["datasets"]
    assert sec["statistical_protocol"]["seed"] == results["seed"] == 13
    assert sec["statistical_protocol"]["corrections"][0]["method"] == "holm"


def test_json_export_validates_against_published_schema(results, tmp_path):
    jsonschema = pytest.importorskip("jsonschema")
    src = tmp_path / "results.json"
    src.write_bytes(FULL.read_bytes())
    r = CliRunner()
    res = r.invoke(main, ["report", str(src), "--compliance", "--json", str(tmp_path / "record.json")])
    assert res.exit_code == 0, res.output
    assert (tmp_path / "compliance.html").is_file()
    res = r.invoke(main, ["schema", "--compliance"])
    assert res.exit_code == 0
    schema = json.loads(res.output)
    assert schema == json.loads(json.dumps(compliance_json_schema()))
    doc = json.loads((tmp_path / "record.json").read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    jsonschema.validate(doc, schema, cls=jsonschema.Draft202012Validator)
    assert doc["sections"]["reproducibility"]["results_sha256"] == doc["run"]["results_sha256"] is not None
    # the schema has teeth: a record missing a section, or with a stray key, is rejected
    broken = copy.deepcopy(doc)
    del broken["sections"]["certification"]
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(broken, schema, cls=jsonschema.Draft202012Validator)
    broken = copy.deepcopy(doc)
    broken["sections"]["gate_decision"]["sign_off"][0]["signed"] = True
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(broken, schema, cls=jsonschema.Draft202012Validator)


def test_intended_use_declared_or_not(results):
    sec = build_record(results)["sections"]["intended_use"]
    assert not sec["declared"]
    assert (sec["intended_use"], sec["operating_domain"]) == (NOT_DECLARED.format(key="intended_use"), NOT_DECLARED.format(key="operating_domain"))
    declared = copy.deepcopy(results)
    declared["config"]["intended_use"] = "re-rank BM25 candidates for <b>library</b> search"
    declared["config"]["operating_domain"] = {"language": "en", "documents": "physics abstracts"}
    sec = build_record(declared)["sections"]["intended_use"]
    assert sec["declared"] and sec["operating_domain"]["documents"] == "physics abstracts"
    page = render_compliance_html(declared, evaluate_policy=False)
    assert "re-rank BM25 candidates for &lt;b&gt;library&lt;/b&gt; search" in page and "documents: physics abstracts" in page


def test_config_accepts_intended_use(tiny_config):
    from robustrank.config import load_config
    from robustrank.errors import ConfigError

    text = tiny_config.read_text()
    tiny_config.write_text(text + "intended_use: library search\noperating_domain: {language: en}\n")
    cfg = load_config(tiny_config)
    assert cfg.intended_use == "library search" and cfg.operating_domain == {"language": "en"}
    tiny_config.write_text(text + "operating_domain: [en]\n")
    with pytest.raises(ConfigError, match="operating_domain"):
        load_config(tiny_config)


def test_missing_tasks_are_stated_not_invented(results):
    partial = copy.deepcopy(results)
    del partial["tasks"]["certify"]
    partial["tasks"]["t4"] = {"status": "error", "error": "RuntimeError: boom", "traceback": "", "duration_s": 0}
    rec = build_record(partial)
    assert rec["sections"]["certification"]["status"] == "not run" and rec["sections"]["certification"]["rows"] == []
    assert rec["sections"]["adversarial"]["status"] == "error"
    assert any("Task t4 did not finish" in s for s in rec["sections"]["limitations_and_residual_risk"]["residual_risk"])
    page = render_compliance_html(partial, evaluate_policy=False)
    assert "resilience to adversarial examples / model evasion is not evidenced" in page
