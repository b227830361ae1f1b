"""Model-card export: YAML front matter with the Hub's model-index structure whose values equal
results.json, and a Markdown robustness section with intervals and the gate verdict."""

from __future__ import annotations

import copy

import pytest
import yaml
from click.testing import CliRunner
from conftest import FULL_RESULTS as FULL

from robustrank.cli import main
from robustrank.report.modelcard import metric_type, model_card


@pytest.fixture(scope="module")
def card(tmp_path_factory) -> str:
    folder = tmp_path_factory.mktemp("card")
    src = folder / "results.json"
    src.write_bytes(FULL.read_bytes())
    res = CliRunner().invoke(main, ["report", str(src), "--model-card"])
    assert res.exit_code == 0, res.output
    return (folder / "model-card.md").read_text()


def _front(card: str) -> dict:
    assert card.startswith("---\n")
    head, _, _ = card[4:].partition("\n---\n")
    return yaml.safe_load(head)


def test_model_index_structure(card, results):
    meta = _front(card)
    (model,) = meta["model-index"]
    assert model["name"] == results["ranker"]["model"]
    assert model["results"]
    for r in model["results"]:
        assert set(r) == {"task", "dataset", "metrics"}
        assert r["task"]["type"] == "text-ranking" and r["task"]["name"]
        assert r["dataset"]["type"] and r["dataset"]["name"]
        for m in r["metrics"]:
            assert set(m) == {"type", "value", "name", "verified"} and m["verified"] is False
            assert isinstance(m["value"], float) and m["type"] == metric_type(m["type"])


def test_values_equal_results(card, results):
    by = {}
    for r in _front(card)["model-index"][0]["results"]:
        for m in r["metrics"]:
            by[(r["dataset"]["type"], r["task"]["name"], m["type"])] = m["value"]
    t1 = results["tasks"]["t1"]["result"]
    for measure, s in t1["measures"].items():
        assert by[("vaswani", "Text Ranking (re-ranking)", metric_type(measure))] == s["neural"]["mean"]
    for name, d in results["tasks"]["t3"]["result"]["domains"].items():
        for measure, s in d["measures"].items():
            assert by[(name, "Text Ranking (re-ranking)", metric_type(measure))] == s["neural"]["mean"]
    for v, entry in results["tasks"]["t2"]["result"]["variations"].items():
        for measure, s in entry["measures"].items():
            assert by[("vaswani", "Robustness to query variations", metric_type(measure, "relative_drop", v))] == s["neural"]["relative_drop"]
    assert by[("vaswani", "Adversarial robustness", "attack_success_rate_prada_wu_2023")] == results["metrics"]["t4.prada_wu_2023.success_rate"]
    for k in (1, 5, 10, 20):
        assert by[("vaswani", "Certified robustness", f"crq_at_{k}")] == results["metrics"][f"certify.crq@{k}"]
    # nothing else: every model-index value is one of these
    assert len(by) == 4 + 2 * 4 + 6 * 4 + 1 + 4


def test_markdown_section(card):
    body = card.split("\n---\n", 1)[1]
    for heading in ("## Robustness audit", "### T1: effectiveness", "### T2: query variations", "### T3: unseen domains",
                    "### T4: adversarial attacks", "### Certification"):
        assert heading in body
    assert "**Release gate: WARN**" in body
    assert "| nDCG@10 | 0.438 [0.270, 0.599] | 0.403 [0.246, 0.540] |" in body
    assert "| prada_wu_2023 | neural | 75.0% | 4 |" in body
    assert "probabilistic" in body


def test_missing_task_leaves_it_out(results):
    partial = copy.deepcopy(results)
    partial["tasks"]["certify"] = {"status": "skipped", "reason": "disabled", "duration_s": 0}
    text = model_card(partial)
    meta = _front(text)
    assert all(r["task"]["name"] != "Certified robustness" for r in meta["model-index"][0]["results"])
    assert "Certification skipped." in text and "Release gate: no policy" in text


def test_model_card_flags(tmp_path):
    src = tmp_path / "results.json"
    src.write_bytes(FULL.read_bytes())
    res = CliRunner().invoke(main, ["report", str(src), "--model-card", "--compliance"])
    assert res.exit_code == 2 and "cannot be combined" in res.output
    res = CliRunner().invoke(main, ["report", str(src), "--model-card", "-o", str(src)])
    assert res.exit_code == 2 and "refusing to overwrite" in res.output
    res = CliRunner().invoke(main, ["report", str(src), "--model-card", "-o", str(tmp_path / "README.md")])
    assert res.exit_code == 0 and (tmp_path / "README.md").read_text().startswith("---\nmodel-index:")
