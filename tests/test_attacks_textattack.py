"""TextAttack bridge (optional extra robustrank[textattack]); skipped when textattack is absent."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest

pytestmark = pytest.mark.skipif(importlib.util.find_spec("textattack") is None, reason="pip install 'robustrank[textattack]'")


@pytest.fixture()
def env(tmp_path):
    from robustrank.adversarial.types import AttackEnvironment
    from robustrank.lexicon import Lexicon

    def artifact_dir(kind, key):
        p = tmp_path / kind / key
        p.mkdir(parents=True, exist_ok=True)
        return p

    return AttackEnvironment({}, {}, {}, None, Lexicon.load(), 0, artifact_dir, device="cpu")


def _target(text, n_others=6):
    from robustrank.adversarial.types import AttackTarget

    others = {f"o{i}": "x " * (i + 1) for i in range(n_others)}
    ranked = tuple([(d, 1.0) for d in others] + [("t", 0.0)])
    return AttackTarget("q", "liquid measurement", "t", text, len(ranked), ranked), others


def test_bridge_ranking_goal_respects_budgets_and_improves_rank(env):
    from robustrank.adversarial.runner import attack_one
    from robustrank.adversarial.types import Budget
    from robustrank_attacks.textattack_bridge import TextAttackBridge

    text = "measurement of liquid permittivity at radio frequencies"
    syns = {s.word for w in ("measurement", "liquid", "frequencies") for s in env.lexicon.synonyms(w, k=50, min_similarity=0.7)}
    assert syns

    def victim(q, texts):  # rewards lexicon synonyms of the target's words
        return np.array([sum(w in syns for w in t.lower().split()) + 0.5 * t.count("x ") / 10 for t in texts], dtype=float)

    target, others = _target(text)
    bridge = TextAttackBridge()
    bridge.prepare(env)
    assert bridge.summary()["search"] == "GreedyWordSwapWIR"
    rec = attack_one(bridge, target, victim, {**others, "t": text}, Budget(max_words=2, max_victim_queries=60), np.random.default_rng(0))
    assert "budget_violation" not in rec and rec["victim_queries"] <= 60
    assert rec["words_changed"] <= 2
    assert rec["success"] and rec["new_rank"] < rec["original_rank"]
    scores = victim("q", [rec["adversarial_text"]] + list(others.values()))
    assert rec["new_rank"] == 1 + int(np.sum(scores[1:] >= scores[0]))
    assert all(e["kind"] == "substitute" for e in rec["edits"])

    tight = attack_one(bridge, target, victim, {**others, "t": text}, Budget(max_words=2, max_victim_queries=3), np.random.default_rng(0))
    assert tight["victim_queries"] <= 3 and "budget_violation" not in tight


def test_bridge_offline_import_sets_up_nltk_and_marker(env):
    import os

    from robustrank_attacks.textattack_bridge import offline_textattack

    folder = env.artifact_dir("textattack", "offline")
    ta = offline_textattack(folder)
    assert hasattr(ta, "Attack")
    assert (folder / "nltk_data" / "corpora" / "stopwords" / "english").is_file()
    assert os.path.isfile(os.path.join(os.environ["TA_CACHE_DIR"], "post_install_check_3"))
    assert str(folder / "nltk_data") in os.environ["NLTK_DATA"].split(os.pathsep)
