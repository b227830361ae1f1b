"""CertDR certification core: sets, TV terms, smoothing, bounds, decision, and the soundness test."""

from __future__ import annotations

import math
import re

import numpy as np
import pytest

from robustrank.certify import (
    CertifySettings,
    CheckpointGrid,
    Smoother,
    SynonymSets,
    certify_query,
    decide,
    empirical_bernstein_radius,
    feasible,
    hoeffding_radius,
    interval,
)
from robustrank.certify.scoremap import ScoreMap, apply_score_map, fit_calibrated_map, resolve_score_map
from robustrank.lexicon import Lexicon

LEXICON = """#robustrank-lexicon\t1\t{"name": "test", "version": 1}
alpha\tbeta:0.9 gamma:0.8
beta\tgamma:0.85
p\tq:0.9
q\tr:0.8
s\tr:0.85
"""


@pytest.fixture(scope="module")
def sets(tmp_path_factory) -> SynonymSets:
    path = tmp_path_factory.mktemp("lex") / "lex.tsv"
    path.write_text(LEXICON)
    # {alpha, beta, gamma}: a component within the cap (3); p - q - r - s: a component above it.
    return SynonymSets(Lexicon.load(path), min_similarity=0.5, max_set_size=3)


def test_sets_components_and_cap(sets):
    assert sets.neighbours("gamma") == ("alpha", "beta")  # undirected: gamma never lists synonyms itself
    assert sets.perturbation_set("alpha") == ("alpha", "beta", "gamma")  # the whole small component
    assert sets.perturbation_set("q") == ("q", "p", "r")  # nearest by path cost 1 - similarity
    assert sets.perturbation_set("r") == ("r", "s", "q")
    assert sets.perturbation_set("unknown") == ("unknown",)
    assert sets.perturbation_set("P")[0] == "p"


def test_overlap_uses_max_of_set_sizes(sets):
    assert sets.overlap("alpha") == 1.0  # substitutions inside a small component change nothing
    # overlap(q) = min(|{q,p,r} ∩ {p,q,r}|, |{q,p,r} ∩ {r,s,q}|) / 3 = 2/3
    assert sets.overlap("q") == pytest.approx(2 / 3)
    assert sets.overlap("p") == 1.0 and sets.overlap("s") == 1.0
    assert sets.overlap("unknown") == 1.0
    assert sets.document_bound(["q", "r", "the"]) == pytest.approx(1 - (2 / 3) ** 2)
    assert sets.document_bound(["the"]) == 0.0


def test_overlap_with_unequal_sets(tmp_path):
    path = tmp_path / "lex.tsv"
    # a - b, b - c, b - d: component of 4 > cap 3; S(a) = {a, b, c or d}, S(b) = {b, a, c} ...
    path.write_text('#robustrank-lexicon\t1\t{}\na\tb:0.9\nb\tc:0.8 d:0.7\n')
    s = SynonymSets(Lexicon.load(path), min_similarity=0.5, max_set_size=3)
    for w in "abcd":
        sw = set(s.perturbation_set(w))
        expect = min(len(sw & set(s.perturbation_set(v))) / max(len(sw), len(s.perturbation_set(v))) for v in s.neighbours(w))
        assert s.overlap(w) == pytest.approx(expect)
    assert s.overlap("d") < 1.0


def test_smoothing_keeps_text_and_case(sets):
    sm = Smoother(sets)
    prepared = sm.prepare("[3] Alpha, the q-value; BETA.")
    assert len(prepared.slots) == 3
    copies = sm.sample(prepared, 1000, np.random.default_rng(0))
    pattern = re.compile(r"^\[3\] (Alpha|Beta|Gamma), the (q|p|r)-value; (ALPHA|BETA|GAMMA)\.$")
    assert all(pattern.match(c) for c in copies), copies[:3]
    assert len(set(copies)) == 27  # every combination appears in 1000 draws
    assert sorted(sm.enumerate(prepared, 27)) == sorted(set(copies))
    assert sm.enumerate(prepared, 26) is None
    assert prepared.bound == pytest.approx(1 / 3)  # only q has overlap < 1
    # the same generator seed gives the same copies, in chunks or at once
    a = sm.sample(prepared, 10, np.random.default_rng(5))
    rng = np.random.default_rng(5)
    assert a == sm.sample(prepared, 4, rng) + sm.sample(prepared, 6, rng)


def test_bounds_formulas_and_coverage():
    assert hoeffding_radius(1000, 0.025) == pytest.approx(math.sqrt(math.log(40) / 2000))
    assert empirical_bernstein_radius(100, 0.0, 0.05) == pytest.approx(7 * math.log(40) / (3 * 99))
    assert empirical_bernstein_radius(1, 0.1, 0.05) == math.inf
    # low variance: EB much tighter than Hoeffding
    assert empirical_bernstein_radius(2000, 0.001, 0.01) < 0.3 * hoeffding_radius(2000, 0.01)
    # empirical coverage of the two-sided EB interval at delta = 0.1 on Beta(2, 5) samples
    rng = np.random.default_rng(0)
    mu = 2 / 7
    misses = 0
    for _ in range(2000):
        x = rng.beta(2, 5, size=50)
        ci = interval(x.mean(), x.var(ddof=1), 50, 0.1, "empirical_bernstein")
        misses += not (ci.low <= mu <= ci.high)
    assert misses / 2000 <= 0.1


def test_decision_per_document_condition():
    point = [0.9, 0.7, 0.5, 0.2]
    o = [0.0, 0.0, 0.0, 0.5]
    tight = [0.0] * 4
    lo = np.subtract(point, 0.01)
    hi = np.add(point, 0.01)
    d1 = decide(point, lo, hi, o, 1)
    # 0.89 > max(0.71, 0.51, 0.21 + 0.5) = 0.71: certified at K=1
    assert d1.certified and d1.bound_margin == pytest.approx(0.89 - 0.71)
    d2 = decide(point, lo, hi, o, 2)
    assert not d2.certified and d2.reason == "tv_bound"  # 0.69 < 0.71 = U_4 + o_4
    d3 = decide(point, point, point, tight, 3)
    assert d3.certified
    wide = decide(point, np.subtract(point, 0.2), np.add(point, 0.2), tight, 1)
    assert not wide.certified and wide.reason == "monte_carlo"
    assert decide([0.5, 0.5], [0.5, 0.5], [0.5, 0.5], [0, 0], 1).reason == "margin"
    assert decide(point, lo, hi, o, 4).reason == "too_few_candidates"
    # the reference's form certifies no more than ours: g_K - g_K+1 - max o - 0.02 at K=1 is < 0 here
    assert 0.9 - 0.7 - 0.5 - 0.02 < 0 < d1.bound_margin


def test_feasible():
    lo, hi = [0.5, 0.4, 0.1], [0.7, 0.6, 0.3]
    assert feasible(lo, hi, [0, 0, 0], 1)
    assert feasible(lo, hi, [0, 0.5, 0], 1)  # T = {doc 1}: 0.6 > max(0.5, 0.1)
    assert not feasible(lo, hi, [0, 0.5, 0.5], 1)
    assert feasible(lo, hi, [0, 0, 0], 2)
    assert not feasible([0.5, 0.5], [0.5, 0.5], [0, 0], 1)


def test_score_maps():
    assert apply_score_map("cosine_affine", np.array([-1.0, 0.0, 1.0])).tolist() == [0.0, 0.5, 1.0]
    assert apply_score_map("sigmoid", np.array([0.0]))[0] == pytest.approx(0.5)
    with pytest.raises(ValueError):
        apply_score_map("identity", np.array([1.5]))

    class Cos:
        similarity = "cosine"

    class Wrapper:
        inner = Cos()

    assert resolve_score_map("auto", Wrapper()) == "cosine_affine"
    assert resolve_score_map("auto", object()) == "sigmoid"


def test_auto_set_size_uses_whole_components(tmp_path):
    path = tmp_path / "lex.tsv"
    path.write_text(LEXICON)
    auto = SynonymSets(Lexicon.load(path), min_similarity=0.5, max_set_size="auto")
    assert auto.max_set_size == 4 and auto.info["max_set_size_option"] == "auto"
    assert auto.perturbation_set("q") == ("p", "q", "r", "s")
    assert all(auto.overlap(w) == 1.0 for w in "pqrs") and auto.document_bound(["q", "r"]) == 0.0
    with pytest.raises(ValueError):
        SynonymSets(Lexicon.load(path), max_set_size=0)


def test_calibrated_map_is_fixed_affine_clip():
    held_out = np.array([0.32, 0.5, 0.82, 0.6])
    m = fit_calibrated_map(held_out, pad=0.1, fitted_on={"query_ids": ["a"]})
    assert m.low == pytest.approx(0.32 - 0.05) and m.high == pytest.approx(0.82 + 0.05)
    out = m(np.array([0.0, 0.27, 0.57, 0.87, 1.0]))
    assert out.tolist() == pytest.approx([0.0, 0.0, 0.5, 1.0, 1.0])
    assert np.all(np.diff(m(np.linspace(-1, 1, 50))) >= 0)  # monotone: keeps the unsmoothed ranking
    rec = m.to_json()
    assert rec["kind"] == "affine_clip" and rec["fitted_on"]["query_ids"] == ["a"] and "calibrated" in rec["text"]
    assert ScoreMap("cosine_affine")(np.array([0.0]))[0] == 0.5
    with pytest.raises(ValueError):
        fit_calibrated_map([0.5, 0.5])


def test_betting_confidence_sequence_covers_and_shrinks():
    from robustrank.certify.betting import betting_interval

    rng = np.random.default_rng(3)
    # anytime: the running intersection over 8 looks still covers at the nominal rate
    for p, delta in ((0.5, 0.1), (0.05, 0.1)):
        x = (rng.random((400, 512)) < p).astype(float)
        lo_run, hi_run = np.zeros(400), np.ones(400)
        for n in (4, 8, 16, 32, 64, 128, 256, 512):
            lo, hi = betting_interval(x[:, :n], delta)
            lo_run, hi_run = np.maximum(lo_run, lo), np.minimum(hi_run, hi)
        assert np.mean((lo_run > p) | (hi_run < p)) <= delta
    # low variance: far tighter than empirical Bernstein at the same level, and shrinking ~1/n
    x = np.clip(0.6 + 0.01 * rng.standard_normal(2048), 0, 1)
    widths = [float(np.subtract(*betting_interval([x[:n]], 0.0025)[::-1])[0]) for n in (256, 1024, 2048)]
    assert widths[0] > widths[1] > widths[2] > 0
    assert widths[2] / 2 < 0.5 * empirical_bernstein_radius(2048, 1e-4, 0.00125)
    lo, hi = betting_interval([x[:1024]], 0.0025)
    assert lo[0] < x[:1024].mean() < hi[0]


def test_checkpoint_grid():
    g = CheckpointGrid(32, 2.0, 1000)
    assert g.sizes == (32, 64, 128, 256, 512, 1000)
    assert g.delta_per_look(0.06) == pytest.approx(0.01)
    assert g.next_size(0) == 32 and g.next_size(64) == 128 and g.next_size(1000) is None
    with pytest.raises(ValueError):
        CheckpointGrid(1, 2.0, 10)


# -- procedures on a synthetic scorer -------------------------------------------------------------

class SyntheticScorer:
    """Per-sample scores p_i + U(-w, w) for document ``[i] ...``; the true smoothed score is p_i."""

    def __init__(self, p, width, seed):
        self.p, self.width = np.asarray(p), width
        self.rng = np.random.default_rng(seed)
        self.calls = 0

    def __call__(self, pairs):
        idx = np.array([int(t[1 : t.index("]")]) for _, t in pairs])
        self.calls += len(pairs)
        return np.clip(self.p[idx] + self.rng.uniform(-self.width, self.width, len(idx)), 0, 1)


def test_certifies_robust_query_and_adaptive_saves_forwards(sets):
    texts = ["[0] alpha", "[1] beta", "[2] gamma", "[3] alpha", "[4] beta", "[5] gamma"]
    p = [0.9, 0.7, 0.7, 0.3, 0.2, 0.1]  # K=2 is a true tie: not certifiable
    sm = Smoother(sets)
    out = {}
    for procedure in ("fixed", "adaptive"):
        settings = CertifySettings(alpha=0.05, k_values=(1, 2, 3), procedure=procedure, n_fixed=1000, n_min=16, n_max=2048, enumerate_limit=1)
        scorer = SyntheticScorer(p, 0.05, seed=1)
        cert = certify_query("q", texts, scorer, sm, settings, [np.random.default_rng(i) for i in range(6)])
        assert cert.forwards == scorer.calls == sum(cert.samples)
        out[procedure] = cert
    assert [d.certified for d in out["fixed"].decisions] == [True, False, True]
    assert [d.certified for d in out["adaptive"].decisions] == [True, False, True]
    # the tie at K=2 keeps its binding pair sampled until the (optimistic) futility rule gives up
    assert out["adaptive"].forwards * 2 <= out["fixed"].forwards
    rec = out["adaptive"].to_json()
    assert rec["certified"] == {"1": True, "2": False, "3": True} and rec["failed"]["2"] in ("monte_carlo", "margin")
    assert sum(rec["documents"][i]["delta"] for i in range(6)) == pytest.approx(0.05, rel=1e-4)


def test_exact_documents_need_no_sampling(sets):
    texts = ["[0] the", "[1] none", "[2] alpha"]  # 1, 1 and 3 distinct copies
    cert = certify_query("q", texts, SyntheticScorer([0.9, 0.5, 0.1], 0.0, 0), Smoother(sets),
                         CertifySettings(k_values=(1, 2), enumerate_limit=4), [np.random.default_rng(i) for i in range(3)])
    assert cert.exact == (True, True, True) and cert.forwards == 5
    assert all(d.certified for d in cert.decisions)
