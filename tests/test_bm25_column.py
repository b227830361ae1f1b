"""T4's BM25 column is shared across audits of different models (robustrank.adversarial.bm25_column)."""

from __future__ import annotations

import json
from pathlib import Path

from conftest import tiny_t4_only

from robustrank.adversarial.bm25_column import column_key


def _config(tiny_config: Path, model: Path, sim: Path, out: Path) -> Path:
    text = tiny_t4_only(Path(tiny_config).read_text(), sim)
    text = text.replace(f"  model: {text.split('  model: ')[1].splitlines()[0]}\n", f"  model: {model}\n", 1)
    text = text.replace(text.split("  dir: ")[1].splitlines()[0], str(out))
    path = out.parent / f"{out.name}.yaml"
    path.write_text(text)
    return path


def _count_runs(monkeypatch) -> list[str]:
    from robustrank.adversarial.campaign import Campaign

    calls: list[str] = []
    real = Campaign.run

    def counting(self, key, spec, system, entry):
        calls.append(system.name)
        return real(self, key, spec, system, entry)

    monkeypatch.setattr(Campaign, "run", counting)
    return calls


def test_second_model_reuses_bm25_rows(tmp_path, tiny_config, tiny_bi_encoder, tiny_bi_encoder_b, tiny_cross_encoder, monkeypatch):
    from robustrank.audit import run_audit
    from robustrank.config import load_config

    calls = _count_runs(monkeypatch)
    first, _ = run_audit(load_config(_config(tiny_config, tiny_bi_encoder, tiny_cross_encoder, tmp_path / "a")), render_html=False)
    assert sorted(calls) == ["bm25", "bm25", "neural", "neural"]
    calls.clear()
    second, _ = run_audit(load_config(_config(tiny_config, tiny_bi_encoder_b, tiny_cross_encoder, tmp_path / "b")), render_html=False)
    assert calls == ["neural", "neural"]  # the attacks did not run on bm25 again
    a, b = first["tasks"]["t4"]["result"]["attacks"], second["tasks"]["t4"]["result"]["attacks"]
    for key in ("random_substitution", "keyword_stuffing"):
        assert a[key]["systems"]["bm25"]["status"] == "ok"
        assert json.dumps(a[key]["systems"]["bm25"], sort_keys=True) == json.dumps(b[key]["systems"]["bm25"], sort_keys=True)
        assert a[key]["systems"]["neural"] != b[key]["systems"]["neural"]  # different models, different rows
    for k, v in first["metrics"].items():
        if ".bm25" in k or "bm25_" in k:
            assert second["metrics"][k] == v, k


def test_victim_judging_similarity_keeps_columns_apart(tmp_path, tiny_config, tiny_bi_encoder, tiny_bi_encoder_b, monkeypatch):
    """When the audited model is the similarity judge, BM25's similarity values depend on it: no reuse."""
    from robustrank.audit import run_audit
    from robustrank.config import load_config

    calls = _count_runs(monkeypatch)
    run_audit(load_config(_config(tiny_config, tiny_bi_encoder, tiny_bi_encoder, tmp_path / "a")), render_html=False)
    calls.clear()
    run_audit(load_config(_config(tiny_config, tiny_bi_encoder_b, tiny_bi_encoder_b, tmp_path / "b")), render_html=False)
    assert calls.count("bm25") == 2


def test_key_ignores_the_ranker_but_not_what_bm25_results_depend_on(tiny_config):
    from robustrank.adversarial.specs import AttackSpec
    from robustrank.config import load_config

    cfg = load_config(tiny_config)
    spec = AttackSpec(name="keyword_stuffing", options={"mode": "prepend"})
    base = column_key(cfg, "keyword_stuffing", spec, [("q1", "d1", 5)], {"similarity": {"model": "m"}})
    other_model = cfg.model_copy(update={"ranker": cfg.ranker.model_copy(update={"model": "another", "batch_size": 99})})
    assert column_key(other_model, "keyword_stuffing", spec, [("q1", "d1", 5)], {"similarity": {"model": "m"}}) == base
    assert column_key(cfg.model_copy(update={"seed": 8}), "keyword_stuffing", spec, [("q1", "d1", 5)], {"similarity": {"model": "m"}}) != base
    assert column_key(cfg, "keyword_stuffing", spec.model_copy(update={"options": {"mode": "append"}}), [("q1", "d1", 5)], {"similarity": {"model": "m"}}) != base
    assert column_key(cfg, "keyword_stuffing", spec, [("q1", "d2", 5)], {"similarity": {"model": "m"}}) != base
    assert column_key(cfg, "keyword_stuffing", spec, [("q1", "d1", 5)], {"similarity": {"model": "n"}}) != base
