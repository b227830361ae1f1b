"""Execution backends for work units: in-process, local processes, and Ray.

A backend runs a module-level function over many picklable work units and hands each result to
a callback as soon as it is done (so results stream into the checkpoint). Workers build their
own copy of the ranker from the ranker config once (a per-process cache), run one torch thread
each, and score the units they receive.

* ``in-process`` (default): the audit's own ranker scores units in large batches (best on GPU).
* ``processes``: ``concurrent.futures.ProcessPoolExecutor`` with the ``spawn`` start method;
  at most ``max_in_flight`` units are submitted at once; if a worker dies, the pool is rebuilt
  and the units that were in flight are resubmitted (each at most ``max_retries`` times).
* ``ray`` (extra ``robustrank[ray]``): Ray tasks with ``max_retries`` (Ray re-runs a task whose
  worker died) and at most ``max_in_flight`` tasks outstanding. Without ``address`` a local
  cluster is started with the node address 127.0.0.1, the given CPUs, and an object store
  capped at ``object_store_mb``. Connecting to a multi-node cluster uses Ray's token
  authentication: point ``RAY_AUTH_TOKEN_PATH`` at the cluster's token file.

What runs on executors today: the neural re-ranking units (one unit = a query's candidate list)
of T1, T2, T3 and checkpoint variance. Attack and certification units run in-process.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from robustrank.config.executor import ExecutorConfig
from robustrank.config.ranker import RankerConfig
from robustrank.ranked import sort_ranked
from robustrank.rankers.base import score_pairs
from robustrank.rankers.build import build_ranker_from_config

__all__ = ["ExecutorConfig", "RerankUnit", "run_rerank_units", "score_rerank_unit"]

log = logging.getLogger(__name__)


RerankUnit = tuple[str, str, list[str], list[str]]
"""(query_id, query text, candidate doc ids, candidate doc texts)."""

_WORKER: dict[str, Any] = {}


def _worker_ranker(ranker_json: str, base_dir: str):
    """Build (once per process) the ranker described by a RankerConfig JSON."""
    key = ranker_json + base_dir
    if _WORKER.get("key") != key:
        import torch

        torch.set_num_threads(1)
        rc = RankerConfig.model_validate(json.loads(ranker_json))
        _WORKER.update(key=key, ranker=build_ranker_from_config(rc, Path(base_dir)))
    return _WORKER["ranker"]


def score_rerank_unit(ranker_json: str, base_dir: str, units: list[RerankUnit]) -> list[tuple[str, list[tuple[str, float]]]]:
    """Re-rank the candidates of a few queries in a worker; returns (query_id, ranked list) pairs."""
    ranker = _worker_ranker(ranker_json, base_dir)
    pairs = [(q, t) for _, q, _, texts in units for t in texts]
    scores = score_pairs(ranker, pairs).tolist()
    out, i = [], 0
    for qid, _, ids, texts in units:
        ranked = sort_ranked(zip(ids, scores[i : i + len(texts)]))
        i += len(texts)
        out.append((qid, [(d, float(s)) for d, s in ranked]))
    return out


def _chunks(units: Sequence[RerankUnit], size: int) -> list[list[RerankUnit]]:
    return [list(units[i : i + size]) for i in range(0, len(units), size)]


def _run_processes(cfg: ExecutorConfig, args: tuple[str, str], chunks: list[list[RerankUnit]], on_result: Callable) -> None:
    import multiprocessing as mp
    from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
    from concurrent.futures.process import BrokenProcessPool

    pending = list(range(len(chunks)))
    attempts = [0] * len(chunks)
    ctx = mp.get_context("spawn")
    while pending:
        pool = ProcessPoolExecutor(max_workers=cfg.workers, mp_context=ctx)
        in_flight: dict[Any, int] = {}
        broken = False
        try:
            while (pending or in_flight) and not broken:
                while pending and len(in_flight) < cfg.max_in_flight and not broken:
                    i = pending.pop(0)
                    attempts[i] += 1
                    try:
                        in_flight[pool.submit(score_rerank_unit, *args, chunks[i])] = i
                    except BrokenProcessPool:  # a worker died between two submissions
                        broken = True
                        pending.insert(0, i)
                if broken:
                    break
                done, _ = wait(in_flight, return_when=FIRST_COMPLETED)
                for fut in done:
                    i = in_flight.pop(fut)
                    try:
                        results = fut.result()
                    except BrokenProcessPool:
                        broken = True
                        pending.insert(0, i)
                        continue
                    for qid, ranked in results:
                        on_result(qid, ranked)
        finally:
            if broken:
                # units still in flight on the broken pool are resubmitted on a fresh one
                pending = sorted(set(pending) | set(in_flight.values()))
            pool.shutdown(wait=not broken, cancel_futures=True)
        if broken:
            over = [i for i in pending if attempts[i] > cfg.max_retries]
            if over:
                raise RuntimeError(f"a worker died {attempts[over[0]]} times on the same units; giving up")
            log.warning("a worker process died; resubmitting %d unit chunk(s)", len(pending))


def _run_ray(cfg: ExecutorConfig, args: tuple[str, str], chunks: list[list[RerankUnit]], on_result: Callable) -> None:
    try:
        import ray
    except ImportError:
        raise RuntimeError("executor type 'ray' needs Ray: pip install 'robustrank[ray]'") from None
    started = False
    if not ray.is_initialized():
        if cfg.address:
            ray.init(address=cfg.address, log_to_driver=False)
        else:
            ray.init(
                num_cpus=cfg.workers,
                object_store_memory=cfg.object_store_mb * 1024 * 1024,
                include_dashboard=False,
                _node_ip_address="127.0.0.1",
                log_to_driver=False,
                configure_logging=False,
            )
        started = True
    try:
        task = ray.remote(max_retries=cfg.max_retries, num_cpus=1)(score_rerank_unit)
        queue = list(range(len(chunks)))
        in_flight: dict[Any, int] = {}
        while queue or in_flight:
            while queue and len(in_flight) < cfg.max_in_flight:
                i = queue.pop(0)
                in_flight[task.remote(*args, chunks[i])] = i
            done, _ = ray.wait(list(in_flight), num_returns=1)
            for ref in done:
                in_flight.pop(ref)
                for qid, ranked in ray.get(ref):
                    on_result(qid, ranked)
    finally:
        if started:
            ray.shutdown()


def run_rerank_units(
    cfg: ExecutorConfig,
    ranker_config: Any,
    base_dir: Path,
    units: Sequence[RerankUnit],
    on_result: Callable[[str, list[tuple[str, float]]], Any],
) -> None:
    """Score re-ranking units on the configured backend (not in-process), streaming results.

    Args:
        cfg: Executor settings (type processes or ray).
        ranker_config: The RankerConfig workers rebuild the ranker from.
        base_dir: Folder relative model paths resolve against.
        units: (query_id, query, doc ids, doc texts) per query.
        on_result: Called with (query_id, ranked list) as each query finishes.
    """
    args = (ranker_config.model_dump_json(), str(base_dir))
    chunks = _chunks(units, cfg.units_per_task)
    if cfg.type == "processes":
        _run_processes(cfg, args, chunks, on_result)
    elif cfg.type == "ray":
        _run_ray(cfg, args, chunks, on_result)
    else:
        raise ValueError(f"run_rerank_units is for out-of-process executors, not {cfg.type!r}")
