"""Config parsing: strict keys, messages naming file and key path, overrides, schema."""

from __future__ import annotations

import json

import pytest

from robustrank.config import load_config, parse_config
from robustrank.errors import ConfigError

BASE = {
    "name": "x",
    "ranker": {"type": "bi-encoder", "model": "some/model"},
    "datasets": {"in_domain": {"path": "data"}},
}


def _with(**sections):
    data = json.loads(json.dumps(BASE))
    for key, value in sections.items():
        node = data
        *parents, leaf = key.split(".")
        for p in parents:
            node = node.setdefault(p, {})
        node[leaf] = value
    return data


def test_valid_config_defaults(tmp_path):
    cfg = parse_config(BASE, source="m.yaml", base_dir=tmp_path)
    assert cfg.ranker.batch_size is None  # per device (robustrank.rankers.batching)
    assert cfg.measures == ["nDCG@10", "RR@10", "AP@100", "R@100"]
    assert cfg.candidates.depth == 100 and cfg.candidates.source == "bm25"
    assert cfg.tasks["t1"].enabled
    assert cfg.resolve("data") == (tmp_path / "data").resolve()
    assert cfg.output_dir() == (tmp_path / "reports" / "x").resolve()  # relative to the config file


def test_unknown_key_names_file_and_path():
    with pytest.raises(ConfigError) as exc:
        parse_config(_with(**{"ranker.bach_size": 3}), source="model.yaml")
    assert str(exc.value) == "model.yaml: ranker.bach_size: unknown key"


def test_unknown_top_level_section():
    with pytest.raises(ConfigError, match=r"model.yaml: attackz: unknown key"):
        parse_config(_with(attackz={}), source="model.yaml")


def test_non_positive_batch_size():
    with pytest.raises(ConfigError) as exc:
        parse_config(_with(**{"ranker.batch_size": 0}), source="model.yaml")
    assert "model.yaml: ranker.batch_size: Input should be greater than 0" in str(exc.value)


def test_wrong_type_names_key():
    with pytest.raises(ConfigError, match=r"m.yaml: candidates.depth: Input should be a valid integer"):
        parse_config(_with(**{"candidates.depth": "lots"}), source="m.yaml")


def test_list_index_in_path():
    with pytest.raises(ConfigError, match=r"m.yaml: datasets.ood\[1\].path: unknown key|m.yaml: datasets.ood\[1\]: format 'beir' needs 'path'"):
        parse_config(_with(**{"datasets.ood": [{"path": "a"}, {}]}), source="m.yaml")


def test_bad_measure_and_device():
    with pytest.raises(ConfigError, match=r"measures\[0\]|measures: "):
        parse_config(_with(measures=["nDCG@ten"]), source="m.yaml")
    with pytest.raises(ConfigError, match=r"ranker.device: must be auto, cpu, mps, cuda or cuda:N"):
        parse_config(_with(**{"ranker.device": "gpu0"}), source="m.yaml")


def test_cross_field_requirements():
    with pytest.raises(ConfigError, match=r"ranker: ranker type 'cross-encoder' needs 'model'"):
        parse_config(_with(ranker={"type": "cross-encoder"}), source="m.yaml")
    with pytest.raises(ConfigError, match=r"candidates: source 'run' needs"):
        parse_config(_with(candidates={"source": "run"}), source="m.yaml")


def test_several_errors_reported_together():
    with pytest.raises(ConfigError) as exc:
        parse_config(_with(**{"ranker.batch_size": -1, "seed": "abc"}), source="m.yaml")
    msg = str(exc.value)
    assert "m.yaml: ranker.batch_size" in msg and "m.yaml: seed" in msg


def test_missing_file(tmp_path):
    with pytest.raises(ConfigError, match=r"nope.yaml: cannot read config"):
        load_config(tmp_path / "nope.yaml")


def test_yaml_syntax_error_has_line(tmp_path):
    p = tmp_path / "m.yaml"
    p.write_text("name: x\nranker:\n  type: [unclosed\n")
    with pytest.raises(ConfigError, match=r"m.yaml:\d+: YAML syntax error"):
        load_config(p)


def test_not_a_mapping(tmp_path):
    p = tmp_path / "m.yaml"
    p.write_text("- a\n- b\n")
    with pytest.raises(ConfigError, match=r"<root>: expected a mapping"):
        load_config(p)


def test_yaml_is_safe_loaded(tmp_path):
    p = tmp_path / "m.yaml"
    p.write_text("name: !!python/object/apply:os.system ['echo pwned']\n")
    with pytest.raises(ConfigError, match="YAML syntax error"):
        load_config(p)


def test_overrides_are_validated(tmp_path):
    p = tmp_path / "m.yaml"
    p.write_text(json.dumps(BASE))
    cfg = load_config(p, overrides={"ranker.device": "cpu", "max_queries": 5})
    assert cfg.ranker.device == "cpu" and cfg.max_queries == 5
    assert cfg.base_dir == tmp_path.resolve()
    with pytest.raises(ConfigError, match=r"max_queries: Input should be greater than 0"):
        load_config(p, overrides={"max_queries": 0})


def test_json_schema_lists_sections():
    from robustrank.config import json_schema

    schema = json_schema()
    assert schema["additionalProperties"] is False
    for key in ("name", "seed", "ranker", "candidates", "datasets", "tasks", "gate", "output"):
        assert key in schema["properties"]
