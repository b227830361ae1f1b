"""Dense first stage: faiss search agrees with brute force, the embedding cache is reused, audits run dense/hybrid."""

from __future__ import annotations

import json

import numpy as np
import pytest
from conftest import write_config


def _random_corpus(n: int, seed: int = 0) -> dict[str, str]:
    from conftest import _vocab

    words = [w for w in _vocab() if w.isalpha() and len(w) > 2]
    rng = np.random.default_rng(seed)
    texts: dict[str, None] = {}
    while len(texts) < n:
        texts[" ".join(rng.choice(words, size=int(rng.integers(4, 16))))] = None
    return {f"r{i:04d}": t for i, t in enumerate(texts)}


class CountingEncoder:
    """Wraps an encoder and counts the texts it is asked to embed."""

    def __init__(self, inner):
        self.inner = inner
        self.name = inner.name
        self.calls = 0
        self.texts = 0

    def encode(self, texts):
        self.calls += 1
        self.texts += len(texts)
        return self.inner.encode(texts)


@pytest.fixture(scope="module")
def bi(tiny_bi_encoder):
    from robustrank.rankers.hf import BiEncoderRanker

    return BiEncoderRanker(str(tiny_bi_encoder), device="cpu", batch_size=64)


def test_faiss_top100_equals_brute_force_numpy(bi):
    from robustrank.retrieval.dense import DenseRetriever, brute_force_search

    docs = _random_corpus(400)
    retriever = DenseRetriever.build(bi, docs)
    queries = {f"q{i}": t for i, t in enumerate(list(_random_corpus(20, seed=1).values()))}
    got = retriever.retrieve(queries, 100)
    ids = list(docs)
    doc_embs = bi.encode([docs[d] for d in ids])
    q_embs = bi.encode(list(queries.values()))
    ref_scores, ref_idx = brute_force_search(doc_embs, q_embs, 101)
    for row, qid in enumerate(queries):
        assert len(got[qid]) == 100
        # the 100th and 101st scores are apart, so the top-100 set is well defined
        assert ref_scores[row, 99] - ref_scores[row, 100] > 1e-6
        assert {d for d, _ in got[qid]} == {ids[i] for i in ref_idx[row, :100]}
        np.testing.assert_allclose([s for _, s in got[qid]], ref_scores[row, :100], atol=1e-5)


def test_brute_force_reference_is_exact():
    from robustrank.retrieval.dense import brute_force_search

    docs = np.eye(4, dtype=np.float32)
    scores, idx = brute_force_search(docs, np.array([[0.1, 0.9, 0.5, 0.0]], np.float32), 2)
    assert idx.tolist() == [[1, 2]] and scores[0].tolist() == pytest.approx([0.9, 0.5])


def test_hnsw_reports_recall_against_exact(bi):
    from robustrank.retrieval.dense import DenseRetriever

    docs = _random_corpus(300, seed=3)
    retriever = DenseRetriever.build(bi, docs, kind="hnsw", hnsw_m=8, ef_search=16)
    retriever.retrieve({f"q{i}": t for i, t in enumerate(list(_random_corpus(10, seed=4).values()))}, 50)
    rec = retriever.describe()["recall_vs_exact"]
    assert rec["n_queries"] == 10 and 0.0 < rec["mean"] <= 1.0


def test_embedding_cache_is_reused_and_keyed_by_model_and_corpus(tmp_path, bi, tiny_bi_encoder_b):
    from robustrank.rankers.hf import BiEncoderRanker
    from robustrank.retrieval.dense import DenseRetriever

    docs = _random_corpus(120, seed=5)
    first = CountingEncoder(bi)
    r1 = DenseRetriever.build(first, docs, cache_dir=tmp_path, batch_size=32)
    assert first.texts == 120 and not r1.encode_info.cache_hit
    again = CountingEncoder(bi)
    r2 = DenseRetriever.build(again, docs, cache_dir=tmp_path, batch_size=32)
    assert again.calls == 0, "the corpus was encoded again although its embeddings are cached"
    assert r2.encode_info.cache_hit and r2.encode_info.key == r1.encode_info.key
    q = {"q": "microwave measurement of liquids"}
    assert r1.retrieve(q, 10) == r2.retrieve(q, 10)
    # another corpus (one text changed) or another model misses the cache
    changed = dict(docs, r0000=docs["r0000"] + " waveguide")
    enc = CountingEncoder(bi)
    assert not DenseRetriever.build(enc, changed, cache_dir=tmp_path).encode_info.cache_hit and enc.texts == 120
    other = CountingEncoder(BiEncoderRanker(str(tiny_bi_encoder_b), device="cpu"))
    assert not DenseRetriever.build(other, docs, cache_dir=tmp_path).encode_info.cache_hit and other.texts == 120


def test_reciprocal_rank_fusion():
    from robustrank.retrieval.fusion import reciprocal_rank_fusion

    a = {"q": [("d1", 9.0), ("d2", 8.0), ("d3", 1.0)]}
    b = {"q": [("d3", 0.9), ("d1", 0.8)]}
    fused = reciprocal_rank_fusion([a, b], k=60, depth=2)["q"]
    assert [d for d, _ in fused] == ["d1", "d3"]
    assert fused[0][1] == pytest.approx(1 / 61 + 1 / 62)


def _dense_config(tmp_path, tiny_dataset, model, *, source="dense", out="out", extra=""):
    return write_config(tmp_path / f"{source}.yaml", f"""
name: tiny-dense
seed: 7
measures: [nDCG@10, R@5, AP@100]
ranker:
  type: bi-encoder
  model: {model}
  batch_size: 4
  device: cpu
candidates:
  source: {source}
  depth: 5
datasets:
  in_domain:
    path: {tiny_dataset}
tasks:
  t1: {{bootstrap_samples: 100}}
  t2: {{variations: [{{name: typo, rate: 0.5}}], bootstrap_samples: 100, slices: false}}
  t3: {{enabled: false}}
  t4: {{enabled: false}}
  certify: {{enabled: false}}
output:
  dir: {tmp_path / out}
  html: false
  runs: true
{extra}""")


def test_dense_audit_retrieves_from_whole_corpus_and_reuses_cache(tmp_path, tiny_dataset, tiny_bi_encoder):
    from robustrank.audit import run_audit
    from robustrank.config import load_config

    cfg = load_config(_dense_config(tmp_path, tiny_dataset, tiny_bi_encoder))
    results, _ = run_audit(cfg, progress=False)
    fs = results["first_stage"]
    assert fs["source"] == "dense" and fs["collections"]["tiny"]["documents"] == 12
    assert not fs["collections"]["tiny"]["encode"]["cache_hit"]
    t1 = results["tasks"]["t1"]
    assert t1["status"] == "ok", t1
    # neural recall is its own (dense top-5), not BM25's candidates
    cands = json.loads((tmp_path / "out" / "results.json").read_text())["runs"]
    assert "tiny/original/candidates" in cands and "tiny/typo/neural" in cands
    results2, _ = run_audit(cfg, progress=False)
    assert results2["first_stage"]["collections"]["tiny"]["encode"]["cache_hit"]
    assert results2["tasks"]["t1"]["result"]["per_query"] == t1["result"]["per_query"]


def test_hybrid_audit_fuses_bm25_and_dense(tmp_path, tiny_dataset, tiny_bi_encoder):
    from robustrank.audit import run_audit
    from robustrank.config import load_config

    cfg = load_config(_dense_config(tmp_path, tiny_dataset, tiny_bi_encoder, source="hybrid"))
    results, _ = run_audit(cfg, progress=False)
    assert results["first_stage"]["fusion"] == {"method": "reciprocal_rank_fusion", "k": 60}
    assert results["tasks"]["t1"]["status"] == "ok"


def test_dense_first_stage_needs_an_encoder(tmp_path, tiny_dataset, tiny_cross_encoder):
    from robustrank.audit import run_audit
    from robustrank.config import load_config

    path = _dense_config(tmp_path, tiny_dataset, tiny_cross_encoder)
    path.write_text(path.read_text().replace("type: bi-encoder", "type: cross-encoder"))
    results, _ = run_audit(load_config(path), progress=False)
    assert results["tasks"]["t1"]["status"] == "error"
    assert "candidates.dense.ranker" in results["tasks"]["t1"]["error"]
