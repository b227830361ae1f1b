"""certify's detector evaluation judges (query, document) pairs the way T4 screens them."""

from __future__ import annotations

from types import SimpleNamespace

from robustrank.seeds import derive_seed
from robustrank.seeds import rng as seeded_rng
from robustrank.tasks import certify_defenses
from robustrank.tasks.certify_options import CertifyConfig


class QueryScreen:
    """Flags a document that repeats its query's word 'spam' (needs the query to decide)."""

    threshold = 0.5

    def __init__(self):
        self.pairs = None

    def fit(self, texts, *, seed, pairs=None):
        self.pairs = pairs

    def flag(self, texts, queries):
        return [q.split()[0] in t.split() and t.split().count(q.split()[0]) >= 3 for t, q in zip(texts, queries)]

    def score(self, texts):  # text alone: never flags (what the old evaluation saw)
        return [0.0 for _ in texts]


def _setup(t4_result):
    docs = {f"d{i}": SimpleNamespace(full_text=f"plain text number {i}") for i in range(40)}
    queries = {f"q{i}": f"spam{i} query" for i in range(10)}
    cands = {q: [(f"d{j}", 1.0) for j in range(i, i + 10)] for i, q in enumerate(queries)}
    ctx = SimpleNamespace(rng=lambda *p: seeded_rng(7, *p), stream_seed=lambda *p: derive_seed(7, *p), result_of=lambda k: t4_result)
    return ctx, SimpleNamespace(documents=docs), {"queries": queries, "candidates": cands, "neural": cands}


def test_query_aware_screen_is_fitted_with_pairs_and_judged_with_queries():
    targets = [{"query_id": "q0", "query": "spam0 query", "original_text": "plain text", "adversarial_text": "spam0 plain spam0 text spam0"},
               {"query_id": "q1", "query": "spam1 query", "original_text": "plain text", "adversarial_text": "spam0 plain spam0 text spam0"}]
    t4 = {"attacks": {"keyword_stuffing": {"systems": {"neural": {"status": "ok", "targets": targets}}}}}
    ctx, coll, runs = _setup(t4)
    screen = QueryScreen()
    out = certify_defenses._screen(ctx, CertifyConfig(detector_docs=20), coll, runs, [], "s", screen)
    assert out["query_aware"] is True
    assert screen.pairs and not any(q.startswith(("spam0 ", "spam1 ")) for q, _ in screen.pairs)  # attacked queries not used to calibrate
    det = out["detections"]["keyword_stuffing"]
    assert (det["count"], det["n"]) == (1, 2)  # stuffed with its own query's word: flagged; with another query's: not
    assert det["ci_low"] < 0.5 < det["ci_high"]
    assert out["false_positives"]["count"] == 0 and out["false_positives"]["n"] > 0
