"""Progress of long steps: units done / total, rate and ETA, as a bar or as JSON lines (--log-json)."""

from __future__ import annotations

import json
import logging

from click.testing import CliRunner

from robustrank.executors.progress import ProgressBar
from robustrank.jsonlog import JsonFormatter


def test_json_progress_records_count_every_unit_and_end_at_total(caplog):
    caplog.set_level(logging.INFO, logger="robustrank.progress")
    bar = ProgressBar("json", "certify", "queries", total=5, every_s=3600)
    for _ in range(5):
        bar.update()
    recs = [r.progress for r in caplog.records]
    assert [r["done"] for r in recs] == [0, 5]  # first and last always; in between throttled
    assert recs[-1]["total"] == 5 and recs[-1]["eta_s"] == 0 and recs[-1]["rate"] > 0
    line = json.loads(JsonFormatter().format(caplog.records[-1]))
    assert line["progress"] == recs[-1] and line["logger"] == "robustrank.progress" and line["level"] == "INFO"


def test_log_json_audit_reports_every_step_of_every_task(tiny_config):
    from robustrank.cli import main

    text = tiny_config.read_text().replace("  t1:\n    bootstrap_samples: 200\n", "  t1:\n    bootstrap_samples: 50\n  t2: {enabled: false}\n")
    tiny_config.write_text(text)
    res = CliRunner().invoke(main, ["--log-json", "audit", str(tiny_config), "--no-html"])
    assert res.exit_code == 0, res.output
    lines = [json.loads(line) for line in res.stderr.splitlines() if line.startswith("{")]
    assert lines and all({"time", "level", "logger", "message"} <= set(x) for x in lines)
    non_json = [line for line in res.stderr.splitlines() if line.strip() and not line.startswith("{")]
    assert non_json == []  # no tqdm bar, no plain log line
    progress = [x["progress"] for x in lines if "progress" in x]
    last = {}
    for p in progress:
        key = (p["task"], p["step"])
        assert p["done"] >= last.get(key, 0)  # monotone per step
        last[key] = p["done"]
    reranks = {k: v for k, v in last.items() if k[0] == "rerank"}
    assert reranks and all(v == 4 for v in reranks.values())  # the 4 judged queries of the tiny collection
