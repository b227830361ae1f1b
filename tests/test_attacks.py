"""T4 attack framework: edits, budgets, real rank improvements, the audit task, resume."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from conftest import tiny_t4

from robustrank.adversarial.edits import apply_edits, changed_words, stuffing_edits
from robustrank.adversarial.types import (
    AttackOutcome,
    AttackTarget,
    Budget,
    BudgetExceeded,
    Edit,
    VictimOracle,
)
from robustrank.api import StrictModel


def test_apply_edits_keeps_layout_and_case():
    text = "Measurement of the dielectric constant, using microwave techniques."
    out = apply_edits(text, [Edit("substitute", 0, "measurement", "gauging"), Edit("insert", 3, "", "spam"), Edit("delete", 5, "using", "")])
    assert out == "Gauging of the spam dielectric constant,  microwave techniques."
    assert changed_words(text, out) == 3
    assert apply_edits(text, [Edit("insert", 8, "", "tail")]).endswith("techniques. tail")
    with pytest.raises(ValueError):
        apply_edits(text, [Edit("substitute", 1, "wrong", "x")])
    with pytest.raises(ValueError):
        apply_edits(text, [Edit("substitute", 1, "of", "x"), Edit("delete", 1, "of", "")])


@pytest.mark.parametrize("mode", ["prepend", "append", "interleave", "replace"])
def test_stuffing_edits_respect_count(mode):
    text = "noise in transistor amplifiers at high frequencies"
    edits = stuffing_edits(text, ["alpha", "beta"], 4, mode, np.random.default_rng(0))
    out = apply_edits(text, edits)
    assert changed_words(text, out) == 4
    assert out.count("alpha") == 2 and out.count("beta") == 2


def _oracle(max_queries=None):
    # victim: score = number of "x" words; the target has none, others have 1..4
    def score(q, texts):
        return np.array([t.split().count("x") for t in texts], dtype=float)

    others = {f"o{i}": " ".join(["x"] * i + ["w"]) for i in range(1, 5)}
    ranked = tuple([(f"o{i}", float(i)) for i in range(4, 0, -1)] + [("t", 0.0)])
    target = AttackTarget("q", "query", "t", "a b c d e f g h i j", 5, ranked)
    return score, target, others, VictimOracle(score, target, others, max_queries=max_queries)


def test_oracle_counts_and_caps_queries():
    _, _, _, oracle = _oracle(max_queries=3)
    assert oracle.ranks(["x x x a", "a"]) == [3, 5]  # ties rank below
    assert oracle.queries_used == 2 and oracle.remaining() == 1
    with pytest.raises(BudgetExceeded):
        oracle.ranks(["x", "x"])


class _Greedy:
    name = "greedy_x"

    def __init__(self, n):
        self.n = n

    def attack(self, target, victim, budget, rng):
        edits = [Edit("substitute", i, w, "x") for i, w in enumerate(target.text.split()[: self.n])]
        victim.ranks([apply_edits(target.text, edits)])
        return AttackOutcome(apply_edits(target.text, edits), tuple(edits), victim.queries_used)


def test_attack_one_measures_rank_and_enforces_word_budget():
    from robustrank.adversarial.runner import aggregate, attack_one

    score, target, others, _ = _oracle()
    rec = attack_one(_Greedy(3), target, score, others, Budget(max_words=3, max_victim_queries=5), np.random.default_rng(0))
    assert rec["original_rank"] == 5 and rec["new_rank"] == 3 and rec["success"]
    assert rec["words_changed"] == 3 and rec["victim_queries"] == 1 and rec["perturbation_pct"] == pytest.approx(30.0)
    over = attack_one(_Greedy(5), target, score, others, Budget(max_words=3), np.random.default_rng(0))
    assert over["budget_violation"] and not over["success"] and over["new_rank"] == 5
    assert over["adversarial_text"] == target.text
    frac = attack_one(_Greedy(3), target, score, others, Budget(max_fraction=0.2), np.random.default_rng(0))
    assert frac["word_limit"] == 2 and frac["budget_violation"]
    agg = aggregate([rec, over])
    assert agg["success_rate"] == 0.5 and agg["budget_violations"] == 1 and agg["avg_boosted_ranks"] == 1.0


def test_select_targets_from_rank_ranges():
    from robustrank.adversarial.targets import select_targets

    ranked = [(f"d{i}", float(-i)) for i in range(1, 101)]
    got = select_targets(ranked, [(51, 100)], 3, np.random.default_rng(1))
    assert len(got) == 3 and all(51 <= r <= 100 and ranked[r - 1][0] == d for _, d, r in got)
    two = select_targets(ranked, [(1, 10), (91, 100)], 2, np.random.default_rng(1))
    assert sorted(r <= 10 for _, _, r in two) == [False, True]
    assert select_targets(ranked[:20], [(51, 100)], 2, np.random.default_rng(1)) == []


# -- the plugins against a tiny victim ------------------------------------------------------------


@pytest.fixture(scope="module")
def tiny_victim(tiny_bi_encoder):
    from robustrank.rankers.hf import BiEncoderRanker

    return BiEncoderRanker(str(tiny_bi_encoder), device="cpu", batch_size=8)


@pytest.fixture(scope="module")
def tiny_env(tiny_victim, tmp_path_factory):
    from robustrank.adversarial.types import AttackEnvironment
    from robustrank.config import DatasetConfig
    from robustrank.data import load_dataset
    from robustrank.lexicon import Lexicon

    tiny = Path(__file__).parent / "fixtures" / "tiny"
    coll = load_dataset(DatasetConfig(path=str(tiny)), lambda p: Path(p))
    docs = {d: doc.full_text for d, doc in coll.documents.items()}
    queries = {q: coll.queries[q].text for q in coll.queries}
    rankings = {}
    for q, text in queries.items():
        s = tiny_victim.score(text, list(docs.values()))
        rankings[q] = sorted(zip(docs, s.tolist()), key=lambda x: (-x[1], x[0]))
    base = tmp_path_factory.mktemp("artifacts")

    def artifact_dir(kind, key):
        p = base / kind / key
        p.mkdir(parents=True, exist_ok=True)
        return p

    return AttackEnvironment(docs, queries, rankings, None, Lexicon.load(), 3, artifact_dir, device="cpu")


def _check_plugin(attack, env, victim, budget):
    """Run an attack on every rank>=4 target; assert budgets and that successes are real."""
    from robustrank.adversarial.runner import attack_one

    n_success = 0
    for q, ranked in sorted(env.victim_rankings.items())[:3]:
        for rank in range(4, len(ranked) + 1, 4):
            did = ranked[rank - 1][0]
            target = AttackTarget(q, env.queries[q], did, env.documents[did], rank, tuple(ranked))
            rec = attack_one(attack, target, victim.score, env.documents, budget, np.random.default_rng(rank))
            assert "budget_violation" not in rec, rec
            limit = budget.word_limit(rec["words"])
            assert limit is None or changed_words(target.text, rec["adversarial_text"]) <= limit
            assert budget.max_victim_queries is None or rec["victim_queries"] <= budget.max_victim_queries
            # independent check under the victim: re-rank the whole list with the adversarial text
            texts = [rec["adversarial_text"] if d == did else env.documents[d] for d, _ in ranked]
            scores = victim.score(env.queries[q], texts)
            true_rank = 1 + sum(1 for i in range(len(ranked)) if scores[i] > scores[[d for d, _ in ranked].index(did)])
            assert rec["new_rank"] == true_rank
            if rec["success"]:
                n_success += 1
                assert true_rank < rec["original_rank"]
    return n_success


def test_random_substitution_and_stuffing_stay_in_budget(tiny_env, tiny_victim):
    from robustrank_attacks.baselines import RandomSubstitution
    from robustrank_attacks.stuffing import KeywordStuffing

    rs = RandomSubstitution(RandomSubstitution.Options(greedy=True, min_similarity=0.5))
    rs.prepare(tiny_env)
    _check_plugin(rs, tiny_env, tiny_victim, Budget(max_words=2, max_victim_queries=3))
    for mode in ("interleave", "replace"):
        ks = KeywordStuffing(KeywordStuffing.Options(mode=mode))
        _check_plugin(ks, tiny_env, tiny_victim, Budget(max_words=3, max_fraction=0.5))


def test_prada_trains_surrogate_and_respects_budgets(tiny_env, tiny_victim, tiny_cross_encoder):
    from robustrank_attacks.prada import PradaAttack

    opts = PradaAttack.Options(
        surrogate_init=str(tiny_cross_encoder), surrogate_queries=4, pairs_per_query=4, negative_from=6, positive_depth=2,
        max_steps=2, batch_size=4, candidates_per_word=3, min_similarity=0.5, loss_docs=4, training="pairwise", heldout_queries=1,
    )
    attack = PradaAttack(opts)
    attack.prepare(tiny_env)
    info = attack.summary()["surrogate"]
    assert info["trained"] and info["steps"] == 2 and info["triples"]["pairs"] == 16
    assert Path(info["path"], "training.json").is_file()
    _check_plugin(attack, tiny_env, tiny_victim, Budget(max_words=2, max_victim_queries=4))
    again = PradaAttack(opts)
    again.prepare(tiny_env)  # cached by content hash
    assert again.summary()["surrogate"]["path"] == info["path"]


def test_prada_greedy_finds_improvement_on_controlled_victim(tiny_env, tiny_cross_encoder):
    """A victim that rewards one synonym: PRADA must find it when it is among the scored candidates."""
    from robustrank.adversarial.runner import attack_one
    from robustrank_attacks.prada import PradaAttack

    lex = tiny_env.lexicon
    text = tiny_env.documents["d12"]  # "measurement of liquid permittivity at radio frequencies"
    syns = {s.word for w in ("measurement", "liquid", "frequencies") for s in lex.synonyms(w, k=50, min_similarity=0.7)}
    assert syns

    def victim(q, texts):
        return np.array([sum(w in syns for w in t.lower().split()) for t in texts], dtype=float)

    others = {d: t for d, t in tiny_env.documents.items() if d != "d12"}
    ranked = tuple([(d, 0.5) for d in others] + [("d12", 0.0)])
    docs = dict(others, d12=text)
    target = AttackTarget("q1", "liquid measurement", "d12", text, len(ranked), ranked)
    attack = PradaAttack(PradaAttack.Options(surrogate_path=str(tiny_cross_encoder), candidates_per_word=50, loss_docs=3))
    attack.prepare(tiny_env)
    rec = attack_one(attack, target, victim, docs, Budget(max_words=1, max_victim_queries=200), np.random.default_rng(0))
    assert rec["success"] and rec["new_rank"] == 1 and rec["words_changed"] == 1


# -- the task inside an audit ---------------------------------------------------------------------

T4_BLOCK = """
  t4:
{t4}    attacks:
      - name: prada_wu_2023
        options: {{surrogate_init: {ce}, max_steps: 1, batch_size: 4, positive_depth: 1, negative_from: 2, surrogate_queries: 3, pairs_per_query: 2, loss_docs: 3}}
      - name: keyword_stuffing
        options: {{mode: prepend}}
      - name: keyword_stuffing
        key: term_spamming
        options: {{mode: replace}}
"""


def _t4_config(tiny_config, tiny_bi_encoder, tiny_cross_encoder):
    text = Path(tiny_config).read_text()
    text = text.replace("  t1:\n    bootstrap_samples: 200\n", "  t1: {enabled: false}\n  t2: {enabled: false}\n  t3: {enabled: false}\n")
    text = text.replace("tasks:\n", "tasks:" + T4_BLOCK.format(t4=tiny_t4(tiny_bi_encoder, injection="{n_docs: 2, stuffed_terms: 4}"), ce=tiny_cross_encoder), 1)
    Path(tiny_config).write_text(text)
    return tiny_config


def test_t4_task_in_audit_and_resume(tiny_config, tiny_bi_encoder, tiny_cross_encoder):
    from robustrank.audit import run_audit
    from robustrank.config import load_config

    cfg = load_config(_t4_config(tiny_config, tiny_bi_encoder, tiny_cross_encoder))
    results, path = run_audit(cfg, progress=False, render_html=False)
    task = results["tasks"]["t4"]
    assert task["status"] == "ok", task
    res = task["result"]
    assert res["target_protocol"]["rank_ranges"] == [[3, 10]] and res["target_protocol"]["queries"] == 3
    assert set(res["attacks"]) == {"prada_wu_2023", "keyword_stuffing", "term_spamming"}
    for key, entry in res["attacks"].items():
        assert set(entry["systems"]) == {"neural", "bm25"}
        for sname, sysres in entry["systems"].items():
            assert sysres["status"] == "ok", (key, sname, sysres)
            m = sysres["metrics"]
            assert m["n_targets"] == len(sysres["targets"]) > 0
            assert m["budget_violations"] == 0
            for t in sysres["targets"]:
                assert t["words_changed"] <= 2 and t["victim_queries"] <= 6
                assert t["success"] == (t["new_rank"] < t["original_rank"])
                assert {"edits", "original_text", "adversarial_text", "similarity", "perplexity"} <= set(t)
    assert "surrogate" in res["attacks"]["prada_wu_2023"]["prepare"]["neural"]
    stuffed = res["attacks"]["keyword_stuffing"]["systems"]["bm25"]
    assert stuffed["metrics"]["success_rate"] > 0  # query terms prepended always help BM25 here
    assert set(res["injection"]["systems"]) == {"neural", "bm25"}
    assert res["injection"]["systems"]["bm25"]["share_queries_with_injected_in_top10"] == 1.0
    for k in ("t4.prada_wu_2023.success_rate", "t4.prada_wu_2023.bm25_success_rate", "t4.keyword_stuffing.top10_rate",
              "t4.injection.share_queries_with_injected_in_top10"):
        assert k in results["metrics"], k
    json.dumps(results)

    resumed, _ = run_audit(cfg, progress=False, render_html=False, resume=True)
    assert resumed["checkpoint"]["resumed_units"] > 0
    again = resumed["tasks"]["t4"]["result"]["attacks"]
    for key in res["attacks"]:
        for sname in ("neural", "bm25"):
            a = [(t["doc_id"], t["new_rank"], t["adversarial_text"]) for t in res["attacks"][key]["systems"][sname]["targets"]]
            b = [(t["doc_id"], t["new_rank"], t["adversarial_text"]) for t in again[key]["systems"][sname]["targets"]]
            assert a == b


def test_t4_rejects_bad_attack_options(tiny_config, tiny_bi_encoder, tiny_cross_encoder):
    """Plugin options are validated when the config is loaded (before any work), naming the key."""
    from robustrank.config import load_config
    from robustrank.errors import ConfigError

    path = _t4_config(tiny_config, tiny_bi_encoder, tiny_cross_encoder)
    Path(path).write_text(Path(path).read_text().replace("options: {mode: prepend}", "options: {mode: sideways}"))
    with pytest.raises(ConfigError, match=r"model.yaml: tasks\.t4\.attacks\[\d\]\.options: mode: Input should be"):
        load_config(path)


def test_prada_white_box_uses_victim_gradients(tiny_env, tiny_victim, tiny_cross_encoder):
    from dataclasses import replace

    from robustrank_attacks.prada import PradaAttack

    env = replace(tiny_env, white_box_ranker=tiny_victim)
    attack = PradaAttack(PradaAttack.Options(surrogate_path=str(tiny_cross_encoder), min_similarity=0.5, loss_docs=3))
    attack.prepare(env)
    assert attack.summary()["surrogate"]["white_box"] is True
    _check_plugin(attack, env, tiny_victim, Budget(max_words=2, max_victim_queries=5))


class _ScreenDefense:
    """A fake defence with both roles: a ranker wrapper (identity + 0) and a stuffing screen."""

    name = "fake_defense"

    class Options(StrictModel):  # noqa: D106
        pass

    def __init__(self, options=None):
        self.threshold = 0.25

    def wrap(self, ranker, env):
        class Wrapped:
            name = "wrapped"

            def score(self, query, docs):
                return ranker.score(query, docs) + 0.0

        assert env.documents and env.lexicon is not None
        return Wrapped()

    def fit(self, texts, *, seed):
        self.fitted = len(texts)

    def score(self, texts):
        from collections import Counter

        out = []
        for t in texts:
            c = Counter(t.lower().split())
            out.append(max(c.values()) / max(1, sum(c.values())) if c else 0.0)
        return np.array(out)


class _NeuralOnly:
    name = "neural_only"

    def __init__(self, options):
        self.options = options

    def applicable(self, env):
        return None if env.white_box_ranker is not None and hasattr(env.white_box_ranker, "embedding_gradients") else "needs gradients"

    def attack(self, target, victim, budget, rng):
        return AttackOutcome(target.text)


def test_t4_defended_system_screen_and_not_applicable(tiny_config, tiny_bi_encoder, tiny_cross_encoder, monkeypatch):
    import robustrank.plugins as plugins
    from robustrank.audit import run_audit
    from robustrank.config import load_config

    real = plugins.load_plugin

    def fake_load(kind, name, **kw):
        if (kind, name) == ("defense", "fake_defense"):
            return _ScreenDefense, plugins.PluginInfo(kind, name, "tests:_ScreenDefense", "tests", "0")
        if (kind, name) == ("attack", "neural_only"):
            return _NeuralOnly, plugins.PluginInfo(kind, name, "tests:_NeuralOnly", "tests", "0")
        return real(kind, name, **kw)

    monkeypatch.setattr(plugins, "load_plugin", fake_load)
    path = _t4_config(tiny_config, tiny_bi_encoder, tiny_cross_encoder)
    text = Path(path).read_text().replace("    injection: {n_docs: 2, stuffed_terms: 4}\n", "")  # set below; duplicate keys are an error
    start = text.index("    attacks:\n")
    end = text.index("output:")
    block = ("    white_box: true\n    defenses: [fake_defense]\n    injection: {enabled: false}\n    attacks:\n"
             "      - name: keyword_stuffing\n        options: {mode: prepend}\n      - name: neural_only\n")
    Path(path).write_text(text[:start] + block + text[end:])
    results, _ = run_audit(load_config(path), progress=False, render_html=False)
    res = results["tasks"]["t4"]["result"]
    ks = res["attacks"]["keyword_stuffing"]["systems"]
    assert set(ks) == {"neural", "bm25", "neural+fake_defense"}
    for sysres in ks.values():
        assert sysres["status"] == "ok" and "flagged_rate" in sysres["metrics"]
        assert all(isinstance(t["flags"]["fake_defense"], bool) for t in sysres["targets"])
    assert res["defenses"]["fake_defense"]["role"] == "ranker+screen"
    no = res["attacks"]["neural_only"]["systems"]
    assert no["bm25"] == {"status": "not_applicable", "reason": "needs gradients"}
    assert no["neural"]["status"] == "ok" and no["neural+fake_defense"]["status"] == "not_applicable"
    assert "t4.keyword_stuffing.neural+fake_defense.success_rate" in results["metrics"]


def test_changed_words_is_word_edit_distance():
    text = "power supply of the power plant with power lines"
    spam = apply_edits(text, [Edit("substitute", i, w, "power") for i, w in [(1, "supply"), (2, "of"), (3, "the")]])
    assert changed_words(text, spam) == 3  # a diff that aligns the repeated term elsewhere would say more
    assert changed_words("a b c", "x a b c") == 1 and changed_words("a b c", "a b c") == 0
    assert changed_words("A b", "a B") == 0


def test_prada_distils_matched_surrogate_and_reference_mode(tiny_env, tiny_victim, tiny_bi_encoder, tiny_cross_encoder):
    from dataclasses import replace

    from robustrank_attacks.prada import PradaAttack

    env = replace(tiny_env, victim_architecture="bi-encoder", attacked_query_ids=frozenset({"q1"}), score_fn=tiny_victim.score)
    opts = dict(surrogate_init=str(tiny_bi_encoder), distill_steps=2, distill_docs_per_list=4, heldout_queries=1, min_similarity=0.5, loss_docs=3)
    attack = PradaAttack(PradaAttack.Options(**opts))
    attack.prepare(env)
    s = attack.summary()
    info = s["surrogate"]
    assert info["method"] == "distillation" and info["architecture"] == "bi-encoder" and info["model"]["architecture"] == "bi-encoder"
    assert info["split"]["attacked_queries_excluded"] == 1 and info["split"]["heldout_queries"] == 1
    assert info["fidelity"]["queries"] == 1 and info["fidelity"]["target"] == {"spearman": 0.6}
    assert s["mode"] == "robustrank" and any("15 steps" in d for d in s["deviations"])
    _check_plugin(attack, env, tiny_victim, Budget(max_words=2, max_victim_queries=5))
    ref = PradaAttack(PradaAttack.Options(**opts, mode="reference", pgd_batches=2))
    ref.prepare(env)
    assert ref.summary()["mode"] == "reference" and not any("15 steps" in d for d in ref.summary()["deviations"])
    _check_plugin(ref, env, tiny_victim, Budget(max_words=2, max_victim_queries=5))


def test_prada_reference_greedy_keeps_rejected_replacements_and_counts_steps(tiny_env, tiny_cross_encoder):
    """Reference greedy: a later occurrence is tried with the earlier (rejected) replacement kept."""
    from robustrank.api import VictimOracle
    from robustrank_attacks.prada import PradaAttack

    text = "noise noise noise signal"
    tried = []

    def victim(q, texts):
        tried.extend(texts)
        # only the text with both first occurrences replaced ranks higher
        return np.array([2.0 if t.lower().startswith("din din") else 0.0 for t in texts])

    ranked = (("a", 1.0), ("t", 0.0))
    target = AttackTarget("q", "noise", "t", text, 2, ranked)
    oracle = VictimOracle(victim, target, {"a": "other"})
    tried.clear()
    attack = PradaAttack(PradaAttack.Options(mode="reference", m=10))
    toks = text.split()
    edits, rank, accepted = attack._greedy_reference(target, oracle, toks, ["noise"], {"noise": ["din"]}, {"noise": [0, 1, 2]}, limit=10)
    assert tried[0].startswith("din noise") and tried[1].startswith("din din")  # the rejected first swap stays
    assert rank == 1 and accepted == 1 and len(edits) == 2
    # ours drops rejected swaps: "din din" is never tried, nothing is accepted
    tried.clear()
    oracle = VictimOracle(victim, target, {"a": "other"})
    edits, rank, _ = attack._greedy(target, oracle, toks, ["noise"], {"noise": ["din"]}, {"noise": [0, 1, 2]}, limit=10)
    assert not edits and rank == 2
