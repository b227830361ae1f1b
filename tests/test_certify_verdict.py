"""Verdicts per (query, K): the threat-model check and the join with synthetic t4 records."""

from __future__ import annotations

import numpy as np
import pytest

from robustrank.certify import Smoother, SynonymSets
from robustrank.certify.verdict import check_threat_model, combine_verdicts, enters_top_k, verdict_metrics
from robustrank.lexicon import Lexicon
from robustrank.tasks.certify_verdicts import join_verdicts

LEXICON = """#robustrank-lexicon\t1\t{"name": "test", "version": 1}
alpha\tbeta:0.9 gamma:0.8
beta\tgamma:0.85
good\tfine:0.9
weak\tbad:0.4
"""


@pytest.fixture()
def sets(tmp_path) -> SynonymSets:
    path = tmp_path / "lex.tsv"
    path.write_text(LEXICON)
    return SynonymSets(Lexicon.load(path), min_similarity=0.7, max_set_size="auto")


def test_threat_model_check(sets):
    assert check_threat_model("An alpha test, good.", "An Beta test, fine.", sets, 10).inside
    assert check_threat_model("An alpha test, good.", "An beta test, fine.", sets, 1).reason == "over_word_budget"
    assert check_threat_model("an alpha test", "an alpha alpha test", sets).reason == "insertion_or_deletion"  # stuffing
    assert check_threat_model("an alpha test", "an omega test", sets).reason == "not_a_lexicon_synonym"
    assert check_threat_model("weak", "bad", sets).reason == "not_a_lexicon_synonym"  # below min_similarity
    assert check_threat_model("an alpha test", "an alpha test!", sets).reason == "non_word_text_changed"
    assert check_threat_model("an alpha test", "an alpha test", sets).reason == "unchanged"


def test_combine_and_metrics():
    v = combine_verdicts({"1": True, "3": False, "5": True, "10": False}, {"3": True, "5": True})
    assert v == {"1": "certified", "3": "broken", "5": "soundness_alarm", "10": "inconclusive"}
    m = verdict_metrics([v, {"1": "inconclusive", "3": "broken", "5": "certified", "10": "inconclusive"}], [1, 3, 5, 10])
    assert m["verdict.broken@3"] == 2.0 and m["verdict.soundness_alarm@5"] == 1.0 and m["verdict.inconclusive@10"] == 2.0
    assert enters_top_k(0.8, [0.9, 0.7, 0.5], 2) and not enters_top_k(0.8, [0.9, 0.85, 0.5], 2)


class FakeCtx:
    """Just what join_verdicts reads."""

    def __init__(self, t4):
        self.t4 = t4

    def result_of(self, key):
        return self.t4 if key == "t4" else None

    def rng(self, *parts):
        return np.random.default_rng(0)


def _t4(records_by_attack):
    return {"attacks": {key: {"attack": key, "systems": {"neural": {"status": "ok", "targets": recs}}}
                        for key, recs in records_by_attack.items()}}


def _record(doc_id, original, adversarial, word_limit=10):
    return {"query_id": "q1", "doc_id": doc_id, "original_rank": 3, "new_rank": 1, "original_text": original,
            "adversarial_text": adversarial, "word_limit": word_limit, "edits": []}


def test_join_with_synthetic_t4_records(sets):
    # the scorer gives "fine" copies a high score, everything else its document's level
    def scorer(pairs):
        return np.array([0.95 if "fine" in t.lower() else 0.5 for _, t in pairs])

    docs = [  # smoothed order d1 > d2 > d3; d3 holds "good" (S = {good, fine})
        {"doc_id": "d1", "smoothed": 0.9, "low": 0.88, "high": 0.92, "o_d": 0.0, "samples": 1, "exact": True},
        {"doc_id": "d2", "smoothed": 0.7, "low": 0.68, "high": 0.72, "o_d": 0.0, "samples": 1, "exact": True},
        {"doc_id": "d3", "smoothed": 0.72, "low": 0.4, "high": 0.75, "o_d": 0.0, "samples": 64, "exact": False},
    ]
    docs[2]["smoothed"] = 0.3
    record = {"query_id": "q1", "doc_ids": ["d1", "d2", "d3"], "documents": docs, "certified": {"1": True, "2": True}}
    t4 = _t4({
        "prada_wu_2023": [_record("d3", "good text", "fine text")],  # inside: enters the smoothed top 2 and top 1
        "keyword_stuffing": [_record("d3", "good text", "good text query query")],  # outside: insertion
        "random_substitution": [_record("d9", "x", "y")],  # not a candidate of the certificate
    })
    from robustrank.certify import CertifySettings

    settings = CertifySettings(alpha=0.05, k_values=(1, 2), n_min=8, n_max=64)
    out = join_verdicts(FakeCtx(t4), [record], {"q1": "query"}, (1, 2), 0.05, sets, Smoother(sets), scorer, settings)
    outcomes = {r["attack_key"]: r["outcome"] for r in out["t4_records"]}
    assert outcomes == {"prada_wu_2023": "inside_threat_model", "keyword_stuffing": "outside_threat_model:insertion_or_deletion",
                        "random_substitution": "outside_candidates"}
    prada = next(r for r in out["t4_records"] if r["attack_key"] == "prada_wu_2023")
    # the smoothed copies of "fine text" are {good, fine} x text: mean 0.725 exactly (2 copies enumerated)
    assert prada["smoothed_adversarial"]["exact"] and prada["smoothed_adversarial"]["low"] == pytest.approx(0.725)
    assert prada["enters_top_k"] == {"1": False, "2": True}  # 0.725 > 0.72 (U of d2) but not > 0.92
    assert record["verdict"] == {"1": "certified", "2": "soundness_alarm"}
    assert out["counts"]["verdict.soundness_alarm@2"] == 1.0 and out["counts"]["verdict.certified@1"] == 1.0
    assert out["soundness_alarms"] == [{"query_id": "q1", "k": 2}]
    # without t4 nothing is broken
    record.pop("verdict")
    none = join_verdicts(FakeCtx(None), [record], {"q1": "query"}, (1, 2), 0.05, sets, Smoother(sets), scorer, settings)
    assert none["source"].startswith("none") and record["verdict"] == {"1": "certified", "2": "certified"}
