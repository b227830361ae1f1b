"""The certification engine: one query's candidates, every K, from a :class:`~robustrank.certify.settings.ScoreSource`.

Exact enumeration first (zero width, no error level), then the error levels are fixed by
:func:`~robustrank.certify.allocation.allocate_alpha` (before any sampling), then the fixed or
adaptive (top-K identification, LUCB-style) sampling with the bounds of
:mod:`~robustrank.certify.sampling`. See :mod:`~robustrank.certify.procedure` for the whole
procedure and ``docs/certify.md`` for the validity argument.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from robustrank.certify.allocation import allocate_alpha
from robustrank.certify.decision import KDecision, critical_documents, decide, feasible
from robustrank.certify.sampling import SampleState, binding_pair, futile, next_size, refresh
from robustrank.certify.settings import CertifySettings, QueryCertificate, ScoreSource

__all__ = ["certify_scores"]


def certify_scores(source: ScoreSource, settings: CertifySettings, ranks: Sequence[int] | None = None) -> QueryCertificate:
    """Certify one query's candidates at every K from a score source.

    Args:
        source: The candidates (o_d, enumeration, draws).
        settings: Procedure, alpha, K values, sample sizes, bound.
        ranks: Unsmoothed rank of each candidate (1-based; default list order), used only to
            weight the error levels.
    """
    o = np.asarray(source.bounds(), dtype=np.float64)
    n_docs = len(o)
    state = SampleState(n_docs)
    forwards = 0
    for i, scores in enumerate(source.enumerate(settings.enumeration_limit)):
        if scores is not None:
            state.exact[i] = True
            state.set_scores(i, scores)
            state.low[i] = state.high[i] = float(state.scores[i].mean())
            forwards += len(scores)
    sampled = ~state.exact
    deltas = allocate_alpha(settings.alpha, sampled, ranks, settings.k_values, settings.alpha_scheme)
    sampled_idx = [int(i) for i in np.flatnonzero(sampled)]
    rounds = 0
    looks = 1

    def draw(requests: dict[int, int]) -> None:
        nonlocal forwards, rounds
        requests = {i: r for i, r in requests.items() if r > 0}
        if not requests:
            return
        fresh = source.draw(requests)
        state.add(fresh)
        forwards += sum(len(v) for v in fresh.values())
        rounds += 1

    if settings.procedure == "fixed":
        draw({i: settings.n_fixed for i in sampled_idx})
        refresh(state, sampled_idx, deltas, settings, 1)
        decisions = tuple(decide(state.mean, state.low, state.high, o, k) for k in settings.k_values)
    elif settings.procedure == "adaptive":
        if settings.bound != "betting":
            looks = len(settings.grid.sizes)
        frozen: dict[int, KDecision] = {}
        draw({i: settings.n_min for i in sampled_idx})
        refresh(state, sampled_idx, deltas, settings, looks)
        while True:
            mean = state.mean
            targets: dict[int, int] = {}
            n = state.n
            for k in settings.k_values:
                if k in frozen:
                    continue
                dec = decide(mean, state.low, state.high, o, k)
                if dec.certified or dec.reason == "too_few_candidates" or not feasible(state.low, state.high, o, k):
                    frozen[k] = dec
                    continue
                if settings.futility and futile(state, o, k, deltas, settings, looks):
                    frozen[k] = dec
                    continue
                crit = [int(i) for i in critical_documents(mean, state.low, state.high, o, k) if not state.exact[i] and n[i] < settings.n_max]
                crit.sort(key=lambda i: (-(state.high[i] - state.low[i]), i))
                chosen = set(crit[: settings.per_round])
                chosen.update(i for i in binding_pair(state, o, k) if i in crit)
                if not chosen:
                    frozen[k] = dec  # every blocking document is at n_max (or exact)
                    continue
                for i in chosen:
                    nxt = next_size(int(n[i]), settings)
                    if nxt is not None:
                        targets[i] = nxt
            if not targets:
                break
            draw({i: t - int(n[i]) for i, t in targets.items()})
            refresh(state, list(targets), deltas, settings, looks)
        decisions = tuple(frozen.get(k) or decide(state.mean, state.low, state.high, o, k) for k in settings.k_values)
    else:
        raise ValueError(f"unknown procedure {settings.procedure!r}")
    return QueryCertificate(
        decisions=decisions,
        forwards=forwards,
        samples=tuple(int(x) for x in state.n),
        smoothed=tuple(float(x) for x in state.mean),
        low=tuple(float(x) for x in state.low),
        high=tuple(float(x) for x in state.high),
        bounds=tuple(float(x) for x in o),
        exact=tuple(bool(x) for x in state.exact),
        deltas=tuple(float(x) for x in deltas),
        rounds=rounds,
    )
