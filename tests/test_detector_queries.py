"""The detector's query-term and repetition features (issue 13, item 8)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

TINY = Path(__file__).parent / "fixtures" / "tiny"


def _collection():
    docs = [json.loads(line) for line in (TINY / "corpus.jsonl").read_text().splitlines()]
    queries = [json.loads(line)["text"] for line in (TINY / "queries.jsonl").read_text().splitlines()]
    return [(d["title"] + " " + d["text"]).strip() for d in docs], queries


def test_query_features_catch_interleaved_stuffing_at_the_stated_fpr():
    """Interleaved stuffing with many distinct query terms is not repetitive: only the query-term
    features catch it. Calibrated at quantile 0.95 on clean pairs; held-out clean pairs stay near 5%."""
    from robustrank.api import apply_edits, query_terms, stuffing_edits
    from robustrank_defenses.detector import StuffingDetector

    base, queries = _collection()
    rng = np.random.default_rng(0)
    clean = [base[a] + " " + base[b] for a, b in (rng.choice(len(base), 2, replace=False) for _ in range(600))]
    pairs = [(queries[int(rng.integers(len(queries)))], t) for t in clean[200:]]
    fit_pairs, test_pairs = pairs[:300], pairs[300:]
    det = StuffingDetector({"order": 2, "quantile": 0.95})
    det.fit(clean[:200], seed=0, pairs=fit_pairs)
    assert det.threshold_query is not None and det.info()["calibration_pairs"] == 150
    fp = det.flag([d for _, d in test_pairs], [q for q, _ in test_pairs])
    assert fp.mean() <= 0.12  # nominal 5%, 100 held-out pairs
    stuffed = []
    for q, d in test_pairs:
        edits = stuffing_edits(d, query_terms(q), 8, "interleave", rng)
        stuffed.append(apply_edits(d, edits))
    qs = [q for q, _ in test_pairs]
    with_query = det.flag(stuffed, qs).mean()
    without_query = det.flag(stuffed).mean()
    assert with_query >= 0.9
    assert with_query > without_query  # the query features carry the detection (mutant: ignore queries)
    f = det.features(["power power plant power lines"], ["power plant"])
    assert f["query_terms"][0] == 4 and f["query_density"][0] == 0.8 and f["bigram_repeat"][0] == 1.0
    assert f["repetition"][0] == 0.6


def test_without_pairs_the_screen_is_query_free():
    from robustrank_defenses.detector import StuffingDetector

    base, queries = _collection()
    det = StuffingDetector({"order": 2})
    det.fit(base * 4, seed=1)
    assert det.threshold_query is None
    s = det.score(base[:5], queries[:5])
    assert np.allclose(s, det.score(base[:5]))  # queries ignored when not calibrated
