"""robustrank compare: shared metrics side by side, paired per-query tests on shared queries,
what changed in model, data and config; bad input is one line with exit code 2."""

from __future__ import annotations

import copy
import json

import pytest
from click.testing import CliRunner
from conftest import FULL_RESULTS as FULL

from robustrank.cli import main
from robustrank.report.compare import compare_results, paired_stats
from robustrank.report.compare_render import comparison_html, comparison_markdown


def _shifted(results: dict, delta: float, measure: str = "nDCG@10") -> dict:
    """A copy whose T1 neural per-query values of ``measure`` are all higher by ``delta`` (capped at 1)."""
    new = copy.deepcopy(results)
    for r in new["tasks"]["t1"]["result"]["per_query"]:
        if r["system"] == "neural" and r["measure"] == measure:
            r["value"] = r["value"] + delta
    new["metrics"]["t1.nDCG@10.mean"] += delta
    return new


def test_paired_stats_detects_a_consistent_shift():
    old = {str(i): 0.1 * i for i in range(10)}
    new = {q: v + 0.05 + (0.01 if int(q) % 2 else -0.01) for q, v in old.items()}
    s = paired_stats(old, new)
    assert s["n_shared"] == 10 and s["mean_diff"] == pytest.approx(0.05)
    assert s["p_t"] < 1e-6 and s["ci"][0] > 0 and s["improved"] == 10
    same = paired_stats(old, dict(old))
    assert same["p_t"] == 1.0 and same["p_wilcoxon"] == 1.0 and same["ci"] == [0.0, 0.0]
    # only shared queries are paired
    s = paired_stats(old, {"0": 1.0, "x": 5.0})
    assert s["n_shared"] == 1 and s["p_t"] is None


def test_identical_runs_have_no_difference(results):
    cmp = compare_results(results, copy.deepcopy(results))
    assert all(m["delta"] == 0 for m in cmp["metrics"] if m["delta"] is not None)
    assert len(cmp["metrics"]) == len(results["metrics"])
    assert cmp["paired"] and not any(r["significant"] for r in cmp["paired"])
    assert all(r["identical"] for r in cmp["paired"]) and cmp["family_size"] == 0
    assert not any(cmp["changes"][k] for k in ("model", "data", "config", "environment", "seed"))


def test_shift_is_found_and_linked_to_its_metric(results):
    cmp = compare_results(results, _shifted(results, 0.2))
    (row,) = [r for r in cmp["paired"] if r["task"] == "t1" and r["filter"] == {"measure": "nDCG@10", "system": "neural"}]
    assert row["metric"] == "t1.nDCG@10.mean" and row["n_shared"] == 8
    assert row["mean_diff"] == pytest.approx(0.2) and row["significant"] and row["p_t"] == 0.0
    m = next(m for m in cmp["metrics"] if m["key"] == "t1.nDCG@10.mean")
    assert m["delta"] == pytest.approx(0.2) and cmp["paired"][m["paired"]] is row
    # the other series did not change, and stay out of the Holm family
    assert sum(r["significant"] for r in cmp["paired"]) == 1 and cmp["family_size"] == 1

    # Holm over the series that differ: two shifted series double the smaller p
    new = _shifted(results, 0.0)
    for r in new["tasks"]["t1"]["result"]["per_query"]:
        if r["system"] == "neural" and r["measure"] in ("RR@10", "AP@100"):
            r["value"] += 0.05 if int(r["query_id"]) % 2 else 0.02
    cmp = compare_results(results, new)
    rows = sorted((r for r in cmp["paired"] if not r["identical"]), key=lambda r: r["p_t"])
    assert cmp["family_size"] == 2 and rows[0]["p_holm"] == pytest.approx(2 * rows[0]["p_t"])


def test_changes_in_model_data_config(results):
    new = copy.deepcopy(results)
    new["seed"] = 14
    new["config"]["seed"] = 14
    new["config"]["tasks"]["t1"]["bootstrap_samples"] = 500
    new["fingerprints"]["model"]["model.safetensors"] = "0" * 64
    files = new["fingerprints"]["datasets"]["cranfield"]
    files[next(iter(files))] = "f" * 64
    new["environment"]["packages"]["torch"] = "9.9"
    ch = compare_results(results, new)["changes"]
    assert ch["seed"] == {"old": 13, "new": 14}
    assert {"key": "tasks.t1.bootstrap_samples", "old": 2000, "new": 500} in ch["config"]
    assert any(x["key"] == "weights.model.safetensors" and x["new"] == "0" * 64 for x in ch["model"])
    assert list(ch["data"]) == ["cranfield"]
    assert {x["key"] for x in ch["environment"]} == {"torch"}


def test_metrics_in_one_run_only(results):
    new = copy.deepcopy(results)
    del new["metrics"]["certify.crq@1"]
    new["metrics"]["t9.new"] = 1.0
    cmp = compare_results(results, new)
    assert cmp["only_old"] == ["certify.crq@1"] and cmp["only_new"] == ["t9.new"]


def test_page_and_markdown(results):
    cmp = compare_results(results, _shifted(results, 0.2))
    html = comparison_html(cmp)
    assert '<section id="paired">' in html and "Paired per-query tests" in html
    assert '<tr class="better"><td class="l">t1</td><td class="l">measure=nDCG@10, system=neural</td><td class="l">t1.nDCG@10.mean</td><td>8</td>' in html
    assert html.count('class="better"') == 2  # the paired row and its metric row, nothing else coloured
    md = comparison_markdown(cmp)
    assert "1 significant" in md and "| t1 | measure=nDCG@10, system=neural | 8 |" in md and "+0.2000" in md


def test_cli_bad_input(tmp_path):
    good = tmp_path / "a.json"
    good.write_bytes(FULL.read_bytes())
    r = CliRunner()
    res = r.invoke(main, ["compare", str(tmp_path / "missing.json"), str(good)])
    assert res.exit_code == 2 and res.output.count("\n") == 1 and "missing.json" in res.output and "Traceback" not in res.output
    (tmp_path / "b.json").write_text("{not json")
    res = r.invoke(main, ["compare", str(good), str(tmp_path / "b.json")])
    assert res.exit_code == 2 and "b.json" in res.output and "Traceback" not in res.output
    res = r.invoke(main, ["compare", str(good), str(good), "-o", str(good)])
    assert res.exit_code == 2 and "refusing to overwrite" in res.output
    tampered = json.loads(FULL.read_text())
    tampered["tasks"]["t1"]["result"]["per_query"][0]["value"] = "high"
    (tmp_path / "c.json").write_text(json.dumps(tampered))
    res = r.invoke(main, ["compare", str(good), str(tmp_path / "c.json")])
    assert res.exit_code == 2 and "c.json" in res.output and "Traceback" not in res.output


def test_two_tiny_audits_with_different_seeds(tiny_config, tmp_path):
    """Two real (tiny) audits that differ only in seed: the page shows paired tests on their shared queries."""
    text = tiny_config.read_text().replace("tasks:\n", "tasks:\n  t4: {enabled: false}\n  certify: {enabled: false}\n")
    r = CliRunner()
    paths = []
    for seed in (7, 8):
        cfg = tmp_path / f"model-{seed}.yaml"
        cfg.write_text(text.replace("seed: 7", f"seed: {seed}").replace(str(tmp_path / "out"), str(tmp_path / f"out{seed}")))
        res = r.invoke(main, ["-q", "audit", str(cfg), "--no-html"])
        assert res.exit_code in (0, 3), res.output
        paths.append(tmp_path / f"out{seed}" / "results.json")
    res = r.invoke(main, ["compare", *map(str, paths), "-o", str(tmp_path / "compare.html"), "--markdown", str(tmp_path / "compare.md")])
    assert res.exit_code == 0, res.output
    html = (tmp_path / "compare.html").read_text()
    assert '<section id="paired">' in html and "t1.nDCG@10.mean" in html
    assert "Seed: 7 → 8." in html and "<code>seed</code>" in html
    old, new = (json.loads(p.read_text()) for p in paths)
    cmp = compare_results(old, new)
    t1 = [x for x in cmp["paired"] if x["task"] == "t1"]
    assert t1 and all(x["n_shared"] == old["tasks"]["t1"]["result"]["n_queries"] for x in t1)
    # same model and data: T1's per-query values are the same, the seed only moves resampling and variations
    assert all(x["mean_diff"] == 0 for x in t1)
    assert any(x["task"] == "t2" for x in cmp["paired"])
    assert "Paired per-query tests:" in (tmp_path / "compare.md").read_text()
