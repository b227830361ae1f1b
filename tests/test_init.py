"""``robustrank init``: type detection, a file that validates, refusal to overwrite, and init -> audit end to end."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from robustrank.cli import main
from robustrank.errors import ConfigError
from robustrank.scaffold import PROFILES, detect_ranker_type


def test_detects_bi_cross_and_onnx(tiny_bi_encoder, tiny_cross_encoder, tmp_path):
    assert detect_ranker_type(str(tiny_bi_encoder))[0] == "bi-encoder"
    assert detect_ranker_type(str(tiny_cross_encoder))[0] == "cross-encoder"
    onnx = tmp_path / "m"
    onnx.mkdir()
    (onnx / "model.onnx").write_bytes(b"\x08\x07")
    assert detect_ranker_type(str(onnx))[0] == "onnx"
    assert detect_ranker_type(str(onnx / "model.onnx"))[0] == "onnx"
    plain = tmp_path / "plain"
    plain.mkdir()
    (plain / "config.json").write_text(json.dumps({"architectures": ["BertModel"]}))
    with pytest.raises(ConfigError, match="--type"):
        detect_ranker_type(str(plain))
    with pytest.raises(ConfigError, match="--type"):
        detect_ranker_type("nobody/no-such-model")


def _init(tmp_path, model, collection, *extra):
    out = tmp_path / "model.yaml"
    res = CliRunner().invoke(main, ["init", str(model), "--collection", str(collection), "-o", str(out), *extra])
    return res, out


@pytest.mark.parametrize("profile", list(PROFILES))
def test_written_file_validates_with_a_policy_on_every_task(tmp_path, tiny_bi_encoder, tiny_dataset, profile):
    from robustrank.config import load_config
    from robustrank.gate.expr import parse_condition, task_of

    res, out = _init(tmp_path, tiny_bi_encoder, tiny_dataset, "--profile", profile, "--ood", str(tiny_dataset))
    assert res.exit_code == 0, res.output
    cfg = load_config(out)
    assert cfg.ranker.type == "bi-encoder" and cfg.tasks["t4"].profile == PROFILES[profile]["t4_profile"]
    assert all(cfg.tasks[t].enabled for t in ("t1", "t2", "t3", "t4", "certify"))
    tasks = {task_of(parse_condition(c.check).ref) for c in cfg.gate.conditions}
    assert tasks == {"t1", "t2", "t3", "t4", "certify"}
    text = out.read_text()
    assert text.count("#") > 20  # commented
    assert "t4.ensemble.top10_rate.ci_low" in text


def test_refuses_to_overwrite_without_force(tmp_path, tiny_bi_encoder, tiny_dataset):
    res, out = _init(tmp_path, tiny_bi_encoder, tiny_dataset)
    assert res.exit_code == 0
    out.write_text("name: mine\n")
    res, _ = _init(tmp_path, tiny_bi_encoder, tiny_dataset)
    assert res.exit_code == 2 and "--force" in res.output and out.read_text() == "name: mine\n"
    res, _ = _init(tmp_path, tiny_bi_encoder, tiny_dataset, "--force")
    assert res.exit_code == 0 and "ranker:" in out.read_text()


def test_bad_inputs_exit_2(tmp_path, tiny_bi_encoder, tiny_dataset):
    res, out = _init(tmp_path, tiny_bi_encoder, tmp_path / "missing")
    assert res.exit_code == 2 and "--collection" in res.output and not out.exists()
    res, out = _init(tmp_path, tiny_bi_encoder, tiny_dataset, "--tasks", "t1,t9")
    assert res.exit_code == 2 and "t9" in res.output and not out.exists()


@pytest.mark.parametrize("kind", ["bi", "ce"])
def test_init_then_audit_end_to_end(tmp_path, tiny_bi_encoder, tiny_cross_encoder, tiny_dataset, kind):
    model = tiny_bi_encoder if kind == "bi" else tiny_cross_encoder
    res, out = _init(tmp_path, model, tiny_dataset, "--tasks", "t1,t2", "--name", f"tiny-{kind}")
    assert res.exit_code == 0, res.output
    text = out.read_text()
    assert ("type: bi-encoder" if kind == "bi" else "type: cross-encoder") in text
    # keep the test fast: fewer resamples (the written values are for real collections)
    out.write_text(text.replace("bootstrap_samples: 1000", "bootstrap_samples: 100").replace("bootstrap_samples: 500", "bootstrap_samples: 100"))
    res = CliRunner().invoke(main, ["-q", "audit", str(out), "--device", "cpu", "--gate"])
    results = json.loads((tmp_path / "reports" / f"tiny-{kind}" / "results.json").read_text())
    assert results["tasks"]["t1"]["status"] == "ok" and results["tasks"]["t2"]["status"] == "ok"
    assert "t2.typo.fail_rate.ci_low" in results["metrics"]
    gate = json.loads((tmp_path / "reports" / f"tiny-{kind}" / "gate.json").read_text())
    assert {c["check"].split(".")[0] for c in gate["conditions"]} == {"t1", "t2"}
    assert res.exit_code in (0, 1), res.output  # the gate decides; no input or task error
    assert res.exit_code == (1 if gate["outcome"] in ("FAIL", "ERROR") else 0)
    assert (tmp_path / "reports" / f"tiny-{kind}" / "report.html").is_file()
