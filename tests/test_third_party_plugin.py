"""The example third-party plugin package is installed, discovered and run in an audit."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PLUGIN = REPO / "examples" / "plugins" / "robustrank-example-plugin"


def test_example_plugin_discovered_and_run(tmp_path, tiny_dataset, tiny_bi_encoder):
    site = tmp_path / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation", "--target", str(site), str(PLUGIN)],
        check=True, capture_output=True, text=True,
    )
    env = {**os.environ, "PYTHONPATH": str(site), "HF_HUB_OFFLINE": "1"}
    listing = subprocess.run([sys.executable, "-m", "robustrank.cli", "plugins"], env=env, capture_output=True, text=True, check=True).stdout
    rows = {tuple(line.split()[:4]) for line in listing.splitlines()}
    assert ("attack", "lead_sentence", "robustrank-example-plugin", "0.1.0") in rows
    assert ("defense", "truncate", "robustrank-example-plugin", "0.1.0") in rows
    assert ("task", "doc_truncation", "robustrank-example-plugin", "0.1.0") in rows

    cfg = tmp_path / "m.yaml"
    cfg.write_text(f"""
name: third-party
ranker: {{model: {tiny_bi_encoder}, device: cpu}}
candidates: {{depth: 10}}
datasets: {{in_domain: {{path: {tiny_dataset}}}}}
tasks:
  t1: {{enabled: false}}
  t2: {{enabled: false}}
  t4:
    enabled: true
    targets: {{rank_ranges: [[2, 10]], queries: 3}}
    attacks: [{{name: lead_sentence, options: {{max_sentences: 2}}}}]
    systems: [neural]
    defenses: [truncate]
    similarity_model: {tiny_bi_encoder}
    injection: {{enabled: false}}
  doc_truncation: {{max_words: [5], bootstrap_samples: 100}}
gate:
  conditions:
    - doc_truncation.first5.nDCG@10.mean >= 0
    - check: doc_truncation.first5.nDCG@10.relative_drop <= -5
      severity: warn
""")
    out = tmp_path / "out"
    proc = subprocess.run(
        [sys.executable, "-m", "robustrank.cli", "-q", "audit", str(cfg), "--out", str(out), "--gate"],
        env=env, capture_output=True, text=True,
    )
    assert proc.returncode == 0, proc.stderr + proc.stdout
    results = json.loads((out / "results.json").read_text())
    _check_plugin_task(tmp_path, out, results, env)
    t4 = results["tasks"]["t4"]
    assert t4["status"] == "ok", t4.get("traceback")
    systems = t4["result"]["attacks"]["lead_sentence"]["systems"]
    assert systems["neural"]["status"] == "ok" and systems["neural"]["metrics"]["n_targets"] >= 1
    for t in systems["neural"]["targets"]:  # the attack only reorders sentences, never edits words
        assert sorted(t["adversarial_text"].split()) == sorted(t["original_text"].split())
        assert t["new_rank"] <= t["original_rank"]
    assert systems["neural+truncate"]["status"] == "ok"
    # the plugin's provenance is recorded
    assert "robustrank-example-plugin" in json.dumps(t4["result"])


def _check_plugin_task(tmp_path, out, results, env):
    """The plugin task ran from model.yaml, wrote long records and metric keys, rendered through
    its own fragment (from the plugin's package), and the gate evaluated its metric keys."""
    import jsonschema

    from robustrank.results import results_json_schema, select_values, task_records

    entry = results["tasks"]["doc_truncation"]
    assert entry["status"] == "ok", entry.get("traceback")
    res = entry["result"]
    assert results["plugins"]["task:doc_truncation"]["distribution"] == "robustrank-example-plugin"
    records = task_records(res)
    full = select_values(records, {"system": "neural", "measure": "nDCG@10", "max_words": None})
    cut = select_values(records, {"system": "neural", "measure": "nDCG@10", "max_words": 5})
    assert set(full) == set(cut) == {"q1", "q2", "q3", "q4"}
    mean = results["metrics"]["doc_truncation.first5.nDCG@10.mean"]
    assert mean == res["cuts"][0]["measures"]["nDCG@10"]["neural"]["perturbed_mean"]
    assert abs(mean - sum(cut.values()) / 4) < 1e-12
    jsonschema.validate(results, results_json_schema())

    gate = json.loads((out / "gate.json").read_text())
    outcomes = {c["check"]: (c["outcome"], c["value"]) for c in gate["conditions"]}
    assert outcomes["doc_truncation.first5.nDCG@10.mean >= 0"] == ("PASS", mean)
    drop = results["metrics"]["doc_truncation.first5.nDCG@10.relative_drop"]
    assert outcomes["doc_truncation.first5.nDCG@10.relative_drop <= -5"] == ("WARN", drop)
    # a paired delta on the plugin's metric finds its per-query values through metric_per_query
    policy = tmp_path / "paired.yaml"
    policy.write_text("gate:\n  conditions:\n    - check: delta(doc_truncation.first5.nDCG@10.mean) >= -0.01\n      paired: {test: t}\n")
    proc = subprocess.run([sys.executable, "-m", "robustrank.cli", "gate", str(out / "results.json"), "--baseline", str(out / "results.json"),
                           "--policy", str(policy), "--json", str(tmp_path / "g.json")], env=env, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr + proc.stdout
    test = json.loads((tmp_path / "g.json").read_text())["conditions"][0]["test"]
    assert test["n_queries"] == 4 and test["per_query_source"] == "$.tasks.doc_truncation.result.per_query[system=neural, measure=nDCG@10, max_words=5]"

    html = (out / "report.html").read_text()
    assert "Document truncation — Document truncation sensitivity" in html  # the plugin's own fragment
    assert f"{mean:.3f}" in html and "first 5 words: drop in nDCG@10" in html  # its fragment and its summary row
    # without the plugin installed, the same results render through the generic section
    bare = {k: v for k, v in env.items() if k != "PYTHONPATH"}
    proc = subprocess.run([sys.executable, "-m", "robustrank.cli", "report", str(out / "results.json"), "-o", str(tmp_path / "bare.html")],
                          env=bare, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    generic = (tmp_path / "bare.html").read_text()
    assert "Document truncation — Document truncation sensitivity" not in generic
    assert "doc_truncation — Document truncation sensitivity" in generic and "doc_truncation.first5.nDCG@10.mean" in generic
