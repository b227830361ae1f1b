"""T2 (query variations, slices) and T3 (unseen domains) on the tiny collection."""

from __future__ import annotations

import shutil

import pytest

from robustrank.audit import run_audit
from robustrank.config import load_config
from robustrank.results import pivot, select_values, task_records


@pytest.fixture()
def ood_config(tmp_path, tiny_dataset, tiny_bi_encoder):
    other = tmp_path / "other"
    shutil.copytree(tiny_dataset, other)
    p = tmp_path / "m.yaml"
    p.write_text(f"""
name: ood
seed: 3
ranker: {{model: {tiny_bi_encoder}, device: cpu}}
candidates: {{depth: 10}}
datasets:
  in_domain: {{path: {tiny_dataset}}}
  ood:
    - {{name: other, path: {other}}}
    - {{name: missing, path: {tmp_path / 'does-not-exist'}}}
tasks:
  t1: {{enabled: false}}
  t2:
    bootstrap_samples: 100
    variations:
      - {{name: typo, rate: 0.5}}
      - {{name: synonym, rate: 1.0}}
      - {{name: stopword_drop, rate: 1.0}}
      - {{name: shuffle, rate: 1.0}}
  t3: {{bootstrap_samples: 100}}
output: {{dir: {tmp_path / 'out'}, html: true}}
""")
    return p


def test_t2_and_t3(ood_config, tmp_path):
    results, path = run_audit(load_config(ood_config), progress=False)
    assert "t1" not in results["tasks"]
    t2 = results["tasks"]["t2"]
    assert t2["status"] == "ok", t2.get("traceback")
    r = t2["result"]
    assert set(r["variations"]) == {"typo", "synonym", "stopword_drop", "shuffle"}
    typo = r["variations"]["typo"]
    assert typo["changed_queries"] == 4
    for v in typo["variants"].values():
        assert v["text"] != v["original"] and v["edits"]
    row = typo["measures"]["nDCG@10"]
    for s in ("neural", "bm25"):
        original = select_values(task_records(r), {"system": s, "measure": "nDCG@10", "variation": None})
        perturbed = select_values(task_records(r), {"system": s, "measure": "nDCG@10", "variation": "typo"})
        assert len(original) == len(perturbed) == 4
        assert row[s]["original_mean"] == pytest.approx(sum(original.values()) / 4)
        assert row[s]["perturbed_mean"] == pytest.approx(sum(perturbed.values()) / 4)
        assert row[s]["drop"] == pytest.approx(row[s]["original_mean"] - row[s]["perturbed_mean"])
        if row[s]["t_pvalue"] is not None:
            assert row[s]["p_corrected"] >= row[s]["t_pvalue"]
    # shuffling does not change a bag-of-words BM25 score: no BM25 drop at all
    sh = r["variations"]["shuffle"]["measures"]["nDCG@10"]["bm25"]
    assert sh["drop"] == 0 and sh["unchanged"] == 4 and sh["p_corrected"] is None
    assert r["correction"]["method"] == "holm" and r["correction"]["family_size"] > 0
    assert r["lexicon"]["sha256"] and results["lexicon"]["sha256"] == r["lexicon"]["sha256"]
    assert "question_type=how" in r["slices"] and "length=short" in r["slices"]
    # T3: one good OOD collection, one error row; the audit went on
    t3 = results["tasks"]["t3"]
    assert t3["status"] == "ok"
    d = t3["result"]["domains"]
    assert d["missing"]["status"] == "error" and "dataset folder not found" in d["missing"]["error"]
    other = d["other"]["measures"]["nDCG@10"]
    # the OOD copy is identical to in-domain: zero drop and zero gap for both systems
    assert other["shift"]["neural_relative_drop"] == pytest.approx(0)
    assert other["shift"]["gap"] == pytest.approx(0)
    assert t3["result"]["gap"]["other"] == pytest.approx(0)
    # T3's long records: the in-domain collection and each good OOD collection, none for the errored one
    by_dataset = pivot(task_records(t3["result"]), "dataset", "system", "measure")
    assert set(by_dataset) == {t3["result"]["in_domain"]["dataset"], "other"}
    assert by_dataset["other"]["neural"]["nDCG@10"] == by_dataset[t3["result"]["in_domain"]["dataset"]]["neural"]["nDCG@10"]
    assert results["metrics"]["t3.other.nDCG@10.gap"] == other["shift"]["gap"] and results["metrics"]["t3.gap.other"] == other["shift"]["gap"]
    html = (path.parent / "report.html").read_text()
    assert "T2 — Unseen query variations" in html and "T3 — Unseen domains" in html
    assert f"{row['neural']['perturbed_mean']:.3f}" in html


def test_empty_variant_is_scored_not_dropped(tmp_path, tiny_dataset, tiny_bi_encoder):
    q = tiny_dataset / "queries.jsonl"
    q.write_text(q.read_text().replace('"how are computers used to design filters"', '"how are to the of"'))
    p = tmp_path / "m.yaml"
    p.write_text(f"""
name: empty
ranker: {{model: {tiny_bi_encoder}, device: cpu}}
datasets: {{in_domain: {{path: {tiny_dataset}}}}}
tasks:
  t1: {{enabled: false}}
  t3: {{enabled: false}}
  t2: {{variations: [{{name: stopword_drop, rate: 1.0}}], slices: false, bootstrap_samples: 50}}
""")
    results, _ = run_audit(load_config(p), out_dir=tmp_path / "o", progress=False, render_html=False)
    v = results["tasks"]["t2"]["result"]["variations"]["stopword_drop"]
    assert v["variants"]["q2"]["text"] == "" and v["empty_variants"] == 1
    records = task_records(results["tasks"]["t2"]["result"])
    assert select_values(records, {"variation": "stopword_drop", "system": "neural", "measure": "nDCG@10"})["q2"] == 0.0
    assert v["measures"]["nDCG@10"]["neural"]["n"] == 4


def test_t3_skipped_without_ood(tiny_config):
    results, _ = run_audit(load_config(tiny_config), progress=False, render_html=False)
    assert results["tasks"]["t3"]["status"] == "skipped"


def test_variants_are_seeded(ood_config, tmp_path):
    cfg = load_config(ood_config, overrides={"tasks.t3.enabled": False})
    a, _ = run_audit(cfg, out_dir=tmp_path / "a", progress=False, render_html=False)
    b, _ = run_audit(cfg, out_dir=tmp_path / "b", progress=False, render_html=False)
    assert a["tasks"]["t2"]["result"] == b["tasks"]["t2"]["result"]
    other = load_config(ood_config, overrides={"tasks.t3.enabled": False, "seed": 4})
    c, _ = run_audit(other, out_dir=tmp_path / "c", progress=False, render_html=False)
    assert c["tasks"]["t2"]["result"]["variations"]["typo"]["variants"] != a["tasks"]["t2"]["result"]["variations"]["typo"]["variants"]
