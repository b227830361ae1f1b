"""T4's uncertainty, ensemble, threat-model and profile guarantees (issue 13, items 1-3)."""

from __future__ import annotations

import numpy as np
import pytest

from robustrank.adversarial.ensemble import ensemble_outcomes, run_ensemble
from robustrank.adversarial.runner import aggregate
from robustrank.adversarial.uncertainty import add_intervals, compare_attacks, compare_systems, proportion_ci


def _rec(q, d, orig, new, **kw):
    return {"query_id": q, "query": "q", "doc_id": d, "list_rank": orig, "original_rank": orig, "new_rank": new,
            "success": new < orig, "victim_queries": kw.get("vq", 0), "words": 40, "words_changed": 2, "word_limit": 10,
            "perturbation_pct": 5.0, "similarity": 0.9, "perplexity": 100.0, "perplexity_original": 90.0, "seconds": 0.1}


def test_clopper_pearson_matches_the_issue_and_covers():
    lo, hi = proportion_ci(8, 8)
    assert lo == pytest.approx(0.6306, abs=1e-4) and hi == 1.0  # the issue's "8/8 -> [0.63, 1]"
    lo, hi = proportion_ci(0, 8)
    assert lo == 0.0 and hi == pytest.approx(0.3694, abs=1e-4)
    # exact intervals cover at least nominally: simulate p = 0.3, n = 20
    rng = np.random.default_rng(0)
    ks = rng.binomial(20, 0.3, size=400)
    cover = np.mean([proportion_ci(int(k), 20)[0] <= 0.3 <= proportion_ci(int(k), 20)[1] for k in ks])
    assert cover >= 0.95
    assert proportion_ci(0, 0) == (None, None)


def test_add_intervals_counts_and_bounds():
    recs = [_rec("q1", "a", 60, 5), _rec("q2", "b", 70, 65), _rec("q3", "c", 80, 80), _rec("q4", "d", 55, 40)]
    m = add_intervals(aggregate(recs), recs, seed=1)
    assert m["success_rate_count"] == 3 and m["top10_rate_count"] == 1 and m["top50_rate_count"] == 2
    for rate in ("success_rate", "top10_rate", "top50_rate"):
        assert m[f"{rate}_ci_low"] <= m[rate] <= m[f"{rate}_ci_high"]
        assert (m[f"{rate}_ci_low"], m[f"{rate}_ci_high"]) == proportion_ci(m[f"{rate}_count"], 4)
    assert m["avg_boosted_ranks_ci_low"] <= m["avg_boosted_ranks"] <= m["avg_boosted_ranks_ci_high"]
    assert add_intervals(aggregate(recs), recs, seed=1) == m  # seeded


def test_paired_tests_pair_by_target_not_by_position():
    """McNemar must compare the same (query, doc); a mutant pairing by list position would not."""
    a = [_rec(f"q{i}", f"d{i}", 80, 70 if i < 10 else 80) for i in range(20)]
    b = [_rec(f"q{i}", f"d{i}", 80, 70 if i < 10 else 80) for i in range(20)]
    b = list(reversed(b))  # same outcomes per target, other order
    res = compare_attacks({"x": a, "y": b})["pairs"]["x vs y"]
    assert res["n"] == 20 and res["unmatched"] == 0
    assert res["mcnemar"]["only_a"] == res["mcnemar"]["only_b"] == 0 and res["mcnemar"]["pvalue"] is None
    assert res["wilcoxon_pvalue"] is None  # identical outcomes per target
    # discordant: x succeeds on 10 targets y fails -> exact McNemar p = 2 * 0.5**10
    c = [_rec(f"q{i}", f"d{i}", 80, 80) for i in range(20)]
    res = compare_attacks({"x": a, "y": c})["pairs"]["x vs y"]
    assert res["mcnemar"]["only_a"] == 10 and res["mcnemar"]["pvalue"] == pytest.approx(2 * 0.5**10)
    assert res["wilcoxon_pvalue"] < 0.01


def test_holm_correction_and_unpaired_system_tests():
    a = [_rec(f"q{i}", f"d{i}", 80, 70 if i < 15 else 80) for i in range(20)]
    b = [_rec(f"q{i}", f"e{i}", 80, 80) for i in range(20)]
    c = [_rec(f"q{i}", f"f{i}", 80, 70 if i < 3 else 80) for i in range(20)]
    out = compare_systems({"neural": a, "bm25": b, "neural+d": c})
    pairs = out["pairs"]
    assert set(pairs) == {"neural vs bm25", "neural vs neural+d", "bm25 vs neural+d"}
    raw = sorted(p["fisher_pvalue"] for p in pairs.values())
    corrected = sorted(p["fisher_pvalue_corrected"] for p in pairs.values())
    assert corrected[0] == pytest.approx(min(1.0, 3 * raw[0]))  # Holm: smallest p times the family size
    assert all(c >= r for r, c in zip(raw, corrected))
    assert pairs["neural vs bm25"]["fisher_pvalue"] < 0.001 and "holm" in out["correction"]


def test_ensemble_is_at_least_every_member_with_winners():
    rng = np.random.default_rng(3)
    members = {}
    for k in ("a", "b", "c"):
        members[k] = [_rec(f"q{i}", f"d{i}", 60 + i, int(rng.integers(1, 60 + i + 5))) for i in range(30)]
    ens = ensemble_outcomes(members)
    assert len(ens) == 30
    for t in ens:
        assert t["new_rank"] == min(t["member_new_ranks"].values())
        assert t["member_new_ranks"][t["winner"]] == t["new_rank"]
    em = aggregate(ens)
    for recs in members.values():
        m = aggregate(recs)
        for rate in ("success_rate", "top10_rate", "top50_rate", "avg_boosted_ranks"):
            assert em[rate] >= m[rate]
    # a mutant taking the last member instead of the best would break the guarantee on this data
    last = [dict(t, new_rank=t["member_new_ranks"]["c"]) for t in ens]
    assert aggregate(last)["avg_boosted_ranks"] < em["avg_boosted_ranks"]
    entries = {k: {"systems": {"neural": {"status": "ok", "targets": v, "threat_model": {"ran_under": "black-box (scores)"}}}} for k, v in members.items()}
    entries["d"] = {"systems": {"neural": {"status": "error", "error": "boom"}}}
    res = run_ensemble(entries, "neural", seed=0)
    assert res["members"] == ["a", "b", "c"] and res["excluded"] == {"d": "error"}
    assert sum(res["wins"].values()) == res["metrics"]["success_rate_count"]
    assert res["metrics"]["success_rate_ci_low"] <= res["metrics"]["success_rate"]
    assert run_ensemble(entries, "bm25", seed=0)["status"] == "not_applicable"


def test_profile_sets_target_counts_unless_explicit():
    from robustrank.tasks.adversarial_options import T4Config

    assert T4Config().targets.queries == 8
    assert T4Config(profile="standard").targets.queries == 50
    assert T4Config(profile="paper").targets.queries is None
    assert T4Config(profile="paper", targets={"queries": 3}).targets.queries == 3
    with pytest.raises(ValueError, match="not an attack key"):
        T4Config(ensemble={"members": ["nope"]})
    with pytest.raises(ValueError, match="reserved"):
        T4Config(attacks=[{"name": "keyword_stuffing", "key": "ensemble"}])


def test_threat_model_records_downgrade_and_refusal():
    from robustrank.adversarial.threat import attack_threat_model, refusal, system_access

    class Grad:
        def embedding_gradients(self, q, d):  # pragma: no cover - presence is what counts
            raise NotImplementedError

    class WB:
        threat_model = "white-box"

    class BB:
        threat_model = "black-box"

    class Undeclared:
        pass

    no = system_access("bm25", object(), white_box=True, expose_scores=True)
    assert not no["white_box_granted"] and "bm25 exposes no gradients" in no["downgrade"]
    assert attack_threat_model(Undeclared(), no, {})["ran_under"] == "black-box (scores)"
    assert "exposes no gradients" in refusal(no, "bm25")
    off = system_access("neural", Grad(), white_box=False, expose_scores=False)
    assert "white_box: false" in refusal(off, "neural") and "downgrade" not in off
    assert attack_threat_model(Undeclared(), off, {})["ran_under"] == "black-box (ranks only)"
    yes = system_access("neural", Grad(), white_box=True, expose_scores=True)
    assert yes["white_box_granted"]
    assert attack_threat_model(WB(), yes, {})["ran_under"] == "white-box"
    assert attack_threat_model(BB(), yes, {})["ran_under"] == "black-box (scores)"
    assert "not declared" in attack_threat_model(Undeclared(), yes, {})["ran_under"]
    assert attack_threat_model(Undeclared(), yes, {"threat_model": "white-box"})["ran_under"] == "white-box"


def test_weight_leak_flags_a_surrogate_started_from_the_victims_weights():
    from robustrank.adversarial.threat import weight_leak

    class Victim:
        def fingerprint(self):
            return {"model.safetensors": "abc"}

    same = {"surrogate": {"init_weights_sha256": {"model.safetensors": "abc"}}}
    other = {"surrogate": {"init_weights_sha256": {"model.safetensors": "def"}}}
    assert weight_leak(Victim(), same)
    assert weight_leak(Victim(), other) is None
    assert weight_leak(object(), same) is None  # no fingerprint published: nothing claimed
    assert weight_leak(Victim(), {"imitation": {"nested": {"init_weights_sha256": {"w": "abc"}}}})
