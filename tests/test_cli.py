"""The command line: exit codes, one-line errors, subcommands."""

from __future__ import annotations

import json

from click.testing import CliRunner

from robustrank.cli import main


def test_audit_and_report_commands(tiny_config, tmp_path):
    runner = CliRunner()
    res = runner.invoke(main, ["-q", "audit", str(tiny_config), "--max-queries", "2", "--device", "cpu"])
    assert res.exit_code == 0, res.output
    out = tmp_path / "out"
    data = json.loads((out / "results.json").read_text())
    assert data["tasks"]["t1"]["result"]["n_queries"] == 2
    assert data["config"]["ranker"]["device"] == "cpu"
    res = runner.invoke(main, ["report", str(out / "results.json"), "-o", str(tmp_path / "r.html")])
    assert res.exit_code == 0 and (tmp_path / "r.html").is_file()


def test_config_error_is_one_line_exit_2(tmp_path):
    p = tmp_path / "m.yaml"
    p.write_text("name: x\nranker: {model: m, batch_size: 0}\ndatasets: {in_domain: {path: d}}\n")
    res = CliRunner().invoke(main, ["audit", str(p)])
    assert res.exit_code == 2
    assert res.output.strip() == f"error: {p}: ranker.batch_size: Input should be greater than 0"
    assert "Traceback" not in res.output


def test_missing_model_is_one_line(tmp_path, tiny_dataset):
    p = tmp_path / "m.yaml"
    p.write_text(f"name: x\nranker: {{model: nobody/nothing}}\ndatasets: {{in_domain: {{path: {tiny_dataset}}}}}\n")
    res = CliRunner().invoke(main, ["audit", str(p)])
    assert res.exit_code == 2
    assert res.output.startswith("error: ranker.model: 'nobody/nothing' is not a local folder")
    assert res.output.count("\n") == 1


def test_bad_cli_override(tiny_config):
    res = CliRunner().invoke(main, ["audit", str(tiny_config), "--device", "tpu"])
    assert res.exit_code == 2 and "ranker.device" in res.output


def test_report_on_bad_json(tmp_path):
    p = tmp_path / "results.json"
    p.write_text("{not json")
    res = CliRunner().invoke(main, ["report", str(p)])
    assert res.exit_code == 2 and "results.json:1: invalid JSON" in res.output


def test_schema_and_plugins():
    res = CliRunner().invoke(main, ["schema"])
    assert res.exit_code == 0 and json.loads(res.output)["title"] == "robustrank model.yaml"
    res = CliRunner().invoke(main, ["plugins"])
    assert res.exit_code == 0
    assert "bi-encoder" in res.output and "t1" in res.output
