"""Benchmark: how far can adaptive certification get below fixed-n? A calibrated simulation.

Running the real model for every variant of the adaptive procedure would take hours per variant
on a CPU, so this bench replays one finished audit's certification *in simulation*:

1. **Calibrate.** From ``--from-results`` (a results.json with a certify result) it takes, per
   query and candidate, the smoothed score, the copies scored, the error level and the interval
   width. Exactly enumerated candidates keep their exact score and support size. For each sampled
   candidate it fits the standard deviation sigma of its mapped copy scores: the sigma (on a grid)
   whose simulated betting interval at the recorded n and level has the recorded width.
2. **Validate.** Copies are then modelled as Beta(mean, sigma) draws, and the run's own settings
   are re-run on the simulated sources; the bench prints the simulated forwards and CRQ next to
   the recorded ones (they should agree closely; if not, the model is off and nothing below holds).
3. **Compare.** Every variant certifies the same simulated queries (``--reps`` repetitions with
   different draws): fixed n = 1000 and n = n_max (the fixed procedure that matches adaptive's
   CRQ), the audit's adaptive procedure, and what-ifs: finer growth, fewer extra documents per
   round, a larger bet cap c, a steeper score map (mapped gaps and sigma scaled by a factor).
4. **Oracle.** A lower bound for *any* sampling rule using the same bound and error levels: with
   the true means known, every sampled candidate gets exactly the copies its median interval
   needs to clear the best threshold of every K that fixed n = n_max certifies (no learning, no
   overshoot). fixed / oracle is the largest saving this bound and alpha split permit.

    HF_HUB_OFFLINE=1 .venv/bin/python bench/certify_design_space.py --from-results reports/<run>/results.json

No model is loaded; the whole bench takes about a minute. It measures the procedure's cost
structure, not the model: the copy-score distribution is an assumption (Beta with the fitted
sigma); the validation line shows how well it reproduces the real run.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from robustrank.certify import betting  # noqa: E402
from robustrank.certify.allocation import allocate_alpha  # noqa: E402
from robustrank.certify.procedure import CertifySettings, certify_scores  # noqa: E402
from robustrank.stats import clopper_pearson  # noqa: E402

SIGMAS = np.array([0.005, 0.01, 0.015, 0.02, 0.025, 0.03, 0.04, 0.05, 0.06, 0.08, 0.1, 0.13])


def _beta(rng: np.random.Generator, mean: float, sd: float, shape) -> np.ndarray:
    m = min(max(mean, 0.02), 0.98)
    sd = min(sd, 0.9 * (m * (1 - m)) ** 0.5)
    k = m * (1 - m) / (sd * sd) - 1
    return rng.beta(m * k, (1 - m) * k, size=shape)


@dataclass(frozen=True)
class Doc:
    doc_id: str
    mean: float
    exact: bool
    n: int
    delta: float
    sigma: float = 0.0


def calibrate(cert: dict, rng: np.random.Generator) -> list[list[Doc]]:
    """Per query, the candidates with fitted sigma (sampled) or exact score and support (exact)."""
    queries = []
    for q in cert["queries"]:
        docs = []
        for d in q["documents"]:
            doc = Doc(str(d.get("doc_id", "")), d["smoothed"], d["exact"], d["samples"], d["delta"])
            if not doc.exact:
                widths = []
                for s in SIGMAS:
                    lo, hi = betting.betting_interval(_beta(rng, doc.mean, s, (6, doc.n)), doc.delta)
                    widths.append(float(np.mean(hi - lo)))
                target = max(d["high"] - d["low"], 1e-6)
                doc = replace(doc, sigma=float(SIGMAS[int(np.argmin(np.abs(np.log(widths) - np.log(target))))]))
            docs.append(doc)
        queries.append(docs)
    return queries


class SimSource:
    """A query's candidates as a score source: exact scores, or Beta(mean, sigma) copies."""

    def __init__(self, docs: list[Doc], rng: np.random.Generator, steep: float = 1.0):
        centre = (max(d.mean for d in docs) + min(d.mean for d in docs)) / 2
        self.docs = [replace(d, mean=min(0.99, max(0.01, (d.mean - centre) * steep + 0.5)), sigma=d.sigma * steep) for d in docs]
        self.rng = rng

    def bounds(self) -> list[float]:
        return [0.0] * len(self.docs)

    def enumerate(self, limit: int) -> list[np.ndarray | None]:
        return [np.full(d.n, d.mean) if d.exact and d.n <= limit else None for d in self.docs]

    def draw(self, requests: dict[int, int]) -> dict[int, np.ndarray]:
        out = {}
        for i, n in requests.items():
            d = self.docs[i]
            out[i] = np.full(n, d.mean) if d.exact else _beta(self.rng, d.mean, d.sigma, n)
        return out


@contextlib.contextmanager
def bet_cap(c: float) -> Iterator[None]:
    """What-if: the betting bound's truncation c (module constant) set to ``c`` for the block."""
    old = betting.TRUNCATION
    betting.TRUNCATION = c
    try:
        yield
    finally:
        betting.TRUNCATION = old


def simulate(queries: list[list[Doc]], settings: CertifySettings, reps: int, seed: int, steep: float = 1.0) -> dict:
    forwards, certified = [], {k: 0 for k in settings.k_values}
    for rep in range(reps):
        for qi, docs in enumerate(queries):
            cert = certify_scores(SimSource(docs, np.random.default_rng([seed, rep, qi]), steep), settings)
            forwards.append(cert.forwards)
            for dec in cert.decisions:
                certified[dec.k] += dec.certified
    n = len(forwards)
    return {"forwards": float(np.mean(forwards)), "crq": {k: v / n for k, v in certified.items()},
            "crq_ci95": {k: clopper_pearson(v, n) for k, v in certified.items()}, "query_runs": n}


def oracle(queries: list[list[Doc]], settings: CertifySettings, seed: int) -> tuple[float, float]:
    """Mean forwards per query of the oracle allocation and of fixed n = n_max."""
    rng = np.random.default_rng(seed)
    grid = np.unique(np.round(np.geomspace(8, settings.n_max, 60)).astype(int))
    total_oracle = total_fixed = 0.0
    for docs in queries:
        mu = np.array([d.mean for d in docs])
        exact = np.array([d.exact for d in docs])
        deltas = allocate_alpha(settings.alpha, ~exact, None, settings.k_values, settings.alpha_scheme)
        lo_n, hi_n = {}, {}
        for i, d in enumerate(docs):
            if d.exact:
                continue
            x = _beta(rng, d.mean, d.sigma, (8, settings.n_max))
            bounds = [betting.betting_interval(x[:, :g], deltas[i]) for g in grid]
            lo_n[i] = np.array([np.median(lo) for lo, _ in bounds])
            hi_n[i] = np.array([np.median(hi) for _, hi in bounds])
        order = np.argsort(-mu)
        need = np.zeros(len(docs), dtype=int)
        for k in settings.k_values:
            ins, outs = order[:k], order[k:]
            if not len(outs):
                continue
            low = min(mu[i] if exact[i] else lo_n[i][-1] for i in ins)
            high = max(mu[i] if exact[i] else hi_n[i][-1] for i in outs)
            if low <= high:  # fixed n = n_max would not certify K either
                continue
            best = None
            for t in np.linspace(high, low, 41):
                req = {}
                for i in ins:
                    if not exact[i]:
                        req[i] = int(grid[np.argmax(lo_n[i] >= t)]) if (lo_n[i] >= t).any() else None
                for i in outs:
                    if not exact[i]:
                        req[i] = int(grid[np.argmax(hi_n[i] <= t)]) if (hi_n[i] <= t).any() else None
                if None in req.values():
                    continue
                if best is None or sum(req.values()) < sum(best.values()):
                    best = req
            for i, r in (best or {}).items():
                need[i] = max(need[i], r)
        exact_cost = sum(d.n for d in docs if d.exact)
        sampled = ~exact
        total_oracle += exact_cost + need[sampled].sum() + grid[0] * int((need[sampled] == 0).sum())
        total_fixed += exact_cost + settings.n_max * int(sampled.sum())
    return total_oracle / len(queries), total_fixed / len(queries)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--from-results", type=Path, required=True, help="results.json of an audit with a certify result")
    ap.add_argument("--reps", type=int, default=5, help="simulated repetitions of the audit's queries per variant")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args(argv)

    cert = json.loads(args.from_results.read_text())["tasks"]["certify"]["result"]
    samp = cert["sampling"]
    base = CertifySettings(alpha=cert["alpha"], k_values=tuple(cert["k_values"]), procedure="adaptive",
                           n_min=samp["n_min"], n_max=samp["n_max"], ratio=samp["growth"])
    queries = calibrate(cert, np.random.default_rng(args.seed))
    recorded = {"forwards": cert["forwards_per_query"]["mean"], "crq": {int(k): v for k, v in cert["crq"].items()}}
    rows: list[tuple[str, dict]] = [("recorded audit run (real model)", recorded | {"query_runs": len(queries)})]
    rows.append(("simulated: audit's adaptive settings", simulate(queries, base, args.reps, args.seed)))
    rows.append(("simulated: fixed n = 1000", simulate(queries, replace(base, procedure="fixed", n_fixed=1000), args.reps, args.seed)))
    fixed_max = replace(base, procedure="fixed", n_fixed=base.n_max)
    rows.append((f"simulated: fixed n = {base.n_max} (n_max)", simulate(queries, fixed_max, args.reps, args.seed)))
    rows.append((f"what-if: growth {base.ratio} -> 1.25", simulate(queries, replace(base, ratio=1.25), args.reps, args.seed)))
    rows.append(("what-if: per_round 2 -> 1", simulate(queries, replace(base, per_round=1), args.reps, args.seed)))
    with bet_cap(0.9):
        rows.append(("what-if: bet cap c 0.75 -> 0.9", simulate(queries, base, args.reps, args.seed)))
    for steep in (1.5, 2.2):
        rows.append((f"what-if: score map {steep}x steeper", simulate(queries, base, args.reps, args.seed, steep)))
    with bet_cap(0.9):
        rows.append(("what-if: all three (1.25, c 0.9, map 2.2x)", simulate(queries, replace(base, ratio=1.25), args.reps, args.seed, 2.2)))
    oracle_fw, fixed_fw = oracle(queries, base, args.seed)
    fixed_ref = rows[3][1]["forwards"]

    print(f"{len(queries)} queries from {args.from_results}, alpha {base.alpha}, K {list(base.k_values)}, "
          f"adaptive {base.n_min}..{base.n_max} growth {base.ratio}; {args.reps} simulated repetitions per row")
    print(f"{'procedure':<42} {'forwards/q':>10} {'fixed(n_max)/this':>18}  CRQ@K")
    for name, r in rows:
        crq = " ".join(f"@{k}={v:.2f}" for k, v in r["crq"].items())
        print(f"{name:<42} {r['forwards']:>10.0f} {fixed_ref / r['forwards']:>17.2f}x  {crq}")
    print(f"{'oracle allocation (same bound, true means)':<42} {oracle_fw:>10.0f} {fixed_fw / oracle_fw:>17.2f}x  "
          "(CRQ of fixed n = n_max by construction)")
    if args.json:
        args.json.write_text(json.dumps({"rows": rows, "oracle_forwards": oracle_fw, "fixed_n_max_forwards": fixed_fw,
                                         "sigmas": [[d.sigma for d in q] for q in queries]}, indent=1, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
