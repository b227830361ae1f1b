"""CertDR smoothing with common random numbers: an edit changes only its own word slot's noise."""

from __future__ import annotations

import numpy as np
import pytest

from robustrank.api import (
    AttackTarget,
    Budget,
    DefenseEnvironment,
    Lexicon,
    defended_score_fn,
)


@pytest.fixture()
def lexicon(tmp_path) -> Lexicon:
    path = tmp_path / "lex.tsv"
    path.write_text(
        "#robustrank-lexicon\t1\t{}\n"
        "microwave\tradio:0.9 wireless:0.8\n"
        "measurement\tmeasuring:0.8 gauging:0.7\n"
        "liquids\tfluids:0.9 solutions:0.8\n"
        "noise\tsound:0.9 din:0.8\n"
    )
    return Lexicon.load(path)


class Recorder:
    """A cosine-like ranker that records every (query, copy) it scores."""

    name = "recorder"
    similarity = "cosine"

    def __init__(self):
        self.pairs: list[tuple[str, str]] = []

    def score_pairs(self, pairs):
        self.pairs += list(pairs)
        return np.array([2 * len(set(q.split()) & set(d.split())) / max(len(q.split()), 1) - 1 for q, d in pairs])

    def score(self, query, docs):
        return self.score_pairs([(query, d) for d in docs])


def _smoothed(tmp_path, lexicon, **opts):
    from robustrank_defenses.certdr import CertDRSmoothing

    env = DefenseEnvironment(documents={}, lexicon=lexicon, seed=11, artifact_dir=lambda k, n: tmp_path / k / n)
    inner = Recorder()
    return CertDRSmoothing({"samples": 12, "min_similarity": 0.5, **opts}).wrap(inner, env), inner


def _copies(smoothed, inner, query, text):
    start = len(inner.pairs)
    smoothed.score(query, [text])
    return [d.split() for _, d in inner.pairs[start:]]


A = "microwave measurement of liquids with noise and liquids measurement microwave noise"
B = A.replace("of liquids with", "of fluids with")  # one word substituted (slot 3)


@pytest.mark.parametrize("noise", ["common", "independent"])
def test_one_word_edit_changes_only_its_own_slot(tmp_path, lexicon, noise):
    smoothed, inner = _smoothed(tmp_path, lexicon, noise=noise)
    q = "microwave noise"
    ca, cb = _copies(smoothed, inner, q, A), _copies(smoothed, inner, q, B)
    assert len(ca) == len(cb) == 12
    others_equal = all(a[:3] + a[4:] == b[:3] + b[4:] for a, b in zip(ca, cb))
    if noise == "common":
        assert others_equal  # identical noise on every other word slot, in every copy
    else:
        assert not others_equal  # the old scheme re-rolls every slot (the mutant this test catches)


def test_whitespace_variant_scores_the_same_and_noise_differs_by_query(tmp_path, lexicon):
    smoothed, inner = _smoothed(tmp_path, lexicon)
    q = "microwave noise"
    spaced = A.replace(" of ", "   of\n")
    assert smoothed.score(q, [A])[0] == smoothed.score(q, [spaced])[0]
    assert [c for c in _copies(smoothed, inner, q, A)] == [c for c in _copies(smoothed, inner, q, spaced)]
    # an attack cannot re-roll the noise by changing layout; the old scheme could
    old, old_inner = _smoothed(tmp_path, lexicon, noise="independent")
    assert _copies(old, old_inner, q, A) != _copies(old, old_inner, q, spaced)
    # the noise is tied to the query: another query draws other numbers
    u1, u2 = smoothed.uniforms(q, 5, 4), smoothed.uniforms("other query", 5, 4)
    assert u1.shape == (4, 5) and not np.allclose(u1, u2)
    # prefix-consistent: asking for more slots does not change the first ones
    assert np.array_equal(smoothed.uniforms(q, 9, 4)[:, :5], u1)


def test_final_rescoring_uses_more_copies_and_drives_the_reported_rank(tmp_path, lexicon):
    from robustrank.adversarial.runner import attack_one

    smoothed, _ = _smoothed(tmp_path, lexicon)
    assert smoothed.final_samples == 120 and smoothed.describe()["noise"] == "common"
    n0 = smoothed.forwards
    s = smoothed.score_final("microwave noise", [A, B])
    assert smoothed.forwards - n0 == 240 and s.shape == (2,)
    assert np.array_equal(s, smoothed.score_final("microwave noise", [A, B]))

    fn = defended_score_fn(smoothed)
    calls = {"final": 0}
    real_final = fn.final

    def counting_final(q, t):
        calls["final"] += len(t)
        return real_final(q, t)

    fn.final = counting_final

    class Noop:
        name = "noop"

        def attack(self, target, victim, budget, rng):
            from robustrank.api import AttackOutcome

            victim.ranks([target.text + " microwave"])
            return AttackOutcome(target.text + " microwave", (), victim.queries_used)

    others = {"d1": "microwave noise measurement", "d2": "liquids"}
    target = AttackTarget("q", "microwave noise", "t", A, 2, (("d1", None), ("t", None), ("d2", None)))
    rec = attack_one(Noop(), target, fn, {**others, "t": A}, Budget(max_words=5), np.random.default_rng(0))
    # original and adversarial text measured with the final (many-copy) estimate, the attack's query with score
    assert calls["final"] == 2 and rec["victim_queries"] == 1
    # a plain ranker (no score_final) has no .final: measured with its ordinary score
    assert not hasattr(defended_score_fn(Recorder()), "final")
