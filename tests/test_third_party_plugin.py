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
""")
    out = tmp_path / "out"
    proc = subprocess.run(
        [sys.executable, "-m", "robustrank.cli", "-q", "audit", str(cfg), "--out", str(out), "--no-html"],
        env=env, capture_output=True, text=True,
    )
    assert proc.returncode == 0, proc.stderr
    results = json.loads((out / "results.json").read_text())
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
