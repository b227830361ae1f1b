"""Betting confidence sequences for means of [0, 1]-valued samples (Waudby-Smith & Ramdas 2023).

Waudby-Smith & Ramdas, "Estimating means of bounded random variables by betting", JRSS-B 2023:
for i.i.d. X_1, X_2, ... in [0, 1] with mean mu and a candidate mean m, the *capital processes*

    K_t^+(m) = prod_{i <= t} (1 + lambda_i^+(m) (X_i - m)),
    K_t^-(m) = prod_{i <= t} (1 - lambda_i^-(m) (X_i - m))

are nonnegative martingales at m = mu whenever the bets lambda_i are *predictable* (chosen from
X_1..X_{i-1}) and lie in [0, 1/m) resp. [0, 1/(1-m)). By Ville's inequality
P(exists t: K_t^+(mu) >= 2/delta) <= delta/2, and likewise for K^-. So

    L_t = sup{m : K_t^+(m) >= 2/delta}   and   U_t = inf{m : K_t^-(m) >= 2/delta}

are lower and upper confidence *sequences*: with probability >= 1 - delta, L_t <= mu <= U_t at
every t simultaneously (the hedged process of the paper with theta = 1/2, i.e. two one-sided
processes at delta/2 each). Because the guarantee is uniform in t, the bounds may be computed
after every sample, sampling may stop or continue on any rule that looks at the data, and the
running intersection (max of the L_t, min of the U_t) is covered on the same event.

Bets: the predictable plug-in of the paper (Sec. 3.3 / 4),

    lambda~_t = sqrt(2 ln(2/delta) / (s2_{t-1} t ln(1 + t))),
    mu^_t = (1/2 + sum_{i<=t} X_i) / (t + 1),   s2_t = (1/4 + sum_{i<=t} (X_i - mu^_i)^2) / (t + 1),

truncated per candidate mean: lambda^+(m) = min(lambda~, c/m), lambda^-(m) = min(lambda~, c/(1-m))
with c = 3/4 (the paper suggests 1/2 or 3/4). With a sample size n fixed in advance (``horizon``), t ln(1 + t) is replaced by n
(the paper's fixed-time tuning); any predictable bets are valid, the tuning only changes width.

Each factor 1 + lambda^+(m)(x - m) is positive and non-increasing in m (also through the
truncation c/m), so K^+ is non-increasing in m and {m : K^+(m) >= 2/delta} is an interval
[0, L]; L is found by bisection, returning the largest *rejected* point of the bracket, so the
reported bound is conservative by at most ``tol``. U comes from the same computation on 1 - X.

Everything is vectorised over documents: samples are passed as a padded matrix with lengths.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["plugin_bets", "betting_lower", "betting_interval"]

TRUNCATION = 0.75
"""c in lambda^+(m) = min(lambda~, c/m): keeps every factor >= 1 - c > 0."""

_ITERATIONS = 26
"""Bisection steps on [0, 1]: 2**-26 < 1.5e-8 (the bound is conservative by at most that)."""


def _as_matrix(samples) -> tuple[np.ndarray, np.ndarray]:
    if isinstance(samples, np.ndarray) and samples.ndim == 2:
        x = samples.astype(np.float64)
        return x, np.full(len(x), x.shape[1], dtype=np.int64)
    rows = [np.asarray(s, dtype=np.float64).ravel() for s in samples]
    lengths = np.array([len(r) for r in rows], dtype=np.int64)
    width = int(lengths.max()) if len(rows) else 0
    x = np.full((len(rows), width), 0.5)
    for i, r in enumerate(rows):
        x[i, : len(r)] = r
    return x, lengths


def plugin_bets(x: np.ndarray, delta: np.ndarray, horizon: int | None = None) -> np.ndarray:
    """Predictable plug-in bets lambda~_t for each row of ``x`` (before truncation).

    Args:
        x: (documents, t) samples in [0, 1] (padding after a row's length is ignored later).
        delta: Two-sided level per document (each side delta/2).
        horizon: Fixed sample size the bets are tuned for (None: anytime tuning t ln(1 + t)).

    Returns:
        (documents, t) array; column t-1 holds lambda~_t, computed from columns < t-1 only.
    """
    d, t = x.shape
    idx = np.arange(1, t + 1, dtype=np.float64)
    mu_hat = (0.5 + np.cumsum(x, axis=1)) / (idx + 1.0)  # mu^_i includes X_i
    s2 = (0.25 + np.cumsum((x - mu_hat) ** 2, axis=1)) / (idx + 1.0)
    s2_prev = np.concatenate([np.full((d, 1), 0.25), s2[:, :-1]], axis=1)  # s2_{t-1}, s2_0 = 1/4
    log_term = np.log(2.0 / np.asarray(delta, dtype=np.float64)).reshape(-1, 1)
    scale = idx * np.log1p(idx) if horizon is None else np.full(t, float(horizon))
    return np.sqrt(2.0 * log_term / (s2_prev * scale))


def betting_lower(samples, delta, horizon: int | None = None, tol: float = 0.0) -> np.ndarray:
    """Lower confidence-sequence bound L_t at the current t of each document, one-sided at delta/2.

    Args:
        samples: A (documents, t) matrix, or a sequence of 1-d arrays (ragged).
        delta: Two-sided level per document (scalar or one per document); this side uses delta/2.
        horizon: See :func:`plugin_bets`.
        tol: Unused precision hint (bisection runs to 1.5e-8).

    Returns:
        One lower bound per document (0 for a document without samples).
    """
    x, lengths = _as_matrix(samples)
    d = len(lengths)
    if d == 0:
        return np.zeros(0)
    delta = np.broadcast_to(np.asarray(delta, dtype=np.float64), (d,))
    if x.shape[1] == 0:
        return np.zeros(d)
    lam = plugin_bets(x, delta, horizon)
    valid = np.arange(x.shape[1])[None, :] < lengths[:, None]
    lam = np.where(valid, lam, 0.0)  # padding: no bet, factor 1
    threshold = np.log(2.0 / delta)  # one side at delta/2: reject m when K^+(m) >= 2/delta

    def log_capital(m: np.ndarray) -> np.ndarray:
        with np.errstate(divide="ignore"):
            cap = np.where(m > 0, TRUNCATION / np.maximum(m, 1e-300), np.inf)
        bet = np.minimum(lam, cap[:, None])
        return np.log1p(bet * (x - m[:, None])).sum(axis=1)

    lo = np.zeros(d)
    hi = np.ones(d)
    rejected0 = log_capital(lo) >= threshold
    for _ in range(_ITERATIONS):
        mid = 0.5 * (lo + hi)
        rej = log_capital(mid) >= threshold
        lo = np.where(rej, mid, lo)
        hi = np.where(rej, hi, mid)
    return np.where(rejected0 & (lengths > 0), lo, 0.0)


def betting_interval(samples, delta, horizon: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Two-sided betting confidence-sequence bounds (L_t, U_t) of each document at level delta.

    Args:
        samples: A (documents, t) matrix, or a sequence of 1-d arrays.
        delta: Two-sided level per document (delta/2 per side).
        horizon: See :func:`plugin_bets`.
    """
    x, lengths = _as_matrix(samples)
    rows = [x[i, : lengths[i]] for i in range(len(lengths))]
    low = betting_lower(rows, delta, horizon)
    high = 1.0 - betting_lower([1.0 - r for r in rows], delta, horizon)
    return low, high


def approximate_radius(variance: float, n: int, delta: float) -> float:
    """Rough half-width of a betting interval after n samples (for stopping heuristics only).

    sqrt(2 variance ln(2/delta) / n) + ln(2/delta) / n: the leading terms of the paper's width;
    used to predict the reach of more sampling, never as a bound.
    """
    if n < 1:
        return math.inf
    lg = math.log(2.0 / delta)
    return math.sqrt(2.0 * max(variance, 0.0) * lg / n) + lg / n
