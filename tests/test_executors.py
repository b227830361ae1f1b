"""Execution backends: local processes and Ray give the in-process results and survive a dead worker."""

from __future__ import annotations

import importlib.util

import pytest

from robustrank.audit import run_audit
from robustrank.config import load_config

# Dies (kills its own process) the first time it is called anywhere, then scores normally.
DYING_RANKER = '''
import os
from pathlib import Path
MARKER = Path(__file__).with_name("died.marker")
def score(query, docs):
    if not MARKER.exists():
        MARKER.write_text(str(os.getpid()))
        os._exit(1)
    q = set(query.lower().split())
    return [len(q & set(d.lower().split())) + 0.001 * (len(d) % 13) for d in docs]
'''


def _config(tmp_path, dataset, executor: str) -> object:
    (tmp_path / "dying_ranker.py").write_text(DYING_RANKER)
    p = tmp_path / f"{executor or 'inproc'}.yaml"
    ex = f"executor: {{{executor}}}\n" if executor else ""
    p.write_text(f"name: ex\nseed: 5\nranker: {{type: callable, callable: 'dying_ranker:score'}}\ncandidates: {{depth: 10}}\n"
                 f"datasets: {{in_domain: {{path: {dataset}}}}}\ntasks: {{t2: {{enabled: false}}, t1: {{bootstrap_samples: 100}}}}\n{ex}")
    return load_config(p)


def _t1(results):
    return results["tasks"]["t1"]["result"]["per_query"]  # the long per-query records


def _ranked_lists(out_dir):
    """Every re-ranking unit (query -> ranked (doc_id, score) list) from a checkpoint."""
    import json

    lines = (out_dir / "checkpoint.jsonl").read_text().splitlines()[1:]
    return {(r["task"], r["unit"]): r["result"] for r in map(json.loads, lines) if r["task"] == "rerank"}


@pytest.fixture()
def reference(tmp_path, tiny_dataset, monkeypatch):
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setenv("PYTHONPATH", str(tmp_path))
    (tmp_path / "died.marker").write_text("in-process reference never dies")
    results, _ = run_audit(_config(tmp_path, tiny_dataset, ""), out_dir=tmp_path / "ref", progress=False, render_html=False)
    (tmp_path / "died.marker").unlink()
    return results


def test_processes_backend_resubmits_after_worker_death(reference, tmp_path, tiny_dataset):
    cfg = _config(tmp_path, tiny_dataset, "type: processes, workers: 2, units_per_task: 1, max_in_flight: 2")
    results, _ = run_audit(cfg, out_dir=tmp_path / "proc", progress=False, render_html=False)
    assert (tmp_path / "died.marker").exists()  # a worker really died
    assert results["tasks"]["t1"]["status"] == "ok"
    assert _t1(results) == _t1(reference)
    runs = _ranked_lists(tmp_path / "proc")
    assert len(runs) == 4 and runs == _ranked_lists(tmp_path / "ref")
    assert "executor:processes" in results["timings"]


@pytest.mark.ray
@pytest.mark.skipif(importlib.util.find_spec("ray") is None, reason="needs Ray: pip install 'robustrank[ray]'")
def test_ray_backend_retries_killed_worker(reference, tmp_path, tiny_dataset, monkeypatch):
    monkeypatch.setenv("RAY_AUTH_MODE", "disabled")  # single-node local test cluster
    cfg = _config(tmp_path, tiny_dataset, "type: ray, workers: 2, units_per_task: 1, max_in_flight: 3, object_store_mb: 80")
    results, _ = run_audit(cfg, out_dir=tmp_path / "ray", progress=False, render_html=False)
    assert (tmp_path / "died.marker").exists()
    assert results["tasks"]["t1"]["status"] == "ok"
    assert _t1(results) == _t1(reference)
    runs = _ranked_lists(tmp_path / "ray")
    assert len(runs) == 4 and runs == _ranked_lists(tmp_path / "ref")


class _LoggingJob:
    """A job without ``run_batch``: records when each unit runs."""

    def __init__(self, log: list[str]):
        self.log = log

    def run(self, payload: str) -> str:
        self.log.append(f"run {payload}")
        return payload.upper()


class _BatchJob(_LoggingJob):
    def run_batch(self, payloads: list[str]) -> list[str]:
        self.log.append(f"batch {len(payloads)}")
        return [p.upper() for p in payloads]


def test_in_process_stores_each_unit_before_the_next_runs():
    """In-process, a unit's result is handed on (checkpointed, counted by the progress bar) as soon
    as it finishes, not when its whole chunk of ``units_per_task`` has run; a job that batches
    across units (``run_batch``) still gets the chunk at once."""
    from robustrank.config.executor import ExecutorConfig
    from robustrank.executors.pool import UnitPool

    pool = UnitPool(ExecutorConfig(type="in-process", units_per_task=4))
    log: list[str] = []
    units = [(f"u{i}", f"p{i}") for i in range(6)]
    pool.map("step", _LoggingJob(log), units, lambda key, result: log.append(f"store {key}={result}"))
    assert log == [entry for i in range(6) for entry in (f"run p{i}", f"store u{i}=P{i}")]
    assert pool.units_run == 6
    log.clear()
    pool.map("step", _BatchJob(log), units, lambda key, result: log.append(f"store {key}"))
    assert log == ["batch 4", "store u0", "store u1", "store u2", "store u3", "batch 2", "store u4", "store u5"]
