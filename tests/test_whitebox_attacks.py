"""White-box attacks on the victim itself, and T4's threat-model record (issue 13, item 2)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from robustrank.adversarial.runner import attack_one
from robustrank.adversarial.types import AttackEnvironment, AttackTarget, Budget

TINY = Path(__file__).parent / "fixtures" / "tiny"


@pytest.fixture(scope="module")
def victim(tiny_bi_encoder):
    from robustrank.rankers.hf import BiEncoderRanker

    return BiEncoderRanker(str(tiny_bi_encoder), device="cpu", batch_size=8)


@pytest.fixture(scope="module")
def env(victim, tmp_path_factory):
    from robustrank.config import DatasetConfig
    from robustrank.data import load_dataset
    from robustrank.lexicon import Lexicon

    coll = load_dataset(DatasetConfig(path=str(TINY)), lambda p: Path(p))
    docs = {d: doc.full_text for d, doc in coll.documents.items()}
    queries = {q: coll.queries[q].text for q in coll.queries}
    rankings = {q: sorted(zip(docs, victim.score(t, list(docs.values())).tolist()), key=lambda x: (-x[1], x[0])) for q, t in queries.items()}
    base = tmp_path_factory.mktemp("wb")

    def artifact_dir(kind, key):
        p = base / kind / key
        p.mkdir(parents=True, exist_ok=True)
        return p

    return AttackEnvironment(docs, queries, rankings, None, Lexicon.load(), 3, artifact_dir, device="cpu", white_box_ranker=victim)


def _targets(env, n_queries=3):
    for q, ranked in sorted(env.victim_rankings.items())[:n_queries]:
        for rank in range(4, len(ranked) + 1, 3):
            did = ranked[rank - 1][0]
            yield AttackTarget(q, env.queries[q], did, env.documents[did], rank, tuple(ranked))


def test_alignment_maps_words_to_their_pieces(victim):
    from robustrank_attacks._whitebox import WhiteBoxVictim

    wb = WhiteBoxVictim(victim)
    text = "Microwave measurement, of liquids (radio) frequencies."
    tg = wb.gradients("liquid", text)
    rows = wb.align(text, tg)
    from robustrank.api import document_words

    for w, r in zip(document_words(text), rows):
        assert r is not None and [tg.token_ids[i] for i in r] == list(wb.pieces(w))
    assert len({i for r in rows for i in r}) == sum(len(r) for r in rows)  # no token used twice
    assert wb.embeddings(list(wb.pieces("liquid"))).shape[1] == np.asarray(tg.gradients).shape[1]


def test_hotflip_never_worsens_stays_in_budget_and_succeeds(env, victim):
    from robustrank_attacks.whitebox_substitution import HotFlipSubstitution

    attack = HotFlipSubstitution(HotFlipSubstitution.Options(min_similarity=0.5, verify=4))
    assert attack.applicable(env) is None
    attack.prepare(env)
    assert attack.summary()["threat_model"] == "white-box"
    budget = Budget(max_words=2, max_victim_queries=12)
    successes = 0
    for t in _targets(env):
        rec = attack_one(attack, t, victim.score, env.documents, budget, np.random.default_rng(0))
        assert "budget_violation" not in rec and rec["words_changed"] <= 2 and rec["victim_queries"] <= 12
        # every kept substitution was verified by a real forward: the target never ranks worse
        assert rec["new_rank"] <= rec["original_rank"], rec
        assert rec["info"]["gradient_calls"] >= (1 if rec["info"]["substitutable_positions"] else 0)
        successes += rec["success"]
    assert successes >= 1


def test_gcg_trigger_only_accepts_improvements(env, victim):
    from robustrank.api import apply_edits  # noqa: F401  (public API only in plugins)
    from robustrank_attacks.whitebox_trigger import GCGTrigger

    attack = GCGTrigger({"trigger_length": 3, "batch": 4, "top_k": 4, "preselect": 8, "fluency_weight": 0.0, "lm_order": 1})
    attack.prepare(env)
    assert attack.summary()["threat_model"] == "white-box" and attack.summary()["vocabulary_size"] > 0
    budget = Budget(max_words=5, max_victim_queries=13)
    for t in list(_targets(env))[:4]:
        rec = attack_one(attack, t, victim.score, env.documents, budget, np.random.default_rng(1))
        assert rec["victim_queries"] <= 13 and rec["words_changed"] == 3
        trigger = rec["info"]["trigger"].split()
        assert all(w in attack._index for w in trigger)
        init = attack._init(t.query, 3, np.random.default_rng(1))
        from robustrank_attacks.triggers import insert_trigger

        s_init = victim.score(t.query, [insert_trigger(t.text, init, "start")[0]])[0]
        s_final = victim.score(t.query, [rec["adversarial_text"]])[0]
        assert s_final >= s_init - 1e-6  # the search keeps a candidate only when it scores higher


def test_white_box_attacks_refuse_without_gradients(env):
    from dataclasses import replace

    from robustrank_attacks.whitebox_substitution import HotFlipSubstitution
    from robustrank_attacks.whitebox_trigger import GCGTrigger

    for cls in (HotFlipSubstitution, GCGTrigger):
        a = cls()
        assert "grants no gradients" in a.applicable(replace(env, white_box_ranker=None))
        assert "no embedding_gradients" in a.applicable(replace(env, white_box_ranker=object()))
        with pytest.raises(RuntimeError, match="white-box"):
            a.prepare(replace(env, white_box_ranker=None))


T4_WB = """
  t4:
    enabled: true
    white_box: {wb}
    targets: {{rank_ranges: [[3, 10]], per_query: 1, queries: 3}}
    budget: {{max_words: 2, max_victim_queries: 8}}
    similarity_model: {bi}
    fluency: {{order: 2}}
    injection: {{enabled: false}}
    defenses: [{{name: perplexity_detector, options: {{order: 2}}}}]
    attacks:
      - name: hotflip_substitution
        options: {{min_similarity: 0.5, verify: 4}}
      - name: keyword_stuffing
        options: {{mode: prepend}}
"""


@pytest.mark.parametrize("wb", [True, False])
def test_t4_records_threat_models_ensemble_and_intervals(tiny_config, tiny_bi_encoder, wb):
    from robustrank.audit import run_audit
    from robustrank.config import load_config

    text = Path(tiny_config).read_text().replace("  t1:\n    bootstrap_samples: 200\n", "  t1: {enabled: false}\n  t2: {enabled: false}\n  t3: {enabled: false}\n")
    text = text.replace("tasks:\n", "tasks:" + T4_WB.format(bi=tiny_bi_encoder, wb=str(wb).lower()), 1)
    Path(tiny_config).write_text(text)
    results, _ = run_audit(load_config(tiny_config), progress=False, render_html=True)
    assert results["tasks"]["t4"]["status"] == "ok", results["tasks"]["t4"]
    res = results["tasks"]["t4"]["result"]
    hf = res["attacks"]["hotflip_substitution"]["systems"]
    ks = res["attacks"]["keyword_stuffing"]["systems"]
    assert hf["bm25"]["status"] == "not_applicable" and "no gradients" in hf["bm25"]["reason"]
    assert ks["bm25"]["threat_model"]["ran_under"] == "black-box (scores)"
    assert ks["neural"]["threat_model"]["ran_under"] == "black-box (scores)"
    assert res["measures"]["similarity"]["judged_by_victim"] is True
    metrics = results["metrics"]
    if wb:
        assert hf["neural"]["status"] == "ok" and hf["neural"]["threat_model"]["ran_under"] == "white-box"
        assert "bm25 exposes no gradients" in res["systems"]["bm25"]["access"]["downgrade"]
        ens = res["ensemble"]["neural"]
        assert ens["members"] == ["hotflip_substitution", "keyword_stuffing"]
        assert ens["metrics"]["success_rate"] >= max(hf["neural"]["metrics"]["success_rate"], ks["neural"]["metrics"]["success_rate"])
        assert "neural" in res["ensemble_black_box"]  # mixed threat models: the black-box worst case too
        for k in ("t4.ensemble.success_rate.ci_low", "t4.hotflip_substitution.success_rate.ci_high", "t4.ensemble.bm25_top10_rate"):
            assert k in metrics, k
        assert "hotflip_substitution vs keyword_stuffing" in res["comparisons"]["between_attacks"]["neural"]["pairs"]
    else:
        assert hf["neural"]["status"] == "not_applicable" and "white_box: false" in hf["neural"]["reason"]
        assert "downgrade" not in res["systems"]["bm25"]["access"]
    for key in ("keyword_stuffing.success_rate", "keyword_stuffing.bm25_success_rate"):
        lo, hi, v = metrics[f"t4.{key}.ci_low"], metrics[f"t4.{key}.ci_high"], metrics[f"t4.{key}"]
        assert lo <= v <= hi
    assert "keyword_stuffing" in res["comparisons"]["between_systems"]
    det = res["screening"]["perplexity_detector"]["attacks"]["keyword_stuffing"]["neural"]
    assert det["detection"]["n"] + det["unchanged_targets"] == ks["neural"]["metrics"]["n_targets"]
    assert det["false_positive"]["ci_low"] <= det["false_positive"]["ci_high"]
    html = (Path(tiny_config).parent / "out" / "report.html").read_text()
    assert "the victim judged its own attack" in html
