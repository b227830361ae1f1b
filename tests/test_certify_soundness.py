"""Soundness of certification, with power: known-truth Bernoulli cases and named mutants.

Each case is a query whose true smoothed scores are known and tie exactly at every K boundary,
so *every* certificate is a false one. The shipped procedure must keep the false-certification
rate at or below alpha (binomial tolerance: the 99.9% quantile of Binomial(reps, alpha)); each
named mutant — a plausible bug in the bound or its bookkeeping, monkeypatched in — must exceed
that tolerance on the same seeds, which shows the test can fail.

Cases (numpy score sources, no model):

* ``ladder``: 7 exact documents at levels 0.94 ... 0.06 interleaved with 7 Bernoulli documents
  of the same means; K = 1, 3, ..., 13 put each Bernoulli document on its own boundary, so a
  false certificate happens exactly when one of the 7 confidence sequences misses (at any look,
  through the running intersection) — the union the alpha split has to pay for.
* ``skewed``: Bernoulli(0.97 / 0.5 / 0.03) documents at a small fixed n, where a bound without
  its range term collapses to a point on all-0 or all-1 samples.
* ``pair``: one exact and one Bernoulli(1/2) document at K = 1, sampled adaptively up to
  n = 16384; a fixed-n (Hoeffding) bound spent at the full level at every look (peeking, off the
  grid, ~100 looks) misses far more often than alpha.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.stats import binom

from robustrank.certify import bounds as bounds_module
from robustrank.certify import engine, sampling
from robustrank.certify.allocation import allocate_alpha, rank_weights
from robustrank.certify.procedure import CertifySettings, certify_scores


class Ladder:
    """Exact documents at ``levels`` interleaved with Bernoulli documents of the same means."""

    def __init__(self, levels, rng):
        self.v = np.asarray(levels, dtype=float)
        self.rng = rng

    def bounds(self):
        return [0.0] * (2 * len(self.v))

    def enumerate(self, limit):
        out = []
        for v in self.v:
            out += [np.array([v]), None]
        return out

    def draw(self, requests):
        return {i: (self.rng.random(n) < self.v[i // 2]).astype(float) for i, n in requests.items()}


LADDER = np.linspace(0.94, 0.06, 7)
LADDER_K = tuple(range(1, 14, 2))


def false_certificates(settings: CertifySettings, levels, reps: int, seed: int = 0) -> int:
    """Queries (out of ``reps``) with a certificate at some K; every one is false here."""
    errors = 0
    for rep in range(reps):
        cert = certify_scores(Ladder(levels, np.random.default_rng([seed, rep])), settings)
        errors += any(d.certified for d in cert.decisions)
    return errors


def tolerance(reps: int, alpha: float) -> float:
    return binom.ppf(0.999, reps, alpha)


def _no_multiplicity(alpha, sampled, *args, **kwargs):
    return np.where(np.asarray(sampled, dtype=bool), alpha, 0.0)


def _shrunk(factor):
    original = sampling.betting_interval

    def shrunk(rows, delta, horizon=None):
        low, high = original(rows, delta, horizon)
        mean = np.array([np.mean(r) for r in rows])
        return mean - factor * (mean - low), mean + factor * (high - mean)

    return shrunk


def _no_range_term(n, variance, delta):
    return math.sqrt(2.0 * max(variance, 0.0) * math.log(2.0 / delta) / n) if n >= 2 else math.inf


def test_ladder_betting_adaptive_holds_alpha_and_mutants_fail(monkeypatch):
    alpha, reps = 0.2, 200
    settings = CertifySettings(alpha=alpha, k_values=LADDER_K, futility=False, n_min=16, ratio=2.0, n_max=1024)
    limit = tolerance(reps, alpha)
    shipped = false_certificates(settings, LADDER, reps)
    assert shipped <= limit, f"shipped procedure: {shipped}/{reps} false certificates, tolerance {limit}"
    with monkeypatch.context() as m:  # mutant: every document at the full alpha (no union bound)
        m.setattr(engine, "allocate_alpha", _no_multiplicity)
        mutant = false_certificates(settings, LADDER, reps)
    assert mutant > limit, f"no-multiplicity mutant not caught: {mutant}/{reps} <= {limit}"
    with monkeypatch.context() as m:  # mutant: confidence radius shrunk to 70%
        m.setattr(sampling, "betting_interval", _shrunk(0.7))
        mutant = false_certificates(settings, LADDER, 100)
    assert mutant > tolerance(100, alpha), f"shrunken-radius mutant not caught: {mutant}/100"


def test_skewed_empirical_bernstein_fixed_needs_its_range_term(monkeypatch):
    alpha, reps = 0.2, 300
    levels = [0.97, 0.5, 0.03]
    settings = CertifySettings(alpha=alpha, k_values=(1, 3, 5), procedure="fixed", n_fixed=40, bound="empirical_bernstein")
    limit = tolerance(reps, alpha)
    assert false_certificates(settings, levels, reps) <= limit
    with monkeypatch.context() as m:  # mutant: Maurer-Pontil without 7 ln(2/delta) / (3 (n - 1))
        m.setattr(bounds_module, "empirical_bernstein_radius", _no_range_term)
        mutant = false_certificates(settings, levels, reps)
    assert mutant > limit, f"no-range-term mutant not caught: {mutant}/{reps} <= {limit}"
    # and the betting bound, which has no such term to drop, holds at the same small n
    betting = CertifySettings(alpha=alpha, k_values=(1, 3, 5), procedure="fixed", n_fixed=40)
    assert false_certificates(betting, levels, reps) <= limit


def test_pair_fixed_n_bounds_need_the_grid_split(monkeypatch):
    # Many looks (n_max 16384: ~100 looks at +10%) make peeking costly: measured shipped 6/300,
    # peeking mutant 112/300 against the 99.9% binomial tolerance 82/300 at alpha = 0.2.
    alpha, reps = 0.2, 300
    settings = CertifySettings(alpha=alpha, k_values=(1,), futility=False, n_min=16, ratio=2.0, n_max=16384, bound="hoeffding")
    limit = tolerance(reps, alpha)
    assert false_certificates(settings, [0.5], reps) <= limit
    refresh = engine.refresh
    with monkeypatch.context() as m:  # mutant: a look after every few copies, each at the full level
        m.setattr(engine, "refresh", lambda state, idx, deltas, s, looks: refresh(state, idx, deltas, s, 1))
        m.setattr(engine, "next_size", lambda n, s: None if n >= s.n_max else min(s.n_max, max(n + 2, math.ceil(n * 1.1))))
        mutant = false_certificates(settings, [0.5], reps)
    assert mutant > limit, f"peeking mutant not caught: {mutant}/{reps} <= {limit}"


# -- alpha bookkeeping ---------------------------------------------------------------------------

def test_alpha_allocation_sums_to_alpha_and_favours_boundaries():
    ranks = list(range(1, 21))
    w = rank_weights(ranks, (1, 3, 5, 10))
    assert w[0] == w[1] == w[9] == w[10] == 1.0  # ranks K and K + 1
    assert w[6] == pytest.approx(0.5) and w[19] == pytest.approx(1 / 10)
    sampled = [i % 3 != 0 for i in range(20)]
    deltas = allocate_alpha(0.05, sampled, ranks, (1, 3, 5, 10))
    assert deltas.sum() == pytest.approx(0.05) and deltas.sum() <= 0.05 + 1e-15
    assert all(d == 0.0 for d, s in zip(deltas, sampled) if not s)  # exact documents spend nothing
    assert deltas[1] > deltas[19]
    uniform = allocate_alpha(0.05, sampled, scheme="uniform")
    assert np.allclose(uniform[np.asarray(sampled)], 0.05 / sum(sampled))
    assert allocate_alpha(0.05, [False, False]).sum() == 0.0


def test_certificate_records_levels_fixed_before_sampling():
    settings = CertifySettings(alpha=0.05, k_values=LADDER_K, n_min=16, n_max=256)
    seen = []
    for seed in range(3):
        cert = certify_scores(Ladder(LADDER, np.random.default_rng(seed)), settings)
        assert sum(cert.deltas) <= 0.05 + 1e-12
        assert all(d == 0.0 for d, ex in zip(cert.deltas, cert.exact) if ex)
        assert cert.to_json()["alpha_spent"] == pytest.approx(sum(cert.deltas))
        seen.append(cert.deltas)
    assert seen[0] == seen[1] == seen[2]  # the same whatever the samples
