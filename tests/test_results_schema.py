"""results.json schema 2.0: metric keys round-trip, the long per-query records, the version check
on read, the published JSON Schema, and a real audit validating against it."""

from __future__ import annotations

import copy
import json

import pytest
from click.testing import CliRunner
from conftest import FULL_RESULTS, write_config

from robustrank.errors import DataError
from robustrank.results import (
    SCHEMA_VERSION,
    MetricKey,
    check_task_result,
    per_query_records,
    pivot,
    read_results,
    results_json_schema,
    select_values,
    task_records,
)

# --- MetricKey ------------------------------------------------------------------------------------

@pytest.mark.parametrize("text, task, parts", [
    ("t1.nDCG@10.mean", "t1", ("nDCG@10", "mean")),
    ("t2.typo.nDCG@10.relative_drop", "t2", ("typo", "nDCG@10", "relative_drop")),
    ("t4.prada_wu_2023.success_rate", "t4", ("prada_wu_2023", "success_rate")),
    ("t4.keyword-stuffing.neural+truncate.bm25_success_rate", "t4", ("keyword-stuffing", "neural+truncate", "bm25_success_rate")),
    ("t3.beir/trec-covid.nDCG@10.gap", "t3", ("beir/trec-covid", "nDCG@10", "gap")),
    ("certify.crq@10", "certify", ("crq@10",)),
    ("my-task.P@5.mean", "my-task", ("P@5", "mean")),
    ('t3.gap["my.data"]', "t3", ("gap", "my.data")),
    ('t3["cran.field v2"].nDCG@10.gap', "t3", ("cran.field v2", "nDCG@10", "gap")),
    ('t3.gap["a>=b"]', "t3", ("gap", "a>=b")),
    ('t3.gap["say \\"hi\\""]', "t3", ("gap", 'say "hi"')),
])
def test_metric_key_round_trip(text, task, parts):
    key = MetricKey.parse(text)
    assert (key.task, key.parts) == (task, parts)
    assert str(key) == text  # canonical text comes back verbatim
    assert MetricKey.parse(str(MetricKey.of(task, *parts))) == MetricKey.of(task, *parts)


def test_metric_key_quoting_is_canonical():
    # a bracketed segment that needs no quoting is written plain; single quotes read like double
    assert str(MetricKey.parse('t1["nDCG@10"].mean')) == "t1.nDCG@10.mean"
    assert MetricKey.parse("t3.gap['my.data']") == MetricKey.of("t3", "gap", "my.data")
    assert MetricKey.of("t3", "gap", "my.data").name == 'gap["my.data"]'
    assert MetricKey.of("t1", "nDCG@10", "mean").child("x").with_task("t9") == MetricKey.parse("t9.nDCG@10.mean.x")


@pytest.mark.parametrize("text, needle", [
    ("t1", "needs a metric name"),
    ("$.tasks.t1", "not a metric key"),
    ("t1.nDCG@10 .mean", "no spaces"),
    ("t1..mean", "malformed"),
    ('t1.gap["open', "malformed"),
    ("", "not a metric key"),
])
def test_metric_key_parse_errors(text, needle):
    with pytest.raises(ValueError, match=needle):
        MetricKey.parse(text)


@pytest.mark.parametrize("task, parts", [("t.1", ("x",)), ("$t", ("x",)), ("t1", ()), ("t1", ("",))])
def test_metric_key_rejects_bad_parts(task, parts):
    with pytest.raises(ValueError):
        MetricKey(task, parts)


def test_fixture_metrics_are_canonical_and_owned(results):
    union = {}
    for key, task in results["tasks"].items():
        if task["status"] != "ok":
            continue
        for name, value in task["result"]["metrics"].items():
            assert str(MetricKey.parse(name)) == name and MetricKey.parse(name).task == key
            union[name] = value
    assert union == results["metrics"]


# --- long records -------------------------------------------------------------------------------------

def test_long_records_helpers():
    values = {"neural": {"nDCG@10": {"q1": 0.5, "q2": 0.25}}, "bm25": {"nDCG@10": {"q1": 0.0, "q2": 1.0}}}
    recs = per_query_records(values, ["q2", "q1"], variation="typo", dataset=None)
    assert recs[0] == {"query_id": "q2", "system": "neural", "measure": "nDCG@10", "value": 0.25, "variation": "typo"}
    assert len(recs) == 4 and all("dataset" not in r for r in recs)  # None labels are left out
    typed = task_records({"per_query": recs + per_query_records(values, ["q1", "q2"])})
    assert select_values(typed, {"system": "bm25", "variation": "typo"}) == {"q2": 1.0, "q1": 0.0}
    assert select_values(typed, {"system": "bm25", "variation": None}) == {"q1": 0.0, "q2": 1.0}
    with pytest.raises(LookupError, match="several records"):
        select_values(typed, {"system": "bm25"})
    with pytest.raises(LookupError, match="no per-query records"):
        select_values(typed, {"system": "splade"})
    assert pivot(typed, "variation", "system", "measure")["typo"]["neural"]["nDCG@10"] == {"q2": 0.25, "q1": 0.5}


def test_fixture_records_hold_the_old_numbers(results):
    """The 2.0 layout re-lays the same numbers: T1's and T2's summaries agree with the records."""
    t1 = results["tasks"]["t1"]["result"]
    by = pivot(task_records(t1), "system", "measure")
    for m, v in t1["measures"].items():
        for s in ("neural", "bm25"):
            assert v[s]["mean"] == pytest.approx(sum(by[s][m].values()) / len(by[s][m]), abs=1e-4)
    t2 = results["tasks"]["t2"]["result"]
    typo = select_values(task_records(t2), {"variation": "typo", "system": "neural", "measure": "nDCG@10"})
    assert t2["variations"]["typo"]["measures"]["nDCG@10"]["neural"]["perturbed_mean"] == pytest.approx(sum(typo.values()) / len(typo), abs=1e-4)


def test_check_task_result():
    ok = {"metrics": {"t1.nDCG@10.mean": 0.5}, "metric_per_query": {"t1.nDCG@10.mean": {"system": "neural", "measure": "nDCG@10"}},
          "per_query": [{"query_id": "q1", "system": "neural", "measure": "nDCG@10", "value": 0.5}], "anything": {"else": [1]}}
    check_task_result("t1", ok)
    for bad, needle in [
        ({"metrics": {"t2.x": 1.0}}, "metric keys of another task: t2.x"),
        ({"metrics": {"nDCG@10.mean": 1.0}}, "another task"),  # the pre-2.0 relative form
        ({"metrics": {"t1.x": "high"}}, "metrics.t1.x"),
        ({"metrics": {"t1.x": 1.0}, "metric_per_query": {"t1.y": {}}}, "does not report: t1.y"),
        ({"per_query": [{"query_id": "q1", "measure": "m", "value": 1.0}]}, "per_query.0.system"),
        ({"per_query": [{"query_id": "q1", "system": "s", "measure": "m", "value": 1.0, "label": [1]}]}, "label 'label'"),
        ([], "not a mapping"),
    ]:
        with pytest.raises(ValueError, match=needle):
            check_task_result("t1", bad)


# --- reading ----------------------------------------------------------------------------------------------

def test_read_results_checks_the_version(tmp_path, results):
    assert read_results(FULL_RESULTS)["schema_version"] == SCHEMA_VERSION == "2.0"
    old = copy.deepcopy(results)
    old["schema_version"] = "1.0"
    p = tmp_path / "old.json"
    p.write_text(json.dumps(old))
    with pytest.raises(DataError) as err:
        read_results(p)
    msg = str(err.value)
    assert msg.startswith(f"{p}: ") and "'1.0'" in msg and "'2.0'" in msg and "\n" not in msg
    p.write_text(json.dumps({"name": "x"}))
    with pytest.raises(DataError, match="not a robustrank results file"):
        read_results(p)


def test_read_results_checks_the_layout(tmp_path, results):
    bad = copy.deepcopy(results)
    del bad["tasks"]["t1"]["result"]["per_query"][3]["system"]
    bad["tasks"]["t2"]["status"] = "done"
    p = tmp_path / "bad.json"
    p.write_text(json.dumps(bad))
    with pytest.raises(DataError) as err:
        read_results(p)
    msg = str(err.value)
    assert msg.startswith(f"{p}: tasks.") and "(and 1 more)" in msg and "\n" not in msg
    res = CliRunner().invoke(__import__("robustrank.cli", fromlist=["main"]).main, ["gate", str(p)])
    assert res.exit_code == 2 and res.output.startswith("error: ")


# --- JSON Schema ----------------------------------------------------------------------------------------------

def test_published_schema(results):
    import jsonschema

    from robustrank.cli import main

    res = CliRunner().invoke(main, ["schema", "--results"])
    assert res.exit_code == 0, res.output
    schema = json.loads(res.output)
    assert schema == json.loads(json.dumps(results_json_schema()))
    jsonschema.Draft202012Validator.check_schema(schema)
    jsonschema.validate(results, schema)
    for mutate in (
        lambda r: r["tasks"]["t1"]["result"]["per_query"][0].__setitem__("value", "high"),
        lambda r: r["metrics"].__setitem__("t1.nDCG@10.mean", "0.4"),
        lambda r: r.__setitem__("schema_version", "1.0"),
        lambda r: r["tasks"]["t3"].__setitem__("status", "done"),
        lambda r: r.__setitem__("surprise", 1),
    ):
        bad = copy.deepcopy(results)
        mutate(bad)
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate(bad, schema)


def test_real_audit_validates_against_the_published_schema(tmp_path, tiny_dataset, tiny_bi_encoder):
    """Every built-in task in one tiny audit; its results.json validates against `schema --results`."""
    import shutil

    import jsonschema

    from robustrank.audit import run_audit
    from robustrank.cli import main
    from robustrank.config import load_config

    other = tmp_path / "other.v2"
    shutil.copytree(tiny_dataset, other)
    lex = tmp_path / "lex.tsv"
    lex.write_text('#robustrank-lexicon\t1\t{"name": "tiny"}\nmeasurement\tmeasuring:0.8\ndesign\tdesigning:0.8 plan:0.75\n')
    cfg = write_config(tmp_path / "m.yaml", f"""
name: schema
seed: 2
lexicon: {lex}
ranker: {{model: {tiny_bi_encoder}, device: cpu, batch_size: 16}}
candidates: {{depth: 10}}
datasets:
  in_domain: {{path: {tiny_dataset}}}
  ood: [{{name: other.v2, path: {other}}}]
tasks:
  t1: {{bootstrap_samples: 50}}
  t2: {{variations: [{{name: typo, rate: 0.5}}], slices: false, bootstrap_samples: 50}}
  t3: {{bootstrap_samples: 50}}
  t4:
    enabled: true
    targets: {{rank_ranges: [[3, 10]], per_query: 1, queries: 2}}
    similarity_model: {tiny_bi_encoder}
    fluency: {{order: 2}}
    injection: {{enabled: false}}
    attacks: [{{name: keyword_stuffing, options: {{mode: prepend}}}}]
  certify: {{enabled: true, queries: 2, candidates: 4, k_values: [1, 2], alpha: 0.1, n_min: 8, n_max: 64, max_set_size: 3, min_similarity: 0.5}}
output: {{dir: {tmp_path / 'out'}, html: false}}
""")
    results, path = run_audit(load_config(cfg), progress=False)
    assert list(results["tasks"]) == ["t1", "t2", "t3", "t4", "certify"]
    assert all(t["status"] == "ok" for t in results["tasks"].values()), {k: t.get("error") for k, t in results["tasks"].items()}
    schema = json.loads(CliRunner().invoke(main, ["schema", "--results"]).output)
    on_disk = json.loads(path.read_text())
    jsonschema.validate(on_disk, schema)
    assert read_results(path) == on_disk
    # the dotted dataset name is a quoted segment, and the gate reads it back
    assert on_disk["metrics"]['t3.gap["other.v2"]'] == on_disk["tasks"]["t3"]["result"]["gap"]["other.v2"]
    from robustrank.config.gate import GateConfig
    from robustrank.gate.evaluate import evaluate_gate

    g = evaluate_gate(GateConfig.model_validate({"conditions": ['t3.gap["other.v2"] <= 1', "t4.keyword_stuffing.success_rate >= 0",
                                                                "certify.crq@1 >= 0"]}), on_disk)
    assert [c.outcome for c in g.conditions] == ["PASS", "PASS", "PASS"]
    # long records of every task that has per-query values
    cert = task_records(on_disk["tasks"]["certify"]["result"])
    assert sum(select_values(cert, {"measure": "certified@1"}).values()) / 2 == on_disk["metrics"]["certify.crq@1"]
    assert {r.dataset for r in task_records(on_disk["tasks"]["t3"]["result"])} == {"tiny", "other.v2"}
    assert {r.variation for r in task_records(on_disk["tasks"]["t2"]["result"])} == {None, "typo"}
