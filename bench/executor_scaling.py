"""Executor scaling: re-ranking work units per second on each execution backend, same workload.

Usage:
    .venv/bin/python bench/executor_scaling.py [--queries 32] [--depth 40] [--no-ray]

Workload: the BM25 top-``depth`` candidates of the first ``queries`` judged vaswani queries,
re-ranked by all-MiniLM-L6-v2 (one work unit = one query's list). Each backend starts from
scratch (fresh processes, empty caches): the times include starting workers and loading the
model in each, as a user would see them. Backends: in-process (one process, torch's default
threads), processes with 1 and 2 workers (one torch thread each), and a local Ray cluster with
2 workers. Prints units/s and the ratio to the 1-worker process backend measured in this run.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--queries", type=int, default=32)
    ap.add_argument("--depth", type=int, default=40)
    ap.add_argument("--no-ray", action="store_true")
    args = ap.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("RAY_AUTH_MODE", "disabled")

    from robustrank.config import DatasetConfig, RankerConfig
    from robustrank.config.executor import ExecutorConfig, run_rerank_units
    from robustrank.data import load_dataset
    from robustrank.pipeline import rerank
    from robustrank.rankers.bm25 import BM25Ranker
    from robustrank.rankers.build import build_ranker_from_config

    coll = load_dataset(DatasetConfig(path=str(REPO / "datasets" / "vaswani")))
    bm = BM25Ranker(coll.documents)
    qids = coll.judged_query_ids()[: args.queries]
    queries = {q: coll.queries[q].text for q in qids}
    cands = {q: bm.retrieve(queries[q], args.depth) for q in qids}
    units = [(q, queries[q], [d for d, _ in cands[q]], [coll.documents[d].full_text for d, _ in cands[q]]) for q in qids]
    rc = RankerConfig(type="bi-encoder", model="sentence-transformers/all-MiniLM-L6-v2", device="cpu", batch_size=32)
    print(f"workload: {len(units)} units ({args.depth} candidates each), MiniLM on {os.cpu_count()} CPU cores")

    rates: dict[str, float] = {}

    t0 = time.perf_counter()
    ranker = build_ranker_from_config(rc, REPO)
    rerank(ranker, queries, cands, coll.documents)
    rates["in-process"] = len(units) / (time.perf_counter() - t0)

    backends = [("processes x1", ExecutorConfig(type="processes", workers=1)), ("processes x2", ExecutorConfig(type="processes", workers=2))]
    if not args.no_ray:
        backends.append(("ray x2", ExecutorConfig(type="ray", workers=2, object_store_mb=128)))
    for name, cfg in backends:
        got: dict[str, object] = {}
        t0 = time.perf_counter()
        run_rerank_units(cfg, rc, REPO, units, got.__setitem__)
        rates[name] = len(units) / (time.perf_counter() - t0)
        assert len(got) == len(units)

    base = rates["processes x1"]
    print(f"{'backend':<14} {'units/s':>8} {'vs processes x1':>16}")
    for name, rate in rates.items():
        print(f"{name:<14} {rate:>8.2f} {rate / base:>16.2f}")


if __name__ == "__main__":
    main()
