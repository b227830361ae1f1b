"""The pipeline-stages task and the corpus-poisoning task on the tiny collection and models."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import write_config


def _config(tmp_path, tiny_dataset, ranker: str, extra: str, dense: str = "{}") -> object:
    from robustrank.config import load_config

    return load_config(write_config(tmp_path / "audit.yaml", f"""
name: tiny-stages
seed: 5
measures: [nDCG@10, R@6]
ranker: {ranker}
candidates: {{source: dense, depth: 6, dense: {dense}}}
datasets:
  in_domain: {{path: {tiny_dataset}}}
tasks:
  t1: {{bootstrap_samples: 100}}
  t2: {{variations: [{{name: typo, rate: 0.5}}, {{name: shuffle, rate: 1.0}}], bootstrap_samples: 100, slices: false}}
  t3: {{enabled: false}}
  t4: {{enabled: false}}
  certify: {{enabled: false}}
{extra}
output: {{dir: {tmp_path / 'out'}, html: false}}
"""))


def test_stages_split_the_loss_of_a_cross_encoder_over_dense_candidates(tmp_path, tiny_dataset, tiny_cross_encoder, tiny_bi_encoder):
    from robustrank.audit import run_audit

    ranker = f"{{type: cross-encoder, model: {tiny_cross_encoder}, batch_size: 8, device: cpu}}"
    cfg = _config(tmp_path, tiny_dataset, ranker, "  stages: {enabled: true, bootstrap_samples: 100}",
                  dense=f"{{ranker: {{type: bi-encoder, model: {tiny_bi_encoder}, device: cpu}}}}")
    results, _ = run_audit(cfg, progress=False)
    st = results["tasks"]["stages"]
    assert st["status"] == "ok", st
    r = st["result"]
    assert r["recall_measure"] == "R@6" and set(r["variations"]) == {"typo", "shuffle"}
    for v in r["variations"].values():
        # the decomposition adds up per query, so also in the mean
        assert v["end_to_end"]["drop"] == pytest.approx(v["reranker_on_fixed_candidates"]["drop"] + v["first_stage_share"]["drop"], abs=1e-12)
    # T2's neural drop is the end-to-end drop
    t2 = results["tasks"]["t2"]["result"]["variations"]["typo"]["measures"]["nDCG@10"]["neural"]["drop"]
    assert r["variations"]["typo"]["end_to_end"]["drop"] == pytest.approx(t2)
    assert results["first_stage"]["encoder"]["type"] == "bi-encoder"


def test_count_in_topk_merges_corpus_and_passages():
    from robustrank.retrieval.poisoning import count_in_topk

    corpus = np.array([[0.9, 0.8, 0.7], [0.5, 0.4, 0.3]])
    passages = np.array([[0.85, 0.1], [0.6, 0.55]])
    assert count_in_topk(corpus, passages, 1).tolist() == [0, 1]
    assert count_in_topk(corpus, passages, 2).tolist() == [1, 2]
    # a tie goes to the corpus document
    assert count_in_topk(np.array([[0.5]]), np.array([[0.5]]), 1).tolist() == [0]


def test_hotflip_raises_the_similarity_to_the_attack_queries(tiny_bi_encoder):
    from robustrank.rankers.hf import BiEncoderRanker
    from robustrank.retrieval.poisoning import blackbox_passage, hotflip_passage, whole_word_vocab

    r = BiEncoderRanker(str(tiny_bi_encoder), device="cpu")
    target = r.encode(["microwave measurement of liquids", "dielectric constant"]).mean(0)
    vocab = whole_word_vocab(r.tokenizer)
    ids, sim, initial, accepted = hotflip_passage(r, target, tokens=8, steps=16, candidates=16, rng=np.random.default_rng(0), vocab=vocab)
    assert accepted > 0 and sim > initial
    text = " ".join(r.tokenizer.convert_ids_to_tokens(ids.tolist()))
    assert r.tokenizer(text, add_special_tokens=False)["input_ids"] == ids.tolist()
    assert float(r.encode([text])[0] @ target) == pytest.approx(sim, abs=1e-4)
    ids_b, sim_b, initial_b, _, calls = blackbox_passage(
        r, r.tokenizer, target, tokens=8, steps=16, candidates=16, rng=np.random.default_rng(0), vocab=vocab, query_vocab=vocab[:50]
    )
    assert sim_b >= initial_b and calls > 16


def test_poisoning_task_measures_heldout_queries_with_intervals(tmp_path, tiny_dataset, tiny_bi_encoder):
    from robustrank.audit import run_audit

    cfg = _config(tmp_path, tiny_dataset, f"{{type: bi-encoder, model: {tiny_bi_encoder}, batch_size: 8, device: cpu}}",
                  "  poisoning: {enabled: true, passages: 2, injected: [1, 2], tokens: 6, steps: 6, candidates: 8, top_k: [1, 3], bootstrap_samples: 100}")
    cfg = cfg.model_copy(update={"tasks": {**cfg.tasks, "t2": cfg.tasks["t2"].model_copy(update={"enabled": False})}})
    results, _ = run_audit(cfg, progress=False)
    task = results["tasks"]["poisoning"]
    assert task["status"] == "ok", task
    r = task["result"]
    assert r["method"] == "hotflip" and r["n_attack_queries"] + r["n_heldout_queries"] == 4
    assert set(r["attack_query_ids"]).isdisjoint(r["heldout_query_ids"])
    cell = r["heldout"]["dense"]["n2.top3"]
    lo, hi = cell["share_ci"]
    assert 0.0 <= lo <= cell["share"] <= hi <= 1.0 and cell["share_ci_method"] == "clopper-pearson"
    assert cell["mean_count"] <= 2
    assert set(r["heldout"]["bm25"]) == {"n1.top1", "n1.top3", "n2.top1", "n2.top3"}
    assert all(p["round_trip"] for p in r["passages"])
    # more passages and a deeper cut-off can only find more poisoned documents
    d = r["heldout"]["dense"]
    assert d["n1.top1"]["mean_count"] <= d["n2.top1"]["mean_count"] <= d["n2.top3"]["mean_count"]
    assert results["metrics"]["poisoning.dense.n2.top3.share"] == cell["share"]
    from robustrank.report import render_report

    html = render_report(results, tmp_path / "report.html").read_text()
    assert "2 passages injected: held-out queries with one in the top 3" in html


def test_clopper_pearson_interval():
    from robustrank.tasks.poisoning import _proportion

    lo, hi = _proportion(0, 10, 0.95)
    assert lo == 0.0 and hi == pytest.approx(0.3085, abs=1e-4)  # the exact (1 - 0.025)**(1/10) bound
    lo, hi = _proportion(5, 10, 0.95)
    assert lo == pytest.approx(0.1871, abs=1e-4) and hi == pytest.approx(0.8129, abs=1e-4)


def test_hotflip_on_onnx_victim_says_it_has_no_gradients():
    from robustrank.errors import ConfigError
    from robustrank.tasks.poisoning import CorpusPoisoningTask
    from robustrank.tasks.poisoning_options import PoisoningConfig

    class Victim:
        def describe(self):
            return {"gradients": "ONNX Runtime exposes no gradients"}

    task = CorpusPoisoningTask(PoisoningConfig(enabled=True, method="hotflip"))
    with pytest.raises(ConfigError, match="ONNX Runtime exposes no gradients"):
        task._method(Victim())
    assert CorpusPoisoningTask(PoisoningConfig(enabled=True))._method(Victim()) == "black-box"
